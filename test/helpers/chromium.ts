/**
 * Headless Chromium for pages the server renders. .ci/run installs Debian's
 * chromium and sets CHROMIUM; elsewhere Debian's usual paths are tried, and a
 * test without a browser is skipped, saying why.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const CHROMIUM = process.env.CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
export const skipWithoutChromium = CHROMIUM === undefined ? 'no Chromium (.ci/run installs it; or set CHROMIUM=/path/to/chrome)' : false;

/**
 * The DOM Chromium built from `url`, serialised after the load event; its profile goes under `dir`.
 * `virtualTimeMs`: let the page's own timers (a meta refresh) run this long, in virtual time, first.
 * `extraArgs`: more Chromium switches (`--user-agent=...`).
 */
export async function renderedDom(url: string, dir: string, virtualTimeMs?: number, extraArgs: readonly string[] = []): Promise<string> {
  const profile = await mkdtemp(path.join(dir, 'profile-'));
  const { stdout } = await run(
    CHROMIUM!,
    // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
      `--user-data-dir=${profile}`, ...(virtualTimeMs ? [`--virtual-time-budget=${virtualTimeMs}`] : []), ...extraArgs, '--dump-dom', url],
    { timeout: 60_000, maxBuffer: 4 * 1024 * 1024 },
  );
  return stdout;
}

export const title = (dom: string): string | undefined => /<title>(.*?)<\/title>/s.exec(dom)?.[1];
