/**
 * --config FILE: a JSON, YAML or TypeScript/JavaScript module file holding the
 * options as the command line names them (without `--`; camelCase accepted),
 * read in the parse process only. Every value is checked by its option's own
 * schema (the one the command line's values go through), and every error names
 * the file, the key path and the reason; a file that does not parse names the
 * line and column.
 *
 * YAML is read with the `yaml` package (YAML 1.2, so `no` and `on` stay
 * strings, as in JSON; errors carry line and column).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { UsageError } from '../errors.js';
import type { FileApp } from './apps.js';
import { OPTIONS, type OptionSpec } from './options.js';

export type RawOptions = Record<string, unknown>;

/** What a config file gives: option values keyed by config key (paths made absolute), and its `apps`. */
export interface ConfigFileValues {
  readonly file: string;
  readonly raw: RawOptions;
  readonly apps: FileApp[];
}

function readApp(entry: unknown, file: string, index: number): FileApp {
  const where = `${file}: apps[${index}]`;
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new UsageError(`${where} must be an object with mount and script (got ${describe(entry)})`);
  }
  const { raw, extra } = readOptionObject(entry as Record<string, unknown>, where, { allowed: (spec) => APP_OPTIONS.has(spec.key), extra: APP_KEYS });
  if (extra.mount === undefined) throw new UsageError(`${where}: mount is missing (the URL path the application is served at)`);
  if (extra.script === undefined) throw new UsageError(`${where}: script is missing (the application's file)`);
  const unixGroup = extra['unix-group'] ?? extra.unixGroup;
  if (extra['unix-group'] !== undefined && extra.unixGroup !== undefined) throw new UsageError(`${where}: "unix-group" and "unixGroup" are the same key; give it once`);
  if (unixGroup !== undefined) fileOptionValue(optionByName('group')!, unixGroup, `${where}: unix-group`);
  return { where, file, mount: extra.mount, script: extra.script, group: extra.group, ...(unixGroup !== undefined ? { unixGroup } : {}), raw };
}

const BY_NAME = new Map<string, OptionSpec>();
for (const spec of OPTIONS as readonly OptionSpec[]) {
  BY_NAME.set(spec.flag, spec);
  BY_NAME.set(spec.key, spec);
}

/** Keys of the file besides the options: `script` is the positional SCRIPT. */
const FILE_KEYS = ['script', 'apps'] as const;

/** The options an `apps` entry may set for its own application, or for its process group (config/groups.ts). */
const APP_OPTIONS = new Set(['interface', 'callableObject', 'keepMountPrefix', 'setenv', 'passenv', 'processes', 'threads', 'queueTimeout', 'workingDirectory', 'user']);
/**
 * Keys of an `apps` entry besides those options; `group` names its process group, so the
 * Unix group its workers run as (the --group option) is `unix-group`.
 */
const APP_KEYS = ['mount', 'script', 'group', 'unix-group', 'unixGroup'] as const;

/** This package's compiled code, whose frames say nothing about the user's file. */
const PACKAGE_DIST = fileURLToPath(new URL('..', import.meta.url));

const MODULE_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'];

export function optionByName(name: string): OptionSpec | undefined {
  return BY_NAME.get(name);
}

/** Options whose values are file system paths: relative ones in a file are relative to that file. */
export function isPathOption(spec: OptionSpec): boolean {
  return spec.kind === 'string' && /^(FILE|DIR|PATH)\b/.test(spec.valueName ?? '');
}

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `${line}:${column}`;
}

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const at = /at position (\d+)/.exec(message);
    const where = at ? lineAndColumn(text, Number(at[1])) : lineAndColumn(text, text.length);
    const reason = message.replace(/ in JSON at position \d+.*$/, '').replace(/^JSON\.parse: /, '');
    throw new UsageError(`${file}:${where}: not valid JSON: ${reason}`);
  }
}

async function parseYaml(file: string, text: string): Promise<unknown> {
  const { parseDocument } = await import('yaml');
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const problem = doc.errors[0];
  if (problem) {
    const pos = problem.linePos?.[0];
    const where = pos ? `${pos.line}:${pos.col}` : lineAndColumn(text, problem.pos[0]);
    throw new UsageError(`${file}:${where}: not valid YAML: ${problem.message.split('\n')[0]}`);
  }
  return doc.toJS();
}

/** The error's first line and the frames in the user's own files (not Node's, not node_modules). */
function loadErrorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const message = `${err.name}: ${err.message}`.split('\n').slice(0, 3);
  const frames = (err.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  const own = frames.filter((line) => !/node:|node_modules/.test(line) && !line.includes(PACKAGE_DIST));
  return [...message, ...own.slice(0, 3)].join('\n');
}

/**
 * `:LINE:COLUMN` of a JavaScript syntax error, which Node's ESM loader reports
 * without a place: `node --check` names it. (tsx names the place of a
 * TypeScript one in its message already.)
 */
function syntaxErrorPlace(file: string, err: unknown): string {
  if (!(err instanceof SyntaxError) || !/\.[mc]?js$/.test(file)) return '';
  const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 10_000 });
  const lines = (check.stderr ?? '').split('\n');
  const at = lines.findIndex((line) => line.startsWith(`${file}:`));
  if (at < 0) return '';
  const line = lines[at]!.slice(file.length + 1);
  const caret = lines[at + 2]?.indexOf('^') ?? -1;
  return `:${line}${caret >= 0 ? `:${caret + 1}` : ''}`;
}

async function importModule(file: string): Promise<unknown> {
  const { tsImport } = await import('tsx/esm/api');
  let namespace: Record<string, unknown>;
  try {
    namespace = (await tsImport(pathToFileURL(file).href, import.meta.url)) as Record<string, unknown>;
  } catch (err) {
    throw new UsageError(`${file}${syntaxErrorPlace(file, err)}: the module could not be loaded: ${loadErrorText(err)}`);
  }
  if (!('default' in namespace)) {
    throw new UsageError(`${file}: no default export: export the options as \`export default defineConfig({ ... })\``);
  }
  let value = namespace.default;
  // A CommonJS module compiled from ESM syntax: module.exports = { __esModule, default }.
  const compiled = value as { __esModule?: unknown; default?: unknown } | undefined;
  if (compiled && typeof compiled === 'object' && compiled.__esModule === true) value = compiled.default;
  if (typeof value === 'function') value = await (value as () => unknown)();
  return await value;
}

async function readValue(file: string): Promise<unknown> {
  if (!existsSync(file)) throw new UsageError(`--config ${file}: no such file`);
  if (!statSync(file).isFile()) throw new UsageError(`--config ${file}: not a file`);
  const ext = path.extname(file).toLowerCase();
  if (MODULE_EXTENSIONS.includes(ext)) return importModule(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--config ${file}: ${(err as Error).message}`);
  }
  if (ext === '.json') return parseJson(file, text);
  if (ext === '.yaml' || ext === '.yml') return parseYaml(file, text);
  throw new UsageError(`--config ${file}: unknown file type (expected .json, .yaml, .yml, or a module: ${MODULE_EXTENSIONS.join(' ')})`);
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** `unknown key "proceses" (did you mean "processes"?)` */
export function unknownKey(name: string, known: Iterable<string>): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return `unknown key "${name}"${best ? ` (did you mean "${best}"?)` : ''}`;
}

export function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/**
 * A file's value in the shape the command line gives its option: a list option
 * takes an array (or one value), a pairs option an object of NAME: VALUE (or a
 * list of two-item lists); numbers and booleans are the schema's to check.
 */
function shapeValue(spec: OptionSpec, value: unknown, where: string): unknown {
  if (spec.kind === 'list') return Array.isArray(value) ? value : [value];
  if (spec.kind !== 'pairs') return value;
  if (Array.isArray(value)) return value;
  if (typeof value !== 'object' || value === null) {
    throw new UsageError(`${where} must be an object of NAME: VALUE (got ${describe(value)})`);
  }
  return Object.entries(value).map(([name, v]) => {
    const text = scalarText(v);
    if (text === undefined) throw new UsageError(`${where}.${name} must be a string (got ${describe(v)})`);
    return [name, text];
  });
}

/**
 * Checks one file value with its option's schema; returns it as the command
 * line would have given it. `where` names the file and key path for errors.
 */
export function fileOptionValue(spec: OptionSpec, value: unknown, where: string): unknown {
  const shaped = shapeValue(spec, value, where);
  const result = spec.schema.safeParse(shaped);
  if (!result.success) {
    const issue = result.error.issues[0];
    const at = issue?.path.length ? `[${issue.path.join('][')}]` : '';
    throw new UsageError(`${where}${at} ${issue?.message ?? 'is not valid'} (got ${describe(value)})`);
  }
  return shaped;
}

/**
 * Reads the options of one object (the file's top level, or one `apps` entry):
 * returns them keyed by config key. `allowed` limits the keys (an app entry
 * takes only per-application ones); `extra` are keys handled by the caller.
 */
export function readOptionObject(
  object: Record<string, unknown>,
  where: string,
  opts: { allowed?: (spec: OptionSpec) => boolean; extra?: readonly string[] } = {},
): { raw: RawOptions; extra: Record<string, unknown> } {
  const raw: RawOptions = {};
  const extra: Record<string, unknown> = {};
  const seen = new Map<string, string>();
  for (const [name, value] of Object.entries(object)) {
    if (opts.extra?.includes(name)) {
      extra[name] = value;
      continue;
    }
    const spec = optionByName(name);
    if (!spec || spec.key === 'config' || (opts.allowed && !opts.allowed(spec))) {
      const known = (OPTIONS as readonly OptionSpec[]).filter((s) => s.key !== 'config' && (!opts.allowed || opts.allowed(s))).map((s) => s.flag);
      throw new UsageError(`${where}: ${unknownKey(name, [...known, ...(opts.extra ?? [])])}`);
    }
    const earlier = seen.get(spec.key);
    if (earlier !== undefined) throw new UsageError(`${where}: "${earlier}" and "${name}" are the same option; give it once`);
    seen.set(spec.key, name);
    if (value === null || value === undefined) continue; // an empty YAML key: as if not given
    raw[spec.key] = fileOptionValue(spec, value, `${where}: ${name}`);
  }
  return { raw, extra };
}

/** Makes a file's relative paths relative to the file's directory. */
function resolvePaths(raw: RawOptions, dir: string): void {
  const isModule = raw.applicationType === 'module';
  for (const [key, value] of Object.entries(raw)) {
    const spec = optionByName(key)!;
    // A pattern mount's script template, like --mount-app's scripts, is relative to the file.
    if (key === 'mountAppMatch') raw[key] = (value as [string, string][]).map(([regex, template]) => [regex, path.resolve(dir, template)]);
    if (!isPathOption(spec) || typeof value !== 'string') continue;
    // A module name (--application-type module) is resolved like `import`, not as a path.
    if (key === 'entryPoint' && isModule && !value.startsWith('.')) continue;
    raw[key] = path.resolve(dir, value);
  }
}

/** Reads and checks FILE (made absolute from `cwd`). */
export async function readConfigFile(given: string, cwd: string): Promise<ConfigFileValues> {
  const file = path.resolve(cwd, given);
  const value = await readValue(file);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`${file}: must hold an object of options (got ${Array.isArray(value) ? 'a list' : describe(value)})`);
  }
  const { raw, extra } = readOptionObject(value as Record<string, unknown>, file, { extra: FILE_KEYS });
  if (extra.script !== undefined) {
    if (raw.entryPoint !== undefined) throw new UsageError(`${file}: give the application once, as script or entry-point`);
    raw.entryPoint = fileOptionValue(optionByName('entryPoint')!, extra.script, `${file}: script`);
  }
  resolvePaths(raw, path.dirname(file));
  const apps = extra.apps ?? [];
  if (!Array.isArray(apps)) throw new UsageError(`${file}: apps must be a list of applications (got ${describe(apps)})`);
  return { file, raw, apps: apps.map((entry, i) => readApp(entry, file, i)) };
}

/**
 * The command line over the file: a flag given replaces the file's value, except
 * --setenv and --passenv, which add to the file's (the command line's values come
 * later, so they win on a clash). A SCRIPT on the command line replaces the
 * file's entry-point.
 */
export function mergeOptions(fromFile: RawOptions, fromCli: RawOptions, cliScript: string | undefined): RawOptions {
  const merged: RawOptions = { ...fromFile };
  if (cliScript !== undefined) delete merged.entryPoint;
  for (const [key, value] of Object.entries(fromCli)) {
    const before = merged[key];
    if ((key === 'setenv' || key === 'passenv') && Array.isArray(before)) merged[key] = [...before, ...(value as unknown[])];
    else merged[key] = value;
  }
  return merged;
}
