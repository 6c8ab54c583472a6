/**
 * Which loaded files are the application's own: not a package in node_modules,
 * not Node's, not tsgi-express's. Coverage reports these; the debug error page
 * shows the source of the first of them on an exception's stack.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** tsgi-express's own code: dist/ when installed, src/ when run through tsx. */
const OWN = ['dist', 'src'].map((dir) => fileURLToPath(new URL(`../../${dir}/`, import.meta.url)));

/** A file: URL or path (a query string, as loaders add, removed) -> the path; undefined for node:, data: and the like. */
export function scriptPath(url: string): string | undefined {
  if (url.startsWith('file://')) return fileURLToPath(url.split('?')[0]!);
  return path.isAbsolute(url) ? url : undefined;
}

export function isAppFile(file: string): boolean {
  return !file.includes(`${path.sep}node_modules${path.sep}`) && !OWN.some((dir) => file.startsWith(dir));
}
