// A bare node:http cluster (bench/servers/cluster.mjs, ACCEPT says who accepts) whose
// every answer is the serving worker's pid: bench/accept-bursts.mjs counts, per
// connection, which worker took it.
import { serve } from './cluster.mjs';

serve(() => (req, res) => {
  const body = String(process.pid);
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
});
