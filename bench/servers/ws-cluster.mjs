// The ws echo app on its own node:cluster (PORT, HOST, PROCESSES as cluster.mjs).
import cluster from 'node:cluster';

const processes = Number(process.env.PROCESSES ?? 2);
if (cluster.isWorker) {
  const { server } = await import('../apps/ws-echo.mjs');
  const ready = () => process.send('listening');
  if (server.listening) ready();
  else server.once('listening', ready);
} else {
  let listening = 0;
  for (let i = 0; i < processes; i++) {
    cluster.fork().on('message', (m) => {
      if (m === 'listening' && ++listening === processes) {
        process.stdout.write(`Ready: ${processes} workers serving http://${process.env.HOST}:${process.env.PORT}/\n`);
      }
    });
  }
  process.on('SIGTERM', () => process.exit(0));
}
