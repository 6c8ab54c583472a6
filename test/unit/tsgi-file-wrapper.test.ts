/**
 * tsgi.file_wrapper through real sockets: by path and by FileHandle, Content-Length
 * added or honoured, a multi-MiB binary file byte-exact to a slow reader.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import type { Application } from '../../src/index.js';
import { fileWrapper } from '../../src/tsgi/file-wrapper.js';
import { rawExchange, startTsgi, until, within, type Harness } from '../helpers/tsgi-harness.js';

const agent = new Agent({ connections: 2 });
let app: Application = () => [];
let h: Harness;
const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-fw-'));
const small = path.join(dir, 'small.txt');
const bigFile = path.join(dir, 'big.bin');
const smallData = Buffer.from('0123456789'.repeat(100));
const bigData = randomBytes(6 * 1024 * 1024 + 123);

before(async () => {
  writeFileSync(small, smallData);
  writeFileSync(bigFile, bigData);
  h = await startTsgi((environ, sr) => app(environ, sr));
});
after(async () => {
  await h.close();
  await agent.close();
  rmSync(dir, { recursive: true, force: true });
});

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function fileApp(file: () => string | FileHandle | Promise<FileHandle>, headers: [string, string][] = []): Application {
  return async (env, sr) => {
    sr('200 OK', [['Content-Type', 'application/octet-stream'], ...headers]);
    return env['tsgi.file_wrapper'](await file());
  };
}

async function get(method = 'GET') {
  const res = await request(h.url, { method, dispatcher: agent });
  return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
}

describe('file_wrapper', () => {
  test('by path: whole file with Content-Length from its size', async () => {
    app = fileApp(() => small);
    const res = await get();
    assert.equal(res.headers['content-length'], String(smallData.length));
    assert.deepEqual(res.body, smallData);
  });

  test('by FileHandle: streamed, and the server closes the handle', async () => {
    let handle!: FileHandle;
    app = fileApp(async () => (handle = await open(small, 'r')));
    const res = await get();
    assert.deepEqual(res.body, smallData);
    await until(() => handle.fd === -1);
  });

  test('an app-set Content-Length is honoured: exactly that many bytes, connection reusable', async () => {
    const n = h.log.errors().length;
    app = fileApp(() => small, [['Content-Length', '100']]);
    const res = await rawExchange(
      h.port,
      'GET / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n',
      2000,
    );
    const bodies = res.text.split(/HTTP\/1.1 200 OK/).slice(1).map((r) => r.slice(r.indexOf('\r\n\r\n') + 4));
    assert.deepEqual(bodies, [smallData.subarray(0, 100).toString(), smallData.subarray(0, 100).toString()]);
    assert.equal(res.how, 'end');
    assert.deepEqual(h.log.errors().slice(n), []);
  });

  test('Content-Length larger than the file: short body, connection closed, logged', async () => {
    const n = h.log.errors().length;
    app = fileApp(() => small, [['Content-Length', '2000']]);
    const res = await rawExchange(h.port, 'GET / HTTP/1.1\r\nHost: t\r\n\r\n', 2000);
    assert.equal(res.how, 'end');
    assert.ok(res.text.endsWith(smallData.toString()));
    await until(() => /shorter than its Content-Length \(1000 of 2000 bytes\)/.test(h.log.errors().slice(n).join()));
  });

  test('HEAD: Content-Length, no body, handle closed', async () => {
    let handle!: FileHandle;
    app = fileApp(async () => (handle = await open(small, 'r')));
    const res = await rawExchange(h.port, 'HEAD / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
    assert.match(res.text, /Content-Length: 1000\r\n/);
    assert.match(res.text, /\r\n\r\n$/);
    await until(() => handle.fd === -1);
  });

  test('a missing file -> 500 with the error logged', async () => {
    const n = h.log.errors().length;
    app = fileApp(() => path.join(dir, 'missing.txt'));
    assert.equal((await get()).status, 500);
    assert.match(h.log.errors().slice(n).join(), /ENOENT/);
  });

  test('a multi-MiB binary file arrives byte-exact at a slow reader', async () => {
    app = fileApp(() => bigFile);
    const socket = net.connect(h.port, '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
    const parts: Buffer[] = [];
    socket.on('data', (d) => {
      parts.push(d);
      // Read slowly: the server must wait for 'drain', not drop or reorder bytes.
      if (parts.length % 8 === 0) {
        socket.pause();
        setTimeout(() => socket.resume(), 2);
      }
    });
    socket.pause();
    await new Promise((r) => setTimeout(r, 300));
    socket.resume();
    await within(once(socket, 'end'), 20_000, 'the download finishing');
    const all = Buffer.concat(parts);
    const split = all.indexOf('\r\n\r\n');
    const head = all.subarray(0, split).toString('latin1');
    assert.match(head, new RegExp(`Content-Length: ${bigData.length}\\r`));
    const body = all.subarray(split + 4);
    assert.equal(body.length, bigData.length);
    assert.equal(sha(body), sha(bigData));
  });

  test('iterated directly (as middleware would), honouring blockSize', async () => {
    const body = fileWrapper(small, 300);
    const sizes: number[] = [];
    for await (const chunk of body) sizes.push(chunk.length);
    await body.close();
    await body.close();
    assert.deepEqual(sizes, [300, 300, 300, 100]);
  });

  test('bad arguments are rejected', () => {
    assert.throws(() => fileWrapper(42 as unknown as string), /path string or a fs\/promises FileHandle/);
    assert.throws(() => fileWrapper(small, 0), /blockSize must be a positive integer/);
  });
});
