/**
 * Which request paths may name a file at all. The mount stage has already
 * removed dot segments from the raw path (and refused `..` above the root, `#`
 * and `%00`); what is left to refuse here is what percent-decoding can bring
 * back: `%2F` and `%5C` (a slash or backslash inside one segment: Apache
 * refuses encoded slashes by default), a decoded `.` or `..` segment, a
 * backslash, a NUL. Such a path is never looked up on disk.
 */

/** Whether `raw` (the path as sent, undecoded) holds an encoded slash or backslash. */
export function hasEncodedSeparator(raw: string): boolean {
  return raw.includes('%') && /%(?:2f|5c)/i.test(raw);
}

/** A decoded path with no segment that could climb out of, or hide inside, a root. */
export function isMappable(path: string): boolean {
  if (path.includes('\\') || path.includes('\0')) return false;
  if (!path.includes('/.')) return true;
  for (const segment of path.split('/')) if (segment === '.' || segment === '..') return false;
  return true;
}

/**
 * Whether a mappable path names a dotfile or goes through a dot-directory
 * (`/.env`, `/.git/config`), which are never served; `/.well-known/` is the
 * exception (RFC 8615: ACME challenges, security.txt).
 */
export function isHidden(path: string): boolean {
  let at = path.indexOf('/.');
  if (at < 0) return false;
  if (at === 0 && (path === '/.well-known' || path.startsWith('/.well-known/'))) {
    at = path.indexOf('/.', '/.well-known'.length);
  }
  return at >= 0;
}

/** The raw (percent-encoded) path of a request target, repeated slashes merged, no query. */
export function rawPath(target: string): string {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  return path.includes('//') ? path.replace(/\/{2,}/g, '/') : path;
}
