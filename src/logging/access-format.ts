/**
 * Apache access-log formats (mod_wsgi-express --access-log-format):
 *   common   = %h %l %u %t "%r" %>s %b
 *   combined = common "%{Referer}i" "%{User-agent}i"
 */
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

let cachedSecond = -1;
let cachedStamp = '';

const pad = (n: number) => (n < 10 ? '0' + n : String(n));

function zone(offsetMinutes: number): string {
  const sign = offsetMinutes <= 0 ? '+' : '-';
  const abs = Math.abs(offsetMinutes);
  return sign + pad(Math.floor(abs / 60)) + pad(abs % 60);
}

/** %t: [21/Nov/2026:12:06:48 +0000], cached per second because it is per request. */
export function accessTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    const d = new Date(ms);
    cachedSecond = second;
    cachedStamp =
      `[${pad(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${zone(d.getTimezoneOffset())}]`;
  }
  return cachedStamp;
}

/** Quotes a request-derived value the way Apache escapes it in logs. */
export function escapeField(value: string): string {
  return /["\\\x00-\x1f\x7f]/.test(value)
    ? value.replace(/["\\\x00-\x1f\x7f]/g, (c) => (c === '"' || c === '\\' ? '\\' + c : '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0')))
    : value;
}

export interface AccessEntry {
  readonly remoteAddr: string;
  readonly user: string | undefined;
  readonly timeMs: number;
  readonly requestLine: string;
  readonly status: number;
  readonly bytes: number;
  readonly referer: string | undefined;
  readonly userAgent: string | undefined;
}

export function formatAccess(format: 'common' | 'combined', e: AccessEntry): string {
  const line =
    `${e.remoteAddr} - ${e.user ? escapeField(e.user) : '-'} ${accessTime(e.timeMs)} ` +
    `"${escapeField(e.requestLine)}" ${e.status} ${e.bytes > 0 ? e.bytes : '-'}`;
  if (format === 'common') return line + '\n';
  return `${line} "${escapeField(e.referer ?? '-')}" "${escapeField(e.userAgent ?? '-')}"\n`;
}
