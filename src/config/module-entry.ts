/**
 * --application-type module: resolves a package or package subpath from a
 * directory the way `import` does (node_modules lookup upwards, package.json
 * "exports" with the import/node/default conditions, then "main"/index).
 * Resolution happens once, in the master, so the file found is what workers load
 * and what reloading watches.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';

const CONDITIONS = ['import', 'node', 'default'];
const INDEX_FILES = ['index.js', 'index.mjs', 'index.cjs', 'index.ts', 'index.mts'];

type Exports = string | null | Exports[] | { [key: string]: Exports };

function splitName(name: string): { pkg: string; subpath: string } {
  const parts = name.split('/');
  const count = name.startsWith('@') ? 2 : 1;
  const pkg = parts.slice(0, count).join('/');
  const rest = parts.slice(count).join('/');
  return { pkg, subpath: rest ? `./${rest}` : '.' };
}

function pickCondition(target: Exports): string | undefined {
  if (typeof target === 'string') return target;
  if (target === null) return undefined;
  if (Array.isArray(target)) {
    for (const t of target) {
      const found = pickCondition(t);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, value] of Object.entries(target)) {
    if (CONDITIONS.includes(key)) {
      const found = pickCondition(value);
      if (found) return found;
    }
  }
  return undefined;
}

/** Node's PATTERN_KEY_COMPARE: the longer prefix before '*' wins, then the longer key. */
function patternOrder(a: string, b: string): number {
  const baseA = a.indexOf('*');
  const baseB = b.indexOf('*');
  if (baseA !== baseB) return baseB - baseA;
  return b.length - a.length;
}

function matchExports(exportsField: Exports, subpath: string): string | undefined {
  const isMap =
    typeof exportsField === 'object' && exportsField !== null && !Array.isArray(exportsField) &&
    Object.keys(exportsField).some((k) => k.startsWith('.'));
  if (!isMap) return subpath === '.' ? pickCondition(exportsField) : undefined;
  const map = exportsField as Record<string, Exports>;
  if (Object.hasOwn(map, subpath)) return pickCondition(map[subpath]!);
  const patterns = Object.keys(map).filter((key) => key.includes('*')).sort(patternOrder);
  for (const key of patterns) {
    const star = key.indexOf('*');
    const [before, after] = [key.slice(0, star), key.slice(star + 1)];
    if (subpath.startsWith(before) && subpath.endsWith(after) && subpath.length >= key.length - 1) {
      const middle = subpath.slice(before.length, subpath.length - after.length);
      return pickCondition(map[key]!)?.replaceAll('*', middle);
    }
  }
  return undefined;
}

function isFile(file: string): boolean {
  return existsSync(file) && statSync(file).isFile();
}

/** A file path as written, or with a known extension, or a directory's index file. */
function fileEntry(base: string, tryExtensions: boolean): string | undefined {
  if (tryExtensions) {
    if (isFile(base)) return base;
    for (const ext of ['.js', '.mjs', '.cjs', '.ts', '.mts']) if (isFile(base + ext)) return base + ext;
  }
  for (const index of INDEX_FILES) if (isFile(path.join(base, index))) return path.join(base, index);
  return undefined;
}

function legacyEntry(pkgDir: string, subpath: string, manifest: { main?: string }): string | undefined {
  const target = subpath === '.' ? manifest.main : subpath;
  // No "main": only the package's own index file, never a sibling named like the package.
  return target ? fileEntry(path.join(pkgDir, target), true) : fileEntry(pkgDir, false);
}

function readManifest(file: string): { name?: string; main?: string; exports?: Exports } {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`--application-type module: cannot read ${file}: ${(err as Error).message}`);
  }
}

function findPackageDir(pkg: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', pkg);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    const own = path.join(dir, 'package.json');
    // Package self-reference: a package may import itself by its own name.
    if (existsSync(own) && readManifest(own).name === pkg) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

export function resolveModuleEntry(name: string, fromDir: string): string {
  const notFound = (why: string) =>
    new UsageError(`--application-type module: cannot resolve "${name}" from ${fromDir}: ${why}`);
  if (name.startsWith('.') || path.isAbsolute(name)) {
    const file = fileEntry(path.resolve(fromDir, name), true);
    if (!file) throw notFound('no such file');
    return realpathSync(file);
  }
  const { pkg, subpath } = splitName(name);
  const pkgDir = findPackageDir(pkg, fromDir);
  if (!pkgDir) throw notFound(`no package "${pkg}" in node_modules of that directory or its parents`);
  const manifest = readManifest(path.join(pkgDir, 'package.json'));
  const target =
    manifest.exports !== undefined
      ? matchExports(manifest.exports, subpath)
      : legacyEntry(pkgDir, subpath, manifest);
  if (!target) throw notFound(`package "${pkg}" does not export "${subpath}"`);
  const file = path.resolve(pkgDir, target);
  if (!isFile(file)) throw notFound(`it maps to ${file}, which does not exist`);
  // As Node does (no --preserve-symlinks): a linked workspace package loads from its real path.
  return realpathSync(file);
}
