// Shared by the bare servers: a node:cluster primary that forks PROCESSES workers
// (default 2), each listening on HOST:PORT with the handler it is given, and a
// `Ready` line on stdout once all listen, so the harness waits the same way for
// every server. PROCESSES=0 means no cluster: one process serves.
// `createServer(handler)` makes the server (node:http by default; node:https or
// node:http2 for the TLS scenarios).
//
// ACCEPT says who accepts connections (the no-keepalive scenario's references):
// `rr` (default) node:cluster's round-robin, the primary accepts and hands each
// over; `shared` every worker accepts on the one listening socket
// (cluster.SCHED_NONE); `reuseport` each worker binds its own SO_REUSEPORT socket
// and the kernel spreads connections by a hash (Node >= 22.12 / 23.1).
// Each worker counts its connections and writes `served N connections` to
// stdout on SIGTERM, so a run's log shows how they were spread.
import cluster from 'node:cluster';
import http from 'node:http';

const ACCEPT = process.env.ACCEPT ?? 'rr';

export function serve(makeHandler, createServer = (handler) => http.createServer(handler)) {
  const processes = Number(process.env.PROCESSES ?? 2);
  const port = Number(process.env.PORT);
  const host = process.env.HOST ?? '127.0.0.1';
  if (processes === 0 || cluster.isWorker) {
    Promise.resolve(makeHandler()).then((handler) => {
      const server = createServer(handler);
      let connections = 0;
      server.on('connection', () => connections++);
      process.on('SIGTERM', () => {
        process.stdout.write(`worker ${process.pid} served ${connections} connections\n`);
        process.exit(0);
      });
      const options = ACCEPT === 'reuseport' ? { port, host, reusePort: true, exclusive: true } : { port, host };
      server.listen(options, () => {
        if (cluster.isWorker) process.send('listening');
        else process.stdout.write(`Ready: 1 process serving http://${host}:${port}/\n`);
      });
    });
    return;
  }
  if (ACCEPT === 'shared' || ACCEPT === 'reuseport') cluster.schedulingPolicy = cluster.SCHED_NONE;
  let listening = 0;
  for (let i = 0; i < processes; i++) {
    cluster.fork().on('message', (m) => {
      if (m === 'listening' && ++listening === processes) {
        process.stdout.write(`Ready: ${processes} workers serving http://${host}:${port}/ (${ACCEPT})\n`);
      }
    });
  }
  // The harness stops us by process group (SIGTERM, then SIGKILL once this primary has
  // exited): the primary waits for its workers, so their `served` lines are written.
  // A worker that dies is not replaced.
  process.on('SIGTERM', () => {
    const left = () => Object.keys(cluster.workers ?? {}).length;
    if (left() === 0) process.exit(0);
    cluster.on('exit', () => left() === 0 && process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
