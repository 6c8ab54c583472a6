// The Hono reference: bench/apps/hono-hello.mjs under @hono/node-server (its request
// listener, with its default global Request/Response overrides) on a node:cluster of
// the same size, as a Hono user deploys it without tsgi-express.
import { getRequestListener } from '@hono/node-server';
import { serve } from './cluster.mjs';

serve(async () => getRequestListener((await import('../apps/hono-hello.mjs')).default.fetch));
