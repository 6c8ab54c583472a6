/**
 * --application-type module: resolves a package or package subpath from a
 * directory the way `import` does (node_modules lookup upwards, package.json
 * "exports" with the import/node/default conditions, then "main"/index).
 * Resolution happens once, in the master, so the file found is what workers load
 * and what reloading watches.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
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

function matchExports(exportsField: Exports, subpath: string): string | undefined {
  const isMap =
    typeof exportsField === 'object' && exportsField !== null && !Array.isArray(exportsField) &&
    Object.keys(exportsField).some((k) => k.startsWith('.'));
  if (!isMap) return subpath === '.' ? pickCondition(exportsField) : undefined;
  const map = exportsField as Record<string, Exports>;
  if (subpath in map) return pickCondition(map[subpath]!);
  for (const [key, value] of Object.entries(map)) {
    const star = key.indexOf('*');
    if (star < 0) continue;
    const [before, after] = [key.slice(0, star), key.slice(star + 1)];
    if (subpath.startsWith(before) && subpath.endsWith(after) && subpath.length >= key.length - 1) {
      const middle = subpath.slice(before.length, subpath.length - after.length);
      return pickCondition(value)?.replaceAll('*', middle);
    }
  }
  return undefined;
}

function isFile(file: string): boolean {
  return existsSync(file) && statSync(file).isFile();
}

function legacyEntry(pkgDir: string, subpath: string, manifest: { main?: string }): string | undefined {
  const base = subpath === '.' ? path.join(pkgDir, manifest.main ?? '') : path.join(pkgDir, subpath);
  if (isFile(base)) return base;
  for (const ext of ['.js', '.mjs', '.cjs', '.ts', '.mts']) if (isFile(base + ext)) return base + ext;
  for (const index of INDEX_FILES) if (isFile(path.join(base, index))) return path.join(base, index);
  return undefined;
}

function findPackageDir(pkg: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', pkg);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    const own = path.join(dir, 'package.json');
    // Package self-reference: a package may import itself by its own name.
    if (existsSync(own) && JSON.parse(readFileSync(own, 'utf8')).name === pkg) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

export function resolveModuleEntry(name: string, fromDir: string): string {
  const notFound = (why: string) =>
    new UsageError(`--application-type module: cannot resolve "${name}" from ${fromDir}: ${why}`);
  if (name.startsWith('.') || path.isAbsolute(name)) {
    const file = legacyEntry(path.resolve(fromDir, name), '.', {});
    if (!file) throw notFound('no such file');
    return file;
  }
  const { pkg, subpath } = splitName(name);
  const pkgDir = findPackageDir(pkg, fromDir);
  if (!pkgDir) throw notFound(`no package "${pkg}" in node_modules of that directory or its parents`);
  const manifest = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  const target =
    manifest.exports !== undefined
      ? matchExports(manifest.exports, subpath)
      : legacyEntry(pkgDir, subpath, manifest);
  if (!target) throw notFound(`package "${pkg}" does not export "${subpath}"`);
  const file = path.resolve(pkgDir, target);
  if (!isFile(file)) throw notFound(`it maps to ${file}, which does not exist`);
  return file;
}
