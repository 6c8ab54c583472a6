// The HTTPS limit: node:https on node:cluster, the bare handler, the certificate
// the harness made (TLS_CERT, TLS_KEY), Node's TLS defaults. Each worker keeps its
// own session-ticket keys, as a plain node:https cluster does.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { serve } from './cluster.mjs';
import { handler } from './routes.mjs';

const tls = { cert: readFileSync(process.env.TLS_CERT), key: readFileSync(process.env.TLS_KEY) };
serve(() => handler, (h) => https.createServer(tls, h));
