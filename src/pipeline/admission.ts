/**
 * Stage: at most `threads` requests of this worker run the application at once
 * (--threads); the rest wait in arrival order. A request that has waited
 * --queue-timeout gets 503 with Retry-After at once and never reaches the app.
 * A slot is freed when the response closes (finished or aborted), whatever the
 * interface, because only then is the application done with it.
 */
import type { ServerResponse } from 'node:http';
import type { RequestContext, Stage } from './context.js';
import { sendError } from './error-response.js';
import type { InFlight } from './in-flight.js';

interface Waiting {
  readonly ctx: RequestContext;
  readonly next: (ctx: RequestContext) => void;
  readonly deadline: number;
}

export class Admission {
  private active = 0;
  /** Requests answered 503 after waiting --queue-timeout (status page, metrics). */
  timedOut = 0;
  /** FIFO from `head`; a taken slot is cleared at once, so a served request is not kept alive by the queue. */
  private readonly queue: (Waiting | undefined)[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  /** One 'close' listener shared by every response (`this` is the response): a per-request closure would be garbage on the hot path. */
  private readonly release: (this: ServerResponse) => void;

  constructor(
    private readonly threads: number,
    private readonly queueTimeoutMs: number,
    /** Requests in the application: counts, activity, --request-timeout. */
    readonly inFlight?: InFlight,
  ) {
    const admission = this;
    this.release = function (this: ServerResponse) {
      admission.done(this);
    };
  }

  get queued(): number {
    return this.queue.length - this.head;
  }

  get running(): number {
    return this.active;
  }

  /** Requests that ran in the application and whose response has closed. */
  get served(): number {
    return this.inFlight?.requests ?? 0;
  }

  readonly stage: Stage = (ctx, next) => {
    if (this.active < this.threads && this.queued === 0) this.run(ctx, next);
    else this.enqueue(ctx, next);
  };

  private run(ctx: RequestContext, next: (ctx: RequestContext) => void): void {
    this.active++;
    ctx.res.on('close', this.release); // 'close' comes once per response
    this.inFlight?.start(ctx);
    next(ctx);
  }

  private done(res: ServerResponse): void {
    this.active--;
    this.inFlight?.end(res);
    this.drainQueue();
  }

  private enqueue(ctx: RequestContext, next: (ctx: RequestContext) => void): void {
    const deadline = this.queueTimeoutMs > 0 ? performance.now() + this.queueTimeoutMs : Infinity;
    this.queue.push({ ctx, next, deadline });
    this.armTimer();
  }

  private drainQueue(): void {
    while (this.active < this.threads && this.queued > 0) {
      const item = this.take();
      // The client gave up while waiting, or the server answered it (its body failed).
      if (item.ctx.res.destroyed || item.ctx.res.writableEnded) continue;
      this.run(item.ctx, item.next);
    }
    this.compact();
  }

  private take(): Waiting {
    const item = this.queue[this.head]!;
    this.queue[this.head++] = undefined;
    return item;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    } else if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    }
  }

  private armTimer(): void {
    if (this.timer || this.queued === 0) return;
    const wait = this.queue[this.head]!.deadline - performance.now();
    if (!Number.isFinite(wait)) return;
    this.timer = setTimeout(() => this.expire(), Math.max(0, wait));
  }

  /** Answers every request whose deadline has passed; they are at the head (FIFO). */
  private expire(): void {
    this.timer = undefined;
    const now = performance.now();
    while (this.queued > 0 && this.queue[this.head]!.deadline <= now) {
      const { ctx } = this.take();
      this.timedOut++;
      sendError(ctx.res, 503, { headers: { 'Retry-After': '1' }, close: true });
    }
    this.compact();
    this.armTimer();
  }
}
