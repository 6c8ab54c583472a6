/**
 * --port 0 (and --https-port 0, --metrics-port 0) with node:cluster's own sockets:
 * the master picks free ports once, before forking, so every worker (and every
 * later generation after a reload) listens on the same concrete ports.
 *
 * A port picked by a probe that is then closed can be taken by anyone before the
 * first worker listens on it (a second or more later): another server's bind, or
 * far more often a client's connect(), whose local port the kernel draws from the
 * same ephemeral range. So the master keeps each picked port bound, not listening,
 * for its whole life: a bound port is skipped by the kernel for both (a connect's
 * local port and another bind(0)), while node:cluster's listening socket, bound
 * with SO_REUSEADDR as libuv binds every TCP socket, may share it with a socket
 * that is not listening (Linux's rule). Nothing connects to the reservation: only
 * a listening socket is offered connections.
 */
import net from 'node:net';
import { ListeningSocket } from './listening-socket.js';

/** Reservations the master holds until it exits (the kernel closes them then). */
const held: ListeningSocket[] = [];

/** Free ports for `count` listeners, distinct, each held bound by the master (above). */
export async function reserveFreePorts(host: string | undefined, count: number): Promise<number[]> {
  if (!ListeningSocket.supported) return pickFreePorts(host, count);
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const socket = await ListeningSocket.bind(host, 0);
    held.push(socket);
    ports.push(socket.port);
  }
  return ports;
}

/** Free ports, distinct (each probe stays open until all are picked), released again. */
async function pickFreePorts(host: string | undefined, count: number): Promise<number[]> {
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
