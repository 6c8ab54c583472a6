// The bare (req, res) handler: the least work that answers the benchmark's routes.
// Same bodies and Content-Type as bench/apps/hello.ts.
import { createHash } from 'node:crypto';

const HELLO = Buffer.from('Hello world!');
const BIG = Buffer.alloc(64 * 1024, 'x');

export function handler(req, res) {
  if (req.url === '/64k') {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': BIG.length });
    return res.end(BIG);
  }
  if (req.url === '/upload') {
    const hash = createHash('sha256');
    req.on('data', (chunk) => hash.update(chunk));
    req.on('end', () => {
      const body = hash.digest('hex');
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length });
      res.end(body);
    });
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': HELLO.length });
  res.end(HELLO);
}
