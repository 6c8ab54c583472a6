/**
 * The complete apps of docs/frameworks.md and docs/tsgi.md, as the pages show them.
 * The pages mark each file with a comment followed by the fenced block holding it:
 *   <!-- test-app: {"name", "file", "mount", ...AppSpec} -->
 *   <!-- test-file: {"name", "file"} -->   (more files of the same app)
 * Each app is written out as a project of its own and built as its spec says.
 *
 * Apps with `"cache": true` (Next.js, SvelteKit, Astro: a build takes a minute or more on
 * a loaded 2-core machine) are built once into test/.framework-builds/NAME-HASH,
 * the hash covering their files and package-lock.json, and reused until either
 * changes. `.ci/run` builds them before the suites start (`node --import tsx
 * test/helpers/doc-apps.ts`), so the four Node runs share one build.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from './server.js';

export interface AppSpec {
  name: string;
  file: string;
  mount: string;
  args?: string[];
  get?: [string, number, string][];
  post?: [string, string, number, string][];
  ws?: [string, string, string];
  socketio?: [string, string, string];
  /** Commands to build the app before serving: [bin in node_modules/.bin, ...args], run in the app's directory. */
  build?: string[][];
  /** Build once and keep the result (see above), rather than per test run. */
  cache?: boolean;
  /** Environment for the build and the server. */
  env?: Record<string, string>;
  /** The file the block holds, when it is not the one served (a .ts source of a built app). */
  source?: string;
  /** A .ts entry that must be refused (decorator metadata). */
  tsEntryError?: string;
  /** The interface the banner must name (`node`, `node (captured listen)`, `fetch`). */
  interface?: string;
  /** Another app whose files this one shares (its own files replace theirs). */
  filesFrom?: string;
  /** [page, pattern]: the page links an asset (the first match of pattern), which must be served. */
  linked?: [string, string];
}

export interface DocApp {
  spec?: AppSpec;
  files: Map<string, string>;
}

/** The apps the markdown marks, with their files. */
export function appsIn(markdown: string): Map<string, DocApp> {
  const apps = new Map<string, DocApp>();
  const marker = /<!-- test-(app|file): (\{.*?\}) -->\s*\n```[a-z]*\n([\s\S]*?)\n```/g;
  for (const m of markdown.matchAll(marker)) {
    const meta = JSON.parse(m[2]!) as AppSpec;
    let app = apps.get(meta.name);
    if (!app) apps.set(meta.name, (app = { files: new Map() }));
    if (m[1] === 'app') app.spec = meta;
    app.files.set(meta.source ?? meta.file, m[3]! + '\n');
  }
  return apps;
}

export function docApps(): Map<string, DocApp> {
  const markdown = ['frameworks.md', 'tsgi.md'].map((doc) => readFileSync(path.join(ROOT, 'docs', doc), 'utf8')).join('\n');
  return appsIn(markdown);
}

/** Where apps are written out for one test run (removed after it). */
export const WORK = path.join(ROOT, 'test/.frameworks');
/** Where cached builds live (kept between runs; .gitignore'd). */
export const BUILDS = path.join(ROOT, 'test/.framework-builds');

function filesOf(name: string, app: DocApp, apps: Map<string, DocApp>): Map<string, string> {
  const from = app.spec?.filesFrom;
  const shared = from ? apps.get(from)?.files : undefined;
  if (from && !shared) throw new Error(`${name}: no app ${from} to take files from`);
  return new Map([...(shared ?? []), ...app.files]);
}

function writeProject(dir: string, files: Map<string, string>): void {
  rmSync(dir, { recursive: true, force: true });
  // A project of its own, without "type": "module" (the repository's package.json has it)
  // unless the page gives its package.json: ESM syntax and top-level await in its .js and
  // .ts files load as Node loads them. Its packages resolve from the repository's node_modules.
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), '{ "private": true }\n');
  for (const [file, text] of files) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
}

function runBuild(spec: AppSpec, dir: string): void {
  const env = { ...process.env, ...spec.env };
  for (const [bin, ...args] of spec.build ?? []) {
    try {
      execFileSync(path.join(ROOT, 'node_modules/.bin', bin!), args, { cwd: dir, env, stdio: 'pipe', timeout: 600_000 });
    } catch (err) {
      const e = err as { stdout?: Buffer; stderr?: Buffer };
      throw new Error(`${spec.name}: ${bin} ${args.join(' ')} failed in ${dir}:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
  }
}

/** Writes the app out and builds it; returns its directory. */
export function prepare(name: string, app: DocApp, apps: Map<string, DocApp>): string {
  const spec = app.spec!;
  const files = filesOf(name, app, apps);
  const slug = name.replace(/[^\w.-]/g, '_');
  if (!spec.cache) {
    const dir = path.join(WORK, slug);
    writeProject(dir, files);
    runBuild(spec, dir);
    return dir;
  }
  const hash = createHash('sha256').update(JSON.stringify([...files, spec.build, spec.env]));
  hash.update(readFileSync(path.join(ROOT, 'package-lock.json')));
  const dir = path.join(BUILDS, `${slug}-${hash.digest('hex').slice(0, 12)}`);
  if (existsSync(path.join(dir, spec.file))) return dir;
  // Built aside and renamed into place, so an interrupted build is never taken for a finished one.
  const partial = `${dir}.partial-${process.pid}`;
  try {
    writeProject(partial, files);
    runBuild(spec, partial);
  } catch (err) {
    rmSync(partial, { recursive: true, force: true });
    throw err;
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  // Builds of older files or an older lockfile are never used again.
  for (const old of readdirSync(BUILDS)) {
    if (old.startsWith(`${slug}-`) && !old.includes('.partial-') && path.join(BUILDS, old) !== dir) {
      rmSync(path.join(BUILDS, old), { recursive: true, force: true });
    }
  }
  return dir;
}

/** `node --import tsx test/helpers/doc-apps.ts`: builds every cached app (CI runs it once). */
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const apps = docApps();
  for (const [name, app] of apps) {
    if (!app.spec?.cache) continue;
    const started = Date.now();
    const dir = prepare(name, app, apps);
    console.log(`built ${name} in ${((Date.now() - started) / 1000).toFixed(1)} s: ${path.relative(ROOT, dir)}`);
  }
}
