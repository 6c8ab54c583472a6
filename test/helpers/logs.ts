/**
 * Helpers for the log-file tests: a load of an exact request count, and the
 * lines of a log across its active, rotated (gzipped or not) and moved files.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Pool } from 'undici';

/** An access-log line in the common format, whole. */
export const COMMON_LINE = /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET \/[^"]* HTTP\/1\.1" 200 \d+$/;

/** rotatelogs' names: NAME.2026-12-07-01_30_00, then .2, .3 within one second, .gz when compressed. */
export const rotatedName = (base: string) => new RegExp(`^${base}\\.\\d{4}-\\d\\d-\\d\\d-\\d\\d_\\d\\d_\\d\\d(\\.\\d+)?(\\.gz)?$`);

/**
 * Sends exactly `total` GET requests over `connections` keep-alive connections;
 * every one must be answered 200. Resolves with the count (= total).
 */
export async function fixedLoad(
  origin: string,
  pathAndQuery: string,
  total: number,
  connections: number,
  headers: Record<string, string> = {},
): Promise<number> {
  const pool = new Pool(origin, { connections, pipelining: 1 });
  let sent = 0;
  let ok = 0;
  try {
    const lane = async () => {
      while (sent < total) {
        sent++;
        const res = await pool.request({ path: pathAndQuery, method: 'GET', headers });
        await res.body.text();
        assert.equal(res.statusCode, 200);
        ok++;
      }
    };
    await Promise.all(Array.from({ length: connections }, lane));
  } finally {
    await pool.close();
  }
  return ok;
}

/** The files of `dir` whose names start with `prefix` (hidden ones aside). */
export function logFiles(dir: string, prefix: string): string[] {
  return readdirSync(dir).filter((f) => f.startsWith(prefix)).sort();
}

/** Every line of every file of `dir` starting with `prefix`, gzipped ones decompressed; each file must end with a newline. */
export function logLines(dir: string, prefix: string): string[] {
  return logFiles(dir, prefix).flatMap((name) => fileLines(dir, name));
}

/** The lines of one log file (gunzipped if need be), which must end with a newline. */
function fileLines(dir: string, name: string): string[] {
  const raw = readFileSync(path.join(dir, name));
  const text = (name.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  if (text === '') return [];
  assert.ok(text.endsWith('\n'), `${name} ends inside a line: ${JSON.stringify(text.slice(-80))}`);
  return text.slice(0, -1).split('\n');
}

/**
 * The lines of log `base` in `dir` in the order they were written: its rotated files oldest
 * first (by their time stamp, then the .2, .3 ... of rotations within one second), then the
 * active file.
 */
export function logLinesInOrder(dir: string, base: string): string[] {
  const key = (name: string) => {
    const m = /^\.(\d{4}-\d\d-\d\d-\d\d_\d\d_\d\d)(?:\.(\d+))?(?:\.gz)?$/.exec(name.slice(base.length));
    assert.ok(m, `not a rotated file of ${base}: ${name}`);
    return [m[1]!, Number(m[2] ?? 1)] as const;
  };
  const rotated = logFiles(dir, `${base}.`).sort((a, b) => {
    const [ta, ia] = key(a);
    const [tb, ib] = key(b);
    return ta === tb ? ia - ib : ta < tb ? -1 : 1;
  });
  return [...rotated, base].flatMap((name) => fileLines(dir, name));
}
