/**
 * --port 0: the master picks the free port once, before forking, so every worker
 * (and every later generation after a reload) listens on the same concrete port.
 */
import net from 'node:net';

export function pickFreePort(host: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen({ port: 0, host }, () => {
      const address = probe.address() as net.AddressInfo;
      probe.close(() => resolve(address.port));
    });
  });
}
