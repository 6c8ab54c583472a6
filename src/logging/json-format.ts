/**
 * --log-format json: one JSON object per line, for log shippers. The field names
 * are stable (documented in docs/options.md under --log-format); a field that
 * has no value for a line is null (access log) or absent (the error log's
 * request_id, for records that belong to no request).
 */
import type { ErrorRecord } from '../ipc/messages.js';
import type { AccessFacts } from './log-format.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** One error-log record: a multi-line message (a stack trace) stays one object. */
export function errorJson(record: ErrorRecord, pid: number): string {
  const [time, level, rid, text] = record;
  const app = level === 'stdout' || level === 'stderr';
  const message = text.endsWith('\n') ? text.slice(0, -1) : text;
  return (
    JSON.stringify({
      time: iso(time),
      level,
      pid,
      source: app ? 'app' : 'tsgi',
      ...(rid ? { request_id: rid } : {}),
      message,
    }) + '\n'
  );
}

function split(target: string): [path: string, query: string] {
  const q = target.indexOf('?');
  return q < 0 ? [target, ''] : [target.slice(0, q), target.slice(q + 1)];
}

/** One access-log line. */
export function accessJson(f: AccessFacts): string {
  const [path, query] = split(f.target);
  return (
    JSON.stringify({
      time: iso(f.startMs),
      remote_addr: f.remoteAddr,
      method: f.method,
      path,
      query,
      protocol: f.protocol,
      status: f.status,
      bytes: f.bytes,
      duration_us: Math.round(f.durationUs),
      user: f.user ?? null,
      referer: f.requestHeader('referer') ?? null,
      user_agent: f.requestHeader('user-agent') ?? null,
      request_id: f.requestId,
      pid: f.pid,
    }) + '\n'
  );
}
