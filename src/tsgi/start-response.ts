/**
 * The startResponse() argument rules (docs/tsgi.md, "startResponse"). They are
 * checked when startResponse() is called so the application's stack trace points
 * at the bad call. Rules that mod_wsgi enforces only when the response is sent
 * (hop-by-hop headers, a malformed Content-Length) are recorded in `sendRule`
 * and turned into a 500 by the response writer.
 */
import { ResponseRuleError } from '../errors.js';

/** A validated startResponse() call, ready for res.writeHead(). */
export interface ResponseStart {
  readonly statusCode: number;
  readonly reason: string;
  /** [name, value, name, value, ...] as res.writeHead() takes them; repeats kept. */
  readonly flatHeaders: string[];
  /** The app's Content-Length, or -1 when it set none. */
  readonly contentLength: number;
  /** A send-time rule the headers break, or undefined. */
  readonly sendRule: string | undefined;
  /**
   * The head has latin-1 (non-ASCII) characters. Node may send the head joined
   * with a string body chunk as UTF-8, so string chunks then go out as bytes.
   */
  readonly nonAscii: boolean;
}

/** RFC 9110 tchar: ! # $ % & ' * + - . ^ _ ` | ~ DIGIT ALPHA. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TCHAR[c.charCodeAt(0)] = 1;
}

/** Hop-by-hop headers belong to the connection, which the server owns (RFC 9110 7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

export function isToken(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 128 || TCHAR[c] === 0) return false;
  }
  return true;
}

const ASCII = 0;
const LATIN1 = 1;
const NOT_LATIN1 = 2;
const CONTROL = 3;

/** Classifies a header value in one pass. HTAB is allowed (RFC 9110 5.5). */
function scanValue(value: string): number {
  let kind = ASCII;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x20 && c !== 0x7f) {
      if (c > 0xff) return NOT_LATIN1;
      if (c > 0x7f) kind = LATIN1;
    } else if (c !== 0x09) {
      return CONTROL;
    }
  }
  return kind;
}

/** Status lines and header names repeat on every request: remember the valid ones. */
const CACHE_LIMIT = 512;
const statusCache = new Map<string, readonly [number, string]>();
const NAME_PLAIN = 0;
const NAME_CONTENT_LENGTH = 1;
const NAME_HOP_BY_HOP = 2;
const nameCache = new Map<string, number>();

function remember<K, V>(cache: Map<K, V>, key: K, value: V): V {
  if (cache.size < CACHE_LIMIT) cache.set(key, value);
  return value;
}

/** '200 OK' -> [200, 'OK']; throws naming the rule otherwise. */
export function parseStatus(status: unknown): readonly [number, string] {
  if (typeof status === 'string') {
    const known = statusCache.get(status);
    if (known !== undefined) return known;
  }
  return remember(statusCache, status as string, checkStatus(status));
}

function checkStatus(status: unknown): readonly [number, string] {
  if (typeof status !== 'string') {
    throw new ResponseRuleError(`startResponse() status must be a string, not ${typeof status}`);
  }
  const d0 = status.charCodeAt(0) - 48;
  const d1 = status.charCodeAt(1) - 48;
  const d2 = status.charCodeAt(2) - 48;
  const digits = d0 >= 2 && d0 <= 5 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9;
  if (!digits || status.charCodeAt(3) !== 0x20) {
    throw new ResponseRuleError(
      `startResponse() status must be three digits 200-599, a space and a reason phrase, got ${JSON.stringify(status)}`,
    );
  }
  for (let i = 4; i < status.length; i++) {
    const c = status.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) {
      throw new ResponseRuleError(
        `startResponse() status must not contain control characters, got ${JSON.stringify(status)}`,
      );
    }
    if (c > 0xff) {
      throw new ResponseRuleError(`startResponse() status must be latin-1, got ${JSON.stringify(status)}`);
    }
  }
  return [d0 * 100 + d1 * 10 + d2, status.slice(4)];
}

function statusIsLatin1(reason: string): boolean {
  for (let i = 0; i < reason.length; i++) if (reason.charCodeAt(i) > 0x7f) return true;
  return false;
}

function checkPair(header: unknown, index: number): void {
  if (!Array.isArray(header) || header.length !== 2) {
    throw new ResponseRuleError(`startResponse() header #${index} must be a [name, value] pair`);
  }
  if (typeof header[0] !== 'string' || typeof header[1] !== 'string') {
    throw new ResponseRuleError(`startResponse() header #${index} name and value must both be strings`);
  }
}

/** What a header name means to the send-time rules; throws if it is not a token. */
function nameKind(name: string): number {
  const known = nameCache.get(name);
  if (known !== undefined) return known;
  if (!isToken(name)) {
    throw new ResponseRuleError(`startResponse() header name ${JSON.stringify(name)} must be an HTTP token (RFC 9110 tchar)`);
  }
  const lower = name.toLowerCase();
  const kind =
    lower === 'content-length' ? NAME_CONTENT_LENGTH
    : HOP_BY_HOP.has(lower) || lower.startsWith('proxy-') ? NAME_HOP_BY_HOP
    : NAME_PLAIN;
  return remember(nameCache, name, kind);
}

/** Content-Length as a number; NaN when it is not a plain non-negative integer. */
function parseContentLength(value: string): number {
  const trimmed = value.trim();
  return /^\d{1,15}$/.test(trimmed) ? Number(trimmed) : NaN;
}

/** Validates a startResponse() call; throws ResponseRuleError naming the broken rule. */
export function parseStart(status: unknown, headers: unknown): ResponseStart {
  const [statusCode, reason] = parseStatus(status);
  if (!Array.isArray(headers)) {
    throw new ResponseRuleError('startResponse() headers must be an array of [name, value] pairs');
  }
  const flatHeaders: string[] = new Array<string>(headers.length * 2);
  let contentLength = -1;
  let sendRule: string | undefined;
  let nonAscii = statusIsLatin1(reason);
  for (let i = 0; i < headers.length; i++) {
    checkPair(headers[i], i);
    const name = headers[i][0] as string;
    const value = headers[i][1] as string;
    const nk = nameKind(name);
    const kind = scanValue(value);
    if (kind === NOT_LATIN1) {
      throw new ResponseRuleError(`startResponse() header ${name} value must be latin-1 (code points <= 0xFF)`);
    }
    if (kind === CONTROL) {
      throw new ResponseRuleError(
        `startResponse() header ${name} value must not contain CR, LF, NUL or other control characters`,
      );
    }
    if (kind === LATIN1) nonAscii = true;
    flatHeaders[2 * i] = name;
    flatHeaders[2 * i + 1] = value;
    if (sendRule === undefined && nk === NAME_CONTENT_LENGTH) {
      const n = parseContentLength(value);
      if (Number.isNaN(n)) sendRule = `Content-Length must be a non-negative integer, got ${JSON.stringify(value)}`;
      else if (contentLength >= 0) sendRule = 'Content-Length must appear at most once';
      else contentLength = n;
    } else if (sendRule === undefined && nk === NAME_HOP_BY_HOP) {
      sendRule = `hop-by-hop header ${name} is not allowed in a TSGI response (the server owns the connection)`;
    }
  }
  return { statusCode, reason, flatHeaders, contentLength, sendRule, nonAscii };
}

/**
 * The re-call rules: before output a call replaces status and headers; after
 * output only a call with excInfo is allowed, and it rethrows excInfo.
 */
export function checkRecall(outputStarted: boolean, excInfo: unknown): void {
  if (excInfo !== undefined && !(excInfo instanceof Error)) {
    throw new ResponseRuleError('startResponse() excInfo must be an Error or undefined');
  }
  if (!outputStarted) return;
  if (excInfo !== undefined) throw excInfo;
  throw new ResponseRuleError('startResponse() called again after output started without excInfo');
}
