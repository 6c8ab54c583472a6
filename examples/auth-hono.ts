// Serve with:  npx tsgi-express start-server examples/auth-hono.ts --auth-user-script examples/auth-users.ts
// Hono (or any fetch handler) behind the server's authentication: the user is in
// the environ, which Hono gives handlers as c.env: c.env.REMOTE_USER, c.env.AUTH_TYPE.
import { Hono } from 'hono';
import type { Environ } from 'tsgi-express';

const app = new Hono<{ Bindings: Environ }>();

app.get('/', (c) => c.json({ user: c.env.REMOTE_USER, via: c.env.AUTH_TYPE }));

export default app;
