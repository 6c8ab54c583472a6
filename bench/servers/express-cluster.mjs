// The same Express app tsgi-express serves, on its own node:cluster (app.listen's equivalent).
import { serve } from './cluster.mjs';

serve(async () => (await import('../apps/express-hello.mjs')).default);
