// The Express app, served both by tsgi-express and on its own cluster
// (bench/servers/express-cluster.mjs).
import { createHash } from 'node:crypto';
import express from 'express';

const BIG = Buffer.alloc(64 * 1024, 'x');
const app = express();

app.get('/', (req, res) => {
  res.type('text/plain').send('Hello world!');
});
app.get('/64k', (req, res) => {
  res.type('application/octet-stream').send(BIG);
});
app.post('/upload', (req, res) => {
  const hash = createHash('sha256');
  req.on('data', (chunk) => hash.update(chunk));
  req.on('end', () => res.type('text/plain').send(hash.digest('hex')));
});

export default app;
