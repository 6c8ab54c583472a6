/**
 * tsx's transform cache: each file tsx compiles is kept on disk, keyed by its content
 * (with tsx's options and the tsx and esbuild versions), in `os.tmpdir()/tsx-<euid>`. A
 * worker that finds every file there runs no esbuild at all, and a reload starts one
 * worker first so the others find the changed files there (master/supervisor.ts).
 *
 * Imported first by worker/main.ts, before tsx loads (tsx reads TSX_DISABLE_CACHE and
 * the directory when its modules are evaluated): the cache is used only in a directory
 * this worker's user owns and may write. tsx itself fails to load the app when it cannot
 * create the directory (a TMPDIR the --user account may not write), and would read
 * entries from a directory another user made, which are code run as this user.
 * Otherwise TSX_DISABLE_CACHE=1: every file is compiled in memory, as with no cache.
 */
import { constants, accessSync, mkdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where tsx keeps its cache for this process (tsx's own rule). */
function transformCacheDirectory(): string {
  return path.join(os.tmpdir(), `tsx-${process.geteuid?.() ?? os.userInfo().username}`);
}

/** Why the cache is off for this worker, when it is (logged once the worker can log). */
export let transformCacheOff: string | undefined;

function unusable(dir: string): string | undefined {
  try {
    // Made here, unless it exists, readable by this user only: its entries are code.
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = statSync(dir);
    if (!st.isDirectory()) return `${dir} is not a directory`;
    if (process.geteuid && st.uid !== process.geteuid()) return `${dir} belongs to another user (uid ${st.uid})`;
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch (err) {
    return `${dir}: ${(err as Error).message}`;
  }
}

if (!process.env.TSX_DISABLE_CACHE) {
  transformCacheOff = unusable(transformCacheDirectory());
  if (transformCacheOff !== undefined) process.env.TSX_DISABLE_CACHE = '1';
}
