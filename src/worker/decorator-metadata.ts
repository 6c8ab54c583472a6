/**
 * tsx compiles TypeScript with esbuild, which does not emit decorator metadata
 * (`emitDecoratorMetadata`): NestJS, TypeORM and other dependency-injection
 * frameworks then get `undefined` where a service should be injected, far from
 * the cause. So a .ts entry whose tsconfig.json asks for that metadata stops
 * at load with an error that says to build with tsc and serve the output.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const TS_ENTRY = /\.(?:[cm]?ts|tsx)$/;

/** JSON with comments and trailing commas, as tsconfig.json allows. */
function readJsonc(file: string): Record<string, unknown> | undefined {
  try {
    const text = readFileSync(file, 'utf8')
      .replace(/("(?:[^"\\]|\\.)*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (_m, str: string | undefined) => str ?? '')
      .replace(/,(\s*[}\]])/g, '$1');
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function nearestTsconfig(dir: string): string | undefined {
  for (let at = dir; ; at = path.dirname(at)) {
    const file = path.join(at, 'tsconfig.json');
    if (existsSync(file)) return file;
    if (path.dirname(at) === at) return undefined;
  }
}

/** compilerOptions.emitDecoratorMetadata, following relative `extends` (what a package `extends` says is not looked up). */
function emitsMetadata(file: string, depth = 0): boolean {
  const json = readJsonc(file);
  if (json === undefined || depth > 8) return false;
  const options = json.compilerOptions as { emitDecoratorMetadata?: unknown } | undefined;
  if (options?.emitDecoratorMetadata !== undefined) return options.emitDecoratorMetadata === true;
  const parents = Array.isArray(json.extends) ? json.extends : json.extends === undefined ? [] : [json.extends];
  return parents.some((parent) => {
    if (typeof parent !== 'string' || !parent.startsWith('.')) return false;
    const target = path.resolve(path.dirname(file), parent);
    return emitsMetadata(target.endsWith('.json') ? target : `${target}.json`, depth + 1);
  });
}

/** Throws when a TypeScript entry's project needs decorator metadata, which tsx cannot give it. */
export function checkDecoratorMetadata(scriptPath: string): void {
  if (!TS_ENTRY.test(scriptPath)) return;
  const tsconfig = nearestTsconfig(path.dirname(scriptPath));
  if (tsconfig === undefined || !emitsMetadata(tsconfig)) return;
  throw new Error(
    `${tsconfig} sets "emitDecoratorMetadata", which tsgi-express cannot honour: it loads .ts files with ` +
      'esbuild (tsx), which emits no decorator metadata, so NestJS (and TypeORM, Angular-style DI) would inject ' +
      'undefined. Build the project with tsc (`npx nest build` or `npx tsc`) and serve the compiled JavaScript, ' +
      'e.g. `tsgi-express start-server dist/main.js` (docs/frameworks.md, "NestJS").',
  );
}
