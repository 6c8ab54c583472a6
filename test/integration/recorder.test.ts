// --enable-recorder and `tsgi-express replay` through a real server: the files
// recorded for a POST with a binary body (read by the app through tsgi.input), a
// streamed response, an app that uses write(), an exception with its stack; then
// replay against the same app (nothing differs, exit 0) and against the app after
// an edit (one line naming the changed request, exit 1).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { killAll, runCli, startServer, type RunningServer } from '../helpers/server.js';

const appSource = (version: string) => `import { createHash } from 'node:crypto';

export async function application(environ: any, startResponse: any) {
  const path = environ.PATH_INFO;
  if (path === '/upload') {
    const body: Uint8Array = await environ['tsgi.input'].read();
    startResponse('200 OK', [['Content-Type', 'text/plain'], ['X-Bytes', String(body.byteLength)]]);
    return [createHash('sha256').update(body).digest('hex')];
  }
  if (path === '/stream') {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return (async function* () {
      for (let i = 0; i < 5; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        yield 'chunk ' + i + '\\n';
      }
    })();
  }
  if (path === '/write') {
    const write = startResponse('200 OK', [['Content-Type', 'text/plain']]);
    write('written, ');
    return ['then returned'];
  }
  if (path === '/boom') {
    throw new RangeError('recorded failure');
  }
  if (path === '/broken') {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return (async function* () {
      yield 'partial ';
      await new Promise((resolve) => setTimeout(resolve, 5));
      throw new Error('failed while streaming');
    })();
  }
  startResponse('200 OK', [['Content-Type', 'text/plain'], ['X-Version', '${version}']]);
  return ['version ${version}'];
}
`;
const THROW_LINE = 25;

/** Every byte value, twice, and bytes that are not UTF-8. */
const BINARY = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28]), Buffer.alloc(70_000, 0xab)]);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tsgi-recorder-'));
  await writeFile(path.join(dir, 'app.ts'), appSource('1'));
});
after(async () => {
  killAll();
  await rm(dir, { recursive: true, force: true });
});

interface Files {
  request: Record<string, any>;
  response: Record<string, any>;
  requestBody?: Buffer;
  responseBody?: Buffer;
}

/** The recorded files of every request in `recordings`, in arrival order. */
function recorded(recordings: string): Files[] {
  const keys = readdirSync(recordings).filter((f) => f.endsWith('.request.json')).map((f) => f.slice(0, -'.request.json'.length)).sort();
  return keys.map((key) => {
    const request = JSON.parse(readFileSync(path.join(recordings, `${key}.request.json`), 'utf8'));
    const response = JSON.parse(readFileSync(path.join(recordings, `${key}.response.json`), 'utf8'));
    assert.equal(request.format, 'tsgi-express-recording/1');
    assert.equal(request.key, key);
    return {
      request,
      response,
      requestBody: request.body ? readFileSync(path.join(recordings, request.body)) : undefined,
      responseBody: response.body ? readFileSync(path.join(recordings, response.body)) : undefined,
    };
  });
}

async function send(server: RunningServer, target: string, init: { method?: string; body?: Buffer } = {}) {
  const res = await request(new URL(target, server.url), { method: (init.method ?? 'GET') as 'GET', body: init.body });
  return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
}

/** Stops the server; the recorder writes each request's files at its response's end, so all are there. */
async function stop(server: RunningServer): Promise<void> {
  server.signal('SIGTERM');
  assert.equal((await server.exited()).code, 0);
}

const header = (headers: [string, string][], name: string) => headers.find(([n]) => n.toLowerCase() === name)?.[1];

describe('--enable-recorder', { timeout: 120_000 }, () => {
  it('records a binary POST, a streamed response, write() and an exception; the app sees every byte', async () => {
    const recordings = path.join(dir, 'recorded');
    const server = await startServer([path.join(dir, 'app.ts'), '--enable-recorder', '--recorder-directory', recordings]);
    assert.match(server.output(), new RegExp(`^Recorder Output {4}: ${recordings}$`, 'm'));

    const upload = await send(server, '/upload?name=blob', { method: 'POST', body: BINARY });
    assert.equal(upload.status, 200);
    assert.equal(upload.body.toString(), sha256(BINARY), 'the app did not read the body the client sent');
    const stream = await send(server, '/stream');
    assert.equal(stream.body.toString(), 'chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n');
    const written = await send(server, '/write');
    assert.equal(written.body.toString(), 'written, then returned');
    const boom = await send(server, '/boom');
    assert.equal(boom.status, 500);
    // Headers are out when the body fails: the connection is cut.
    await assert.rejects(send(server, '/broken'));
    await stop(server);

    const [post, streamed, write, failed, broken, ...rest] = recorded(recordings);
    assert.equal(rest.length, 0);

    assert.equal(post!.request.method, 'POST');
    assert.equal(post!.request.target, '/upload?name=blob');
    assert.equal(post!.request.bodyBytes, BINARY.byteLength);
    assert.ok(post!.requestBody!.equals(BINARY), 'the recorded request body is not the bytes sent');
    assert.equal(header(post!.request.headers, 'content-length'), String(BINARY.byteLength));
    assert.equal(post!.response.status, 200);
    assert.equal(header(post!.response.headers, 'x-bytes'), String(BINARY.byteLength));
    assert.equal(post!.responseBody!.toString(), sha256(BINARY));
    assert.equal(post!.response.bodySha256, sha256(upload.body));
    assert.equal(post!.response.complete, true);

    assert.equal(streamed!.request.method, 'GET');
    assert.equal(streamed!.request.body, null);
    assert.equal(header(streamed!.response.headers, 'transfer-encoding'), 'chunked');
    // The body as the application sent it, without the chunked framing.
    assert.ok(streamed!.responseBody!.equals(stream.body));
    assert.equal(streamed!.response.bodyBytes, stream.body.byteLength);

    assert.equal(write!.responseBody!.toString(), 'written, then returned');

    assert.equal(failed!.response.status, 500);
    assert.equal(failed!.response.exceptions.length, 1);
    assert.equal(failed!.response.exceptions[0].phase, 'call');
    assert.match(failed!.response.exceptions[0].stack, /^RangeError: recorded failure\n/);
    assert.match(failed!.response.exceptions[0].stack, new RegExp(`app\\.ts:${THROW_LINE}:\\d+`));

    assert.equal(broken!.response.status, 200);
    assert.equal(broken!.response.complete, false);
    assert.equal(broken!.responseBody!.toString(), 'partial ');
    assert.deepEqual(broken!.response.exceptions.map((e: { phase: string }) => e.phase), ['body']);
    assert.match(broken!.response.exceptions[0].stack, /^Error: failed while streaming\n/);
  });

  it('replay: nothing differs against the same app (exit 0); one line for the response the edited app changed (exit 1)', async () => {
    const recordings = path.join(dir, 'replayed');
    await writeFile(path.join(dir, 'app.ts'), appSource('1'));
    let server = await startServer([path.join(dir, 'app.ts'), '--enable-recorder', '--recorder-directory', recordings]);
    assert.equal((await send(server, '/upload', { method: 'POST', body: BINARY })).status, 200);
    assert.equal((await send(server, '/stream')).status, 200);
    assert.equal((await send(server, '/version')).body.toString(), 'version 1');
    await stop(server);

    server = await startServer([path.join(dir, 'app.ts')]);
    const same = await runCli(['replay', recordings, '--url', server.url, '--compare-header', 'X-Version']);
    assert.equal(same.code, 0, same.output);
    assert.match(same.output, /^replayed 3 requests to http:\/\/127\.0\.0\.1:\d+: 0 differ$/m);
    await stop(server);

    await writeFile(path.join(dir, 'app.ts'), appSource('2'));
    server = await startServer([path.join(dir, 'app.ts')]);
    const changed = await runCli(['replay', recordings, '--url', server.url, '--compare-header', 'X-Version']);
    assert.equal(changed.code, 1, changed.output);
    const lines = changed.output.trim().split('\n');
    assert.equal(lines.length, 2, changed.output);
    assert.match(lines[0]!, /^GET \/version: X-Version "1" -> "2"; body sha256 \w{12} \(9 bytes\) -> \w{12} \(9 bytes\)$/);
    assert.match(lines[1]!, /: 1 differ$/);
    await stop(server);
  });

  it('bad input: replay without --url, or of a directory with no recordings, exits 2; a --recorder-directory that cannot be made exits 2 naming it', async () => {
    const noUrl = await runCli(['replay', dir]);
    assert.equal(noUrl.code, 2, noUrl.output);
    assert.match(noUrl.output, /--url/);
    const empty = path.join(dir, 'empty');
    await mkdir(empty);
    const none = await runCli(['replay', empty, '--url', 'http://127.0.0.1:9/']);
    assert.equal(none.code, 2, none.output);
    assert.match(none.output, /no recorded requests/);
    // Under a regular file: no directory can be made there, not even by root (CI runs as root).
    const file = path.join(dir, 'a-file');
    await writeFile(file, '');
    const unwritable = await runCli(['start-server', path.join(dir, 'app.ts'), '--enable-recorder', '--recorder-directory', path.join(file, 'sub'), '--port', '0']);
    assert.equal(unwritable.code, 2, unwritable.output);
    assert.match(unwritable.output, /--recorder-directory/);
  });
});
