/**
 * What a worker knows about the requests in its application: how many it has
 * served (--maximum-requests), when it was last active (--inactivity-timeout,
 * where --ignore-activity paths do not count), and how long each has run
 * (--request-timeout). Admission calls start() when a request enters the
 * application and end() when its response closes.
 *
 * Running requests form a list in start order, threaded through their
 * responses (no Set, no per-request object: a registry churning on every
 * request kept each request alive until the next full GC, see worker/drain.ts),
 * so the oldest is always first, and one timer, armed for the oldest's deadline,
 * serves them all.
 */
import type { ServerResponse } from 'node:http';
import type { Log } from '../logging/log.js';
import type { RequestContext } from './context.js';
import { sendError } from './error-response.js';
import { abandon, RequestTimeoutError } from './request-signal.js';

const CTX = Symbol('tsgi-express.in-flight.ctx');
const DEADLINE = Symbol('tsgi-express.in-flight.deadline');
const PREV = Symbol('tsgi-express.in-flight.prev');
const NEXT = Symbol('tsgi-express.in-flight.next');
const COUNTED = Symbol('tsgi-express.in-flight.counted');

/** A running request, as its response; the fields are set in this order on every one. */
type Running = ServerResponse & {
  [CTX]?: RequestContext;
  /** performance.now() when it times out; -1 once out of the list. */
  [DEADLINE]?: number;
  [PREV]?: Running;
  [NEXT]?: Running;
  [COUNTED]?: boolean;
};

export interface InFlightOptions {
  /** Requests served after which `onLimit` is called, once (0: never). */
  readonly maximumRequests: number;
  readonly onLimit: (served: number) => void;
  /** Keep track of activity (--inactivity-timeout given). */
  readonly trackActivity: boolean;
  /** URL paths whose requests are not activity: the path itself and everything below it. */
  readonly ignoreActivity: readonly string[];
  /** Seconds a request may run in the application (0: no limit). */
  readonly requestTimeout: number;
  readonly log: Log;
}

function matchesPrefix(path: string, prefix: string): boolean {
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || prefix.endsWith('/') || path.charCodeAt(prefix.length) === 47 /* / */;
}

export class InFlight {
  private served = 0;
  private timedOut = 0;
  private limitReported = false;
  private activeCounted = 0;
  private lastActivity = performance.now();
  private head: Running | undefined;
  private tail: Running | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly timeoutMs: number;
  private readonly expireDue = (): void => this.expire();

  constructor(private readonly opts: InFlightOptions) {
    this.timeoutMs = opts.requestTimeout * 1000;
  }

  /** Requests whose response has closed. */
  get requests(): number {
    return this.served;
  }

  /** Requests answered 504, or cut off, by --request-timeout. */
  get timeouts(): number {
    return this.timedOut;
  }

  /**
   * The request running longest, for the status page (only with --request-timeout,
   * which keeps the running requests in start order).
   */
  oldest(now = performance.now()): { method: string; target: string; seconds: number } | undefined {
    const ctx = this.head?.[CTX];
    if (ctx === undefined) return undefined;
    const target = ctx.req.originalUrl ?? ctx.req.url ?? '';
    return {
      method: ctx.req.method ?? '',
      target: target.length > 200 ? target.slice(0, 200) + '...' : target,
      seconds: (now - this.head![DEADLINE]! + this.timeoutMs) / 1000,
    };
  }

  /** Milliseconds since the last activity; 0 while a request that counts runs. */
  idleMs(now = performance.now()): number {
    return this.activeCounted > 0 ? 0 : now - this.lastActivity;
  }

  start(ctx: RequestContext): void {
    const res = ctx.res as Running;
    if (this.timeoutMs > 0) {
      res[CTX] = ctx;
      res[DEADLINE] = performance.now() + this.timeoutMs;
      this.link(res);
    }
    if (this.opts.trackActivity && this.isActivity(ctx)) {
      res[COUNTED] = true;
      this.activeCounted++;
      this.lastActivity = performance.now();
    }
  }

  end(res: ServerResponse): void {
    const running = res as Running;
    this.served++;
    if (running[DEADLINE] !== undefined && running[DEADLINE] >= 0) this.unlink(running);
    if (running[COUNTED]) {
      running[COUNTED] = false;
      this.activeCounted--;
      this.lastActivity = performance.now();
    }
    if (this.opts.maximumRequests > 0 && this.served >= this.opts.maximumRequests && !this.limitReported) {
      this.limitReported = true;
      this.opts.onLimit(this.served);
    }
  }

  private isActivity(ctx: RequestContext): boolean {
    const ignored = this.opts.ignoreActivity;
    if (ignored.length === 0) return true;
    const url = ctx.req.url ?? '/';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    for (const prefix of ignored) if (matchesPrefix(path, prefix)) return false;
    return true;
  }

  private link(res: Running): void {
    res[PREV] = this.tail;
    res[NEXT] = undefined;
    if (this.tail) this.tail[NEXT] = res;
    else this.head = res;
    this.tail = res;
    // The timer is always armed while the list is not empty, for a deadline no
    // later than the oldest's; a new request's deadline is never earlier.
    if (this.timer === undefined) this.arm(this.timeoutMs);
  }

  private unlink(res: Running): void {
    const prev = res[PREV];
    const next = res[NEXT];
    if (prev) prev[NEXT] = next;
    else this.head = next;
    if (next) next[PREV] = prev;
    else this.tail = prev;
    res[PREV] = undefined;
    res[NEXT] = undefined;
    res[DEADLINE] = -1;
    res[CTX] = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.expireDue, Math.max(0, Math.ceil(ms)));
    this.timer.unref();
  }

  private expire(): void {
    this.timer = undefined;
    const now = performance.now();
    while (this.head !== undefined && this.head[DEADLINE]! <= now) this.timeOut(this.head);
    if (this.head !== undefined) this.arm(this.head[DEADLINE]! - now);
  }

  /** 504 if its response has not started, else the connection is cut; the app's signal aborts. */
  private timeOut(res: Running): void {
    const ctx = res[CTX]!;
    this.unlink(res);
    this.timedOut++;
    const seconds = this.opts.requestTimeout;
    const started = res.headersSent;
    const what = started ? 'its response had started: connection aborted' : 'answered 504';
    this.opts.log.error(
      `request timed out after ${seconds}s (request_timeout) in worker ${process.pid}: ${ctx.req.method} ${ctx.req.url}; ${what}`,
      ctx.id,
    );
    const reason = new RequestTimeoutError(seconds);
    if (started) {
      abandon(res, reason);
      res.destroy();
    } else {
      sendError(res, 504, { close: true, detail: 'The application did not answer in time.' });
      abandon(res, reason);
    }
  }
}
