// A ws echo server on an http.Server that listens, as the ws README writes it.
// Under tsgi-express the listen() is captured; bare, it is bench/servers/ws-cluster.mjs.
import http from 'node:http';
import { WebSocketServer } from 'ws';

export const server = http.createServer((req, res) => res.end('Hello world!'));
new WebSocketServer({ server }).on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
server.listen(Number(process.env.PORT ?? 3000), process.env.HOST);
