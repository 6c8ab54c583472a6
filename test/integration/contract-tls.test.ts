/**
 * The interface contract (test/helpers/contract.ts) over HTTPS and over HTTP/2:
 * TSGI, fetch, node, Express 5, Koa and Hono apps, unchanged, get the same
 * request and the same service whichever protocol the client speaks. HTTP/2
 * with two workers (node:cluster hands out the TLS connections), HTTPS with one
 * (the socket the master lends).
 */
import { after } from 'node:test';
import { APPS, contract, type TlsFiles } from '../helpers/contract.js';
import { killAll } from '../helpers/server.js';
import { ca, pki, useTestPki } from '../helpers/tls.js';

useTestPki();
after(() => killAll());
const files = (): TlsFiles => ({ cert: pki.serverCert, key: pki.serverKey, ca });

for (const app of APPS) contract(app, 2, 'h2', files);
for (const app of APPS) contract(app, 1, 'https', files);
