/**
 * THE request pipeline: one literal, ordered list of named stages. Each entry
 * builds its stage from the Config once, at start-up, or returns undefined when
 * the Config leaves it out (no access log, say). A new feature (static files,
 * authentication, limits) is a new entry here, in the place it must run.
 */
import type { Config } from '../config/schema.js';
import type { Log } from '../logging/log.js';
import { accessLogStage } from './access-log.js';
import { debugDirectory } from '../config/debug-paths.js';
import { recorderStage } from '../debug/recorder.js';
import type { Admission } from './admission.js';
import type { Stage } from './context.js';
import { expectContinue } from './expect-continue.js';
import { clientCertificateStage } from './client-certificate.js';
import { headerFilter } from './header-filter.js';
import { headToGet, mapsHeadToGet } from './head-to-get.js';
import { hostCheck } from './host-check.js';
import { hostNamesStage } from './host-names.js';
import { logClientStage } from './log-client.js';
import { batcherOptions } from '../logging/error-format.js';
import { hstsStage } from './hsts.js';
import { httpsOnlyStage } from './https-only.js';
import { mountStage } from './mount.js';
import { groupHopStage } from '../groups/hop-stage.js';
import { patternRouter } from '../groups/match-route.js';
import { hopReceiveStage } from '../groups/hop-receive.js';
import { proxyHeadersStage } from './proxy-headers.js';
import { proxiedElsewhere, proxyStage } from '../proxy/stage.js';
import { healthCheckStage, type PhaseView } from './health-check.js';
import type { RequestMetrics } from './request-metrics.js';
import { serverPagesStage } from './server-pages.js';
import type { PoolReport } from '../ipc/messages.js';
import { SERVER_STATUS_PATH } from '../config/monitoring-rules.js';
import { requestLimitsStage } from './request-limits.js';
import type { StaticStages } from './static-setup.js';

/** What the stages are built from, besides the Config. */
export interface StageDeps {
  readonly log: Log;
  readonly admission: Admission;
  /** Built by the worker from the loaded --auth-* scripts and the master's state (worker/access-control.ts). */
  readonly access?: { readonly hostAccess?: Stage; readonly authenticate?: Stage };
  /** The worker's side of the status page, metrics and health check (worker/monitoring.ts). */
  readonly monitor?: {
    readonly metrics?: RequestMetrics | undefined;
    readonly phase: PhaseView;
    readonly pool: () => Promise<PoolReport>;
  };
  /** The stages of the static options, loaded only when they are given (static-setup.ts). */
  readonly staticStages?: StaticStages | undefined;
}

/** The paths the server-pages stage answers on the main port. */
function serverPaths(c: Config): string[] {
  return [...(c.serverStatus ? [SERVER_STATUS_PATH] : []), ...(c.metricsPath ? [c.metricsPath] : [])];
}

export interface StageEntry {
  readonly name: string;
  readonly build: (config: Config, deps: StageDeps) => Stage | undefined;
}

export const PIPELINE = [
  // First, so that every answer below (a 400, a 401, a 503) is counted.
  { name: 'request-metrics', build: (_c, d) => d.monitor?.metrics?.stage },
  // First, so that every answer below (a 400, a 404, a 503) is logged too.
  { name: 'access-log', build: (c, d) => (c.accessLog ? accessLogStage(c.accessLogFormat, c.serverHost, d.log, c.logFormat) : undefined) },
  // Before any answer, so the server's own HTTPS answers carry it too.
  { name: 'hsts', build: (c) => (c.hstsPolicy !== undefined && c.httpsPort !== undefined ? hstsStage(c.hstsPolicy) : undefined) },
  // --enable-recorder: before any stage answers or changes the request, so every answer is recorded.
  { name: 'recorder', build: (c, d) => (c.enableRecorder ? recorderStage(debugDirectory(c, 'recorder'), d.log) : undefined) },
  { name: 'request-limits', build: (c, d) => requestLimitsStage(c, d.log) },
  { name: 'host-check', build: () => hostCheck },
  { name: 'header-filter', build: () => headerFilter },
  // Before host names and access control: a probe sends neither a known Host nor credentials.
  { name: 'health-check', build: (c, d) => (c.healthCheckPath && d.monitor ? healthCheckStage(c.healthCheckPath, d.monitor.phase) : undefined) },
  // After header-filter, so `X_Forwarded_For` is gone before the trusted X-Forwarded-For is read.
  { name: 'proxy-headers', build: (c, d) => (c.trustProxyHeader.length ? proxyHeadersStage(c.trustProxyHeader, c.trustProxy, d.log) : undefined) },
  // Only for an --error-log-format with %a: the client of each request in flight (after
  // proxy-headers: behind a trusted proxy, the client it names), for its error-log lines.
  { name: 'log-client', build: (c) => (batcherOptions(c).withClient ? logClientStage : undefined) },
  // After proxy-headers: behind a proxy, the host and client it names are the ones checked.
  { name: 'host-names', build: (c, d) => (c.serverName ? hostNamesStage({ serverName: c.serverName, aliases: c.serverAlias, allowLocalhost: c.allowLocalhost, httpsOnlyPort: c.httpsOnly ? c.httpsPort : undefined }, d.log) : undefined) },
  // After host-names (a host this server does not serve gets 403, not a redirect) and
  // proxy-headers (a proxy that terminated TLS says https: nothing to redirect).
  {
    name: 'https-only',
    build: (c) => (c.httpsOnly && c.httpsPort !== undefined
      ? httpsOnlyStage({ httpsPort: c.httpsPort, serverName: c.serverName, allowLocalhost: c.allowLocalhost })
      : undefined),
  },
  // Paths the server answers itself, and those a proxy mount takes, pass on from here even outside the app's mount point.
  // With --mount-app, the most specific mount picks the application (ctx.appIndex).
  // With --mount-app-match, a pattern whose script exists counts as a mount at the prefix it matched.
  { name: 'mount', build: (c, d) => mountStage(c.mountPoint, serverPaths(c), proxiedElsewhere(c), d.staticStages?.static !== undefined, c.apps.map((a) => a.mount), patternRouter(c.mountAppMatch)) },
  // Needs the decoded, normalised path the mount stage makes.
  { name: 'client-certificate', build: (c) => (c.sslVerifyClient.length > 0 ? clientCertificateStage(c.sslVerifyClient) : undefined) },
  // Access control before anything that answers with content (static files, the app, status pages),
  // after mount, so that --auth-location matches the normalised path: host access, then authentication.
  { name: 'host-access', build: (_c, d) => d.access?.hostAccess },
  { name: 'authenticate', build: (_c, d) => d.access?.authenticate },
  // Wraps the response before anything writes it: static files and every interface's bodies.
  { name: 'compress', build: (_c, d) => d.staticStages?.compress },
  // After access control (site authentication covers them, as in mod_wsgi-express), before admission.
  {
    name: 'server-pages',
    build: (c, d) =>
      serverPaths(c).length && d.monitor
        ? serverPagesStage({ statusPath: c.serverStatus ? SERVER_STATUS_PATH : undefined, metricsPath: c.metricsPath, allow: c.serverStatusAllow, serverName: c.serverHost, threads: c.threads, pool: d.monitor.pool, log: d.log })
        : undefined,
  },
  // Proxy mounts: after every check a request must pass (access control included), before the app.
  { name: 'proxy', build: (c, d) => proxyStage(c, d.log) },
  // After access control (a file is checked as an app request is) and the proxy mounts (which
  // win over the document root, as in mod_wsgi-express), before admission: a static answer
  // takes none of the application's --threads.
  { name: 'static', build: (_c, d) => d.staticStages?.static },
  { name: 'error-override', build: (_c, d) => d.staticStages?.errorOverride },
  // After the static stage: a HEAD for a file is answered as a HEAD; only the app gets the GET.
  { name: 'head-to-get', build: (c) => (mapsHeadToGet(c) ? headToGet : undefined) },
  // Process groups: an app another group serves is passed to it here, every front stage done,
  // before admission (the group's own --threads queue it); groups/hop-stage.ts.
  { name: 'group-hop', build: (c, d) => groupHopStage(c, d.log) },
  { name: 'admission', build: (_c, d) => d.admission.stage },
  // Last: `100 Continue` only once the application is about to read the body.
  { name: 'expect-continue', build: () => expectContinue },
] as const satisfies readonly StageEntry[];

/**
 * The pipeline of a process group's own workers (Config.servesGroup), behind the
 * hop: the front ran every stage above up to group-hop; these take its decisions
 * and queue the request for the group's --threads.
 */
export const GROUP_PIPELINE = [
  { name: 'hop-receive', build: () => hopReceiveStage },
  { name: 'admission', build: (_c, d) => d.admission.stage },
  { name: 'expect-continue', build: () => expectContinue },
] as const satisfies readonly StageEntry[];

export type StageName = (typeof PIPELINE)[number]['name'] | (typeof GROUP_PIPELINE)[number]['name'];
