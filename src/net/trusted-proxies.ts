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

/** A valid dotted IPv4 address as an unsigned 32-bit number. */
function ipv4Value(address: string): number {
  let value = 0;
  for (const part of address.split('.')) value = value * 256 + Number(part);
  return value;
}

/** A valid IPv6 address (zone removed) as eight 16-bit groups; an embedded IPv4 tail counts as two. */
function ipv6Groups(address: string): number[] {
  const zone = address.indexOf('%');
  const text = zone < 0 ? address : address.slice(0, zone);
  const parse = (half: string): number[] => {
    if (half === '') return [];
    const groups: number[] = [];
    for (const part of half.split(':')) {
      if (part.includes('.')) {
        const v4 = ipv4Value(part);
        groups.push(Math.floor(v4 / 65536), v4 % 65536);
      } else groups.push(parseInt(part, 16));
    }
    return groups;
  };
  const gap = text.indexOf('::');
  if (gap < 0) return parse(text);
  const head = parse(text.slice(0, gap));
  const tail = parse(text.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** One block, matched in plain JavaScript: net.BlockList.check costs ~10 us a call (a native SocketAddress each). */
class Block {
  private readonly v4: number;
  private readonly v6: number[];

  constructor(readonly block: ProxyBlock) {
    this.v4 = block.family === 'ipv4' ? ipv4Value(block.address) : 0;
    this.v6 = block.family === 'ipv6' ? ipv6Groups(block.address) : [];
  }

  matches4(value: number): boolean {
    const bits = this.block.prefix;
    if (bits === 0) return true;
    const shift = 32 - bits;
    return Math.floor(value / 2 ** shift) === Math.floor(this.v4 / 2 ** shift);
  }

  matches6(groups: readonly number[]): boolean {
    let bits = this.block.prefix;
    for (let i = 0; i < 8 && bits > 0; i++, bits -= 16) {
      const shift = bits >= 16 ? 0 : 16 - bits;
      if (groups[i]! >> shift !== this.v6[i]! >> shift) return false;
    }
    return true;
  }
}

export class TrustedProxies {
  private readonly v4: Block[] = [];
  private readonly v6: Block[] = [];
  /** No --trust-proxy at all: mod_wsgi then trusts every peer. */
  readonly everyone: boolean;

  constructor(blocks: readonly string[]) {
    this.everyone = blocks.length === 0;
    for (const text of blocks) {
      const block = parseProxyBlock(text);
      if (block === undefined) throw new Error(`not an IP address or CIDR block: ${text}`);
      (block.family === 'ipv4' ? this.v4 : this.v6).push(new Block(block));
    }
  }

  /** Whether `address` (a peer, or an entry of a forwarded chain) is a listed proxy; false for anything that is not an IP. */
  listed(address: string): boolean {
    const plain = plainAddress(address);
    const version = net.isIP(plain);
    if (version === 4) {
      const value = ipv4Value(plain);
      return this.v4.some((block) => block.matches4(value));
    }
    if (version === 6 && this.v6.length > 0) {
      const groups = ipv6Groups(plain);
      return this.v6.some((block) => block.matches6(groups));
    }
    return false;
  }

  /** Whether forwarded facts from this peer are believed: every peer when no list was given. */
  trusts(peer: string | undefined): boolean {
    if (this.everyone) return true;
    return peer !== undefined && this.listed(peer);
  }
}
