/**
 * --trust-proxy: the peers whose forwarded headers and PROXY protocol preambles
 * are believed, as IP addresses and CIDR blocks, IPv4 and IPv6 (mod_wsgi's
 * WSGITrustedProxies). Parsing is shared by the option's validation and the
 * worker, so what the CLI accepts is exactly what the worker matches.
 */
import net from 'node:net';

export interface ProxyBlock {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** `10.0.0.0/8`, `192.0.2.7`, `2001:db8::/32`, `::1`; undefined when it is none of those. */
export function parseProxyBlock(text: string): ProxyBlock | undefined {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const version = net.isIP(address);
  if (version === 0) return undefined;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const max = version === 4 ? 32 : 128;
  if (slash < 0) return { address, prefix: max, family };
  const bits = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return undefined;
  return { address, prefix: Number(bits), family };
}

/**
 * `::ffff:127.0.0.1` (an IPv4 client of a dual-stack listener) is 127.0.0.1, as
 * Apache reports it; anything else is returned as given.
 */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export class TrustedProxies {
  private readonly list = new net.BlockList();
  /** No --trust-proxy at all: mod_wsgi then trusts every peer. */
  readonly everyone: boolean;

  constructor(blocks: readonly string[]) {
    this.everyone = blocks.length === 0;
    for (const text of blocks) {
      const block = parseProxyBlock(text);
      if (block === undefined) throw new Error(`not an IP address or CIDR block: ${text}`);
      this.list.addSubnet(block.address, block.prefix, block.family);
    }
  }

  /** Whether `address` (a peer, or an entry of a forwarded chain) is a listed proxy; false for anything that is not an IP. */
  listed(address: string): boolean {
    const plain = plainAddress(address);
    const version = net.isIP(plain);
    if (version === 0) return false;
    return this.list.check(plain, version === 4 ? 'ipv4' : 'ipv6');
  }

  /** Whether forwarded facts from this peer are believed: every peer when no list was given. */
  trusts(peer: string | undefined): boolean {
    if (this.everyone) return true;
    return peer !== undefined && this.listed(peer);
  }
}
