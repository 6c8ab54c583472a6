/**
 * Stage (with --server-status or metrics): counts every response whose head
 * went out, by method and status class, and its duration from arrival to
 * close, into one RequestCounts (ipc/request-counts.ts) the worker reports to
 * the master. First in the pipeline, so the server's own answers (a 400, a
 * 401, a 503 from the queue) count too.
 *
 * One 'close' listener shared by every response (`this` is the response) and
 * one property on it: no closure per request (see pipeline/admission.ts).
 */
import type { ServerResponse } from 'node:http';
import { durationBucket, emptyCounts, methodIndex, statusClassIndex, STATUS_CLASSES, type RequestCounts } from '../ipc/request-counts.js';
import type { RequestContext, Stage } from './context.js';

const CONTEXT = Symbol('tsgi.metricsContext');

type Measured = ServerResponse & { [CONTEXT]?: RequestContext };

export class RequestMetrics {
  readonly counts: RequestCounts = emptyCounts();
  private readonly record: (this: Measured) => void;

  constructor() {
    const counts = this.counts;
    this.record = function (this: Measured) {
      const ctx = this[CONTEXT];
      this[CONTEXT] = undefined;
      if (ctx === undefined || !this.headersSent) return;
      const method = ctx.clientMethod ?? ctx.req.method;
      counts.responses[methodIndex(method) * STATUS_CLASSES.length + statusClassIndex(this.statusCode)]!++;
      const seconds = (performance.now() - ctx.startMono) / 1000;
      counts.durations[durationBucket(seconds)]!++;
      counts.durationSum += seconds;
    };
  }

  readonly stage: Stage = (ctx, next) => {
    const res = ctx.res as Measured;
    res[CONTEXT] = ctx;
    res.on('close', this.record);
    next(ctx);
  };
}
