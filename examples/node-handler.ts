// Serve with:  npx tsgi-express start-server examples/node-handler.ts
// A plain node:http request handler: the function you would pass to
// http.createServer(), exported instead. req and res are Node's own objects.
import type { IncomingMessage, ServerResponse } from 'node:http';

export default function handler(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === 'POST') {
    let size = 0;
    req.on('data', (chunk: Buffer) => (size += chunk.length));
    req.on('end', () => res.end(`received ${size} bytes\n`));
    return;
  }
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(`Hello from a node:http handler! ${req.method} ${req.url}\n`);
}
