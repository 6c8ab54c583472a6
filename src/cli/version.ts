import { readFileSync } from 'node:fs';

/** The package version, read from package.json (so --version can never drift). */
export function packageVersion(): string {
  const manifest = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}
