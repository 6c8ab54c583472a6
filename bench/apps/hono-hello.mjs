// The Hono app, served both by tsgi-express and by @hono/node-server on a node:cluster
// (bench/servers/hono-node-server.mjs): the difference is the server only.
// Same routes and bodies as the other bench apps.
import { createHash } from 'node:crypto';
import { Hono } from 'hono';

const BIG = new Uint8Array(64 * 1024).fill(120);

const app = new Hono();
app.get('/', (c) => c.text('Hello world!'));
app.get('/64k', (c) => c.body(BIG, 200, { 'content-type': 'application/octet-stream' }));
app.post('/upload', async (c) => {
  const hash = createHash('sha256');
  for await (const chunk of c.req.raw.body) hash.update(chunk);
  return c.text(hash.digest('hex'));
});

export default app;
