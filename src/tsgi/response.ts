/**
 * Sends what a TSGI application returns (docs/tsgi.md, "Response body").
 *
 * One TsgiResponse per request holds all state, so the common path allocates
 * one object and two bound functions (startResponse and write), and a
 * synchronous app returning a string or a one-element array is answered with
 * a single writeHead() + end(), without promises. Only a thenable result or a
 * streamed body takes the slower, asynchronous road.
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { noteAppError, type AppPhase } from '../debug/app-errors.js';
import type { AppGuard } from '../debug/app-guard.js';
import { ResponseRuleError } from '../errors.js';
import type { Chunk, Header, StartResponse, Write } from '../index.js';
import type { Log } from '../logging/log.js';
import type { RequestContext } from '../pipeline/context.js';
import { bodyFailure } from '../pipeline/body-failure.js';
import { endConnection } from '../pipeline/connection.js';
import { formatError, sendError } from '../pipeline/error-response.js';
import { isAbandoned } from '../pipeline/request-signal.js';
import { FileBody } from './file-wrapper.js';
import { NODE_HANDLER_HINT, nodeHandlerHint } from './node-handler-hint.js';
import { checkRecall, parseStart, type ResponseStart } from './start-response.js';

/** The request input: unread body is discarded when the response is over. */
export interface Discardable {
  discard(): void;
}

/** tsgi.errors: a partial last line is flushed when the response is over. */
export interface Flushable {
  flush(): void;
}

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;

export function isChunk(value: unknown): value is Chunk {
  return typeof value === 'string' || value instanceof Uint8Array;
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function byteLength(chunk: Chunk): number {
  return typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
}

/** For rule messages: what the app gave instead. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value !== 'object') return typeof value;
  return value.constructor?.name ?? 'object';
}

/**
 * Ends the connection without completing the response: what was written still
 * reaches the client, then FIN, so it sees a truncated body (an unterminated
 * chunked body or fewer bytes than Content-Length).
 */
function closeConnection(res: ServerResponse, socket: Socket | null): void {
  if (socket === null || socket.destroyed) return void res.destroy();
  endConnection(socket);
}

export class TsgiResponse {
  readonly startResponse: StartResponse;
  private readonly res: ServerResponse;
  private readonly head: boolean;
  private start: ResponseStart | undefined;
  private writeFn: Write | undefined;
  /** Our headers went out (a 500 from sendError does not count). */
  private headersOut = false;
  /** No body may be sent: HEAD, 204, 304. Final once headers are out. */
  private noBody: boolean;
  private declared = -1;
  private sent = 0;
  /** Nothing more will be sent: ended, failed, aborted or client gone. */
  private stopped = false;
  private body: unknown;
  private bodyClosed = false;
  private iter: AnyIterator | undefined;
  private iterAsync = false;
  private iterDone = false;
  /** A next() is running or pending: return() must wait until it settles. */
  private inNext = false;
  private waitingDrain = false;
  /** A stream we read from; destroyed on abandon so a pending read ends now. */
  private source: Readable | undefined;
  private writeAfterEnd: Error | undefined;

  constructor(
    private readonly ctx: RequestContext,
    private readonly log: Log,
    private readonly debugMode: boolean,
    private readonly input: Discardable,
    private readonly errors: Flushable,
    /** --enable-debugger: the body's next() and close() are called through it (debug/app-guard.ts). */
    private readonly guard?: AppGuard,
  ) {
    this.res = ctx.res;
    this.head = ctx.req.method === 'HEAD';
    this.noBody = this.head;
    // Bound methods, not arrow functions. With a closure over `this` reachable
    // from `this` (here stored on it), V8 promoted whole requests while the code
    // warmed up and grew the young generation to its maximum: peak worker RSS
    // twice a bare worker's on Node 24. Bound methods do not (measured:
    // bench/NOTES.md, "Session 9").
    this.startResponse = this.onStart.bind(this);
  }

  /** Takes the application's return value (or promise of it). Never throws. */
  send(result: unknown): void {
    if (!isThenable(result)) return this.sendBody(result);
    try {
      result.then(
        (body) => this.sendBody(body),
        (err: unknown) => this.fail(err),
      );
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * The request's body failed (pipeline/body-failure.ts): the server has answered
   * and closes the connection, so whatever the application does next (rethrow the
   * read's error, or answer anyway) changes nothing and is not an application error.
   */
  private answeredByServer(): boolean {
    const failure = bodyFailure(this.ctx.req);
    if (failure === undefined) return false;
    if (!this.stopped) {
      this.log.debug(`response dropped: the request body failed (${failure.code})`, this.ctx.id);
      this.stopped = true;
      this.release(true);
    }
    return true;
  }

  /** The application failed: 500 before output, aborted connection after. Never throws. */
  fail(err: unknown, phase: AppPhase = 'call'): void {
    if (this.answeredByServer()) return;
    // After a --request-timeout the app's own error (often the abort it was told of) is no news.
    if (isAbandoned(this.res)) {
      this.log.debug(`after the request timed out: ${formatError(err)}`, this.ctx.id);
      return this.release(true);
    }
    if (this.stopped) {
      if (err !== this.writeAfterEnd) this.log.error(formatError(err), this.ctx.id);
      return;
    }
    this.log.error(formatError(err) + nodeHandlerHint(err), this.ctx.id);
    noteAppError(this.res, err, phase);
    this.abort(err);
  }

  private onStart(status: string, headers: readonly Header[], excInfo?: Error): Write {
    // The server already answered (--request-timeout): nothing the app says goes out.
    if (isAbandoned(this.res)) {
      this.stopped = true;
      return (this.writeFn ??= this.onWrite.bind(this));
    }
    checkRecall(this.headersOut || this.res.headersSent, excInfo);
    this.start = parseStart(status, headers);
    return (this.writeFn ??= this.onWrite.bind(this));
  }

  /** write(): output goes out now, ahead of the body; it cannot wait for 'drain'. */
  private onWrite(chunk: Chunk): void {
    if (this.stopped) {
      throw (this.writeAfterEnd ??= new Error(
        'write() called after the response ended (it finished, failed, or the client went away)',
      ));
    }
    if (!isChunk(chunk)) {
      throw new ResponseRuleError(`write() takes a string or Uint8Array, got ${describe(chunk)}`);
    }
    this.pushChunk(chunk);
  }

  private sendBody(body: unknown): void {
    this.body = body;
    try {
      if (this.stopped || this.answeredByServer() || isAbandoned(this.res)) return this.release(true);
      if (this.res.destroyed) return this.clientGone();
      if (typeof body === 'string' || body instanceof Uint8Array) this.sendKnown([body]);
      else if (Array.isArray(body)) this.sendKnown(body);
      else if (body instanceof FileBody) this.sendFile(body);
      else if (body !== null && typeof body === 'object' && Symbol.iterator in body) {
        this.iterate((body as Iterable<unknown>)[Symbol.iterator](), false);
      } else if (body !== null && typeof body === 'object' && Symbol.asyncIterator in body) {
        if (body instanceof Readable) this.source = body;
        this.iterate((body as AsyncIterable<unknown>)[Symbol.asyncIterator](), true);
      } else {
        this.breakRule(
          `the application must return a string, a Uint8Array or an (async) iterable of them, got ${describe(body)}` +
            (body === undefined && this.start === undefined ? NODE_HANDLER_HINT : ''),
        );
      }
    } catch (err) {
      this.fail(err);
    }
  }

  /** A body that is all in memory: one writeHead() with a computed Content-Length. */
  private sendKnown(items: readonly unknown[]): void {
    let total = 0;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (!isChunk(item)) return this.breakRule(`body item #${i} must be a string or Uint8Array, got ${describe(item)}`);
      total += byteLength(item);
    }
    const start = this.requireStart();
    if (start === undefined) return;
    const declared = start.contentLength;
    if (this.headersOut || (declared >= 0 && declared !== total)) return this.writeAll(items as Chunk[]);
    const noBody = this.head || start.statusCode === 204 || start.statusCode === 304;
    const headers = start.flatHeaders;
    if (declared < 0 && start.statusCode !== 204 && start.statusCode !== 304) {
      headers.push('Content-Length', String(total));
    }
    this.res.writeHead(start.statusCode, start.reason, headers);
    this.headersOut = true;
    this.stopped = true;
    if (noBody || total === 0) this.res.end();
    else if (items.length === 1) this.res.end(this.wire(items[0] as Chunk));
    else {
      for (const item of items as Chunk[]) this.res.write(this.wire(item));
      this.res.end();
    }
    this.release(false);
  }

  /** Sends chunks through the rule checks (Content-Length exactness, HEAD). */
  private writeAll(items: readonly Chunk[]): void {
    for (const item of items) {
      this.pushChunk(item);
      if (this.stopped) return;
      if (this.headersOut && this.noBody) break;
    }
    this.endBody();
  }

  private sendFile(file: FileBody): void {
    const start = this.requireStart();
    if (start === undefined) return;
    file.size().then(
      (size) => {
        try {
          this.sendFileOfSize(file, start, size);
        } catch (err) {
          this.fail(err);
        }
      },
      (err: unknown) => this.fail(err),
    );
  }

  private sendFileOfSize(file: FileBody, start: ResponseStart, size: number): void {
    if (this.stopped) return this.release(true);
    if (this.res.destroyed) return this.clientGone();
    // An app-set Content-Length is honoured: send exactly that many bytes.
    const length = !this.headersOut && start.contentLength >= 0 ? start.contentLength : size;
    if (!this.headersOut && !this.sendHeaders(length)) return;
    const toRead = Math.min(length, size);
    if (this.noBody || toRead === 0) return this.endBody();
    file.stream(toRead).then(
      (stream) => {
        this.source = stream;
        this.iterate(stream[Symbol.asyncIterator](), true);
      },
      (err: unknown) => this.fail(err),
    );
  }

  private iterate(iter: AnyIterator, isAsync: boolean): void {
    this.iter = iter;
    this.iterAsync = isAsync;
    if (this.res.destroyed) return this.clientGone();
    // Bound, for the reason given in the constructor: `this` reaches res, and so these.
    this.res.on('close', this.clientGone.bind(this));
    this.res.on('drain', this.onDrain.bind(this));
    if (isAsync) this.nextAsync();
    else this.runSync();
  }

  private runSync(): void {
    if (this.guard !== undefined) return this.guardedSteps();
    const iter = this.iter as Iterator<unknown>;
    for (;;) {
      let step: IteratorResult<unknown>;
      this.inNext = true;
      try {
        step = iter.next();
      } catch (err) {
        return this.iterationFailed(err);
      }
      this.inNext = false;
      try {
        if (!this.onStep(step)) return;
      } catch (err) {
        return this.fail(err, 'body');
      }
    }
  }

  private nextAsync(): void {
    if (this.guard !== undefined) return this.guardedSteps();
    let pending: unknown;
    this.inNext = true;
    try {
      pending = (this.iter as AsyncIterator<unknown>).next();
    } catch (err) {
      return this.iterationFailed(err);
    }
    Promise.resolve(pending).then(
      (step) => {
        this.inNext = false;
        try {
          if (this.onStep(step as IteratorResult<unknown>)) this.nextAsync();
        } catch (err) {
          this.fail(err, 'body');
        }
      },
      (err: unknown) => this.iterationFailed(err),
    );
  }

  /**
   * --enable-debugger: each next() through the guard, so that a throw in the body
   * pauses an attached debugger there. Steps answered at once (a sync iterator)
   * loop here rather than recurse.
   */
  private guardedSteps(): void {
    const iter = this.iter!;
    for (;;) {
      let looping = true;
      let again = false;
      this.inNext = true;
      this.guard!.call(
        () => iter.next(),
        (step) => {
          this.inNext = false;
          let more: boolean;
          try {
            more = this.onStep(step as IteratorResult<unknown>);
          } catch (err) {
            return this.fail(err, 'body');
          }
          if (!more) return;
          if (looping) again = true;
          else this.guardedSteps();
        },
        (err) => this.iterationFailed(err),
      );
      looping = false;
      if (!again) return;
    }
  }

  /** next() threw: the iterator is finished. After a stop that is expected (e.g. a destroyed stream). */
  private iterationFailed(err: unknown): void {
    this.inNext = false;
    this.iterDone = true;
    if (!this.stopped) return this.fail(err, 'body');
    this.log.debug(`body iterator failed after the response stopped: ${formatError(err)}`, this.ctx.id);
  }

  /** Handles one iterator step; true to fetch the next one right away. */
  private onStep(step: IteratorResult<unknown>): boolean {
    if (this.stopped) {
      // Stopped while next() ran: now the iterator can be told.
      if (step.done) this.iterDone = true;
      else this.returnIterator();
      return false;
    }
    if (step.done) {
      this.iterDone = true;
      this.endBody();
      return false;
    }
    const item = step.value;
    if (!isChunk(item)) {
      this.breakRule(`body item must be a string or Uint8Array, got ${describe(item)}`);
      return false;
    }
    const ready = this.pushChunk(item);
    if (this.stopped) return false;
    if (this.headersOut && this.noBody) {
      // HEAD (or 204/304): the headers are all the client gets, so stop here.
      this.endBody();
      return false;
    }
    if (ready) return true;
    this.waitingDrain = true;
    return false;
  }

  private onDrain(): void {
    if (!this.waitingDrain || this.stopped) return;
    this.waitingDrain = false;
    if (this.iterAsync) this.nextAsync();
    else this.runSync();
  }

  /** Sends one chunk; false when the socket buffer is full (wait for 'drain'). */
  private pushChunk(chunk: Chunk): boolean {
    const length = byteLength(chunk);
    if (length === 0) return true;
    if (!this.headersOut && !this.sendHeaders(-1)) return false;
    if (this.noBody) {
      this.sent += length;
      return true;
    }
    if (this.declared >= 0 && this.sent + length > this.declared) return this.overflow(chunk);
    this.sent += length;
    return this.res.write(this.wire(chunk));
  }

  /** The chunk as written: see ResponseStart.nonAscii for why strings may become bytes. */
  private wire(chunk: Chunk): Chunk {
    return typeof chunk === 'string' && this.start?.nonAscii ? Buffer.from(chunk) : chunk;
  }

  /** A chunk goes past the declared Content-Length: send what fits, drop the rest, stop. */
  private overflow(chunk: Chunk): false {
    const room = this.declared - this.sent;
    if (room > 0) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      this.res.write(bytes.subarray(0, room));
    }
    this.sent = this.declared;
    this.log.error(
      `TSGI response rule: body longer than its Content-Length of ${this.declared} bytes; extra bytes dropped`,
      this.ctx.id,
    );
    this.endBody();
    return false;
  }

  /** The startResponse() call the headers come from, or a 500 if there is none or it breaks a send rule. */
  private requireStart(): ResponseStart | undefined {
    const start = this.start;
    if (start === undefined) {
      this.breakRule('startResponse() must be called before the first body chunk (or the end of an empty body)');
      return undefined;
    }
    if (start.sendRule !== undefined && !this.headersOut) {
      this.breakRule(start.sendRule);
      return undefined;
    }
    return start;
  }

  /** Sends the headers; knownLength >= 0 adds Content-Length when the app set none. */
  private sendHeaders(knownLength: number): boolean {
    const start = this.requireStart();
    if (start === undefined) return false;
    const { statusCode } = start;
    if (statusCode === 204 || statusCode === 304) this.noBody = true;
    const headers = start.flatHeaders;
    this.declared = start.contentLength;
    if (this.declared < 0 && knownLength >= 0 && statusCode !== 204 && statusCode !== 304) {
      headers.push('Content-Length', String(knownLength));
      this.declared = knownLength;
    }
    this.res.writeHead(statusCode, start.reason, headers);
    this.headersOut = true;
    return true;
  }

  /** The body is over (or abandoned after its last useful chunk): end the response. */
  private endBody(): void {
    if (this.stopped) return;
    // Nothing non-empty was sent, so the body is empty: say so with Content-Length 0.
    if (!this.headersOut && !this.sendHeaders(0)) return;
    this.stopped = true;
    if (!this.noBody && this.declared > this.sent) {
      this.log.error(
        `TSGI response rule: body shorter than its Content-Length (${this.sent} of ${this.declared} bytes); connection closed`,
        this.ctx.id,
      );
      // Closing is the only way the client can tell the body is truncated.
      const socket = this.res.socket;
      this.res.end();
      closeConnection(this.res, socket);
    } else {
      this.res.end();
    }
    this.release(true);
  }

  /** A rule broken at send time: logged, then 500 or abort like an exception. */
  private breakRule(message: string): void {
    if (this.stopped) return;
    this.log.error(`TSGI response rule broken: ${message}`, this.ctx.id);
    this.abort(new ResponseRuleError(message));
  }

  private abort(err: unknown): void {
    this.stopped = true;
    try {
      const sent = !this.headersOut && sendError(this.res, 500, {
        debugError: this.debugMode ? err : undefined,
        close: true,
      });
      if (!sent) closeConnection(this.res, this.res.socket);
    } catch {
      this.res.destroy();
    }
    this.release(true);
  }

  private clientGone(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.log.debug('client closed the connection before the response was complete', this.ctx.id);
    this.source?.destroy();
    this.release(true);
  }

  /** Stops consuming the body: return() if abandoned, close() exactly once, request cleanup. */
  private release(abandon: boolean): void {
    this.stopped = true;
    if (abandon && !this.inNext && !this.iterDone) this.returnIterator();
    this.closeBody();
    this.input.discard();
    this.errors.flush();
  }

  private returnIterator(): void {
    const iter = this.iter;
    if (iter === undefined || this.iterDone) return;
    this.iterDone = true;
    if (typeof iter.return !== 'function') return;
    this.settle(() => iter.return!(), 'iterator return()', 'body');
  }

  private closeBody(): void {
    if (this.bodyClosed) return;
    this.bodyClosed = true;
    const body = this.body as { close?: unknown } | null;
    if (body === null || typeof body !== 'object' || typeof body.close !== 'function') return;
    this.settle(() => (body.close as () => unknown).call(body), 'body close()', 'close');
  }

  /** Runs a cleanup call; its exception or rejection is logged, never left unhandled. */
  private settle(call: () => unknown, what: string, phase: AppPhase): void {
    const report = (err: unknown) => {
      this.log.error(`${what} failed: ${formatError(err)}`, this.ctx.id);
      noteAppError(this.res, err, phase);
    };
    if (this.guard !== undefined) return this.guard.call(call, () => {}, report);
    try {
      const result = call();
      if (isThenable(result)) result.then(undefined, report);
    } catch (err) {
      report(err);
    }
  }
}
