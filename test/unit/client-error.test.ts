// What a connection whose bytes Node's parser rejected gets back, through a real
// socket pair: the status for the error's code, then the end of the connection.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, it } from 'node:test';
import { onClientError } from '../../src/worker/client-error.js';

/** Reports `code` on the server side of a fresh connection; resolves with all the client then receives. */
async function answerTo(code: string): Promise<string> {
  const server = net.createServer((socket) => {
    onClientError(Object.assign(new Error(code), { code }), socket);
    // A parser in error may report again; the second report must not write twice.
    onClientError(Object.assign(new Error(code), { code }), socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    let received = '';
    client.on('data', (d) => (received += d));
    await once(client, 'close');
    return received;
  } finally {
    server.close();
  }
}

describe('onClientError', () => {
  it('answers a malformed request with 400 and closes', async () => {
    assert.equal(await answerTo('HPE_INVALID_METHOD'), 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });

  it("answers a request that timed out with 408, as Node's own handler and Apache do", async () => {
    assert.match(await answerTo('ERR_HTTP_REQUEST_TIMEOUT'), /^HTTP\/1\.1 408 Request Timeout\r\n/);
  });

  it('answers oversized chunk extensions with 413', async () => {
    assert.match(await answerTo('HPE_CHUNK_EXTENSIONS_OVERFLOW'), /^HTTP\/1\.1 413 /);
  });

  it('closes without a word on bytes after a request that said Connection: close', async () => {
    assert.equal(await answerTo('HPE_CLOSED_CONNECTION'), '');
  });
});
