// Fastify on its own node:cluster: each worker serves the same instance's router,
// as fastify.listen() would.
import { serve } from './cluster.mjs';

serve(async () => {
  const app = (await import('../apps/fastify-hello.mjs')).default;
  await app.ready();
  return app.routing;
});
