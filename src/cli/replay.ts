/**
 * `tsgi-express replay DIR --url URL [--compare-header NAME]...`: sends the
 * requests --enable-recorder saved in DIR again, in the order they arrived, to
 * the server at URL, and compares each response with the one recorded: the
 * status, the headers named, and the body's SHA-256. One line per response that
 * differs, naming its method and URL, then a summary; exit 0 when none differ, 1
 * when some do (a regression check from real traffic), 2 for bad arguments.
 * Runs in the parse process: a client, no server.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { ExitCode, UsageError } from '../errors.js';
import type { RecordedRequest, RecordedResponse } from '../debug/recorder.js';

/** Headers about the connection and the framing: the client sending the replay sets its own. */
const NOT_REPLAYED = new Set(['host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'content-length', 'te', 'upgrade', 'expect', 'trailer']);

export interface ReplayOptions {
  readonly dir: string;
  readonly url: string;
  readonly compareHeaders: readonly string[];
  readonly out: (line: string) => void;
}

interface Recorded {
  readonly request: RecordedRequest;
  readonly response: RecordedResponse | undefined;
  readonly body: Buffer | undefined;
}

function readRecordings(dir: string): Recorded[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`replay: ${dir}: no such directory`);
  const keys = readdirSync(dir).filter((f) => f.endsWith('.request.json')).map((f) => f.slice(0, -'.request.json'.length)).sort();
  if (keys.length === 0) throw new UsageError(`replay: ${dir} holds no recorded requests (KEY.request.json files from --enable-recorder)`);
  return keys.map((key) => {
    const request = JSON.parse(readFileSync(path.join(dir, `${key}.request.json`), 'utf8')) as RecordedRequest;
    const responseFile = path.join(dir, `${key}.response.json`);
    const response = existsSync(responseFile) ? (JSON.parse(readFileSync(responseFile, 'utf8')) as RecordedResponse) : undefined;
    const body = request.body ? readFileSync(path.join(dir, request.body)) : undefined;
    return { request, response, body };
  });
}

function baseUrl(url: string): URL {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new UsageError(`replay: --url ${url}: not a URL (http://HOST:PORT/)`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new UsageError(`replay: --url ${url}: must be http: or https:`);
  return base;
}

/** A header's value the way a client reads it: repeated fields joined with ', '; undefined when absent. */
function headerValue(headers: readonly [string, string][], name: string): string | undefined {
  const values = headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
  return values.length ? values.join(', ') : undefined;
}

function received(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The path and query of a request target: as sent when it is one, taken from an absolute-form target, else `/`. */
function originForm(target: string): string {
  if (target.startsWith('/')) return target;
  try {
    const url = new URL(target);
    return url.pathname + url.search;
  } catch {
    return '/'; // `*` (OPTIONS *)
  }
}

const show = (value: string | undefined) => (value === undefined ? '(none)' : JSON.stringify(value));

async function replayOne(base: URL, recorded: Recorded, compareHeaders: readonly string[]): Promise<string[]> {
  const { request: req, response: was } = recorded;
  const target = base.origin + base.pathname.replace(/\/$/, '') + originForm(req.target);
  // HTTP/2's pseudo-headers (:method, :path...) are the request line, which the client writes itself.
  const headers = req.headers.filter(([name]) => !NOT_REPLAYED.has(name.toLowerCase()) && !name.startsWith(':'));
  let res;
  try {
    res = await request(target, { method: req.method as 'GET', headers: headers.flat(), body: recorded.body });
  } catch (err) {
    return [`no response (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`];
  }
  const bytes = Buffer.from(await res.body.arrayBuffer());
  const differences: string[] = [];
  if (res.statusCode !== was!.status) differences.push(`status ${was!.status} -> ${res.statusCode}`);
  for (const name of compareHeaders) {
    const before = headerValue(was!.headers, name.toLowerCase());
    const now = received(res.headers, name.toLowerCase());
    if (before !== now) differences.push(`${name} ${show(before)} -> ${show(now)}`);
  }
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== was!.bodySha256) {
    differences.push(`body sha256 ${was!.bodySha256.slice(0, 12)} (${was!.bodyBytes} bytes) -> ${sha.slice(0, 12)} (${bytes.byteLength} bytes)`);
  }
  return differences;
}

/** Replays every recording in order; returns the exit code. */
export async function replay(opts: ReplayOptions): Promise<number> {
  const base = baseUrl(opts.url);
  const recordings = readRecordings(path.resolve(opts.dir));
  let replayed = 0;
  let differ = 0;
  let skipped = 0;
  for (const recorded of recordings) {
    const { method, target } = recorded.request;
    // The server never answered it (the connection went first): nothing to compare with.
    if (recorded.response?.status == null) {
      skipped++;
      continue;
    }
    replayed++;
    const differences = await replayOne(base, recorded, opts.compareHeaders);
    if (differences.length === 0) continue;
    differ++;
    opts.out(`${method} ${target}: ${differences.join('; ')}`);
  }
  const skippedText = skipped ? `, ${skipped} skipped (recorded without a response)` : '';
  opts.out(`replayed ${replayed} request${replayed === 1 ? '' : 's'} to ${base.origin}: ${differ} differ${skippedText}`);
  return differ > 0 ? ExitCode.FAILURE : ExitCode.OK;
}
