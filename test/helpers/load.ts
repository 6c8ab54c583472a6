/**
 * A bounded load generator for fault tests (127.0.0.1 only): several loops send
 * requests back to back until stopped or until a deadline, and count every
 * failure (a non-200 status or a transport error).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';

export interface LoadResult {
  ok: number;
  failed: number;
  /** Failures that were a timeout (hangMs): requests left hanging. */
  hung: number;
  errors: string[];
  bodies: Set<string>;
}

export interface LoadOptions {
  readonly loops: number;
  /** false: a new connection per request (Connection: close). */
  readonly keepAlive: boolean;
  /** Hard stop, whatever happens (the test bounds itself). */
  readonly maxMs: number;
  /** A request with no response head (or body) within this fails as hung (undici's default: 300 s). */
  readonly hangMs?: number;
  /** Sent with every request (credentials, say). */
  readonly headers?: Record<string, string>;
  /** More undici Agent options: a CA to trust (`connect: { ca }`), `allowH2`. */
  readonly agent?: Agent.Options;
}

export class Load {
  readonly result: LoadResult = { ok: 0, failed: 0, hung: 0, errors: [], bodies: new Set() };
  private stopped = false;
  private readonly agent: Agent;
  private readonly loops: Promise<void>[];

  constructor(private readonly url: string, private readonly opts: LoadOptions) {
    const timeouts = opts.hangMs ? { headersTimeout: opts.hangMs, bodyTimeout: opts.hangMs } : {};
    this.agent = new Agent({ connections: opts.loops, pipelining: 1, ...timeouts, ...opts.agent });
    const deadline = Date.now() + opts.maxMs;
    this.loops = Array.from({ length: opts.loops }, () => this.loop(deadline));
  }

  private async loop(deadline: number): Promise<void> {
    while (!this.stopped && Date.now() < deadline) {
      try {
        const res = await request(this.url, { dispatcher: this.agent, reset: !this.opts.keepAlive, headers: this.opts.headers });
        const body = await res.body.text();
        if (res.statusCode === 200) {
          this.result.ok++;
          this.result.bodies.add(body);
        } else this.fail(`status ${res.statusCode}: ${body.slice(0, 200)}`);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') this.result.hung++;
        this.fail(String((err as Error).message ?? err));
      }
    }
  }

  private fail(why: string): void {
    this.result.failed++;
    if (this.result.errors.length < 20) this.result.errors.push(why);
  }

  /**
   * Resolves once `more` further requests have been answered 200, counted from now:
   * a test knows the load ran across a change by counting, whatever the machine's
   * speed, rather than by hoping a fixed number fit in its time.
   */
  async answered(more: number, timeoutMs = 30_000): Promise<void> {
    const from = this.result.ok;
    const deadline = Date.now() + timeoutMs;
    while (this.result.ok < from + more) {
      if (this.stopped || Date.now() > deadline) {
        throw new Error(`the load got ${this.result.ok - from} of ${more} answers in ${timeoutMs} ms; failed ${this.result.failed}: ${this.result.errors.join('; ')}`);
      }
      await sleep(20);
    }
  }

  async stop(): Promise<LoadResult> {
    this.stopped = true;
    await Promise.all(this.loops);
    await this.agent.close();
    return this.result;
  }
}
