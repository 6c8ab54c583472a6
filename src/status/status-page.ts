/**
 * The status page (--server-status) in its three forms, from the master's
 * report on the pool: HTML (templates/server-status.html; every value escaped,
 * refreshing itself), `?auto` (mod_status's machine-readable text: its keys
 * first, then tsgi-express's own), and `?json`.
 */
import type { GroupPoolReport, PoolReport, WorkerReport } from '../ipc/messages.js';
import { escapeHtml, fill, template } from '../pipeline/templates.js';

/** Seconds between refreshes of the HTML page unless `?refresh=N` says otherwise. */
export const DEFAULT_REFRESH = 5;

export type StatusForm = { readonly form: 'html'; readonly refresh: number } | { readonly form: 'auto' } | { readonly form: 'json' };

/** `?auto`, `?json`, `?refresh=N` (mod_status's query words); anything else is the HTML page. */
export function statusForm(query: string): StatusForm {
  let refresh = DEFAULT_REFRESH;
  for (const part of query.split(/[&;]/)) {
    const [key, value] = part.split('=', 2);
    if (key === 'auto') return { form: 'auto' };
    if (key === 'json') return { form: 'json' };
    if (key === 'refresh' && value !== undefined && /^\d{1,5}$/.test(value)) refresh = Number(value);
  }
  return { form: 'html', refresh };
}

/** A worker in the JSON form: flat, with the names the docs use. */
function workerJson(w: WorkerReport) {
  const s = w.stats;
  return {
    pid: w.pid,
    generation: w.generation,
    state: w.recycling ? 'recycling' : w.state,
    requests: s?.requests ?? 0,
    inFlight: s?.inFlight ?? 0,
    queued: s?.queued ?? 0,
    rss: s?.rss ?? null,
    cpuSeconds: s?.cpuSeconds ?? null,
    age: round(w.age),
    lastRecycle: lastRecycle(w),
    eventLoopDelay: s?.eventLoopDelay ?? null,
    oldestRequest: s?.oldestRequest ?? null,
    queueTimeouts: s?.queueTimeouts ?? 0,
    requestTimeouts: s?.requestTimeouts ?? 0,
  };
}

/** Why this worker's slot last changed hands: being recycled now, or the recycle it replaced. */
function lastRecycle(w: WorkerReport): { reason: string; pid: number } | null {
  if (w.recycling) return { reason: w.recycling, pid: w.pid };
  return w.replaced ? { reason: w.replaced.reason, pid: w.replaced.pid } : null;
}

function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function statusJson(report: PoolReport, serverName: string) {
  return {
    server: serverName,
    version: report.version,
    masterPid: report.masterPid,
    phase: report.phase,
    uptime: round(report.uptime),
    generation: report.generation,
    processes: report.target,
    requests: report.totals.requests,
    requestsPerSecond: round(report.requestsPerSecond, 2),
    queueTimeouts: report.totals.queueTimeouts,
    requestTimeouts: report.totals.requestTimeouts,
    recycles: report.recycles,
    restarts: report.restarts,
    startFailures: report.startFailures,
    workers: report.workers.map(workerJson),
    groups: (report.groups ?? []).map(groupJson),
  };
}

/** A process group's pool: its own figures and workers (the server's above count every request at the front). */
function groupJson(g: GroupPoolReport) {
  return {
    name: g.name,
    kind: g.kind,
    uptime: round(g.uptime),
    generation: g.generation,
    processes: g.target,
    threads: g.threads,
    requests: g.totals.requests,
    requestsPerSecond: round(g.requestsPerSecond, 2),
    queueTimeouts: g.totals.queueTimeouts,
    requestTimeouts: g.totals.requestTimeouts,
    recycles: g.recycles,
    restarts: g.restarts,
    startFailures: g.startFailures,
    workers: g.workers.map(workerJson),
  };
}

/** The `key=value` words of a worker in `?auto`. */
function autoWorker(w: ReturnType<typeof workerJson>): string {
  return (
    `pid=${w.pid} generation=${w.generation} state=${w.state} requests=${w.requests} in_flight=${w.inFlight} queued=${w.queued} ` +
    `rss=${w.rss ?? '-'} cpu=${w.cpuSeconds === null ? '-' : round(w.cpuSeconds, 2)} age=${w.age} last_recycle=${w.lastRecycle ? w.lastRecycle.reason : '-'}`
  );
}

/** `1 hour 2 minutes 3 seconds`, as mod_status writes ServerUptime. */
function uptimeWords(seconds: number): string {
  const s = Math.floor(seconds);
  const parts: [number, string][] = [[Math.floor(s / 86400), 'day'], [Math.floor((s % 86400) / 3600), 'hour'], [Math.floor((s % 3600) / 60), 'minute'], [s % 60, 'second']];
  const words = parts.filter(([n]) => n > 0).map(([n, unit]) => `${n} ${unit}${n === 1 ? '' : 's'}`);
  return words.length ? words.join(' ') : '0 seconds';
}

/**
 * mod_status's scoreboard, one character per request slot (--threads per worker):
 * `W` busy, `_` free, `S` starting, `G` draining (finishing its requests).
 */
function scoreboard(report: PoolReport, threads: number): string {
  let board = '';
  for (const w of report.workers) {
    const busy = Math.min(threads, w.stats?.inFlight ?? 0);
    if (w.state === 'starting') board += 'S'.repeat(threads);
    else if (w.state === 'draining') board += 'G'.repeat(busy) + '.'.repeat(threads - busy);
    else board += 'W'.repeat(busy) + '_'.repeat(threads - busy);
  }
  return board;
}

export function statusAuto(report: PoolReport, serverName: string, threads: number): string {
  const j = statusJson(report, serverName);
  const ready = report.workers.filter((w) => w.state === 'ready');
  const busy = ready.reduce((n, w) => n + (w.stats?.inFlight ?? 0), 0);
  const now = Date.now();
  const lines = [
    `${serverName}`,
    `ServerVersion: tsgi-express/${report.version}`,
    'ServerMPM: node:cluster',
    `CurrentTime: ${new Date(now).toUTCString()}`,
    `RestartTime: ${new Date(now - report.uptime * 1000).toUTCString()}`,
    `ServerUptimeSeconds: ${Math.floor(report.uptime)}`,
    `ServerUptime: ${uptimeWords(report.uptime)}`,
    `Total Accesses: ${j.requests}`,
    `ReqPerSec: ${j.requestsPerSecond}`,
    `BusyWorkers: ${busy}`,
    `IdleWorkers: ${Math.max(0, ready.length * threads - busy)}`,
    `Processes: ${report.workers.length}`,
    `Generation: ${report.generation}`,
    `Phase: ${report.phase}`,
    `QueuedRequests: ${report.workers.reduce((n, w) => n + (w.stats?.queued ?? 0), 0)}`,
    `QueueTimeouts: ${j.queueTimeouts}`,
    `RequestTimeouts: ${j.requestTimeouts}`,
    ...Object.entries(report.recycles).map(([reason, n]) => `Recycles_${reason}: ${n}`),
    ...Object.entries(report.restarts).map(([reason, n]) => `Restarts_${reason}: ${n}`),
    `StartFailures: ${report.startFailures}`,
    ...j.workers.map((w) => `Worker: ${autoWorker(w)}`),
    `Scoreboard: ${scoreboard(report, threads)}`,
    ...j.groups.flatMap((g) => [
      `Group: ${g.name} kind=${g.kind} processes=${g.processes} threads=${g.threads} generation=${g.generation} requests=${g.requests} workers=${g.workers.length}`,
      ...g.workers.map((w) => `GroupWorker: group=${g.name} ${autoWorker(w)}`),
    ]),
  ];
  return lines.join('\n') + '\n';
}

function cell(value: string | number, text = false): string {
  return `<td${text ? ' class="text"' : ''}>${escapeHtml(String(value))}</td>`;
}

function workerRow(w: ReturnType<typeof workerJson>): string {
  const recycle = w.lastRecycle ? (w.state === 'recycling' ? `${w.lastRecycle.reason} (now)` : `${w.lastRecycle.reason} (replaced ${w.lastRecycle.pid})`) : '-';
  const oldest = w.oldestRequest ? `${w.oldestRequest.method} ${w.oldestRequest.target} (${round(w.oldestRequest.seconds)} s)` : '-';
  return (
    '<tr>' +
    [
      cell(w.pid),
      cell(w.generation),
      cell(w.state, true),
      cell(w.requests),
      cell(w.inFlight),
      cell(w.queued),
      cell(w.rss === null ? '-' : round(w.rss / 1048576)),
      cell(w.cpuSeconds === null ? '-' : round(w.cpuSeconds, 2)),
      cell(w.age),
      cell(w.eventLoopDelay ? round(w.eventLoopDelay.p99) : '-'),
      cell(recycle, true),
      cell(oldest, true),
    ].join('') +
    '</tr>'
  );
}

const WORKER_HEAD =
  '<thead><tr><th>pid</th><th>generation</th><th>state</th><th>requests</th><th>in flight</th><th>queued</th><th>RSS (MB)</th><th>CPU (s)</th><th>age (s)</th><th>event-loop delay p99 (ms)</th><th>last recycle</th><th>running longest</th></tr></thead>';

const GROUP_KINDS = { group: 'its own process group', pattern: 'a pattern mount\'s site (--mount-app-match)' } as const;

function groupSection(g: ReturnType<typeof groupJson>): string {
  const about = `${GROUP_KINDS[g.kind]}: ${g.workers.length} worker(s) (target ${g.processes} * ${g.threads} threads), generation ${g.generation}, ${g.requests} requests served`;
  return [
    `<h3>Process group ${escapeHtml(g.name)}</h3>`,
    `<p>${escapeHtml(about)}</p>`,
    `<table class="group-workers" data-group="${escapeHtml(g.name)}">`,
    WORKER_HEAD,
    `<tbody>\n${g.workers.map(workerRow).join('\n')}\n</tbody>`,
    '</table>',
  ].join('\n');
}

export function statusHtml(report: PoolReport, serverName: string, refresh: number): string {
  const j = statusJson(report, serverName);
  const summary: [string, string | number][] = [
    ['Version', `tsgi-express ${j.version}`],
    ['Phase', j.phase],
    ['Uptime', uptimeWords(j.uptime)],
    ['Generation', j.generation],
    ['Processes', `${j.workers.length} (target ${j.processes})`],
    ['Requests served', j.requests],
    ['Requests per second', j.requestsPerSecond],
    ['503s from the queue (--queue-timeout)', j.queueTimeouts],
    ['504s (--request-timeout)', j.requestTimeouts],
    ['Master pid', j.masterPid],
  ];
  const counts = [...Object.entries(j.recycles), ...Object.entries(j.restarts).map(([r, n]) => [`${r} (restart)`, n] as const)];
  counts.push(['start failures', j.startFailures]);
  return fill(template('server-status.html'), {
    refresh: refresh > 0 ? `<meta http-equiv="refresh" content="${refresh}">\n` : '',
    refreshNote: refresh > 0 ? `This page refreshes every ${refresh} s.` : '',
    server: escapeHtml(serverName),
    version: escapeHtml(j.version),
    summary: summary.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(String(v))}</dd>`).join('\n'),
    workerHead: WORKER_HEAD,
    workers: j.workers.map(workerRow).join('\n'),
    groups: j.groups.length > 0 ? ['<h2>Process groups</h2>', ...j.groups.map(groupSection)].join('\n') : '',
    recycles: counts.map(([reason, n]) => `<tr>${cell(reason, true)}${cell(n)}</tr>`).join('\n'),
  });
}
