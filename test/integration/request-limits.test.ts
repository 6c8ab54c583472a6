// What a request may be, through the real server and raw sockets (issue 20 "Request
// limits", issue 16 bug 5 and its smaller ones): --limit-request-body (Content-Length and
// chunked, every interface, bounded worker memory), --limit-request-line,
// --limit-request-fields, --limit-request-field-size, Node's head limit as the outer bound,
// and the strict parser: what Node's llhttp refuses and what the server adds.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { request } from 'undici';
import { exchange, RawConnection } from '../helpers/raw-client.js';
import { fixture, killAll, runCli, startServer, type RunningServer } from '../helpers/server.js';
import { until } from '../helpers/tsgi-harness.js';

after(killAll);

const INTERFACES = ['tsgi', 'fetch', 'node'] as const;
const run = promisify(execFile);
const status = (reply: string) => Number(/^HTTP\/1\.1 (\d{3}) /.exec(reply)?.[1]);

/** The worker's pid (one worker): the fixtures answer GET /pid with it. */
async function workerPid(server: RunningServer): Promise<number> {
  return Number(await request(`${server.url}pid`).then((r) => r.body.text()));
}

/** Peak RSS of a process since the last reset, in MiB (Linux: VmHWM, reset through clear_refs). */
function peakMiB(pid: number): number {
  return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}
function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

describe('--limit-request-body', { timeout: 120_000 }, () => {
  const servers = new Map<string, RunningServer>();
  before(async () => {
    for (const kind of INTERFACES) {
      servers.set(kind, await startServer([fixture(`body/${kind}.ts`), '--limit-request-body', '1000']));
    }
  });

  it('a Content-Length above the limit: 413 before the app is called, logged at info, connection closed', async () => {
    const server = servers.get('tsgi')!;
    const from = server.output().length;
    const reply = await exchange(server.port, `POST /read?tag=big HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n${'a'.repeat(1001)}`);
    assert.equal(status(reply), 413, reply);
    assert.match(reply, /Content-Type: text\/html/);
    await server.waitFor(/\[tsgi:info\].*413 Payload Too Large: The request body of 1001 bytes is larger than the 1000 bytes the server takes\. \(client 127\.0\.0\.1\)/, 5000, from);
    assert.doesNotMatch(server.output().slice(from), /reading big/);
    const ok = await request(`${server.url}read`, { method: 'POST', body: 'a'.repeat(1000) });
    assert.equal(await ok.body.text(), 'read 1000 bytes');
  });

  it('Expect: 100-continue above the limit gets 413 without 100 Continue; within it, 100 Continue, then the answer', async () => {
    const server = servers.get('tsgi')!;
    const refused = await RawConnection.open(server.port);
    refused.write('POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n');
    assert.ok(await refused.closedWithin(5000), refused.received);
    assert.equal(refused.status, 413);
    assert.doesNotMatch(refused.received, /100 Continue/);
    const taken = await RawConnection.open(server.port);
    taken.write('POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    await until(() => taken.received.includes('\r\n\r\n'), 5000);
    assert.match(taken.received, /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
    taken.write('hello');
    await until(() => taken.received.includes('read 5 bytes'), 5000);
    taken.destroy();
  });

  for (const kind of INTERFACES) {
    it(`${kind}: a chunked body growing past the limit fails the app's next read with TSGI_BODY_TOO_LARGE; 413, closed`, async () => {
      const server = servers.get(kind)!;
      const c = await RawConnection.open(server.port);
      const from = server.output().length;
      c.write('POST /read?tag=grow HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
      await server.waitFor(new RegExp(`${kind} reading grow`), 5000, from);
      c.write(`258\r\n${'a'.repeat(600)}\r\n`);
      c.write(`258\r\n${'b'.repeat(600)}\r\n0\r\n\r\n`);
      assert.ok(await c.closedWithin(5000), c.received);
      assert.equal(c.status, 413, c.received);
      await server.waitFor(new RegExp(`${kind} read failed grow: RequestBodyError TSGI_BODY_TOO_LARGE 413`), 5000, from);
      await server.waitFor(new RegExp(`${kind} later read grow: TSGI_BODY_TOO_LARGE`), 5000, from);
      const ok = await request(`${server.url}read`, { method: 'POST', body: Readable.from([Buffer.alloc(1000, 97)]) });
      assert.equal(await ok.body.text(), 'read 1000 bytes', 'a chunked body of exactly the limit is read whole');
    });
  }
});

/**
 * Starts a server on the TSGI body fixture and measures the growth of its worker's peak RSS
 * while `send` runs. A fresh server each time: memory an earlier request freed stays with the
 * process and would hide a later request's growth.
 */
async function peakGrowth(send: (server: RunningServer) => Promise<void>): Promise<number> {
  const server = await startServer([fixture('body/tsgi.ts')]);
  const pid = await workerPid(server);
  await request(`${server.url}read`, { method: 'POST', body: Buffer.alloc(1024) }).then((r) => r.body.text()); // warm
  resetPeak(pid);
  const before = peakMiB(pid);
  await send(server);
  const growth = peakMiB(pid) - before;
  assert.equal(await workerPid(server), pid, 'the worker was replaced');
  server.signal('SIGTERM');
  await server.exited();
  return growth;
}

const MiB = 1024 * 1024;

function inMiBChunks(body: Buffer): Readable {
  return Readable.from((function* () {
    for (let at = 0; at < body.length; at += MiB) yield body.subarray(at, at + MiB);
  })());
}

describe('--limit-request-body at its default (10 MiB): the worker\'s memory', { timeout: 120_000 }, () => {
  it('a 10 MiB body read whole: peak RSS grows by about twice its size (Node\'s copies, freed at the next GC)', async (t) => {
    const body = Buffer.alloc(10 * MiB, 97);
    const growth = await peakGrowth(async (server) => {
      const res = await request(`${server.url}read`, { method: 'POST', body });
      assert.equal(await res.body.text(), `read ${body.length} bytes`);
    });
    t.diagnostic(`peak RSS growth for a 10 MiB read(): ${growth.toFixed(1)} MiB`);
    // Measured 19-27 MiB across Node 20-26 and runs (V8 decides when the copies are collected);
    // a body held or copied once more than that would be 30 and above.
    assert.ok(growth < 30, `the worker's peak RSS grew by ${growth.toFixed(1)} MiB`);
  });

  it('a 20 MiB upload with Content-Length gets 413 at once: the body is never held', async (t) => {
    const growth = await peakGrowth(async (server) => {
      const res = await request(`${server.url}read`, { method: 'POST', body: Buffer.alloc(20 * MiB, 98) });
      assert.equal(res.statusCode, 413);
      await res.body.text();
    });
    t.diagnostic(`peak RSS growth for a 20 MiB upload refused on its Content-Length: ${growth.toFixed(1)} MiB`);
    // Held, the body alone would be 20 MiB; 5 MiB is usual, above 8 was seen on a loaded machine
    // (what the lingering close reads and drops is garbage the next GC takes).
    assert.ok(growth < 12, `the worker's peak RSS grew by ${growth.toFixed(1)} MiB`);
  });

  it('a 20 MiB chunked upload gets 413 past 10 MiB: no more than the limit is held', async (t) => {
    const growth = await peakGrowth(async (server) => {
      const res = await request(`${server.url}read`, { method: 'POST', body: inMiBChunks(Buffer.alloc(20 * MiB, 99)) })
        .catch((err: Error) => err);
      // Still sending when the server closes, a client may see a reset instead of the 413.
      if (!(res instanceof Error)) {
        assert.equal(res.statusCode, 413);
        await res.body.text().catch(() => {});
      }
    });
    t.diagnostic(`peak RSS growth for a 20 MiB chunked upload refused past the limit: ${growth.toFixed(1)} MiB`);
    assert.ok(growth < 30, `the worker's peak RSS grew by ${growth.toFixed(1)} MiB`);
  });
});

describe('--limit-request-body with curl', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([fixture('body/tsgi.ts')]);
  });

  it('curl gets the 413 for a 20 MiB upload: with Expect: 100-continue, without, and chunked', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-upload-'));
    try {
      const file = path.join(dir, 'upload.bin');
      writeFileSync(file, Buffer.alloc(20 * 1024 * 1024, 99));
      for (const headers of [['Expect: 100-continue'], ['Expect:'], ['Expect:', 'Transfer-Encoding: chunked']]) {
        const { stdout } = await run('curl', [
          '-s', '-o', '/dev/null', '-w', '%{http_code}', ...headers.flatMap((h) => ['-H', h]),
          '--data-binary', `@${file}`, `${server.url}read`,
        ], { timeout: 20_000, encoding: 'utf8' });
        assert.equal(stdout, '413', headers.join(', '));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Requests Node's llhttp refuses (checked on Node 20, 22, 24 and 26) and those the server adds. */
const REFUSED: { name: string; head: string; status: number }[] = [
  { name: 'Content-Length and Transfer-Encoding', head: 'POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', status: 400 },
  { name: 'repeated differing Content-Length', head: 'POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!', status: 400 },
  { name: 'Transfer-Encoding: chunked, gzip', head: 'POST /read HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\n', status: 400 },
  { name: 'Transfer-Encoding: gzip', head: 'POST /read HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nhello', status: 400 },
  { name: 'obs-fold', head: 'GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n', status: 400 },
  { name: 'bare LF', head: 'GET / HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n', status: 400 },
  { name: 'bare CR', head: 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n', status: 400 },
  { name: 'NUL in a header value', head: 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n', status: 400 },
  { name: 'space before the colon', head: 'GET / HTTP/1.1\r\nHost : x\r\n\r\n', status: 400 },
  // Added by the server (pipeline/request-limits.ts):
  { name: 'Transfer-Encoding in HTTP/1.0', head: 'POST /read HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', status: 400 },
  { name: 'Transfer-Encoding: gzip, chunked', head: 'POST /read HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', status: 501 },
  { name: 'Transfer-Encoding: gzip and chunked in two fields', head: 'POST /read HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', status: 501 },
  // Issue 16's smaller ones:
  { name: 'an absolute-form target whose host is not valid', head: 'GET http://[::1/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', status: 400 },
  { name: "'#' in the query", head: 'GET /frag?q=1#x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', status: 400 },
];

for (const kind of INTERFACES) {
  describe(`the strict parser and the head limits, ${kind} app`, { timeout: 60_000 }, () => {
    let server: RunningServer;
    before(async () => {
      server = await startServer([fixture(`body/${kind}.ts`)]);
    });

    for (const { name, head, status: expected } of REFUSED) {
      it(`${name}: ${expected}, the connection closed, the app never called`, async () => {
        const from = server.output().length;
        const reply = await exchange(server.port, head);
        assert.equal(status(reply), expected, reply);
        assert.equal(reply.match(/HTTP\/1\.1 /g)?.length, 1, reply);
        assert.match(reply, /\r\nContent-Length: [1-9]\d*\r\n/, 'a short body says why');
        assert.doesNotMatch(server.output().slice(from), /reading/);
      });
    }

    it('--limit-request-line (8190): a longer line gets 414, also past Node\'s head limit; 8190 is served', async () => {
      const target = (length: number) => '/' + 'a'.repeat(length - 'GET  HTTP/1.1'.length - 1);
      assert.equal(status(await exchange(server.port, `GET ${target(8191)} HTTP/1.1\r\nHost: x\r\n\r\n`)), 414);
      assert.equal(status(await exchange(server.port, `GET ${target(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`)), 414);
      assert.equal(status(await exchange(server.port, `GET ${target(8190)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)), 200);
    });

    it('--limit-request-fields (100) and --limit-request-field-size (8190): 431; at the limits, served', async () => {
      const fields = (n: number) => Array.from({ length: n }, (_, i) => `X-F${i}: ${i}\r\n`).join('');
      const get = (headers: string) => exchange(server.port, `GET / HTTP/1.1\r\n${headers}Connection: close\r\n\r\n`);
      assert.equal(status(await get(`Host: x\r\n${fields(98)}`)), 200); // 100 with Host and Connection
      assert.equal(status(await get(`Host: x\r\n${fields(99)}`)), 431);
      const field = (size: number) => `X-Big: ${'v'.repeat(size - 'X-Big: '.length)}\r\n`;
      assert.equal(status(await get(`Host: x\r\n${field(8190)}`)), 200);
      assert.equal(status(await get(`Host: x\r\n${field(8191)}`)), 431);
      // Every field within the limits, the head past Node's 16 KiB: Node's limit answers, 431.
      assert.equal(status(await get(`Host: x\r\n${field(6000)}${field(6000).replace('Big', 'Big2')}${field(6000).replace('Big', 'Big3')}`)), 431);
    });

    it('a request with no Host and a bad chunked body gets one 400, not two', async () => {
      const reply = await exchange(server.port, 'POST /read HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n');
      assert.equal(status(reply), 400, reply);
      assert.equal(reply.match(/HTTP\/1\.1 /g)?.length, 1, reply);
    });

    it('logs every refusal at info with the client address, and keeps serving', async () => {
      // Log records reach the master in batches: wait for them rather than read what is there.
      await server.waitFor(/\[tsgi:info\].*501 Not Implemented: The transfer coding "gzip, chunked" is not supported; only chunked is\. \(client 127\.0\.0\.1\)/);
      await server.waitFor(/\[tsgi:info\].*414 URI Too Long: .*\(client 127\.0\.0\.1\)/);
      await server.waitFor(/\[tsgi:info\].*431 Request Header Fields Too Large: .*\(client 127\.0\.0\.1\)/);
      await server.waitFor(/\[tsgi:info\].*400 Bad Request: The request is not valid HTTP: .*\(client 127\.0\.0\.1\)/);
      assert.equal((await request(server.url)).statusCode, 200);
      // One line per refused request: a refusal the parser then reports again is not logged twice.
      assert.equal(server.output().match(/does not end with chunked/g)?.length, 1);
      assert.doesNotMatch(server.output(), /request body is not valid HTTP framing: Request has invalid `Transfer-Encoding`/);
    });
  });
}

describe('bad limit values', { timeout: 60_000 }, () => {
  for (const args of [
    ['--limit-request-body', '-1'], ['--limit-request-body', '10M'], ['--limit-request-line', '1.5'],
    ['--limit-request-fields', 'many'], ['--limit-request-field-size', '-8190'],
  ]) {
    it(`${args.join(' ')}: exit 2 naming the flag`, async () => {
      const { code, output } = await runCli(['start-server', fixture('body/tsgi.ts'), ...args]);
      assert.equal(code, 2);
      assert.match(output, new RegExp(`^tsgi-express: error: ${args[0]} `, 'm'));
    });
  }
});
