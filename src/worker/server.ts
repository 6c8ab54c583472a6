/**
 * The worker's servers, built from the listeners the Config asks for
 * (config/listeners.ts), as fastify's lib/server.js builds its server from its
 * options; here one worker serves several listeners through shared protocol
 * engines:
 *
 * - the HTTP/1.1 engine, one node:http Server for every listener. It listens on
 *   the plain port itself, and the HTTPS listener (tls-listener.ts) hands it each
 *   connection whose ALPN chose http/1.1. So its options (timeouts, limits), its
 *   parse-error answers (client-error.ts) and drain apply to both ports alike.
 * - with --http2, the HTTP/2 engine (http2-engine.ts): the HTTPS listener hands
 *   it the connections whose ALPN chose h2, the plain listener those that open
 *   with the HTTP/2 preface (h2c-preface.ts). Its streams become node:http
 *   requests and responses (http2-bridge.ts), so from here on one code path
 *   serves both protocols.
 *
 * Each request gets one RequestContext naming the listener it arrived on (its
 * scheme and port: decided per request, from the connection), and goes through
 * the pipeline (pipeline/stages.ts) to the application handler.
 */
import http from 'node:http';
import type net from 'node:net';
import type { Socket } from 'node:net';
import type tls from 'node:tls';
import { listenerSpecs, type ListenerSpec } from '../config/listeners.js';
import type { Config } from '../config/schema.js';
import type { TlsMaterial } from '../ipc/messages.js';
import type { Log } from '../logging/log.js';
import { Admission } from '../pipeline/admission.js';
import type { InFlight } from '../pipeline/in-flight.js';
import { acceptProxyProtocol } from '../net/proxy-protocol.js';
import { TrustedProxies } from '../net/trusted-proxies.js';
import { buildStages, composePipeline } from '../pipeline/build.js';
import { attachContext, type AppHandler, type ListenerInfo, type RequestContext, type UpgradeConnection } from '../pipeline/context.js';
import { GROUP_PIPELINE, PIPELINE, type StageDeps } from '../pipeline/stages.js';
import { hopListener, hopRequestId } from '../groups/hop-receive.js';
import { answerAsRequest } from '../adapters/upgrade.js';
import { ConnectionSettings } from './connection-settings.js';
import type { StaticStages } from '../pipeline/static-setup.js';
import { closeConnectionsWhenDraining, type DrainState } from './drain.js';
import { ListenCapture } from './listen-capture.js';
import { OpenUpgrades } from './open-upgrades.js';
import { runInRequest } from './request-scope.js';
import { listenForUpgrades, upgradeStages } from './upgrade.js';
import type { Http2Engine } from './http2-engine.js';
import type { TlsListener } from './tls-listener.js';

class Context implements RequestContext {
  scriptName = '';
  pathInfo = '';
  appIndex = 0;
  queryString = '';
  outsideMount = false;
  remoteUser: string | undefined = undefined;
  authType: 'Basic' | 'Digest' | undefined = undefined;
  readonly startUs: number;
  constructor(
    readonly req: http.IncomingMessage,
    readonly res: http.ServerResponse,
    readonly listener: ListenerInfo,
    readonly id: string,
    readonly startMono: number,
    readonly upgrade?: UpgradeConnection,
  ) {
    this.startUs = Math.round((performance.timeOrigin + startMono) * 1000);
    attachContext(this);
  }
}

/** One port the worker serves, and the server that accepts on it. */
export interface Listener {
  readonly spec: ListenerSpec;
  /** listen(), close() (stop accepting) and 'close' once its last connection is gone. */
  readonly server: http.Server | tls.Server;
}

export interface WorkerServer {
  readonly listeners: readonly Listener[];
  /** The HTTP/1.1 engine, whichever listener a connection came in on. */
  readonly http1: http.Server;
  /** The HTTP/2 engine (--http2). */
  readonly http2: Http2Engine | undefined;
  /** Plain connections still waiting for their first bytes (--http2: h2c or HTTP/1.1?). */
  readonly deciding: ReadonlySet<Socket>;
  /** The HTTPS listener, for certificate renewal. */
  readonly tls: TlsListener | undefined;
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
  /** The applications of Config.apps (--mount-app), in order: ctx.appIndex i is apps[i - 1]. */
  readonly apps?: readonly WorkerApp[];
}

/** One handler for all the applications: the one the mount stage chose (with one app, that app's own). */
function dispatch(handlers: readonly AppHandler[]): AppHandler {
  if (handlers.length === 1) return handlers[0]!;
  return (ctx) => handlers[ctx.appIndex ?? 0]!(ctx);
}

/**
 * The HTTP/1.1 engine: Node's parser, with the connection settings
 * (connection-settings.ts: timeouts, limits, the answers to what the parser
 * refuses). `accept` is what a connection goes through before HTTP: Node's own
 * handling and the slow-client watch, taken before `front` (the h2c preface, the
 * PROXY protocol) and --max-connections are put in front of the plain listener:
 * the HTTPS listener hands over connections that have been through its own front.
 */
function createHttp1Engine(
  settings: ConnectionSettings,
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  front: (server: http.Server) => void,
): { server: http.Server; accept: (socket: Socket) => void } {
  const server = http.createServer(settings.serverOptions(), handle);
  let accept!: (socket: Socket) => void;
  settings.apply(server, () => {
    const listeners = server.listeners('connection') as ((socket: Socket) => void)[];
    accept = (socket) => {
      for (const listener of listeners) listener.call(server, socket);
    };
    front(server);
  });
  return { server, accept };
}

/** The listener a connection came in on: HTTPS when it is encrypted. */
function listenerInfos(specs: readonly ListenerSpec[]): (req: http.IncomingMessage) => ListenerInfo {
  const info = (scheme: 'http' | 'https'): ListenerInfo => {
    const spec = specs.find((s) => s.scheme === scheme);
    return { scheme, port: spec?.port ?? 0 };
  };
  const plain = info('http');
  const secure = info('https');
  return (req) => ((req.socket as Partial<tls.TLSSocket>).encrypted ? secure : plain);
}

/**
 * The HTTPS listener, imported only when there is one: node:tls stays out of a
 * plain server's workers. Its certificate and ticket keys come from the master.
 */
async function createHttpsListener(config: Config, log: Log, engines: Engines, material: () => Promise<TlsMaterial>): Promise<TlsListener> {
  const { createTlsListener } = await import('./tls-listener.js');
  const protocols = engines.http2 ? ['h2', 'http/1.1'] : ['http/1.1'];
  return createTlsListener(config, await material(), log, protocols, (socket) => {
    if (socket.alpnProtocol === 'h2' && engines.http2) engines.http2.accept(socket);
    else engines.acceptHttp1(socket);
  });
}

interface Engines {
  readonly http1: http.Server;
  /** Node's own HTTP/1.1 handling of a connection, past whatever the plain listener puts in front of it. */
  readonly acceptHttp1: (socket: Socket) => void;
  readonly http2: Http2Engine | undefined;
  readonly deciding: ReadonlySet<Socket>;
}

/**
 * The protocol engines: HTTP/1.1 always; HTTP/2 (and h2c on the plain port) with
 * --http2. In front of the plain listener, outermost first: --max-connections,
 * `proxyFront` (the PROXY preamble), then the h2c preface.
 */
async function createEngines(
  config: Config,
  log: Log,
  settings: ConnectionSettings,
  proxyFront: (server: net.Server) => void,
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<Engines> {
  const h2 = config.http2 ? { ...(await import('./http2-engine.js')), ...(await import('./h2c-preface.js')) } : undefined;
  let http2: Http2Engine | undefined;
  let deciding: ReadonlySet<Socket> = new Set();
  const { server: http1, accept: acceptHttp1 } = createHttp1Engine(settings, handle, (server) => {
    if (h2) {
      // An idle HTTP/2 session lasts as long as an idle HTTP/1.1 keep-alive connection.
      const engine = new h2.Http2Engine(handle, log, { idleTimeoutMs: () => server.keepAliveTimeout, timeouts: settings.http2Timeouts() });
      http2 = engine;
      deciding = h2.routeByPreface(server, (socket) => engine.accept(socket));
    }
    proxyFront(server);
  });
  return { http1, acceptHttp1, http2, deciding };
}

/** `tlsMaterial`: asks the master for the HTTPS certificate and ticket keys (only with --https-port). */
export async function createWorkerServer(
  config: Config,
  worker: WorkerApp,
  log: Log,
  access: StageDeps['access'],
  inFlight: InFlight | undefined,
  tlsMaterial: () => Promise<TlsMaterial>,
  monitor?: StageDeps['monitor'],
  staticStages: StaticStages = {},
): Promise<WorkerServer> {
  const all = [worker, ...(worker.apps ?? [])];
  const app = dispatch(all.map((a) => a.handler));
  // Debug mode has no queue timeout: a request paused in a debugger is not cut off.
  const queueTimeoutMs = config.debugMode ? 0 : config.queueTimeout * 1000;
  const admission = new Admission(config.threads, queueTimeoutMs, inFlight);
  // A process group's workers run the group pipeline: the front ran the rest (groups/hop-receive.ts).
  const behindHop = config.servesGroup !== undefined;
  const stages = buildStages(config, { log, admission, access, monitor, staticStages }, behindHop ? GROUP_PIPELINE : PIPELINE);
  const pipeline = composePipeline(stages, app);
  const state: DrainState = { draining: false };
  closeConnectionsWhenDraining(state);
  const specs = listenerSpecs(config);
  const listenerOf = behindHop ? hopListener : listenerInfos(specs);
  const idOf = (req: http.IncomingMessage) => (behindHop && hopRequestId(req)) || ridPrefix + (++counter).toString(36);
  const ridPrefix = process.pid.toString(36) + '-';
  let counter = 0;
  const tagOutput = !config.debugMode;
  const settings = new ConnectionSettings(config, log);
  const trusted = config.proxyProtocol ? new TrustedProxies(config.trustProxy) : undefined;
  // The PROXY preamble comes before HTTP (or TLS), inside --max-connections and within --header-timeout.
  const proxyFront = (server: net.Server) => {
    if (trusted) acceptProxyProtocol(server, { trusted, log, timeoutMs: config.headerTimeout * 1000 || undefined });
  };
  const engines = await createEngines(config, log, settings, proxyFront, (req, res) => {
    if (!settings.accepts(req, res)) return;
    const ctx = new Context(req, res, listenerOf(req), idOf(req), performance.now());
    if (tagOutput) runInRequest(ctx.id, pipeline, ctx);
    else pipeline(ctx);
  });
  ListenCapture.markOwn(engines.http1);
  const upgrades = new OpenUpgrades();
  // Without an upgrade handler or a proxy mount, Node serves an upgrade request as an ordinary one.
  // On the HTTP/1.1 engine, so upgrades work on every listener: the HTTPS one hands it its http/1.1 connections.
  // The front of process groups tunnels upgrades to the group whose app takes them (groups/hop-forward.ts).
  const groupsBehind = config.groupSockets !== undefined && !behindHop;
  if (all.some((a) => a.upgrade) || groupsBehind || config.proxyMountPoint.length > 0 || config.proxyVirtualHost.length > 0) {
    const upgradeApp = dispatch(all.map((a) => a.upgrade ?? ((ctx: RequestContext) => answerAsRequest(ctx, a.handler))));
    const upgradePipeline = composePipeline(upgradeStages(stages), upgradeApp);
    const makeContext = (req: http.IncomingMessage, res: http.ServerResponse, upgrade: UpgradeConnection) =>
      new Context(req, res, listenerOf(req), idOf(req), performance.now(), upgrade);
    listenForUpgrades(engines.http1, makeContext, upgradePipeline, upgrades);
  }
  let secure: TlsListener | undefined;
  const listeners: Listener[] = [];
  for (const spec of specs) {
    if (spec.scheme === 'https') {
      secure = await createHttpsListener(config, log, engines, tlsMaterial);
      proxyFront(secure.server);
    }
    listeners.push({ spec, server: spec.scheme === 'https' ? secure!.server : engines.http1 });
  }
  return { listeners, http1: engines.http1, http2: engines.http2, deciding: engines.deciding, tls: secure, admission, state, upgrades, settings };
}
