/** Whether nothing listens on 127.0.0.1:PORT: a bind that succeeds and is closed again. */
import net from 'node:net';

export const DEBUGGER_HOST = '127.0.0.1';

export function portIsFree(port: number, host = DEBUGGER_HOST): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port the kernel has just handed out as free (for --debugger-port 0). */
export function freePort(host = DEBUGGER_HOST): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
