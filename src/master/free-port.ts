/**
 * --port 0 (and --https-port 0): the master picks free ports once, before forking,
 * so every worker (and every later generation after a reload) listens on the same
 * concrete ports.
 */
import net from 'node:net';

/** Free ports for `count` listeners, distinct: each probe stays open until all are picked. */
export async function pickFreePorts(host: string | undefined, count: number): Promise<number[]> {
  const probes: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const probe = net.createServer();
      probes.push(probe);
      await new Promise<void>((resolve, reject) => {
        probe.once('error', reject);
        probe.listen({ port: 0, host }, resolve);
      });
    }
    return probes.map((probe) => (probe.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(probes.map((probe) => new Promise((resolve) => probe.close(resolve))));
  }
}
