/**
 * Decides how the loaded module is called (--interface) and builds the AppHandler:
 * TSGI, fetch (Hono, `export default { fetch }`) or node (Express, Connect, Koa,
 * Fastify, Nest, plain (req, res) handlers, a server the app listened on). Nothing
 * is called here except what turns an app object into its handler: a Koa app's
 * callback(), Fastify's ready(), Nest's init(), and a promise the module exports.
 */
import type { EventEmitter } from 'node:events';
import type { Application } from '../index.js';
import type { Config } from '../config/schema.js';
import type { AppHandler } from '../pipeline/context.js';
import { TsgiError } from '../errors.js';
import { createTsgiHandler, type TsgiHandlerOptions } from '../tsgi/handler.js';
import type { FetchFunction } from '../adapters/fetch.js';
import { createNodeHandler, type NodeHandler } from '../adapters/node.js';
import {
  describeExports, hasFetch, isConnectApp, isFastifyApp, isKoaApp, isNestApp, isServerObject, isThenable,
} from '../adapters/shapes.js';
import { nodeUpgrade, type NodeUpgradeFunction, type UpgradeHandler } from '../adapters/upgrade.js';
import type { ListenCapture } from './listen-capture.js';

export type InterfaceKind = 'tsgi' | 'fetch' | 'node';

export interface SelectedApp {
  readonly kind: InterfaceKind;
  /** What the banner shows: the kind, or `node (captured listen)`. */
  readonly label: string;
  readonly handler: AppHandler;
  /** How upgrade requests (WebSockets) reach the app; undefined: they are ordinary requests. */
  readonly upgrade?: UpgradeHandler;
}

/** What a module's export stands for once app objects are unwrapped. */
interface Candidate {
  readonly value: unknown;
  /** The http.Server whose 'upgrade' listeners the app uses (Fastify's, Nest's, an exported one). */
  readonly server?: EventEmitter;
}

type Made = { handler: AppHandler; upgrade?: UpgradeHandler };
type Found = { kind: InterfaceKind; label?: string; make: (opts: TsgiHandlerOptions) => Made | Promise<Made> };

/**
 * The fetch adapter is imported only for fetch apps: it subclasses the global
 * Request, and touching that loads Node's bundled undici (~12 MB RSS per worker).
 */
async function createFetchApp(fetch: FetchFunction, owner: unknown, opts: TsgiHandlerOptions): Promise<Made> {
  const adapter = await import('../adapters/fetch.js');
  const websocket = (owner as { websocket?: unknown } | undefined)?.websocket;
  if (typeof websocket !== 'object' || websocket === null) return { handler: adapter.createFetchHandler(fetch, opts) };
  const { websocketExtension } = await import('../adapters/fetch-websocket.js');
  const handler = adapter.createFetchHandler(fetch, opts, websocketExtension(websocket, opts));
  // One handler for both: upgrade requests call fetch too, and environ.upgrade() takes them over.
  return { handler, upgrade: handler };
}

const tsgi = (app: unknown): Found => ({
  kind: 'tsgi',
  make: (opts) => ({ handler: createTsgiHandler(app as Application, opts) }),
});
const fetchMethod = (owner: { fetch: (...args: never[]) => unknown }): Found => ({
  kind: 'fetch',
  // Called as a method: `export default { fetch() { this... } }` keeps its `this`.
  make: (opts) => {
    const fetch = owner.fetch as FetchFunction;
    return createFetchApp((request, environ) => fetch.call(owner, request, environ), owner, opts);
  },
});
const fetchFunction = (fn: unknown): Found => ({
  kind: 'fetch',
  make: (opts) => createFetchApp(fn as FetchFunction, undefined, opts),
});

interface NodeExtras {
  readonly server?: EventEmitter;
  readonly upgradeFn?: NodeUpgradeFunction;
  readonly capture?: ListenCapture;
  readonly keepPrefix: boolean;
}

const node = (fn: unknown, extras: NodeExtras, label?: string): Found => ({
  kind: 'node',
  label,
  make: (opts) => {
    const handler = createNodeHandler(fn as NodeHandler, opts, extras.keepPrefix);
    const upgrade = nodeUpgrade(extras, opts, handler);
    return { handler, upgrade };
  },
});

/** A server's 'request' listeners, called as Node calls them. */
function serverHandler(server: EventEmitter): NodeHandler {
  return (req, res) => {
    if (server.listenerCount('request') === 0) {
      throw new Error("the application's server has no 'request' listener (an http2 server serving only 'stream' events?)");
    }
    server.emit('request', req, res);
  };
}

/**
 * Turns an app object into what serves it: a promise is awaited, a Fastify app
 * made ready (its router serves), a Nest app initialised (its adapter's instance:
 * Express or Fastify), a server object served through its 'request' listeners.
 */
async function unwrap(value: unknown, server?: EventEmitter): Promise<Candidate> {
  if (isFastifyApp(value)) {
    await value.ready();
    return { value: value.routing, server: value.server as EventEmitter };
  }
  if (isNestApp(value)) {
    await value.init();
    return unwrap(value.getHttpAdapter().getInstance(), value.getHttpServer() as EventEmitter);
  }
  if (isThenable(value)) return unwrap(await value, server);
  if (isServerObject(value)) return { value: serverHandler(value), server: value };
  return { value, server };
}

/** The --callable-object export; for CommonJS also a property of module.exports. */
function callableExport(namespace: Record<string, unknown>, name: string): unknown {
  if (name in namespace) return namespace[name];
  const main = namespace.default;
  if (name !== 'default' && (typeof main === 'object' || typeof main === 'function') && main !== null) {
    return (main as Record<string, unknown>)[name];
  }
  return undefined;
}

/**
 * A function named by --callable-object is TSGI unless it is plainly a Node
 * handler: an Express/Connect app, one named `handler` (SvelteKit's and Astro's
 * builds export theirs under that name), or one taking (req, res, next).
 */
function isNodeStyle(fn: unknown, name: string): boolean {
  return isConnectApp(fn) || name === 'handler' || (typeof fn === 'function' && fn.length === 3);
}

interface Exports {
  readonly callable: Candidate;
  readonly main: Candidate;
  /** A named `handler` export (SvelteKit, Astro). */
  readonly handler: unknown;
  readonly upgradeFn: NodeUpgradeFunction | undefined;
}

function pickAuto(x: Exports, config: Config, extras: (server?: EventEmitter) => NodeExtras): Found | undefined {
  const { callable, main } = x;
  if (typeof callable.value === 'function' && !isNodeStyle(callable.value, config.callableObject)) return tsgi(callable.value);
  if (hasFetch(main.value)) return fetchMethod(main.value);
  if (typeof main.value === 'function') return node(main.value, extras(main.server));
  if (isKoaApp(main.value)) return node(main.value.callback(), extras(main.server));
  if (hasFetch(callable.value)) return fetchMethod(callable.value);
  if (typeof callable.value === 'function') return node(callable.value, extras(callable.server));
  if (isKoaApp(callable.value)) return node(callable.value.callback(), extras(callable.server));
  if (typeof x.handler === 'function') return node(x.handler, extras());
  return undefined;
}

function pickFetch(x: Exports): Found | undefined {
  const { callable, main } = x;
  if (hasFetch(main.value)) return fetchMethod(main.value);
  if (hasFetch(callable.value)) return fetchMethod(callable.value);
  if (typeof main.value === 'function') return fetchFunction(main.value);
  if (typeof callable.value === 'function') return fetchFunction(callable.value);
  return undefined;
}

function pickTsgi(x: Exports): Found | undefined {
  return typeof x.callable.value === 'function' ? tsgi(x.callable.value) : undefined;
}

function pickNode(x: Exports, _config: Config, extras: (server?: EventEmitter) => NodeExtras): Found | undefined {
  const { callable, main } = x;
  if (typeof main.value === 'function') return node(main.value, extras(main.server));
  if (isKoaApp(main.value)) return node(main.value.callback(), extras(main.server));
  if (typeof callable.value === 'function') return node(callable.value, extras(callable.server));
  if (isKoaApp(callable.value)) return node(callable.value.callback(), extras(callable.server));
  if (typeof x.handler === 'function') return node(x.handler, extras());
  return undefined;
}

function accepted(config: Config): string {
  const name = `"${config.callableObject}"`;
  const shapes = {
    tsgi: `a TSGI function exported as ${name} (--callable-object)`,
    fetch: `a default export (or ${name}) with a fetch(request) method, as Hono apps and \`export default { fetch }\` have`,
    node:
      `a default export (or ${name}, or \`handler\`) that is a (req, res) function (Express, Connect, node:http handlers), ` +
      'a Koa, Fastify or Nest app, a server, or a promise of one; or a listen() call while the app loads',
  };
  // Only --interface fetch takes a bare function as a fetch function; auto serves it as a (req, res) handler.
  if (config.interface === 'fetch') return `${shapes.fetch}, or a fetch function`;
  if (config.interface !== 'auto') return shapes[config.interface];
  return `${shapes.tsgi}; ${shapes.fetch}; ${shapes.node}`;
}

/**
 * The default export. A TypeScript or ESM-syntax file that runs as CommonJS (no
 * "type": "module" in its package.json) is compiled by tsx/esbuild to
 * module.exports = { __esModule: true, default }, which Node hands to import()
 * as the namespace's default; unwrap it as bundlers do.
 */
function defaultExport(namespace: Record<string, unknown>): unknown {
  const main = namespace.default;
  if (typeof main !== 'object' || main === null) return main;
  const compiled = main as { __esModule?: unknown; default?: unknown };
  return compiled.__esModule === true && compiled.default !== undefined ? compiled.default : main;
}

function namedExport(namespace: Record<string, unknown>, name: string): unknown {
  return callableExport(namespace, name);
}

export interface SelectOptions extends TsgiHandlerOptions {
  /** The listen() capture installed before the app loaded. */
  readonly capture: ListenCapture;
  /** How long to wait for a listen() when the module exports nothing servable (ms, 0: for ever). */
  readonly listenWaitMs: number;
}

function capturedApp(server: EventEmitter, extras: NodeExtras): Found {
  return node(serverHandler(server), { ...extras, server }, 'node (captured listen)');
}

export async function selectInterface(
  namespace: Record<string, unknown>,
  config: Config,
  opts: SelectOptions,
): Promise<SelectedApp> {
  const { capture } = opts;
  const keepPrefix = config.keepMountPrefix;
  const upgradeFn = namedExport(namespace, 'upgrade');
  const exported = {
    callable: await unwrap(callableExport(namespace, config.callableObject)),
    main: await unwrap(defaultExport(namespace)),
    handler: namedExport(namespace, 'handler'),
    upgradeFn: typeof upgradeFn === 'function' ? (upgradeFn as NodeUpgradeFunction) : undefined,
  };
  const extras = (server?: EventEmitter): NodeExtras => ({ server, upgradeFn: exported.upgradeFn, capture, keepPrefix });
  const pick = { auto: pickAuto, tsgi: pickTsgi, fetch: pickFetch, node: pickNode }[config.interface];
  let found = pick(exported, config, extras);
  if (found === undefined && (config.interface === 'auto' || config.interface === 'node')) {
    // Nothing exported to serve: the app may listen() instead, now or once its bootstrap has run.
    const server = capture.captured ?? (await capture.waitForServer(opts.listenWaitMs));
    if (server) found = capturedApp(server, extras());
    else {
      throw new TsgiError(
        'TSGI_APP_SHAPE',
        `${config.scriptPath} exports no application for --interface ${config.interface}, and it did not call ` +
          `listen() within ${opts.listenWaitMs / 1000} s of loading (--startup-timeout). ` +
          `It exports: ${describeExports(namespace)}. Accepted: ${accepted(config)}.`,
      );
    }
  }
  if (found === undefined) {
    throw new TsgiError(
      'TSGI_APP_SHAPE',
      `${config.scriptPath} exports no application for --interface ${config.interface}. ` +
        `It exports: ${describeExports(namespace)}. Accepted: ${accepted(config)}.`,
    );
  }
  const made = await found.make(opts);
  return { kind: found.kind, label: found.label ?? found.kind, handler: made.handler, upgrade: made.upgrade };
}
