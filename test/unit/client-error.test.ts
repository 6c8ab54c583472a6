// What a connection whose bytes Node's parser rejected gets back, through a real
// socket pair: the status for the error's code, then the end of the connection.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, it } from 'node:test';
import { makeLog } from '../../src/logging/log.js';
import { clientErrorHandler } from '../../src/worker/client-error.js';

const logged: string[] = [];
const onClientError = clientErrorHandler(makeLog((level, message) => logged.push(`${level} ${message}`), () => {}), 8190);

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
  it('answers a malformed request with 400 and a short page, logs it at info, and closes', async () => {
    logged.length = 0;
    const answer = await answerTo('HPE_INVALID_METHOD');
    assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text\/html; charset=utf-8\r\nContent-Length: (\d+)\r\n\r\n/);
    const [head, body] = answer.split('\r\n\r\n');
    assert.equal(Buffer.byteLength(body!), Number(/Content-Length: (\d+)/.exec(head!)![1]));
    assert.match(body!, /400 Bad Request/);
    assert.deepEqual(logged, ['info 400 Bad Request: The request is not valid HTTP: HPE_INVALID_METHOD. (client 127.0.0.1)']);
  });

  it("answers a request that timed out with 408, as Node's own handler and Apache do", async () => {
    assert.match(await answerTo('ERR_HTTP_REQUEST_TIMEOUT'), /^HTTP\/1\.1 408 Request Timeout\r\n/);
  });

  it('answers oversized chunk extensions with 413', async () => {
    assert.match(await answerTo('HPE_CHUNK_EXTENSIONS_OVERFLOW'), /^HTTP\/1\.1 413 /);
  });

  it('answers a head past Node\'s limit with 431', async () => {
    assert.match(await answerTo('HPE_HEADER_OVERFLOW'), /^HTTP\/1\.1 431 /);
  });

  it('closes without a word on bytes after a request that said Connection: close', async () => {
    assert.equal(await answerTo('HPE_CLOSED_CONNECTION'), '');
  });
});
