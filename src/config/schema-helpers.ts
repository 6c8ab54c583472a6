/**
 * Small zod builders for option values. Values arrive as strings from argv or as
 * JSON values (tests and programmatic callers), so numbers accept both.
 * Messages complete the sentence "--flag ..." (see formatIssue in resolve.ts).
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { compileErrorLogFormat, ErrorLogFormatError } from '../logging/error-format.js';
import { compileLogFormat, LogFormatError } from '../logging/log-format.js';
import { parseUpstream } from '../proxy/upstream.js';
import { checkMatchRule } from './match-rules.js';

function toNumber(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  return /^[+-]?(\d+\.?\d*|\.\d+)$/.test(text) ? Number(text) : value;
}

function toBoolean(value: unknown): unknown {
  if (value === 'true' || value === '1' || value === '') return true;
  if (value === 'false' || value === '0') return false;
  return value;
}

export function integer(min: number, max?: number) {
  let schema = z
    .number({ error: 'must be an integer' })
    .int({ error: 'must be an integer' })
    .min(min, { error: `must be at least ${min}` });
  if (max !== undefined) schema = schema.max(max, { error: `must be at most ${max}` });
  return z.preprocess(toNumber, schema);
}

/** Timeouts are seconds (fractions allowed), never negative. */
export function seconds() {
  return z.preprocess(
    toNumber,
    z.number({ error: 'must be a number of seconds' }).min(0, { error: 'is in seconds and must be at least 0' }),
  );
}

export function flag() {
  return z.preprocess(toBoolean, z.boolean({ error: 'takes no value (or true/false)' }));
}

export function text(what = 'a non-empty string') {
  return z.string({ error: `must be ${what}` }).min(1, { error: `must be ${what}` });
}

export function choice<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `must be one of: ${values.join(', ')}` });
}

/** `common`, `combined` or an Apache LogFormat string this server can produce. */
export function logFormat() {
  return text('common, combined or an Apache LogFormat string').superRefine((value, ctx) => {
    try {
      compileLogFormat(value);
    } catch (err) {
      if (!(err instanceof LogFormatError)) throw err;
      ctx.addIssue({ code: 'custom', message: `is not a usable LogFormat: ${err.message}` });
    }
  });
}

/** Repeatable option taking one word each time (--passenv NAME). */
export function list(what: string) {
  return z.array(text(what), { error: `must be ${what}` });
}

/** Repeatable option taking two words each time (--setenv NAME VALUE). */
export function pairs(what: string) {
  return z.array(z.tuple([text('a name'), z.string()]), { error: `takes ${what}` });
}

/** Repeatable REGEX SCRIPT-TEMPLATE pairs (--mount-app-match): each must be a usable pattern mount (match-rules.ts). */
export function matchPairs(what: string) {
  return pairs(what).superRefine((entries, ctx) => {
    for (const [regex, template] of entries) {
      const problem = checkMatchRule(regex, template);
      if (problem !== undefined) {
        ctx.addIssue({ code: 'custom', message: problem });
        return;
      }
    }
  });
}

/** One of `values`, in any case (mod_wsgi-express's Off|On|Auto); the value is lower-cased. */
export function choiceIgnoringCase<const T extends readonly [string, ...string[]]>(values: T, shown: string) {
  return z.preprocess(
    (value) => (typeof value === 'string' ? value.toLowerCase() : value),
    z.enum(values, { error: `must be one of: ${shown}` }),
  );
}

const HOST_NAME = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** A DNS name or an IP address, without a port; with `wildcards`, `*` and `?` may stand for characters. */
export function hostName(wildcards: boolean) {
  const what = wildcards ? 'a host name (wildcards * and ? allowed)' : 'a host name (no port, no wildcards)';
  return text(what).refine((value) => {
    if (isIP(value.replace(/^\[(.*)\]$/, '$1')) !== 0) return true;
    return HOST_NAME.test(wildcards ? value.replace(/[*?]/g, 'x') : value);
  }, { error: `must be ${what}` });
}

/** Repeatable option whose every value must pass `item` (--trust-proxy, --server-alias). */
export function listOf<T extends z.ZodType>(item: T, what: string) {
  return z.array(item, { error: `must be ${what}` });
}

/** Repeatable NAME UPSTREAM pairs (--proxy-mount-point, --proxy-virtual-host): each upstream must parse. */
export function upstreamPairs(what: string) {
  return pairs(what).superRefine((entries, ctx) => {
    for (const [name, upstream] of entries) {
      const parsed = parseUpstream(upstream);
      if (typeof parsed === 'string') {
        ctx.addIssue({ code: 'custom', message: `${name} ${parsed}` });
        return;
      }
    }
  });
}

/** An ErrorLogFormat string this server can produce. */
export function errorLogFormat() {
  return text('an Apache ErrorLogFormat string').superRefine((value, ctx) => {
    try {
      compileErrorLogFormat(value);
    } catch (err) {
      if (!(err instanceof ErrorLogFormatError)) throw err;
      ctx.addIssue({ code: 'custom', message: `is not a usable ErrorLogFormat: ${err.message}` });
    }
  });
}

/** A file name inside the log directory: no directory part. */
export function fileName() {
  return text('a file name').refine((v) => !v.includes('/') && v !== '.' && v !== '..' && !v.includes('\0'), {
    error: 'must be a file name, without a / (the directory is --log-directory)',
  });
}

/** A size in MiB, fractions allowed, above 0. */
export function mebibytes() {
  return z.preprocess(
    toNumber,
    z.number({ error: 'must be a number of MiB (fractions allowed)' }).gt(0, { error: 'must be more than 0 (MiB)' }),
  );
}

const INTERVAL_LIMITS: Record<string, number | undefined> = { s: 60, m: 60, h: 24, d: undefined };

/** Why `value` is not an interval rotating-file-stream can keep (30m, 1h, 1d), or undefined. */
export function intervalProblem(value: string): string | undefined {
  const m = /^([1-9]\d*)([smhd])$/.exec(value.trim());
  if (!m) return 'must be a number followed by s, m, h or d, such as 30m, 1h or 1d';
  const limit = INTERVAL_LIMITS[m[2]!];
  if (limit !== undefined && limit % Number(m[1]) !== 0) {
    return `must divide ${limit} ${m[2] === 'h' ? 'hours' : m[2] === 'm' ? 'minutes' : 'seconds'} (rotations fall on whole multiples of the interval)`;
  }
  return undefined;
}

export function rotateInterval() {
  return text('an interval such as 1h').superRefine((value, ctx) => {
    const problem = intervalProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}
