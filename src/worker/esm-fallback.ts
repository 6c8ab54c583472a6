/**
 * Top-level await in a .ts or .js file of a package without "type": "module".
 * tsx compiles such files to CommonJS, where top-level await cannot exist, so
 * they fail to load under tsx although `node app.js` runs them: Node's module
 * detection loads a file whose syntax only ESM allows as ESM. This loader hook
 * does the same for the one case tsx refuses: a local file headed for CommonJS
 * that esbuild cannot compile to CommonJS because of top-level await is loaded
 * as ESM instead. Registered after tsx, so it runs first and hands tsx the
 * format; in the loader thread (module.register) or, where Node has them, as
 * in-thread hooks (module.registerHooks), as tsx itself does.
 */
import { readFileSync } from 'node:fs';
import module, { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

type LoadContext = { format?: string | null } & Record<string, unknown>;
type Loaded = { format?: string | null; source?: unknown };
type TransformSync = (code: string, options: { format: 'cjs'; loader: string; sourcefile: string }) => unknown;

let transformSync: TransformSync | undefined;

/** esbuild, as tsx (our dependency) has it. */
function esbuild(): TransformSync {
  if (!transformSync) {
    const fromTsx = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'));
    transformSync = (fromTsx('esbuild') as { transformSync: TransformSync }).transformSync;
  }
  return transformSync;
}

const LOADERS: Record<string, string> = { '.ts': 'ts', '.tsx': 'tsx', '.js': 'js', '.jsx': 'jsx' };

/** Whether a local file tsx would compile to CommonJS has top-level await, which only ESM allows. */
function needsModule(url: string, format: string | null | undefined): boolean {
  if (format !== 'commonjs' && format !== 'commonjs-typescript') return false;
  if (!url.startsWith('file:') || url.includes('/node_modules/')) return false;
  const file = fileURLToPath(url.split('?')[0]!);
  const loader = LOADERS[file.slice(file.lastIndexOf('.'))];
  if (loader === undefined) return false;
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  if (!/\bawait\b/.test(source)) return false;
  try {
    esbuild()(source, { format: 'cjs', loader, sourcefile: file });
    return false;
  } catch (err) {
    return /Top-level await is currently not supported/.test(String((err as Error).message));
  }
}

/** The hook, for module.registerHooks (synchronous). */
export function loadSync(url: string, context: LoadContext, nextLoad: (url: string, context: LoadContext) => Loaded): Loaded {
  return nextLoad(url, needsModule(url, context.format) ? { ...context, format: 'module' } : context);
}

/** The hook, for module.register (asynchronous, in the loader thread). */
export async function load(
  url: string,
  context: LoadContext,
  nextLoad: (url: string, context: LoadContext) => Promise<Loaded>,
): Promise<Loaded> {
  return nextLoad(url, needsModule(url, context.format) ? { ...context, format: 'module' } : context);
}

type RegisterHooks = (hooks: { load: typeof loadSync }) => unknown;

/** Call after tsx has registered its own hooks. */
export function registerEsmFallback(): void {
  const registerHooks = (module as { registerHooks?: RegisterHooks }).registerHooks;
  if (typeof registerHooks === 'function') registerHooks({ load: loadSync });
  else module.register(new URL(import.meta.url));
}
