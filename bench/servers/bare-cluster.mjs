// The limit: bare node:http on node:cluster, PROCESSES workers (PROCESSES=0: single process).
import { serve } from './cluster.mjs';
import { handler } from './routes.mjs';

serve(() => handler);
