/**
 * Top-level await in a .ts or .js file of a package without "type": "module".
 * tsx compiles such files to CommonJS, where top-level await cannot exist, so
 * they fail to load under tsx although `node app.js` runs them: Node's module
 * detection loads a file whose syntax only ESM allows as ESM. This loader hook
 * does the same for the one case tsx refuses: a local file headed for CommonJS
 * that esbuild cannot compile to CommonJS because of top-level await is loaded
 * as ESM instead. Registered after tsx, so it runs first: in the loader thread
 * (module.register) it hands tsx the format, found by compiling the file itself
 * first; as in-thread hooks (module.registerHooks, where Node has them) it lets
 * tsx compile and loads the file as ESM only when tsx refuses, so a file found in
 * tsx's transform cache costs no compile (worker/transform-cache.ts).
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

/** A local file tsx compiles to CommonJS: the only kind this loader looks at. */
function headedForCommonJs(url: string, format: string | null | undefined): string | undefined {
  if (format !== 'commonjs' && format !== 'commonjs-typescript') return undefined;
  if (!url.startsWith('file:') || url.includes('/node_modules/')) return undefined;
  const file = fileURLToPath(url.split('?')[0]!);
  return LOADERS[file.slice(file.lastIndexOf('.'))] === undefined ? undefined : file;
}

const TOP_LEVEL_AWAIT = /Top-level await is currently not supported/;

/** Whether esbuild refuses to compile `file` to CommonJS because of top-level await. */
function hasTopLevelAwait(file: string): boolean {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  if (!/\bawait\b/.test(source)) return false;
  try {
    esbuild()(source, { format: 'cjs', loader: LOADERS[file.slice(file.lastIndexOf('.'))]!, sourcefile: file });
    return false;
  } catch (err) {
    return TOP_LEVEL_AWAIT.test(String((err as Error).message));
  }
}

/**
 * In-thread hooks (Node 22.15+ with a tsx that uses them): tsx compiles a CommonJS file
 * in its load hook, so its refusal arrives here as an error, and only then is the file
 * loaded again as ESM. No compile of our own, so a start whose files are all in tsx's
 * transform cache runs no esbuild at all (bench/NOTES.md, "reload").
 */
export function loadSync(url: string, context: LoadContext, nextLoad: (url: string, context: LoadContext) => Loaded): Loaded {
  const file = headedForCommonJs(url, context.format);
  if (file === undefined) return nextLoad(url, context);
  let loaded: Loaded;
  try {
    loaded = nextLoad(url, context);
  } catch (err) {
    if (TOP_LEVEL_AWAIT.test(String((err as Error)?.message))) return nextLoad(url, { ...context, format: 'module' });
    throw err;
  }
  // tsx left the compile to Node's CommonJS loader, where the refusal would come too late.
  if (loaded.source == null && hasTopLevelAwait(file)) return nextLoad(url, { ...context, format: 'module' });
  return loaded;
}

/**
 * The loader thread (module.register, Node 20 and 22 before 22.15): tsx hands a
 * CommonJS file to Node's CommonJS loader uncompiled, so the file is compiled here first.
 */
export async function load(
  url: string,
  context: LoadContext,
  nextLoad: (url: string, context: LoadContext) => Promise<Loaded>,
): Promise<Loaded> {
  const file = headedForCommonJs(url, context.format);
  return nextLoad(url, file !== undefined && hasTopLevelAwait(file) ? { ...context, format: 'module' } : context);
}

type RegisterHooks = (hooks: { load: typeof loadSync }) => unknown;

/** Call after tsx has registered its own hooks. */
export function registerEsmFallback(): void {
  const registerHooks = (module as { registerHooks?: RegisterHooks }).registerHooks;
  if (typeof registerHooks === 'function') registerHooks({ load: loadSync });
  else module.register(new URL(import.meta.url));
}
