/**
 * Stage: what a request may be, checked on its head before any interface sees
 * it (mod_wsgi-express's LimitRequest* directives, and the framing rules of
 * RFC 9112 that Node's parser leaves to the server):
 *
 * - a request line longer than --limit-request-line: 414;
 * - more header fields than --limit-request-fields, or one longer than
 *   --limit-request-field-size (name, colon, space, value): 431;
 * - a Transfer-Encoding in an HTTP/1.0 request: 400 (RFC 9112 6.1: the framing is
 *   faulty), and one whose last coding is not `chunked` (Node's parser refuses it
 *   too, but only after the head has been handed over); a transfer coding other
 *   than `chunked` alone (`gzip, chunked`): 501, so no application is ever handed
 *   a still-encoded body. Node's parser refuses Content-Length with Transfer-Encoding;
 * - a Content-Length above --limit-request-body: 413, the application never called;
 *   a chunked body is counted as it arrives and fails past the limit
 *   (TSGI_BODY_TOO_LARGE: the app's next read rejects, the client gets 413).
 *
 * Every refusal closes the connection (the body is unread) after the answer, and is
 * logged at info with the client's address. A limit of 0 is no limit.
 */
import type { IncomingMessage } from 'node:http';
import type { Config } from '../config/schema.js';
import { RequestBodyError } from '../errors.js';
import type { Log } from '../logging/log.js';
import { bodyFailure, failRequestBody, logRefusal } from './body-failure.js';
import { lingerOnClose } from './connection.js';
import type { RequestContext, Stage } from './context.js';
import { sendError } from './error-response.js';

export interface RequestLimits {
  readonly line: number;
  readonly fields: number;
  readonly fieldSize: number;
  readonly body: number;
}

/** 'HTTP/1.1' after the method, the target and two spaces. */
const VERSION_LENGTH = 8;

function refuse(ctx: RequestContext, log: Log, status: number, detail: string): void {
  logRefusal(log, status, detail, ctx.req.socket?.remoteAddress, ctx.id);
  if (ctx.req.socket) lingerOnClose(ctx.req.socket);
  sendError(ctx.res, status, { close: true, detail });
}

/** Lower-case comparison of a header name against a lower-case constant of the same length. */
function sameName(name: string, lower: string): boolean {
  return name.length === lower.length && (name === lower || name.toLowerCase() === lower);
}

/** What the head says about the body, read from rawHeaders in the same pass as the size checks. */
interface Framing {
  contentLength: string | undefined;
  transferEncoding: string | undefined;
}

/** The reason the header fields break a limit, or undefined; fills `framing`. */
function checkFields(raw: readonly string[], limits: RequestLimits, framing: Framing): string | undefined {
  const count = raw.length >> 1;
  if (limits.fields > 0 && count > limits.fields) {
    return `The request has ${count} header fields; the server takes at most ${limits.fields}.`;
  }
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (limits.fieldSize > 0 && name.length + value.length + 2 > limits.fieldSize) {
      return `A request header field (${name.slice(0, 64)}) is longer than the ${limits.fieldSize} bytes the server takes.`;
    }
    if (sameName(name, 'content-length')) framing.contentLength = value;
    else if (sameName(name, 'transfer-encoding')) {
      framing.transferEncoding = framing.transferEncoding === undefined ? value : `${framing.transferEncoding}, ${value}`;
    }
  }
  return undefined;
}

/**
 * What is wrong with the transfer codings: 400 when `chunked` is not the last
 * (the body's end cannot be found: RFC 9112 6.3), 501 for any other coding before it.
 */
function codingProblem(te: string): { status: number; detail: string } | undefined {
  const codings = te.split(',').map((c) => c.trim()).filter((c) => c !== '');
  const shown = codings.join(', ').slice(0, 64);
  if (codings.at(-1)?.toLowerCase() !== 'chunked') {
    return { status: 400, detail: `The transfer coding "${shown}" does not end with chunked.` };
  }
  if (codings.length === 1) return undefined;
  return { status: 501, detail: `The transfer coding "${shown}" is not supported; only chunked is.` };
}

/**
 * Counts a chunked body as Node's parser hands it to the request stream, and fails
 * it past `limit`. The chunks past the limit are dropped and the parser keeps
 * reading, so the rest the client sends is discarded rather than buffered.
 */
function limitChunkedBody(ctx: RequestContext, limit: number, log: Log): void {
  const req = ctx.req as IncomingMessage & { push: (chunk: unknown, encoding?: BufferEncoding) => boolean };
  const push = req.push;
  let received = 0;
  req.push = function limitedPush(chunk, encoding) {
    if (chunk === null) return push.call(this, chunk, encoding);
    received += (chunk as Buffer).length;
    if (received <= limit) return push.call(this, chunk, encoding);
    if (bodyFailure(req) === undefined) {
      // Not from inside the parser's callback: the answer and the stream's destroy come just after.
      queueMicrotask(() =>
        failRequestBody(ctx, new RequestBodyError(
          'TSGI_BODY_TOO_LARGE',
          `The chunked request body grew past the ${limit} bytes the server takes.`,
        ), log),
      );
    }
    return true;
  };
}

export function requestLimitsStage(config: Config, log: Log): Stage {
  const limits: RequestLimits = {
    line: config.limitRequestLine,
    fields: config.limitRequestFields,
    fieldSize: config.limitRequestFieldSize,
    body: config.limitRequestBody,
  };
  return (ctx, next) => {
    const req = ctx.req;
    const lineLength = (req.method?.length ?? 0) + (req.url?.length ?? 0) + 2 + VERSION_LENGTH;
    if (limits.line > 0 && lineLength > limits.line) {
      return refuse(ctx, log, 414, `The request line is ${lineLength} bytes long; the server takes at most ${limits.line}.`);
    }
    const framing: Framing = { contentLength: undefined, transferEncoding: undefined };
    const tooBig = checkFields(req.rawHeaders, limits, framing);
    if (tooBig !== undefined) return refuse(ctx, log, 431, tooBig);
    const te = framing.transferEncoding;
    if (te !== undefined) {
      if (req.httpVersionMajor === 1 && req.httpVersionMinor === 0) {
        return refuse(ctx, log, 400, 'An HTTP/1.0 request cannot use Transfer-Encoding.');
      }
      const problem = codingProblem(te);
      if (problem !== undefined) return refuse(ctx, log, problem.status, problem.detail);
      if (limits.body > 0) limitChunkedBody(ctx, limits.body, log);
    } else if (limits.body > 0 && framing.contentLength !== undefined && Number(framing.contentLength) > limits.body) {
      return refuse(ctx, log, 413, `The request body of ${framing.contentLength} bytes is larger than the ${limits.body} bytes the server takes.`);
    }
    next(ctx);
  };
}
