/**
 * Loads the application module in a worker: TypeScript and modern JavaScript
 * through tsx (esbuild), ESM or CommonJS, with source maps so stack traces show
 * .ts lines. Records the local files the app loaded, which is what
 * --reload-on-changes watches. Each worker loads the app exactly once: a reload
 * starts new workers rather than re-importing.
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { register as registerEsm } from 'tsx/esm/api';
import { register as registerCjs } from 'tsx/cjs/api';
import { checkDecoratorMetadata } from './decorator-metadata.js';
import { registerEsmFallback } from './esm-fallback.js';

export interface LoadedApp {
  readonly namespace: Record<string, unknown>;
  /** The namespaces of the other scripts asked for (the access-control scripts), in order. */
  readonly others: Record<string, unknown>[];
  /** Absolute paths of loaded files outside node_modules, entry first. */
  readonly files: string[];
}

function isLocalFile(file: string): boolean {
  return !file.includes('/node_modules/') && !file.startsWith('node:');
}

/** The CommonJS module cache covers files required (not imported) by the app. */
function requiredFiles(): string[] {
  const cache = createRequire(import.meta.url).cache;
  return Object.keys(cache);
}

/** Lets the loader thread's onImport messages arrive before we read the list. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

/**
 * esbuild runs the synchronous transforms tsx asks for when its disk cache misses
 * (a new or changed file) in a worker thread, with an esbuild child process behind
 * it, and keeps both for the life of the process: +20 MB RSS in the worker and a
 * 12 MB child, measured on Node 24. Once the app is loaded they are stopped; an
 * import of an uncached file later starts them again. Node 20's ESM hooks thread
 * keeps its own esbuild, out of reach from here.
 */
function stopEsbuild(): void {
  const require = createRequire(import.meta.url);
  let file: string;
  try {
    file = createRequire(require.resolve('tsx/package.json')).resolve('esbuild');
  } catch {
    return;
  }
  const esbuild = require.cache[file]?.exports as { stop?: () => Promise<void> } | undefined;
  void esbuild?.stop?.();
}

/** Loads the app, then `others` (the --auth-*-script files) through the same loader, so their files are watched too. */
export async function loadApp(scriptPath: string, others: readonly string[] = []): Promise<LoadedApp> {
  checkDecoratorMetadata(scriptPath);
  const imported = new Set<string>([scriptPath, ...others]);
  registerCjs();
  registerEsm({
    onImport(url) {
      if (url.startsWith('file:')) imported.add(fileURLToPath(url.split('?')[0]!));
    },
  });
  registerEsmFallback();
  const namespace = (await import(pathToFileURL(scriptPath).href)) as Record<string, unknown>;
  const loadedOthers: Record<string, unknown>[] = [];
  for (const file of others) loadedOthers.push((await import(pathToFileURL(file).href)) as Record<string, unknown>);
  await settle();
  stopEsbuild();
  for (const file of requiredFiles()) imported.add(file);
  return { namespace, others: loadedOthers, files: [...imported].filter(isLocalFile) };
}
