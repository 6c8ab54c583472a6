/**
 * A raw HTTP/2 client (node:http2) for what undici would hide: the exact
 * response headers, GOAWAY and PING frames, a stream reset while its session
 * goes on.
 */
import { once } from 'node:events';
import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';

export interface H2Response {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A session to `url` (https: trusting `ca`; http: h2c with prior knowledge). */
export async function h2connect(url: string, ca?: Buffer): Promise<ClientHttp2Session> {
  const session = http2.connect(url, ca ? { ca, servername: 'localhost' } : {});
  session.on('error', () => {}); // a test that expects the session to end says so itself
  await once(session, 'connect');
  return session;
}

/** One request on `session`; rejects when the stream is reset or errors. */
export async function h2request(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: string | Buffer): Promise<H2Response> {
  const stream = session.request(headers, { endStream: body === undefined });
  if (body !== undefined) stream.end(body);
  // Read from the start: on Node 24 a stream whose body and END_STREAM arrived before anyone
  // read them can close without 'end', which an iterator begun after 'response' reports as a
  // premature close (seen with several streams at once across the hop).
  const chunks: Buffer[] = [];
  let ended = false;
  let failure: Error | undefined;
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.once('end', () => (ended = true));
  stream.on('error', (err: Error) => (failure = err));
  // Not once(): it would reject on an 'error' before the close, with nobody awaiting it yet.
  const closed = new Promise((resolve) => stream.once('close', resolve));
  const [responseHeaders] = (await once(stream, 'response')) as [IncomingHttpHeaders];
  await closed;
  if (stream.rstCode !== undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) {
    throw Object.assign(new Error(`stream reset (code ${stream.rstCode})`), { rstCode: stream.rstCode });
  }
  if (failure !== undefined) throw failure;
  if (!ended) throw new Error('the stream closed before its end');
  return { status: Number(responseHeaders[':status']), headers: responseHeaders, body: Buffer.concat(chunks).toString() };
}

/** The HTTP/1.1 connection headers HTTP/2 forbids (RFC 9113 8.2.2) found among `headers`. */
export function connectionHeaders(headers: IncomingHttpHeaders): string[] {
  return ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'].filter((name) => headers[name] !== undefined);
}

export interface H2LoadResult {
  ok: number;
  failed: number;
  errors: string[];
  bodies: Set<string>;
  /** GOAWAY frames the clients received (each makes its loop open a new session). */
  goaways: number;
  /** Requests refused unprocessed (REFUSED_STREAM) and sent again on a new session. */
  retried: number;
}

/**
 * Bounded HTTP/2 load with node:http2 clients that follow RFC 9113: each loop
 * sends its requests back to back on one session; after a GOAWAY it lets the
 * streams in flight finish there and sends the next request on a new session
 * (6.8), and a request refused unprocessed (REFUSED_STREAM) is sent again
 * (8.7 says that is always safe). node:http2 refuses, itself, a request that
 * was queued but not yet sent when the GOAWAY came. Every other error counts
 * as a failure. (undici 7, the project's HTTP client, fails a request in
 * flight when any GOAWAY arrives: nodejs/undici#5089.)
 */
export class H2Load {
  readonly result: H2LoadResult = { ok: 0, failed: 0, errors: [], bodies: new Set(), goaways: 0, retried: 0 };
  private stopped = false;
  private readonly loops: Promise<void>[];

  constructor(private readonly url: string, private readonly path: string, opts: { loops: number; maxMs: number; ca?: Buffer }) {
    const deadline = Date.now() + opts.maxMs;
    this.loops = Array.from({ length: opts.loops }, () => this.loop(deadline, opts.ca));
  }

  private async loop(deadline: number, ca?: Buffer): Promise<void> {
    let session: ClientHttp2Session | undefined;
    while (!this.stopped && Date.now() < deadline) {
      try {
        if (session === undefined || session.closed || session.destroyed) {
          session = await h2connect(this.url, ca);
          session.once('goaway', () => this.result.goaways++);
        }
        let res: H2Response;
        try {
          res = await h2request(session, { ':path': this.path });
        } catch (err) {
          if ((err as { code?: string }).code !== 'ERR_HTTP2_STREAM_ERROR' || !/REFUSED_STREAM/.test((err as Error).message)) throw err;
          this.result.retried++;
          session = await h2connect(this.url, ca);
          session.once('goaway', () => this.result.goaways++);
          res = await h2request(session, { ':path': this.path });
        }
        if (res.status === 200) {
          this.result.ok++;
          this.result.bodies.add(res.body);
        } else this.fail(`status ${res.status}: ${res.body.slice(0, 200)}`);
      } catch (err) {
        this.fail(String((err as Error).message ?? err));
      }
    }
    session?.close();
  }

  private fail(why: string): void {
    this.result.failed++;
    if (this.result.errors.length < 20) this.result.errors.push(why);
  }

  async stop(): Promise<H2LoadResult> {
    this.stopped = true;
    await Promise.all(this.loops);
    return this.result;
  }
}
