// The bare cluster with tsx's loader registered in each worker the way tsgi-express
// registers it (src/worker/load-app.ts: CommonJS hooks, then ESM hooks) before the
// handler is imported through it. Serves the same handler as bare-cluster, so the
// difference between the two is what registering tsx costs a worker by itself:
// on Node 20 that includes the thread module.register() starts for the hooks.
import { serve } from './cluster.mjs';

serve(async () => {
  const { register: registerCjs } = await import('tsx/cjs/api');
  const { register: registerEsm } = await import('tsx/esm/api');
  registerCjs();
  registerEsm();
  return (await import(new URL('./routes.mjs', import.meta.url).href)).handler;
});
