// The bare cluster with the bare handler loaded through tsgi-express's own app
// loader (dist/worker/load-app.js: tsx's CommonJS and ESM hooks registered, the
// module imported through them) and nothing else of tsgi-express. The difference
// from bare-cluster is what loading through tsx costs a worker by itself: on
// Node 20 that includes the thread module.register() starts for the hooks.
import { fileURLToPath } from 'node:url';
import { loadApp } from '../../dist/worker/load-app.js';
import { serve } from './cluster.mjs';

serve(async () => (await loadApp(fileURLToPath(new URL('./routes.mjs', import.meta.url)))).namespace.handler);
