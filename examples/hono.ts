// Serve with:  npx tsgi-express start-server examples/hono.ts
// A Hono app, unchanged: export the app instead of serving it. Hono routes on the
// full URL path, so when mounting below / (--mount-point /api), give Hono the same
// base path: new Hono().basePath('/api'). The environ is Hono's c.env.
import { Hono } from 'hono';
import type { Environ } from 'tsgi-express';

const app = new Hono<{ Bindings: Environ }>();

app.get('/', (c) => c.text('Hello from Hono!'));

app.get('/users/:id', (c) => c.json({ id: c.req.param('id'), worker: c.env['tsgi_express.process_id'] }));

app.post('/echo', async (c) => c.json(await c.req.json()));

export default app;
