/**
 * The worker's side of --server-status, the metrics and --health-check-path:
 * the server's phase (from the environment the master forked it with, then its
 * `phase` messages), the response counts and the event-loop delay it reports
 * with its stats, and the --metrics-port listener. Figures for the whole pool
 * come from the master (`pool`, a correlated question).
 */
import http from 'node:http';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Config } from '../config/schema.js';
import type { PoolReport, ServerPhase, WorkerStats } from '../ipc/messages.js';
import type { Log } from '../logging/log.js';
import type { RequestContext } from '../pipeline/context.js';
import { RequestMetrics } from '../pipeline/request-metrics.js';
import { answerFromPool, methodAllowed } from '../pipeline/server-pages.js';
import { sendError } from '../pipeline/error-response.js';
import { prometheusText, PROMETHEUS_CONTENT_TYPE } from '../status/prometheus.js';
import { ListenCapture } from './listen-capture.js';
import { askMaster } from './master-channel.js';

/** The event-loop delay reported is over a window this long, the last one complete. */
const DELAY_WINDOW_MS = 5000;
/** The path the --metrics-port listener answers. */
export const METRICS_PORT_PATH = '/metrics';

function initialPhase(): ServerPhase {
  const phase = process.env.TSGI_EXPRESS_PHASE;
  return phase === 'serving' || phase === 'stopping' ? phase : 'starting';
}

export class Monitoring {
  readonly phase: { phase: ServerPhase } = { phase: initialPhase() };
  /** Counts of every response, when anything shows them. */
  readonly metrics: RequestMetrics | undefined;
  private readonly delay: IntervalHistogram | undefined;
  private lastDelay: WorkerStats['eventLoopDelay'];
  private metricsServer: http.Server | undefined;

  constructor(
    private readonly config: Config,
    private readonly log: Log,
  ) {
    const counting = config.serverStatus || config.metricsPath !== undefined || config.metricsPort !== undefined;
    this.metrics = counting ? new RequestMetrics() : undefined;
    if (counting) {
      this.delay = monitorEventLoopDelay({ resolution: 20 });
      this.delay.enable();
      setInterval(() => this.rotateDelay(), DELAY_WINDOW_MS).unref();
    }
  }

  readonly pool = (): Promise<PoolReport> => askMaster('pool', undefined, 5000);

  /** What the stats answer adds: the counts and the event-loop delay. */
  stats(): Pick<WorkerStats, 'counts' | 'eventLoopDelay'> {
    if (!this.metrics) return {};
    return { counts: this.metrics.counts, eventLoopDelay: this.lastDelay ?? this.delayNow() };
  }

  private delayNow(): WorkerStats['eventLoopDelay'] {
    const h = this.delay!;
    if (h.count === 0) return undefined;
    // The histogram is in nanoseconds; its resolution (20 ms) is subtracted by Node already.
    return { mean: h.mean / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
  }

  private rotateDelay(): void {
    this.lastDelay = this.delayNow();
    this.delay!.reset();
  }

  /** --metrics-port: a listener of its own, answering /metrics with the whole server's metrics. */
  listenForMetrics(): Promise<void> {
    const port = this.config.metricsPort;
    if (port === undefined) return Promise.resolve();
    const server = http.createServer((req, res) => {
      const ctx = { req, res, id: '-' } as RequestContext;
      const path = (req.url ?? '/').split('?', 1)[0];
      if (path !== METRICS_PORT_PATH) return void sendError(res, 404, { detail: `Metrics are at ${METRICS_PORT_PATH}.` });
      if (!methodAllowed(ctx)) return;
      answerFromPool(ctx, { pool: this.pool, log: this.log }, (report) => [PROMETHEUS_CONTENT_TYPE, prometheusText(report)]);
    });
    server.keepAliveTimeout = 5000;
    // Not the application's listen(): bound as asked.
    ListenCapture.markOwn(server);
    this.metricsServer = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: this.config.host }, () => resolve());
    });
  }

  /** Draining: the metrics listener stops accepting with the main one. */
  close(): void {
    this.metricsServer?.close();
    this.metricsServer?.closeIdleConnections?.();
  }
}
