// The TSGI app every tsgi-express scenario serves. Same routes, bodies and headers
// as the bare servers (bench/servers/routes.mjs) so the only difference measured
// is the server: / -> 12-byte hello, /64k -> 64 KiB, POST /upload -> sha256 hex.
// Synchronous except for the upload, like examples/hello.ts: an async app would
// add a promise per request that the bare handler does not pay.
import { createHash } from 'node:crypto';
import type { Application, Environ, StartResponse } from 'tsgi-express';

const BIG = Buffer.alloc(64 * 1024, 'x');

async function upload(environ: Environ, startResponse: StartResponse): Promise<string[]> {
  const hash = createHash('sha256');
  for await (const chunk of environ['tsgi.input']) hash.update(chunk);
  startResponse('200 OK', [['Content-Type', 'text/plain; charset=utf-8']]);
  return [hash.digest('hex')];
}

export const application: Application = (environ, startResponse) => {
  const path = environ.PATH_INFO;
  if (path === '/64k') {
    startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
    return [BIG];
  }
  if (path === '/upload') return upload(environ, startResponse);
  startResponse('200 OK', [['Content-Type', 'text/plain; charset=utf-8']]);
  return ['Hello world!'];
};
