/**
 * For the static-file tests: a site on disk (a document root, a directory
 * outside it holding a secret, alias targets, an app), curl run as a child
 * process, and raw HTTP exchanges over a socket (what curl would tidy up).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';

export const SECRET = 'TOP-SECRET-OUTSIDE-THE-ROOT';

/** A CSS body over the compression threshold, and compressible. */
export const CSS = 'body { color: #333; }\n'.repeat(200);

export interface TestSite {
  readonly dir: string;
  readonly root: string;
  readonly outside: string;
  readonly media: string;
  readonly app: string;
  readonly binary: Buffer;
  file(...parts: string[]): string;
  remove(): void;
}

/** TSGI app: says what it was asked, so a test can tell an app answer from a static one. */
export const APP = `export function application(environ: any, startResponse: any) {
  const path = environ.PATH_INFO;
  if (path === '/app-error') {
    startResponse('404 Not Found', [['Content-Type', 'text/plain'], ['WWW-Authenticate', 'Basic realm="x"'], ['X-App', 'yes']]);
    return ['the app says no'];
  }
  if (path === '/big-text') {
    startResponse('200 OK', [['Content-Type', 'text/html; charset=utf-8'], ['ETag', '"v1"']]);
    return ['<p>' + 'compressible text '.repeat(500) + '</p>'];
  }
  if (path === '/encoded') {
    startResponse('200 OK', [['Content-Type', 'text/plain'], ['Content-Encoding', 'gzip']]);
    return ['not really gzip but the app says so '.repeat(100)];
  }
  if (path === '/stream') {
    startResponse('200 OK', [['Content-Type', 'text/html']]);
    return (async function* () {
      yield 'first chunk '.repeat(100);
      await new Promise((r) => setTimeout(r, 1500));
      yield 'second chunk '.repeat(100);
    })();
  }
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [\`app \${environ.REQUEST_METHOD} \${environ.SCRIPT_NAME}|\${path}\`];
}
`;

export function makeSite(): TestSite {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-static-'));
  const file = (...parts: string[]) => path.join(dir, ...parts);
  const write = (rel: string, body: string | Buffer) => {
    mkdirSync(path.dirname(file(rel)), { recursive: true });
    writeFileSync(file(rel), body);
  };
  const binary = randomBytes(300 * 1024);
  write('root/style.css', CSS);
  write('root/small.txt', 'small text\n');
  write('root/data.bin', binary);
  write('root/empty.txt', '');
  write('root/sub/index.html', '<h1>sub index</h1>\n');
  write('root/sub/page.txt', 'sub page\n');
  write('root/noindex/a.txt', 'a\n');
  write('root/.env', SECRET);
  write('root/.git/config', SECRET);
  write('root/.well-known/acme.txt', 'acme token\n');
  write('root/errors/404.html', '<h1>custom not found</h1>\n');
  write('root/unknown.zzq', 'what type?\n');
  write('root/app.js', 'console.log("plain");\n'.repeat(100));
  write('root/app.js.gz', gzipSync('PRECOMPRESSED GZIP\n'));
  write('root/app.js.br', brotliCompressSync('PRECOMPRESSED BROTLI\n'));
  write('root/stale.css', CSS);
  write('root/stale.css.gz', gzipSync('STALE SIBLING\n'));
  write('outside/secret.txt', SECRET);
  write('outside/dir/secret.txt', SECRET);
  write('media/photo.txt', 'photo bytes\n');
  write('media/deep/x.txt', 'deep\n');
  write('favicon.ico', 'icon bytes');
  write('app.ts', APP);
  write('error-page.html', '<h1>file error page</h1>\n');
  // A sibling older than its file is stale: ignored.
  const old = new Date(Date.now() - 3600_000);
  utimesSync(file('root/stale.css.gz'), old, old);
  symlinkSync(file('outside/secret.txt'), file('root/link-out.txt'));
  symlinkSync(file('outside/dir'), file('root/dir-out'));
  symlinkSync('style.css', file('root/link-in.css'));
  return {
    dir,
    root: file('root'),
    outside: file('outside'),
    media: file('media'),
    app: file('app.ts'),
    binary,
    file,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface CurlResult {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  readonly exitCode: number;
}

/** curl -sS -i ARGS URL: status, last response's headers (lower-case names, repeated joined by ', '), body. */
export function curl(url: string, args: string[] = []): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '-i', '--max-time', '30', ...args, url], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => {
      const exitCode = err ? ((err as { code?: number }).code ?? 1) : 0;
      if (err && stdout.length === 0) return reject(err);
      resolve({ ...parseResponse(stdout), exitCode });
    });
  });
}

/** A raw HTTP/1.1 response (the last one, after any 100 Continue): status, headers, body bytes. */
export function parseResponse(raw: Buffer): { status: number; headers: Record<string, string>; body: Buffer } {
  let start = 0;
  for (;;) {
    const end = raw.indexOf('\r\n\r\n', start);
    if (end < 0) return { status: 0, headers: {}, body: raw.subarray(start) };
    const head = raw.subarray(start, end).toString('latin1');
    const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(head)?.[1] ?? 0);
    if (status === 100) {
      start = end + 4;
      continue;
    }
    const headers: Record<string, string> = {};
    for (const line of head.split('\r\n').slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    return { status, headers, body: raw.subarray(end + 4) };
  }
}

/** Sends `text` as is and collects everything until the server closes (or `ms` passes). */
export function exchange(port: number, text: string, ms = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    const timer = setTimeout(() => socket.destroy(), ms);
    socket.on('data', (d) => chunks.push(d));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      if (chunks.length) resolve(Buffer.concat(chunks));
      else reject(err);
    });
  });
}

/** One GET with `Connection: close` over a raw socket: the target goes out exactly as written. */
export async function rawGet(port: number, target: string, headers: Record<string, string> = {}, method = 'GET') {
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const raw = await exchange(port, `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Connection: close\r\n\r\n`);
  return { raw, ...parseResponse(raw) };
}
