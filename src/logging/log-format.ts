/**
 * Apache LogFormat strings for --access-log-format (mod_wsgi-express passes any
 * value other than `common` or `combined` to Apache verbatim). A format is
 * compiled once into a list of parts; a directive this server cannot produce is
 * a usage error at start-up, not a silent `-` in every line.
 */
import { accessTime, escapeField } from './access-format.js';

/** What one finished request offers to a format; read only by the parts that need it. */
export interface AccessFacts {
  /** The client (%a, %h): the address the trusted-proxy rules give. */
  readonly remoteAddr: string;
  /** The peer of the connection itself (%{c}a): the proxy, behind one. */
  readonly peerAddr: string;
  readonly remotePort: number | undefined;
  readonly localAddr: string;
  readonly localPort: number | undefined;
  readonly user: string | undefined;
  readonly startMs: number;
  readonly durationUs: number;
  readonly method: string;
  /** The request target in origin-form (of an absolute-form target, its path and query), for %U and %q. */
  readonly target: string;
  readonly protocol: string;
  /** `METHOD target protocol`, as %r and the named formats write it. */
  readonly requestLine: string;
  readonly status: number;
  readonly bytes: number;
  readonly pid: number;
  readonly requestId: string;
  /** The configured server name (%v) and the one the request asked for (%V). */
  readonly serverName: string;
  readonly requestedName: string;
  /** '+' kept alive, '-' closed after the response, 'X' aborted before it completed. */
  readonly connection: '+' | '-' | 'X';
  requestHeader(name: string): string | undefined;
  responseHeader(name: string): string | undefined;
}

type Part = (f: AccessFacts) => string;

export const NAMED_FORMATS = {
  common: '%h %l %u %t "%r" %>s %b',
  combined: '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"',
} as const;

export class LogFormatError extends Error {}

const dash = (value: string | undefined): string => (value === undefined || value === '' ? '-' : value);
const pathOf = (target: string): string => target.split('?', 1)[0]!;
const queryOf = (target: string): string => {
  const q = target.indexOf('?');
  return q < 0 ? '' : target.slice(q);
};

/** Directives without an argument. */
const SIMPLE: Record<string, Part> = {
  h: (f) => f.remoteAddr,
  a: (f) => f.remoteAddr,
  A: (f) => f.localAddr,
  l: () => '-',
  u: (f) => (f.user ? escapeField(f.user) : '-'),
  t: (f) => accessTime(f.startMs),
  r: (f) => escapeField(f.requestLine),
  m: (f) => escapeField(f.method),
  U: (f) => escapeField(pathOf(f.target)),
  q: (f) => escapeField(queryOf(f.target)),
  H: (f) => f.protocol,
  s: (f) => String(f.status),
  b: (f) => (f.bytes > 0 ? String(f.bytes) : '-'),
  B: (f) => String(f.bytes),
  D: (f) => String(Math.round(f.durationUs)),
  T: (f) => String(Math.floor(f.durationUs / 1e6)),
  p: (f) => dash(f.localPort?.toString()),
  P: (f) => String(f.pid),
  L: (f) => f.requestId,
  v: (f) => f.serverName,
  V: (f) => escapeField(f.requestedName),
  X: (f) => f.connection,
};

/** Directives with a {argument}; returns undefined when the argument is not understood. */
function withArgument(directive: string, arg: string): Part | undefined {
  switch (directive) {
    case 'i': return (f) => escapeField(dash(f.requestHeader(arg)));
    case 'o': return (f) => escapeField(dash(f.responseHeader(arg)));
    case 'a': return arg === 'c' ? (f) => f.peerAddr : undefined;
    case 'p':
      if (arg === 'canonical' || arg === 'local') return SIMPLE.p;
      return arg === 'remote' ? (f) => dash(f.remotePort?.toString()) : undefined;
    case 'P': return arg === 'pid' ? SIMPLE.P : undefined;
    case 'T':
      if (arg === 's') return SIMPLE.T;
      if (arg === 'ms') return (f) => String(Math.floor(f.durationUs / 1000));
      return arg === 'us' ? SIMPLE.D : undefined;
    case 't':
      if (arg === 'sec') return (f) => String(Math.floor(f.startMs / 1000));
      if (arg === 'msec') return (f) => String(Math.floor(f.startMs));
      return arg === 'usec' ? (f) => String(Math.floor(f.startMs * 1000)) : undefined;
    default: return undefined;
  }
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', '\\': '\\' };

/** One directive at format[i] (just after '%'); returns the part and the index after it. */
function directiveAt(format: string, i: number): [Part, number] {
  let j = i;
  while (format[j] === '<' || format[j] === '>') j++; // original/final request: one request here
  if (/[0-9!]/.test(format[j] ?? '')) {
    throw new LogFormatError('status conditions (such as %400,501{Referer}i) are not supported');
  }
  let arg: string | undefined;
  if (format[j] === '{') {
    const close = format.indexOf('}', j);
    if (close < 0) throw new LogFormatError(`unclosed { after % at position ${i}`);
    arg = format.slice(j + 1, close);
    j = close + 1;
  }
  const directive = format[j];
  if (directive === undefined) throw new LogFormatError('ends with an unfinished % directive');
  const part = arg === undefined ? SIMPLE[directive] : withArgument(directive, arg);
  if (!part) {
    const shown = arg === undefined ? `%${directive}` : `%{${arg}}${directive}`;
    throw new LogFormatError(`${shown} is not a directive tsgi-express can log`);
  }
  return [part, j + 1];
}

/** Compiles `common`, `combined` or an Apache LogFormat string; throws LogFormatError naming the problem. */
export function compileLogFormat(spec: string): (f: AccessFacts) => string {
  const format = spec in NAMED_FORMATS ? NAMED_FORMATS[spec as keyof typeof NAMED_FORMATS] : spec;
  const parts: (Part | string)[] = [];
  let text = '';
  for (let i = 0; i < format.length; ) {
    const c = format[i]!;
    if (c === '\\' && ESCAPES[format[i + 1] ?? ''] !== undefined) {
      text += ESCAPES[format[i + 1]!];
      i += 2;
    } else if (c === '%' && format[i + 1] === '%') {
      text += '%';
      i += 2;
    } else if (c === '%') {
      if (text) parts.push(text);
      text = '';
      const [part, next] = directiveAt(format, i + 1);
      parts.push(part);
      i = next;
    } else {
      text += c;
      i++;
    }
  }
  if (text) parts.push(text);
  return (f) => {
    let line = '';
    for (const part of parts) line += typeof part === 'string' ? part : part(f);
    return line + '\n';
  };
}
