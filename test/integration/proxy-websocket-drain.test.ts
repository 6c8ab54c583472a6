// A WebSocket through a proxy mount, on a worker that drains (a reload): it stays
// until --graceful-timeout, then its client gets a 1001 close frame ("going
// away"), as the server's own WebSockets do, rather than a cut (1006); the
// upstream gets a 1001 too. Messages passed before then arrive whole.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { fixture, killAll, startServer } from '../helpers/server.js';

const upstreams: http.Server[] = [];
const rawUpstreams: net.Server[] = [];
const rawSockets = new Set<net.Socket>();
after(async () => {
  killAll();
  for (const s of upstreams) s.closeAllConnections();
  for (const s of rawSockets) s.destroy();
  await Promise.all([...upstreams, ...rawUpstreams].map((s) => new Promise((r) => s.close(r))));
});

/** The payload of a client's (masked) frame, unmasked; one frame per chunk is enough here. */
function clientFrame(chunk: Buffer): { opcode: number; payload: Buffer } {
  const len = chunk[1]! & 0x7f;
  const mask = chunk.subarray(2, 6);
  const payload = Buffer.from(chunk.subarray(6, 6 + len).map((b, i) => b ^ mask[i & 3]!));
  return { opcode: chunk[0]! & 0x0f, payload };
}

/**
 * A WebSocket upstream written by hand, so that a frame can stop half-way: on the
 * client's "start" it sends the header and half the payload of a 10-byte message,
 * and the other half only once the proxy tells it the client is going away.
 */
async function halfFrameUpstream(): Promise<{ port: number; closeCode: Promise<number> }> {
  let gotClose!: (code: number) => void;
  const closeCode = new Promise<number>((resolve) => (gotClose = resolve));
  const server = net.createServer((socket) => {
    rawSockets.add(socket);
    let head = '';
    socket.on('data', function onHead(d: Buffer) {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onHead);
      const key = /sec-websocket-key: *(\S+)/i.exec(head)![1]!;
      const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      socket.on('data', (chunk: Buffer) => {
        const frame = clientFrame(chunk);
        if (frame.opcode === 1 && frame.payload.toString() === 'start') socket.write(Buffer.concat([Buffer.from([0x81, 10]), Buffer.from('hello')]));
        if (frame.opcode === 8) {
          gotClose(frame.payload.readUInt16BE(0));
          socket.write('world');
        }
      });
    });
  });
  rawUpstreams.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, closeCode };
}

describe('a proxied WebSocket on a draining worker', { timeout: 60_000 }, () => {
  it('is closed with 1001 at the deadline, to the client and to the upstream', async () => {
    const upstream = http.createServer((_req, res) => res.end('upstream'));
    upstreams.push(upstream);
    const upstreamCloses: Promise<number>[] = [];
    const wss = new WebSocketServer({ server: upstream });
    wss.on('connection', (ws) => {
      ws.on('message', (m) => ws.send(`echo ${m}`));
      // A large message first: the close must come after it, never inside it.
      ws.send(Buffer.alloc(200_000, 1));
      upstreamCloses.push(new Promise((resolve) => ws.once('close', resolve)));
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const port = (upstream.address() as AddressInfo).port;
    const server = await startServer([fixture('app.ts'), '--graceful-timeout', '1', '--proxy-mount-point', '/ws', `http://127.0.0.1:${port}/`]);

    const client = new WebSocket(`${server.url.replace('http', 'ws')}ws/socket`);
    const closed = once(client, 'close') as Promise<[number, Buffer]>;
    const [big] = (await once(client, 'message')) as [Buffer];
    assert.equal(big.length, 200_000);
    client.send('before');
    assert.equal(String((await once(client, 'message'))[0]), 'echo before');

    const from = server.output().length;
    server.signal('SIGHUP');
    await server.waitFor(/Reload complete/, 30_000, from);
    const [code, reason] = await closed;
    assert.equal(code, 1001, `the client saw ${code} ${String(reason)}`);
    assert.equal(String(reason), 'server going away');
    assert.equal(upstreamCloses.length, 1);
    assert.equal(await upstreamCloses[0], 1001, 'the upstream was told the client is going away');
    // New WebSockets go through the new workers.
    const fresh = new WebSocket(`${server.url.replace('http', 'ws')}ws/socket`);
    assert.equal(((await once(fresh, 'message'))[0] as Buffer).length, 200_000);
    fresh.close();
    await once(fresh, 'close');
  });

  it('a frame under way at the deadline is let through whole before the close frame', async () => {
    const upstream = await halfFrameUpstream();
    const server = await startServer([fixture('app.ts'), '--graceful-timeout', '1', '--proxy-mount-point', '/ws', `http://127.0.0.1:${upstream.port}/`]);
    const client = new WebSocket(`${server.url.replace('http', 'ws')}ws/socket`);
    await once(client, 'open');
    const messages: string[] = [];
    client.on('message', (m) => messages.push(String(m)));
    const closed = once(client, 'close') as Promise<[number, Buffer]>;
    client.send('start');
    server.signal('SIGHUP');
    const [code] = await closed;
    assert.equal(await upstream.closeCode, 1001, 'the upstream got a 1001 close frame');
    assert.deepEqual(messages, ['helloworld'], 'the message the upstream had half sent arrived whole, before the close');
    assert.equal(code, 1001);
  });
});
