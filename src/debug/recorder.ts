/**
 * --enable-recorder: each request and its response saved as files, one set per
 * request (docs/debugging.md, "The recorder's files"), for reading and for
 * `tsgi-express replay`. A pipeline stage, first after the access log, so every
 * request is kept as the client sent it (before any stage rewrites its headers
 * or URL) and every response as the client got it, the server's own answers
 * included, whatever the interface.
 *
 * The request body is taken as Node's parser hands it to the request stream
 * (its push), so the application reads it as before, when it likes, with
 * tsgi.input, write() or anything else; mod_wsgi's recorder read the whole body
 * first and broke applications using write(). The response body is taken at
 * res.write/res.end (what the application sent, before chunked framing).
 * Exceptions come from the interfaces (app-errors.ts) with their phase.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import type { Log } from '../logging/log.js';
import type { RequestContext, Stage } from '../pipeline/context.js';
import { formatError } from '../pipeline/error-response.js';
import { listenToAppErrors, type AppPhase } from './app-errors.js';

/** Written into every file, so a reader can tell the layout it follows. */
export const RECORDING_FORMAT = 'tsgi-express-recording/1';

export interface RecordedRequest {
  readonly format: string;
  readonly key: string;
  readonly time: string;
  readonly method: string;
  /** The request target as sent: `/path?query`. */
  readonly target: string;
  readonly httpVersion: string;
  /** As received, in order, names as the client spelled them. */
  readonly headers: [string, string][];
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  /** The body file's name (beside this one), or null for no body. */
  readonly body: string | null;
  readonly bodyBytes: number;
}

export interface RecordedResponse {
  readonly format: string;
  readonly key: string;
  /** null when the connection ended before any response head was sent. */
  readonly status: number | null;
  readonly reason: string | null;
  readonly headers: [string, string][];
  readonly body: string | null;
  readonly bodyBytes: number;
  /** Hex SHA-256 of the body bytes (what replay compares). */
  readonly bodySha256: string;
  /** Whether the response was sent to its end (false: the connection was cut). */
  readonly complete: boolean;
  readonly durationMs: number;
  /** The application's exceptions, each with its phase (the call, its body, its close()) and stack. */
  readonly exceptions: { phase: AppPhase; stack: string }[];
}

/** One body being written to its file as it passes; opened at the first byte. */
class BodyFile {
  private fd: number | undefined;
  bytes = 0;
  private readonly hash: Hash = createHash('sha256');

  constructor(readonly file: string) {}

  /** Set when the file could not be written: the request goes on, unrecorded from there. */
  failed: Error | undefined;

  add(chunk: unknown, encoding?: unknown): void {
    if (this.failed) return;
    try {
      this.write(chunk, encoding);
    } catch (err) {
      this.failed = err as Error;
    }
  }

  private write(chunk: unknown, encoding?: unknown): void {
    const bytes = typeof chunk === 'string'
      ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
      : chunk instanceof Uint8Array ? chunk : undefined;
    if (bytes === undefined || bytes.byteLength === 0) return;
    this.fd ??= openSync(this.file, 'w');
    writeSync(this.fd, bytes);
    this.bytes += bytes.byteLength;
    this.hash.update(bytes);
  }

  close(): string | null {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    return this.bytes > 0 ? path.basename(this.file) : null;
  }

  sha256(): string {
    return this.hash.digest('hex');
  }
}

/** The response head as sent (the status line and headers Node wrote), else what the response holds. */
function sentHead(res: ServerResponse): { status: number | null; reason: string | null; headers: [string, string][] } {
  if (!res.headersSent) return { status: null, reason: null, headers: [] };
  const head = (res as { _header?: string | null })._header;
  if (typeof head === 'string') {
    const [statusLine = '', ...lines] = head.split('\r\n');
    const m = /^HTTP\/[\d.]+ (\d{3})(?: (.*))?$/.exec(statusLine);
    const headers = lines.filter(Boolean).map((line): [string, string] => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon), line.slice(colon + 1).trim()];
    });
    if (m) return { status: Number(m[1]), reason: m[2] ?? '', headers };
  }
  const headers: [string, string][] = [];
  for (const [name, value] of Object.entries(res.getHeaders())) {
    for (const one of Array.isArray(value) ? value : [value]) headers.push([name, String(one)]);
  }
  return { status: res.statusCode, reason: res.statusMessage, headers };
}

function pairs(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

class Recording {
  readonly exceptions: { phase: AppPhase; stack: string }[] = [];
  private readonly requestBody: BodyFile;
  private readonly responseBody: BodyFile;
  private readonly request: Omit<RecordedRequest, 'body' | 'bodyBytes'>;

  constructor(
    private readonly directory: string,
    private readonly key: string,
    private readonly ctx: RequestContext,
    private readonly log: Log,
  ) {
    const { req } = ctx;
    this.request = {
      format: RECORDING_FORMAT,
      key,
      time: new Date(ctx.startUs / 1000).toISOString(),
      method: req.method ?? 'GET',
      target: req.url ?? '/',
      httpVersion: req.httpVersion,
      headers: pairs(req.rawHeaders),
      remoteAddress: req.socket.remoteAddress,
      remotePort: req.socket.remotePort,
    };
    this.requestBody = new BodyFile(path.join(directory, `${key}.request.body`));
    this.responseBody = new BodyFile(path.join(directory, `${key}.response.body`));
    this.tapRequest(req);
    this.tapResponse(ctx.res);
  }

  private tapRequest(req: IncomingMessage): void {
    const push = req.push;
    const body = this.requestBody;
    req.push = function (this: IncomingMessage, chunk: unknown, encoding?: BufferEncoding) {
      if (chunk !== null) body.add(chunk, encoding);
      return push.call(this, chunk, encoding);
    };
  }

  private tapResponse(res: ServerResponse): void {
    const write = res.write;
    const end = res.end;
    const body = this.responseBody;
    res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
      body.add(chunk, rest[0]);
      return Reflect.apply(write, this, [chunk, ...rest]) as boolean;
    } as ServerResponse['write'];
    res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
      if (typeof chunk !== 'function') body.add(chunk, rest[0]);
      return Reflect.apply(end, this, [chunk, ...rest]) as ServerResponse;
    } as ServerResponse['end'];
    res.once('close', () => this.finish());
  }

  /** The response closed (sent, or the connection went): both files are written now. */
  private finish(): void {
    try {
      this.writeFiles();
    } catch (err) {
      this.log.error(`recorder: request ${this.ctx.id} not recorded: ${formatError(err)}`, this.ctx.id);
    }
    const failed = this.requestBody.failed ?? this.responseBody.failed;
    if (failed) this.log.error(`recorder: a body of request ${this.ctx.id} was cut short: ${failed.message}`, this.ctx.id);
  }

  private writeFiles(): void {
    const { res } = this.ctx;
    const request: RecordedRequest = { ...this.request, body: this.requestBody.close(), bodyBytes: this.requestBody.bytes };
    const response: RecordedResponse = {
      format: RECORDING_FORMAT,
      key: this.key,
      ...sentHead(res),
      body: this.responseBody.close(),
      bodyBytes: this.responseBody.bytes,
      bodySha256: this.responseBody.sha256(),
      complete: res.writableFinished,
      durationMs: Math.round((performance.now() - this.ctx.startMono) * 1000) / 1000,
      exceptions: this.exceptions,
    };
    writeFileSync(path.join(this.directory, `${this.key}.request.json`), JSON.stringify(request, null, 2) + '\n');
    writeFileSync(path.join(this.directory, `${this.key}.response.json`), JSON.stringify(response, null, 2) + '\n');
  }
}

const RECORDING = Symbol('tsgi-express.recording');

/** The recorder stage; the files go to `directory` (created if missing). */
export function recorderStage(directory: string, log: Log): Stage {
  mkdirSync(directory, { recursive: true });
  listenToAppErrors((res, err, phase) => {
    (res as ServerResponse & { [RECORDING]?: Recording })[RECORDING]?.exceptions.push({ phase, stack: formatError(err) });
  });
  let count = 0;
  const prefix = `-${process.pid}-`;
  return (ctx, next) => {
    // `<microseconds since the epoch>-<pid>-<n>`: sorts in arrival order, unique across workers and restarts.
    const key = String(ctx.startUs).padStart(16, '0') + prefix + String(++count);
    try {
      (ctx.res as ServerResponse & { [RECORDING]?: Recording })[RECORDING] = new Recording(directory, key, ctx, log);
    } catch (err) {
      log.error(`recorder: cannot record request ${ctx.id}: ${formatError(err)}`, ctx.id);
    }
    next(ctx);
  };
}
