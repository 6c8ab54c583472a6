// Large files through the real server: byte-exact 5 MiB downloads to a slow
// client, backpressure (a client that stops reading does not make the worker read
// the file into memory), and files replaced while they are being downloaded:
// renamed over (every download gets one whole version) or rewritten in place
// (a download is whole or visibly cut, never a finished mix of two versions).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { childrenRunning, killAll, startServer, type RunningServer } from '../helpers/server.js';
import { makeSite, type TestSite } from '../helpers/static-site.js';

const MiB = 1024 * 1024;

let site: TestSite;
let server: RunningServer;
before(async () => {
  site = makeSite();
  writeFileSync(site.file('root/big.bin'), randomBytes(5 * MiB));
  // Sparse: 64 MiB of zeros that take no disk.
  const fd = openSync(site.file('root/huge.bin'), 'w');
  writeSync(fd, Buffer.from([0]), 0, 1, 64 * MiB - 1);
  closeSync(fd);
  server = await startServer([site.app, '--document-root', site.root]);
});
after(() => {
  killAll();
  site.remove();
});

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

interface Download {
  readonly status: number;
  readonly length: number;
  readonly body: Buffer;
  /** The server closed the connection before Content-Length bytes came. */
  readonly cut: boolean;
}

/**
 * GET over a raw socket, reading `throttleMs` behind each chunk (a slow client).
 * `onBody` runs once, when the first body bytes arrive; `pausedUntil` holds reading
 * after the head until it resolves.
 */
function download(path: string, opts: { throttleMs?: number; onBody?: () => void; pausedUntil?: Promise<void> } = {}): Promise<Download> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    });
    const chunks: Buffer[] = [];
    let headEnd = -1;
    let received = 0;
    let told = false;
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      received += chunk.length;
      if (headEnd < 0) {
        headEnd = Buffer.concat(chunks).indexOf('\r\n\r\n');
        if (headEnd >= 0 && opts.pausedUntil) {
          socket.pause();
          void opts.pausedUntil.then(() => socket.resume());
        }
      }
      if (headEnd >= 0 && received > headEnd + 4 && !told) {
        told = true;
        opts.onBody?.();
      }
      if (opts.throttleMs) {
        socket.pause();
        setTimeout(() => socket.resume(), opts.throttleMs);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      const head = all.subarray(0, end).toString('latin1');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1]);
      const body = all.subarray(end + 4);
      resolve({ status, length, body, cut: body.length < length });
    });
  });
}

describe('large files', { timeout: 180_000 }, () => {
  it('a 5 MiB binary file reaches a slow client byte for byte', async () => {
    const expected = readFileSync(site.file('root/big.bin'));
    const d = await download('/big.bin', { throttleMs: 15 });
    assert.equal(d.status, 200);
    assert.equal(d.length, 5 * MiB);
    assert.equal(d.body.length, 5 * MiB);
    assert.equal(sha(d.body), sha(expected));
  });

  it('a client that stops reading holds the worker to a few chunks in memory (backpressure)', async () => {
    const [worker] = childrenRunning(server.pid, 'worker/main.js');
    assert.ok(worker, 'the worker process');
    const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${worker}/status`, 'utf8'))?.[1]) * 1024;
    const before = rss();
    let release!: () => void;
    const paused = new Promise<void>((resolve) => (release = resolve));
    let headSeen!: () => void;
    const head = new Promise<void>((resolve) => (headSeen = resolve));
    const done = download('/huge.bin', { pausedUntil: paused.then(() => undefined), onBody: headSeen });
    await head;
    // While the client reads nothing, the worker must not read ahead: sample its memory for a while.
    let peak = before;
    for (let i = 0; i < 15; i++) {
      await new Promise((r) => setTimeout(r, 100));
      peak = Math.max(peak, rss());
    }
    release();
    const d = await done;
    assert.equal(d.body.length, 64 * MiB);
    assert.ok(d.body.every((b) => b === 0));
    assert.ok(peak - before < 32 * MiB, `worker RSS grew by ${((peak - before) / MiB).toFixed(1)} MiB while 64 MiB were waiting`);
  });

  it('renamed over while downloading: each download is one whole version, old or new', async () => {
    const file = site.file('root/big.bin');
    const old = readFileSync(file);
    const fresh = randomBytes(5 * MiB);
    let started = 0;
    let allStarted!: () => void;
    const ready = new Promise<void>((resolve) => (allStarted = resolve));
    const downloads = Array.from({ length: 4 }, () =>
      download('/big.bin', { throttleMs: 10, onBody: () => ++started === 4 && allStarted() }));
    await ready;
    writeFileSync(site.file('root/big.bin.tmp'), fresh);
    renameSync(site.file('root/big.bin.tmp'), file);
    const late = await download('/big.bin');
    const results = await Promise.all(downloads);
    for (const d of results) {
      assert.equal(d.body.length, 5 * MiB);
      assert.equal(sha(d.body), sha(old), 'the downloads that began before the rename get the old file whole');
    }
    assert.equal(sha(late.body), sha(fresh), 'a download after it gets the new one');
  });

  it('rewritten in place while downloading: whole, or cut before its end, never a finished mix', async () => {
    const file = site.file('root/big.bin');
    const before = readFileSync(file);
    const after = randomBytes(5 * MiB);
    let began!: () => void;
    const first = new Promise<void>((resolve) => (began = resolve));
    const from = server.output().length;
    const pending = download('/big.bin', { throttleMs: 10, onBody: began });
    await first;
    writeFileSync(file, after); // same inode: truncated and written again
    const d = await pending;
    const whole = d.body.length === d.length && (sha(d.body) === sha(before) || sha(d.body) === sha(after));
    assert.ok(whole || d.cut, `a finished download that is neither version (${d.body.length} of ${d.length} bytes)`);
    if (d.cut) await server.waitFor(/big\.bin: the file changed on disk while it was being sent; connection closed/, 5000, from);
    // The server goes on serving the new version.
    const next = await download('/big.bin');
    assert.equal(sha(next.body), sha(after));
  });
});
