// The fetch app, served both by tsgi-express (--interface fetch) and by the bare
// bridge (bench/servers/fetch-bridge.mjs): the difference is the server only.
import { createHash } from 'node:crypto';

const BIG = new Uint8Array(64 * 1024).fill(120);
const TEXT = { 'content-type': 'text/plain; charset=utf-8' };

export default {
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname === '/64k') return new Response(BIG, { headers: { 'content-type': 'application/octet-stream' } });
    if (pathname === '/upload') {
      const hash = createHash('sha256');
      for await (const chunk of request.body) hash.update(chunk);
      return new Response(hash.digest('hex'), { headers: TEXT });
    }
    return new Response('Hello world!', { headers: TEXT });
  },
};
