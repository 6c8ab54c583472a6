/**
 * The forwarded-header registry of mod_wsgi (wsgi_environ.c, `--trust-proxy-header`)
 * and what each header rewrites, plus RFC 7239 `Forwarded`. Pure functions: the
 * stage that applies them to requests is proxy-headers.ts.
 */
import type { TrustedProxies } from '../net/trusted-proxies.js';
import type { Forwarded } from './context.js';

/** Headers of one category are synonyms: once one is trusted, the others are never believed. */
export type Category = 'client' | 'host' | 'server' | 'port' | 'script-name' | 'scheme';

/** What applying one trusted header did: the categories it decided, and its own value rewritten (XFF). */
export interface Applied {
  readonly categories: readonly Category[];
  readonly rewrite?: string;
}

type Apply = (value: string, view: Forwarded, trusted: TrustedProxies) => Applied;

export interface HeaderEntry {
  /** As documented and accepted by --trust-proxy-header (matched ignoring case). */
  readonly name: string;
  readonly lower: string;
  readonly categories: readonly Category[];
  readonly apply: Apply;
}

const decided = (...categories: Category[]): Applied => ({ categories });
const CLIENT = decided('client');
const HOST = decided('host');
const SERVER = decided('server');
const PORT = decided('port');
const SCRIPT_NAME = decided('script-name');
const SCHEME = decided('scheme');

/** A comma-separated list, items trimmed, empty items ignored (RFC 9110 5.6.1), as mod_wsgi reads X-Forwarded-For. */
export function listItems(value: string): string[] {
  const items: string[] = [];
  for (const part of value.split(',')) {
    const item = part.trim();
    if (item !== '') items.push(item);
  }
  return items;
}

/**
 * mod_wsgi's choice of client in a forwarded chain (nearest proxy last). With no
 * --trust-proxy, the first entry. Otherwise walk from the right over entries that
 * are listed proxies; the client is the entry just before them (the leftmost if all
 * are proxies), and the chain is cut to start there; if the rightmost entry is no
 * listed proxy, it is the client and the whole chain.
 */
export function chooseClient(addresses: readonly string[], trusted: TrustedProxies): { index: number; cut: boolean } {
  if (trusted.everyone) return { index: 0, cut: false };
  let first = -1;
  for (let i = addresses.length - 1; i >= 0; i--) {
    if (!trusted.listed(addresses[i]!)) break;
    first = i;
  }
  return { index: first >= 0 ? Math.max(first - 1, 0) : addresses.length - 1, cut: true };
}

const forwardedFor: Apply = (value, view, trusted) => {
  // One address, the usual case behind one proxy: no list to split.
  const items = value.includes(',') ? listItems(value) : value === '' ? [] : [value.trim()];
  if (items.length === 0) return CLIENT;
  const { index, cut } = chooseClient(items, trusted);
  view.remoteAddr = items[index]!;
  return cut ? { categories: CLIENT.categories, rewrite: items.slice(index).join(', ') } : CLIENT;
};

const verbatimClient: Apply = (value, view) => {
  view.remoteAddr = value;
  return CLIENT;
};

const forwardedHost: Apply = (value, view) => {
  view.host = value;
  return HOST;
};

const forwardedServer: Apply = (value, view) => {
  view.serverName = value;
  return SERVER;
};

const forwardedPort: Apply = (value, view) => {
  view.serverPort = value;
  return PORT;
};

const scriptName: Apply = (value, view) => {
  view.scriptName = value;
  return SCRIPT_NAME;
};

/** `https` or `http`, any case; anything else leaves the scheme as it was. */
const schemeString: Apply = (value, view) => {
  const lower = value.toLowerCase();
  if (lower === 'https' || lower === 'http') view.scheme = lower;
  return SCHEME;
};

const schemeBool: Apply = (value, view) => {
  const lower = value.toLowerCase();
  if (lower === 'on' || lower === 'true' || lower === '1') view.scheme = 'https';
  else if (lower === 'off' || lower === 'false' || lower === '0') view.scheme = 'http';
  return SCHEME;
};

// ---- RFC 7239 Forwarded ----

/** One element of a Forwarded list: its text as sent and its parameters (names lower-cased, values unquoted). */
interface ForwardedElement {
  readonly text: string;
  readonly params: Map<string, string>;
}

function unquote(value: string): string {
  if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return value;
  return value.slice(1, -1).replace(/\\(.)/g, '$1');
}

function parseElement(text: string): ForwardedElement {
  const params = new Map<string, string>();
  for (const pair of splitOutsideQuotes(text, ';')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim().toLowerCase();
    if (!params.has(name)) params.set(name, unquote(pair.slice(eq + 1).trim()));
  }
  return { text, params };
}

function splitOutsideQuotes(value: string, separator: string): string[] {
  const parts: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === separator && !quoted) {
      parts.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(value.slice(start).trim());
  return parts.filter((part) => part !== '');
}

export function parseForwarded(value: string): ForwardedElement[] {
  return splitOutsideQuotes(value, ',').map(parseElement);
}

/** A Forwarded node (`192.0.2.7:4711`, `[2001:db8::1]:80`, `unknown`, `_hidden`) without its port. */
export function nodeAddress(node: string): string {
  if (node.startsWith('[')) {
    const end = node.indexOf(']');
    return end > 0 ? node.slice(1, end) : node;
  }
  const colon = node.indexOf(':');
  return colon >= 0 && node.indexOf(':', colon + 1) < 0 ? node.slice(0, colon) : node;
}

/**
 * `Forwarded: for=...;proto=...;host=...` (RFC 7239): the element chosen as the
 * X-Forwarded-For entry would be (the client's own hop) gives REMOTE_ADDR, the
 * scheme and HTTP_HOST; the list is cut to start at it, as X-Forwarded-For is.
 */
const forwarded: Apply = (value, view, trusted) => {
  const elements = parseForwarded(value);
  if (elements.length === 0) return { categories: [] };
  const addresses = elements.map((element) => nodeAddress(element.params.get('for') ?? ''));
  const { index, cut } = chooseClient(addresses, trusted);
  const chosen = elements[index]!.params;
  const categories: Category[] = [];
  const client = chosen.get('for');
  if (client !== undefined) {
    view.remoteAddr = nodeAddress(client);
    categories.push('client');
  }
  const proto = chosen.get('proto');
  if (proto !== undefined) categories.push(...schemeString(proto, view, trusted).categories);
  const host = chosen.get('host');
  if (host !== undefined) categories.push(...forwardedHost(host, view, trusted).categories);
  const rewrite = cut ? elements.slice(index).map((element) => element.text).join(', ') : undefined;
  return { categories, rewrite };
};

const entry = (name: string, categories: readonly Category[], apply: Apply): HeaderEntry =>
  ({ name, lower: name.toLowerCase(), categories, apply });

/** mod_wsgi's registry, in its order, then Forwarded. */
export const HEADER_REGISTRY: readonly HeaderEntry[] = [
  entry('X-Forwarded-For', ['client'], forwardedFor),
  entry('X-Client-IP', ['client'], verbatimClient),
  entry('X-Real-IP', ['client'], verbatimClient),
  entry('X-Forwarded-Host', ['host'], forwardedHost),
  entry('X-Host', ['host'], forwardedHost),
  entry('X-Forwarded-Server', ['server'], forwardedServer),
  entry('X-Forwarded-Port', ['port'], forwardedPort),
  entry('X-Script-Name', ['script-name'], scriptName),
  entry('X-Forwarded-Script-Name', ['script-name'], scriptName),
  entry('X-Forwarded-Proto', ['scheme'], schemeString),
  entry('X-Forwarded-Scheme', ['scheme'], schemeString),
  entry('X-Scheme', ['scheme'], schemeString),
  entry('X-Forwarded-HTTPS', ['scheme'], schemeBool),
  entry('X-Forwarded-SSL', ['scheme'], schemeBool),
  entry('X-HTTPS', ['scheme'], schemeBool),
  entry('Forwarded', ['client', 'host', 'scheme'], forwarded),
];

export function lookupHeader(name: string): HeaderEntry | undefined {
  const lower = name.toLowerCase();
  return HEADER_REGISTRY.find((e) => e.lower === lower);
}
