/**
 * Error-log line format, after Apache's:
 *   [Sat Nov 21 12:08:16.395000 2026] [tsgi:info] [pid 13797] [rid an9-4] message
 * (Apache prints microseconds; Date.now() has milliseconds, so the last three digits are 000.)
 */
import type { ErrorRecord } from '../ipc/messages.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

export function apacheErrorTime(ms: number): string {
  const d = new Date(ms);
  const micros = pad(d.getMilliseconds(), 3) + pad(Math.floor((ms % 1) * 1000), 3);
  return (
    `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${micros} ${d.getFullYear()}`
  );
}

function tag(level: ErrorRecord[1]): string {
  return level === 'stdout' || level === 'stderr' ? `app:${level}` : `tsgi:${level}`;
}

/** Formats one record; multi-line text (stack traces) keeps one prefix per line. */
export function formatErrorRecord(record: ErrorRecord, pid: number): string {
  const [time, level, rid, text] = record;
  const prefix = `[${apacheErrorTime(time)}] [${tag(level)}] [pid ${pid}]${rid ? ` [rid ${rid}]` : ''} `;
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  if (!body.includes('\n')) return prefix + body + '\n';
  return body.split('\n').map((line) => prefix + line).join('\n') + '\n';
}
