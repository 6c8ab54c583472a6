/**
 * The metrics in Prometheus' text exposition format (version 0.0.4), from the
 * master's report on the pool: counters are the whole server's since the
 * master started (living workers plus those that left, master/pool-totals.ts),
 * so they never go down when a worker is recycled; gauges are now; per-worker
 * gauges carry the worker's pid.
 *
 * Written here rather than with prom-client: its cluster aggregation sums the
 * living workers only (a recycled worker's counts would vanish, and every
 * counter would drop at each recycle), and talks over the cluster channel with
 * messages of its own beside the master's handler table. The format is a few
 * lines of text.
 */
import type { PoolReport } from '../ipc/messages.js';
import { DURATION_BUCKETS, METRIC_METHODS, STATUS_CLASSES } from '../ipc/request-counts.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string | number>;

function labelText(labels: Labels | undefined): string {
  if (!labels) return '';
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${String(v).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function num(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  return String(n);
}

class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): this {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, value: number, labels?: Labels): this {
    this.lines.push(`${name}${labelText(labels)} ${num(value)}`);
    return this;
  }

  text(): string {
    return this.lines.join('\n') + '\n';
  }
}

export function prometheusText(report: PoolReport): string {
  const x = new Exposition();
  const t = report.totals;
  x.family('tsgi_up', 'gauge', '1 while the server serves, 0 while it starts or stops.').sample('tsgi_up', report.phase === 'serving' ? 1 : 0);
  x.family('tsgi_uptime_seconds', 'gauge', 'Seconds since the master started.').sample('tsgi_uptime_seconds', report.uptime);
  x.family('tsgi_generation', 'gauge', 'The generation of the code being served (1, then one more per reload).').sample('tsgi_generation', report.generation);
  x.family('tsgi_workers', 'gauge', 'Worker processes by state.');
  for (const state of ['starting', 'ready', 'draining']) {
    x.sample('tsgi_workers', report.workers.filter((w) => w.state === state).length, { state });
  }
  x.family('tsgi_workers_target', 'gauge', 'Workers the master keeps running (--processes, changed by SIGTTIN/SIGTTOU).').sample('tsgi_workers_target', report.target);

  x.family('tsgi_requests_total', 'counter', 'Responses sent, by request method and status class.');
  const counts = t.counts;
  METRIC_METHODS.forEach((method, m) => {
    STATUS_CLASSES.forEach((code, c) => {
      const n = counts?.responses[m * STATUS_CLASSES.length + c] ?? 0;
      if (n > 0 || (method === 'GET' && code === '2xx')) x.sample('tsgi_requests_total', n, { method, code });
    });
  });
  x.family('tsgi_request_duration_seconds', 'histogram', 'Time from a request\'s arrival to the end of its response.');
  let cumulative = 0;
  DURATION_BUCKETS.forEach((le, i) => {
    cumulative += counts?.durations[i] ?? 0;
    x.sample('tsgi_request_duration_seconds_bucket', cumulative, { le: String(le) });
  });
  cumulative += counts?.durations[DURATION_BUCKETS.length] ?? 0;
  x.sample('tsgi_request_duration_seconds_bucket', cumulative, { le: '+Inf' });
  x.sample('tsgi_request_duration_seconds_sum', counts?.durationSum ?? 0);
  x.sample('tsgi_request_duration_seconds_count', cumulative);

  const living = report.workers.filter((w) => w.stats);
  x.family('tsgi_requests_in_flight', 'gauge', 'Requests in the application now.').sample('tsgi_requests_in_flight', living.reduce((n, w) => n + w.stats!.inFlight, 0));
  x.family('tsgi_requests_queued', 'gauge', 'Requests waiting for a --threads slot now.').sample('tsgi_requests_queued', living.reduce((n, w) => n + w.stats!.queued, 0));
  x.family('tsgi_queue_timeouts_total', 'counter', 'Requests answered 503 after waiting --queue-timeout.').sample('tsgi_queue_timeouts_total', t.queueTimeouts);
  x.family('tsgi_request_timeouts_total', 'counter', 'Requests answered 504, or cut off, by --request-timeout.').sample('tsgi_request_timeouts_total', t.requestTimeouts);
  x.family('tsgi_worker_recycles_total', 'counter', 'Workers recycled, by reason (mod_wsgi\'s names).');
  for (const [reason, n] of Object.entries(report.recycles)) x.sample('tsgi_worker_recycles_total', n, { reason });
  x.family('tsgi_worker_restarts_total', 'counter', 'Serving workers that died (crashed) or were killed for not answering (deadlock_timeout), and replaced.');
  for (const [reason, n] of Object.entries(report.restarts)) x.sample('tsgi_worker_restarts_total', n, { reason });
  x.family('tsgi_worker_start_failures_total', 'counter', 'Workers that failed to start after the first generation.').sample('tsgi_worker_start_failures_total', report.startFailures);

  const groups = report.groups ?? [];
  if (groups.length > 0) {
    x.family('tsgi_group_workers', 'gauge', 'Worker processes of each process group (--mount-app groups, kind="group"; --mount-app-match sites while they run, kind="pattern") by state.');
    for (const g of groups) {
      for (const state of ['starting', 'ready', 'draining']) {
        x.sample('tsgi_group_workers', g.workers.filter((w) => w.state === state).length, { group: g.name, kind: g.kind, state });
      }
    }
    x.family('tsgi_group_requests_total', 'counter', 'Requests each process group\'s workers have served since the group started (tsgi_requests_total counts them all at the front).');
    for (const g of groups) x.sample('tsgi_group_requests_total', g.totals.requests, { group: g.name, kind: g.kind });
  }

  // Each worker's own figures: the main pool's by pid, a process group's by pid and group.
  const workers = [
    ...living.map((w) => ({ w, labels: { pid: w.pid } as Labels })),
    ...groups.flatMap((g) => g.workers.filter((w) => w.stats).map((w) => ({ w, labels: { pid: w.pid, group: g.name } as Labels }))),
  ];
  x.family('tsgi_worker_resident_memory_bytes', 'gauge', 'Resident set size of each worker.');
  for (const { w, labels } of workers) x.sample('tsgi_worker_resident_memory_bytes', w.stats!.rss, labels);
  x.family('tsgi_worker_cpu_seconds_total', 'counter', 'CPU time (user + system) each worker has used.');
  for (const { w, labels } of workers) x.sample('tsgi_worker_cpu_seconds_total', w.stats!.cpuSeconds, labels);
  x.family('tsgi_worker_requests_total', 'counter', 'Requests each worker has served.');
  for (const { w, labels } of workers) x.sample('tsgi_worker_requests_total', w.stats!.requests, labels);
  x.family('tsgi_worker_event_loop_delay_seconds', 'gauge', 'Event-loop delay of each worker over the last few seconds: mean, p99 and max.');
  for (const { w, labels } of workers) {
    const d = w.stats!.eventLoopDelay;
    if (!d) continue;
    x.sample('tsgi_worker_event_loop_delay_seconds', d.mean / 1000, { ...labels, stat: 'mean' });
    x.sample('tsgi_worker_event_loop_delay_seconds', d.p99 / 1000, { ...labels, stat: 'p99' });
    x.sample('tsgi_worker_event_loop_delay_seconds', d.max / 1000, { ...labels, stat: 'max' });
  }
  return x.text();
}
