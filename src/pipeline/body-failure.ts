/**
 * A request body that fails for the client's reason (malformed framing, past
 * --limit-request-body, too slow) ends the same way whatever noticed it and
 * whatever the interface: every pending and later read of the body rejects with
 * the RequestBodyError; the client gets its status if no response has started;
 * the connection closes; the admission slot is freed (with the response, or at
 * once when the answer is ours). The application cannot keep the request alive:
 * a request the server answered is over, whatever the app does next.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { RequestBodyError } from '../errors.js';
import type { Log } from '../logging/log.js';
import { endConnection, lingerOnClose } from './connection.js';
import type { RequestContext } from './context.js';
import { sendError } from './error-response.js';
import { abandon } from './request-signal.js';
import { clientAddress } from './request-view.js';

const FAILED = Symbol('tsgi-express.body-failed');

interface Failed extends IncomingMessage {
  [FAILED]?: RequestBodyError;
  _dumped?: boolean;
}

/** The error the request's body failed with, if it did. */
export function bodyFailure(req: IncomingMessage): RequestBodyError | undefined {
  return (req as Failed)[FAILED];
}

/** One info line per refused request: status, why, and who sent it. */
export function logRefusal(log: Log, status: number, why: string, address: string | undefined, rid?: string): void {
  log.info(`${status} ${STATUS_CODES[status] ?? ''}: ${why} (client ${clientAddress(address) ?? 'unknown'})`, rid);
}

export function failRequestBody(ctx: RequestContext, err: RequestBodyError, log: Log): void {
  const { req, res } = ctx;
  if ((req as Failed)[FAILED] !== undefined) return;
  (req as Failed)[FAILED] = err;
  // The request's signal (tsgi.signal, Request.signal) aborts with the reason; its answer, if any comes, is dropped.
  abandon(res, err);
  const socket = req.socket;
  // A request already answered (the app's response, or the server's own refusal of its head) only needs closing.
  if (res.writableEnded) log.debug(`request body failed after the response: ${err.message}`, ctx.id);
  else logRefusal(log, err.status, err.message, socket?.remoteAddress, ctx.id);
  if (!res.headersSent && !res.writableEnded) {
    // Node closes the connection after this answer with destroySoon: make that linger,
    // so the rest of the body the client is still sending cannot reset the answer away.
    if (socket) lingerOnClose(socket);
    sendError(res, err.status, { close: true, detail: err.message });
  } else if (!res.writableEnded) {
    // A response is on its way and cannot be completed honestly: cut it.
    res.destroy();
  } else if (socket && !socket.destroyed) {
    // The app answered before the body failed: close once that answer has left.
    if (res.writableFinished) endConnection(socket);
    else res.once('finish', () => endConnection(socket));
  }
  failStream(req, err);
}

/**
 * Makes every pending and later read of `req` reject with `err`, without
 * IncomingMessage#_destroy's side effect of destroying the connection (and the
 * answer just written to it). The parser stops handing the body to the stream
 * (`_dumped`, as Node's own discard does) but keeps reading the socket, so what
 * the client still sends is dropped rather than left to reset the connection.
 */
function failStream(req: IncomingMessage, err: RequestBodyError): void {
  (req as Failed)._dumped = true;
  if (req.destroyed) return;
  (req as unknown as { _destroy: typeof destroyStreamOnly })._destroy = destroyStreamOnly;
  // A body nobody reads has no 'error' listener: the error must not become an uncaught exception.
  if (req.listenerCount('error') === 0) req.on('error', ignore);
  req.destroy(err);
}

const ignore = (): void => {};

function destroyStreamOnly(this: IncomingMessage, err: Error | null, callback: (err?: Error | null) => void): void {
  (this as { aborted: boolean }).aborted = true;
  callback(err);
}
