// Shared by the bare servers: a node:cluster primary that forks PROCESSES workers
// (default 2), each listening on HOST:PORT with the handler it is given, and a
// `Ready` line on stdout once all listen, so the harness waits the same way for
// every server. PROCESSES=0 means no cluster: one process serves.
// `createServer(handler)` makes the server (node:http by default; node:https or
// node:http2 for the TLS scenarios).
import cluster from 'node:cluster';
import http from 'node:http';

export function serve(makeHandler, createServer = (handler) => http.createServer(handler)) {
  const processes = Number(process.env.PROCESSES ?? 2);
  const port = Number(process.env.PORT);
  const host = process.env.HOST ?? '127.0.0.1';
  if (processes === 0 || cluster.isWorker) {
    Promise.resolve(makeHandler()).then((handler) => {
      createServer(handler).listen(port, host, () => {
        if (cluster.isWorker) process.send('listening');
        else process.stdout.write(`Ready: 1 process serving http://${host}:${port}/\n`);
      });
    });
    return;
  }
  let listening = 0;
  for (let i = 0; i < processes; i++) {
    cluster.fork().on('message', (m) => {
      if (m === 'listening' && ++listening === processes) {
        process.stdout.write(`Ready: ${processes} workers serving http://${host}:${port}/\n`);
      }
    });
  }
  // The harness stops us by process group; a worker that dies is not replaced.
  process.on('SIGTERM', () => process.exit(0));
}
