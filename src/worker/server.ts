/**
 * The worker's HTTP server: one RequestContext per request, passed through the
 * pipeline (pipeline/stages.ts) to the application handler.
 */
import http from 'node:http';
import type { Config } from '../config/schema.js';
import type { Log } from '../logging/log.js';
import { Admission } from '../pipeline/admission.js';
import type { InFlight } from '../pipeline/in-flight.js';
import { buildStages, composePipeline } from '../pipeline/build.js';
import { attachContext, type AppHandler, type RequestContext, type UpgradeConnection } from '../pipeline/context.js';
import { acceptProxyProtocol } from '../net/proxy-protocol.js';
import { TrustedProxies } from '../net/trusted-proxies.js';
import type { StageDeps } from '../pipeline/stages.js';
import { answerAsRequest } from '../adapters/upgrade.js';
import { ConnectionSettings } from './connection-settings.js';
import type { StaticStages } from '../pipeline/static-setup.js';
import { closeConnectionsWhenDraining, type DrainState } from './drain.js';
import { ListenCapture } from './listen-capture.js';
import { OpenUpgrades } from './open-upgrades.js';
import { runInRequest } from './request-scope.js';
import { listenForUpgrades, upgradeStages } from './upgrade.js';

class Context implements RequestContext {
  scriptName = '';
  pathInfo = '';
  queryString = '';
  outsideMount = false;
  remoteUser: string | undefined = undefined;
  authType: 'Basic' | 'Digest' | undefined = undefined;
  readonly startUs: number;
  constructor(
    readonly req: http.IncomingMessage,
    readonly res: http.ServerResponse,
    readonly id: string,
    readonly startMono: number,
    readonly upgrade?: UpgradeConnection,
  ) {
    this.startUs = Math.round((performance.timeOrigin + startMono) * 1000);
    attachContext(this);
  }
}

export interface WorkerServer {
  readonly server: http.Server;
  readonly admission: Admission;
  readonly state: DrainState;
  readonly settings: ConnectionSettings;
  /** Connections upgrade requests turned into: a draining worker closes them last. */
  readonly upgrades: OpenUpgrades;
}

/** The application's handlers: `upgrade` for upgrade requests (WebSockets), when it has a place for them. */
export interface WorkerApp {
  readonly handler: AppHandler;
  readonly upgrade?: AppHandler;
}

export function createWorkerServer(
  config: Config,
  worker: WorkerApp,
  log: Log,
  access?: StageDeps['access'],
  inFlight?: InFlight,
  monitor?: StageDeps['monitor'],
  staticStages: StaticStages = {},
): WorkerServer {
  const app = worker.handler;
  // Debug mode has no queue timeout: a request paused in a debugger is not cut off.
  const queueTimeoutMs = config.debugMode ? 0 : config.queueTimeout * 1000;
  const admission = new Admission(config.threads, queueTimeoutMs, inFlight);
  const stages = buildStages(config, { log, admission, access, monitor, staticStages });
  const pipeline = composePipeline(stages, app);
  const state: DrainState = { draining: false };
  closeConnectionsWhenDraining(state);
  const ridPrefix = process.pid.toString(36) + '-';
  let counter = 0;
  const tagOutput = !config.debugMode;
  const settings = new ConnectionSettings(config, log);
  const server = http.createServer(settings.serverOptions(), (req, res) => {
    if (!settings.accepts(req, res)) return;
    const ctx = new Context(req, res, ridPrefix + (++counter).toString(36), performance.now());
    if (tagOutput) runInRequest(ctx.id, pipeline, ctx);
    else pipeline(ctx);
  });
  settings.apply(server, () => {
    // The PROXY preamble comes before HTTP, inside --max-connections and within --header-timeout.
    if (config.proxyProtocol) {
      acceptProxyProtocol(server, { trusted: new TrustedProxies(config.trustProxy), log, timeoutMs: config.headerTimeout * 1000 || undefined });
    }
  });
  ListenCapture.markOwn(server);
  const upgrades = new OpenUpgrades();
  // Without an upgrade handler or a proxy mount, Node serves an upgrade request as an ordinary one.
  if (worker.upgrade || config.proxyMountPoint.length > 0 || config.proxyVirtualHost.length > 0) {
    const upgradeApp = worker.upgrade ?? ((ctx: RequestContext) => answerAsRequest(ctx, app));
    const upgradePipeline = composePipeline(upgradeStages(stages), upgradeApp);
    const makeContext = (req: http.IncomingMessage, res: http.ServerResponse, upgrade: UpgradeConnection) =>
      new Context(req, res, ridPrefix + (++counter).toString(36), performance.now(), upgrade);
    listenForUpgrades(server, makeContext, upgradePipeline, upgrades);
  }
  return { server, admission, state, upgrades, settings };
}
