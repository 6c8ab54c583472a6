/**
 * Decides how the loaded module is called (--interface) and builds the AppHandler:
 * TSGI, fetch (Hono, `export default { fetch }`) or node (Express, Connect, Koa,
 * plain (req, res) handlers). Nothing is called here except a Koa app's callback().
 */
import type { Application } from '../index.js';
import type { Config } from '../config/schema.js';
import type { AppHandler } from '../pipeline/context.js';
import { TsgiError } from '../errors.js';
import { createTsgiHandler, type TsgiHandlerOptions } from '../tsgi/handler.js';
import type { FetchFunction } from '../adapters/fetch.js';
import { createNodeHandler, type NodeHandler } from '../adapters/node.js';
import { describeExports, hasFetch, isConnectApp, isKoaApp } from '../adapters/shapes.js';

export type InterfaceKind = 'tsgi' | 'fetch' | 'node';

export interface SelectedApp {
  readonly kind: InterfaceKind;
  readonly handler: AppHandler;
}

type Found = { kind: InterfaceKind; make: (opts: TsgiHandlerOptions) => AppHandler | Promise<AppHandler> };

/**
 * The fetch adapter is imported only for fetch apps: it subclasses the global
 * Request, and touching that loads Node's bundled undici (~12 MB RSS per worker).
 */
async function createFetchHandler(fetch: FetchFunction, opts: TsgiHandlerOptions): Promise<AppHandler> {
  return (await import('../adapters/fetch.js')).createFetchHandler(fetch, opts);
}

const tsgi = (app: unknown): Found => ({
  kind: 'tsgi',
  make: (opts) => createTsgiHandler(app as Application, opts),
});
const fetchMethod = (owner: { fetch: (...args: never[]) => unknown }): Found => ({
  kind: 'fetch',
  // Called as a method: `export default { fetch() { this... } }` keeps its `this`.
  make: (opts) => {
    const fetch = owner.fetch as FetchFunction;
    return createFetchHandler((request, environ) => fetch.call(owner, request, environ), opts);
  },
});
const fetchFunction = (fn: unknown): Found => ({
  kind: 'fetch',
  make: (opts) => createFetchHandler(fn as FetchFunction, opts),
});
const node = (fn: unknown): Found => ({
  kind: 'node',
  make: (opts) => createNodeHandler(fn as NodeHandler, opts),
});
const koa = (app: { callback(): unknown }): Found => node(app.callback());

/** The --callable-object export; for CommonJS also a property of module.exports. */
function callableExport(namespace: Record<string, unknown>, name: string): unknown {
  if (name in namespace) return namespace[name];
  const main = namespace.default;
  if (name !== 'default' && (typeof main === 'object' || typeof main === 'function') && main !== null) {
    return (main as Record<string, unknown>)[name];
  }
  return undefined;
}

function pickAuto(callable: unknown, main: unknown): Found | undefined {
  // An Express app exported under the callable name is still Express, not TSGI.
  if (typeof callable === 'function' && !isConnectApp(callable)) return tsgi(callable);
  if (hasFetch(main)) return fetchMethod(main);
  if (typeof main === 'function') return node(main);
  if (isKoaApp(main)) return koa(main);
  if (hasFetch(callable)) return fetchMethod(callable);
  if (typeof callable === 'function') return node(callable);
  if (isKoaApp(callable)) return koa(callable);
  return undefined;
}

function pickFetch(callable: unknown, main: unknown): Found | undefined {
  if (hasFetch(main)) return fetchMethod(main);
  if (hasFetch(callable)) return fetchMethod(callable);
  if (typeof main === 'function') return fetchFunction(main);
  if (typeof callable === 'function') return fetchFunction(callable);
  return undefined;
}

function pickTsgi(callable: unknown): Found | undefined {
  return typeof callable === 'function' ? tsgi(callable) : undefined;
}

function pickNode(callable: unknown, main: unknown): Found | undefined {
  if (typeof main === 'function') return node(main);
  if (isKoaApp(main)) return koa(main);
  if (typeof callable === 'function') return node(callable);
  if (isKoaApp(callable)) return koa(callable);
  return undefined;
}

function accepted(config: Config): string {
  const name = `"${config.callableObject}"`;
  const shapes = {
    tsgi: `a TSGI function exported as ${name} (--callable-object)`,
    fetch: `a default export (or ${name}) with a fetch(request) method, as Hono apps and \`export default { fetch }\` have`,
    node: `a default export (or ${name}) that is a (req, res) function (Express, Connect, node:http handlers) or a Koa app`,
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

export async function selectInterface(
  namespace: Record<string, unknown>,
  config: Config,
  opts: TsgiHandlerOptions,
): Promise<SelectedApp> {
  const callable = callableExport(namespace, config.callableObject);
  const main = defaultExport(namespace);
  const pick = { auto: pickAuto, tsgi: pickTsgi, fetch: pickFetch, node: pickNode }[config.interface];
  const found = pick(callable, main);
  if (found === undefined) {
    throw new TsgiError(
      'TSGI_APP_SHAPE',
      `${config.scriptPath} exports no application for --interface ${config.interface}. ` +
        `It exports: ${describeExports(namespace)}. Accepted: ${accepted(config)}.`,
    );
  }
  return { kind: found.kind, handler: await found.make(opts) };
}
