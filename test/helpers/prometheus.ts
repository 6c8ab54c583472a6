/**
 * A strict reader of Prometheus' text exposition format (0.0.4), for the metrics
 * tests: every line must be a comment, HELP, TYPE or a well-formed sample of a
 * family declared before it; a histogram's buckets must be cumulative and end in
 * +Inf equal to its _count. Throws on anything else.
 */
import assert from 'node:assert/strict';
import { request } from 'undici';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly types: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
  /** The value of the one sample of `name` whose labels include `labels`; undefined if none. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  all(name: string): Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/;

function parseLabels(text: string | undefined, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text ?? '';
  while (rest.length) {
    const m = LABEL.exec(rest);
    if (!m) throw new Error(`bad labels in: ${line}`);
    labels[m[1]!] = m[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    rest = rest.slice(m[0].length);
  }
  return labels;
}

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value in: ${line}`);
  return Number(text);
}

function familyOf(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return types.get(base) === 'histogram' ? base : undefined;
}

export function parseExposition(text: string): Exposition {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      if (!name || !['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type ?? '')) throw new Error(`bad TYPE: ${line}`);
      if (types.has(name)) throw new Error(`TYPE given twice for ${name}`);
      types.set(name, type!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const name = m[1]!;
    if (!familyOf(name, types)) throw new Error(`sample of an undeclared family: ${line}`);
    samples.push({ name, labels: parseLabels(m[3], line), value: parseValue(m[4]!, line) });
  }
  for (const [family, type] of types) {
    if (type === 'counter') {
      for (const s of samples.filter((x) => x.name === family)) if (!(s.value >= 0)) throw new Error(`negative counter: ${family}`);
    }
    if (type !== 'histogram') continue;
    const buckets = samples.filter((s) => s.name === `${family}_bucket`);
    let previous = 0;
    for (const b of buckets) {
      if (b.value < previous) throw new Error(`${family}: buckets not cumulative`);
      previous = b.value;
    }
    const inf = buckets.at(-1);
    const count = samples.find((s) => s.name === `${family}_count`);
    if (inf?.labels.le !== '+Inf' || count === undefined || inf.value !== count.value) throw new Error(`${family}: +Inf bucket and _count disagree`);
  }
  const matches = (s: Sample, labels: Record<string, string> = {}) => Object.entries(labels).every(([k, v]) => s.labels[k] === v);
  return {
    types,
    samples,
    value: (name, labels) => {
      const found = samples.filter((s) => s.name === name && matches(s, labels));
      if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
      return found[0]?.value;
    },
    all: (name) => samples.filter((s) => s.name === name),
  };
}

/** The metrics URL the banner announces (--metrics-port). */
export function metricsUrl(server: { output(): string }): string {
  const m = /^Metrics URL {8}: (\S+)$/m.exec(server.output());
  assert.ok(m, server.output());
  return m[1]!;
}

/** One scrape, its status and content type checked, parsed strictly. */
export async function scrape(url: string): Promise<Exposition> {
  const res = await request(url, { reset: true });
  const body = await res.body.text();
  assert.equal(res.statusCode, 200, body);
  assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(body);
}

/**
 * Scrapes until `ok` holds (bounded). A scrape that fails at the socket (the
 * one worker just died, its replacement not yet listening) is tried again.
 */
export async function scrapeUntil(url: string, ok: (x: Exposition) => boolean, ms = 20_000): Promise<Exposition> {
  const end = Date.now() + ms;
  for (;;) {
    const x = await scrape(url).catch((err: NodeJS.ErrnoException) => {
      if (Date.now() > end || !['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET'].includes(String(err.code))) throw err;
      return undefined;
    });
    if (x && (ok(x) || Date.now() > end)) return x;
    await new Promise((r) => setTimeout(r, 200));
  }
}
