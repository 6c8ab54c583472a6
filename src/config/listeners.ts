/**
 * The listeners a Config asks for: plain HTTP on --port always, HTTPS on
 * --https-port when given. The master binds one socket per listener and the
 * worker builds one server per listener from this same list, so the two
 * cannot disagree about what is served where.
 */
import type { Config } from './schema.js';

export type ListenerName = 'http' | 'https';

export interface ListenerSpec {
  readonly name: ListenerName;
  readonly scheme: 'http' | 'https';
  readonly port: number;
  /** The option that sets the port, for messages (without the dashes). */
  readonly flag: 'port' | 'https-port';
}

export function listenerSpecs(config: Pick<Config, 'port' | 'httpsPort'>): ListenerSpec[] {
  const specs: ListenerSpec[] = [{ name: 'http', scheme: 'http', port: config.port, flag: 'port' }];
  if (config.httpsPort !== undefined) specs.push({ name: 'https', scheme: 'https', port: config.httpsPort, flag: 'https-port' });
  return specs;
}

/** The URL a listener serves at, as the banner shows it: the default port of its scheme is left out. */
export function listenerUrl(serverName: string, spec: Pick<ListenerSpec, 'scheme' | 'port'>): string {
  const defaultPort = spec.scheme === 'https' ? 443 : 80;
  const port = spec.port === defaultPort ? '' : `:${spec.port}`;
  const host = serverName.includes(':') ? `[${serverName}]` : serverName; // IPv6
  return `${spec.scheme}://${host}${port}/`;
}
