// The HTTP/2 limit: node:http2's secure server (ALPN h2) on node:cluster, the bare
// handler through Node's compatibility API, the certificate the harness made.
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { serve } from './cluster.mjs';
import { handler } from './routes.mjs';

const tls = { cert: readFileSync(process.env.TLS_CERT), key: readFileSync(process.env.TLS_KEY) };
serve(() => handler, (h) => http2.createSecureServer(tls, h));
