/**
 * Stage: --error-override (mod_wsgi's WSGIErrorOverride). When the application
 * answers with a status of 400 or more, its body is replaced by the server's
 * error page for that status (the --error-document one, or the built-in page);
 * the status is kept, and of the application's headers only those the status
 * needs: WWW-Authenticate, Proxy-Authenticate, Allow, Retry-After, Content-Range.
 * The application's own writes after that are dropped; it sees them succeed.
 * Works for every interface, since all of them write through the ServerResponse.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Stage } from './context.js';
import { isServerAnswer, sendError, type ResponseOut } from './error-response.js';

const KEPT = ['www-authenticate', 'proxy-authenticate', 'allow', 'retry-after', 'content-range'];

type WriteHead = (this: ServerResponse, status: number, reason?: unknown, headers?: unknown) => ServerResponse;
type Write = (this: ServerResponse, chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;
type End = (this: ServerResponse, chunk?: unknown, encoding?: unknown, cb?: unknown) => ServerResponse;

/** The headers a writeHead() call passes, as name -> value (lower-case names). */
function passedHeaders(reason: unknown, headers: unknown): Map<string, string> {
  const given = reason !== null && typeof reason === 'object' ? reason : headers;
  const out = new Map<string, string>();
  if (Array.isArray(given)) {
    const flat: unknown[] = Array.isArray(given[0]) ? (given as unknown[][]).flat() : given;
    for (let i = 0; i < flat.length; i += 2) out.set(String(flat[i]).toLowerCase(), String(flat[i + 1]));
  } else if (given !== null && typeof given === 'object') {
    for (const [name, value] of Object.entries(given as OutgoingHttpHeaders)) {
      if (value !== undefined) out.set(name.toLowerCase(), Array.isArray(value) ? value.join(', ') : String(value));
    }
  }
  return out;
}

/**
 * Wraps writeHead, write and end: the status is known at whichever comes first
 * (write and end send the head implicitly), and from then on the application's
 * calls either pass through or go nowhere.
 */
function override(res: ServerResponse): void {
  const r = res as unknown as { writeHead: WriteHead; write: Write; end: End };
  const writeHead = r.writeHead;
  const write = r.write;
  const end = r.end;
  let replaced = false;
  /** True when the app's response is replaced (from now on it goes nowhere). */
  const replace = (status: number, reason?: unknown, headers?: unknown): boolean => {
    if (replaced) return true;
    if (status < 400 || isServerAnswer(res) || res.headersSent) return false;
    replaced = true;
    const passed = passedHeaders(reason, headers);
    const kept: Record<string, string> = {};
    for (const name of KEPT) {
      const value = passed.get(name) ?? res.getHeader(name);
      if (value !== undefined) kept[name] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    const out: ResponseOut = {
      writeHead: (s, why, h) => void writeHead.call(res, s, why, h),
      write: (chunk) => write.call(res, chunk),
      end: (chunk) => void end.call(res, chunk),
    };
    sendError(res, status, { headers: kept }, out);
    return true;
  };
  r.writeHead = function (status, reason, headers) {
    return replace(status, reason, headers) ? res : writeHead.call(res, status, reason, headers);
  };
  r.write = function (chunk, encoding, cb) {
    if (!replace(res.headersSent ? 0 : res.statusCode)) return write.call(res, chunk, encoding, cb);
    const done = typeof encoding === 'function' ? encoding : cb;
    if (typeof done === 'function') process.nextTick(done as () => void);
    return true;
  };
  r.end = function (chunk, encoding, cb) {
    if (!replace(res.headersSent ? 0 : res.statusCode)) return end.call(res, chunk, encoding, cb);
    const done = [chunk, encoding, cb].find((a) => typeof a === 'function');
    if (done !== undefined) process.nextTick(done as () => void);
    return res;
  };
}

export const errorOverrideStage: Stage = (ctx, next) => {
  override(ctx.res);
  next(ctx);
};
