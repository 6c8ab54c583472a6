/**
 * What the client gets when Node's parser rejects what it sent on a connection
 * (the 'clientError' event), as Apache answers: an error status with a short
 * page, logged at info with the client's address, then the connection is closed.
 *
 * - In the head of a request: 400 (431 past Node's head limit, 414 when the
 *   request line alone is past it, 408 for Node's own request timeout). A
 *   response already on its way on that connection (pipelining, a stream) is
 *   finished first, as Apache does; writing the error into it would corrupt it.
 * - In the body (or trailers) of a request the server is serving: the request's
 *   body fails (pipeline/body-failure.ts), so the application's reads reject
 *   instead of waiting forever, the client gets 400 if no response started, the
 *   slot is freed and the connection closes. For a request Node answered itself
 *   (no Host), that answer stands: one answer per request.
 *
 * Also the answer to CONNECT, which never becomes a request. Each answer's
 * body is the --error-document for its status when one is set (raw-answer.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { RequestBodyError } from '../errors.js';
import type { Log } from '../logging/log.js';
import { failRequestBody, logRefusal } from '../pipeline/body-failure.js';
import { contextOf } from '../pipeline/context.js';
import { endWithAnswer, type RawAnswer } from '../pipeline/raw-answer.js';

interface ParseError extends NodeJS.ErrnoException {
  /** llhttp's reason (`Invalid method encountered`), set by Node's http server. */
  reason?: string;
  /** The bytes the parser was given when it failed. */
  rawPacket?: Buffer;
}

/** Whether a head past Node's limit is all request line: the bytes start with a method and hold a line longer than `lineLimit`. */
function requestLineOverflow(err: ParseError, lineLimit: number): boolean {
  const raw = err.rawPacket;
  if (!Buffer.isBuffer(raw) || !/^[A-Za-z]+ /.test(raw.subarray(0, 24).toString('latin1'))) return false;
  const lineEnd = raw.indexOf(10);
  return lineEnd < 0 || (lineLimit > 0 && lineEnd > lineLimit);
}

/** The status and reason for an error in a request's head; undefined: close without a word. */
function headAnswer(err: ParseError, lineLimit: number): RawAnswer | undefined {
  switch (err.code) {
    case 'HPE_CLOSED_CONNECTION': // bytes after a request that said Connection: close: ignored
      return undefined;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, detail: 'The request did not arrive in time.' };
    case 'HPE_HEADER_OVERFLOW':
      return requestLineOverflow(err, lineLimit)
        ? { status: 414, detail: 'The request line is longer than the server takes.' }
        : { status: 431, detail: 'The request head is larger than the server takes.' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, detail: 'The chunk extensions are larger than the server takes.' };
    default:
      return { status: 400, detail: `The request is not valid HTTP: ${err.reason ?? err.code ?? err.message}.` };
  }
}

/** Why a request's body failed, as the application's reads will report it. */
function bodyError(err: ParseError): RequestBodyError {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new RequestBodyError('TSGI_BODY_TIMEOUT', 'The request body did not arrive in time.', { cause: err });
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new RequestBodyError('TSGI_BODY_TOO_LARGE', 'The chunk extensions are larger than the server takes.', { cause: err });
    case 'HPE_INVALID_EOF_STATE':
      return new RequestBodyError('TSGI_BODY_MALFORMED', 'The client ended the connection before the request body was complete.', { cause: err });
    default:
      return new RequestBodyError(
        'TSGI_BODY_MALFORMED',
        `The request body is not valid HTTP framing: ${err.reason ?? err.code ?? err.message}.`,
        { cause: err },
      );
  }
}

/** The request whose body the parser was reading when it failed, if it was in one. */
function requestInBody(socket: Socket): IncomingMessage | undefined {
  const incoming = (socket as Socket & { parser?: { incoming?: IncomingMessage | null } | null }).parser?.incoming;
  return incoming && !incoming.complete ? incoming : undefined;
}

/** Sockets already being closed: a parser in error may report again on more data. */
const closing = new WeakSet<Socket>();

export function clientErrorHandler(log: Log, lineLimit: number) {
  return function onClientError(err: ParseError, socket: Socket): void {
    if (closing.has(socket)) {
      // Already closing, after an answer that may wait for a response in flight: a
      // timeout now must still end the connection, whatever that response does.
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') socket.destroy();
      return;
    }
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    closing.add(socket);
    // Node keeps the response being written on the socket it writes to.
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    const failing = requestInBody(socket);
    if (failing !== undefined) {
      const ctx = contextOf(failing);
      if (ctx !== undefined) return failRequestBody(ctx, bodyError(err), log);
      // Node answered this request itself (no Host): one answer is enough.
      log.debug(`request body failed after Node answered the request: ${err.code}`);
      return closeAfter(inFlight, socket, undefined);
    }
    const answer = headAnswer(err, lineLimit);
    if (answer) logRefusal(log, answer.status, answer.detail, socket.remoteAddress);
    closeAfter(inFlight, socket, answer);
  };
}

/** Ends the connection once the response in flight on it (if any) is complete; cuts it if that response fails. */
function closeAfter(inFlight: ServerResponse | null | undefined, socket: Socket, last: RawAnswer | undefined): void {
  if (!inFlight || inFlight.writableEnded) return endWithAnswer(socket, last);
  inFlight.once('close', () => (inFlight.writableFinished ? endWithAnswer(socket, last) : socket.destroy()));
}

/** CONNECT (the 'connect' event): an origin server does not tunnel. Without a listener Node closes silently. */
export function onConnect(_req: unknown, socket: Socket): void {
  endWithAnswer(socket, { status: 405, detail: 'This server does not tunnel: CONNECT is not allowed.' });
}
