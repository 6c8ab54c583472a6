import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, it } from 'node:test';
import { ListeningSocket } from '../../src/master/listening-socket.js';

describe('ListeningSocket', () => {
  it('is supported by this Node (node:net still exports the bind cluster uses)', () => {
    assert.equal(ListeningSocket.supported, true);
  });

  it('binds port 0 to a concrete port without accepting anything itself', async () => {
    const socket = await ListeningSocket.bind('127.0.0.1', 0);
    try {
      assert.ok(socket.port > 0);
      // Bound but not listening until a worker listens: a connection is refused.
      const client = net.connect(socket.port, '127.0.0.1');
      const [err] = (await once(client, 'error')) as [NodeJS.ErrnoException];
      assert.equal(err.code, 'ECONNREFUSED');
    } finally {
      socket.close();
    }
  });

  it('names the error and the address when the port is taken', async () => {
    const taken = net.createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const { port } = taken.address() as net.AddressInfo;
    try {
      await assert.rejects(ListeningSocket.bind('127.0.0.1', port), new RegExp(`^Error: bind EADDRINUSE: .* 127\\.0\\.0\\.1:${port}$`));
    } finally {
      taken.close();
    }
  });

  it('names --host when it does not resolve', async () => {
    await assert.rejects(ListeningSocket.bind('no-such-host.invalid', 0), /cannot resolve --host no-such-host\.invalid/);
  });
});
