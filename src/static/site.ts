/**
 * The static part of the site: which directory (--document-root) or alias
 * (--url-alias) a request path falls in, and opening what it names there
 * without ever leaving it.
 *
 * A file is opened first and everything else is read from the open descriptor
 * (its size, its dates, its bytes), so a file replaced on disk while it is
 * served is served whole from the version that was opened. On Linux the
 * descriptor's own path (/proc/self/fd/N) says where the open really landed:
 * with --follow-symlinks off, a symlink (or a directory swapped for one)
 * leading out of the root is refused after the fact, with no window between a
 * check and the open. O_NONBLOCK keeps a FIFO in the root from blocking a
 * libuv thread forever; anything but a file or a directory is refused.
 */
import fs from 'node:fs';
import { promisify } from 'node:util';

const open = promisify(fs.open);
const fstat = promisify(fs.fstat);
const realpath = promisify(fs.realpath);

const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);
/** Linux names each open descriptor's target here; elsewhere realpath() before the open stands in. */
const FD_PATHS = fs.existsSync('/proc/self/fd') ? '/proc/self/fd/' : undefined;

export interface Root {
  /** The URL prefix ('' for the document root). */
  readonly url: string;
  /** Real path of the directory, or of the file for an alias to one file. */
  readonly dir: string;
  /** An alias to one file: only its URL itself names it. */
  readonly file: boolean;
  /** Aliases are the server's: what they do not serve is 404, never the app's. */
  readonly alias: boolean;
}

export interface Match {
  readonly root: Root;
  /** The path below the root's URL: '' or starting with '/'. */
  readonly rest: string;
}

export type Opened =
  | { readonly kind: 'file'; readonly fd: number; readonly stats: fs.Stats; readonly path: string }
  | { readonly kind: 'dir'; readonly stats: fs.Stats; readonly path: string }
  /** Nothing there (or a path that cannot be a file). */
  | { readonly kind: 'missing' }
  /** There, but the server may not serve it: unreadable, a device or FIFO, a symlink out of the root. */
  | { readonly kind: 'forbidden'; readonly why: string };

export interface SiteRoots {
  readonly documentRoot?: string | undefined;
  /** [URL, PATH] pairs, as given. */
  readonly aliases: readonly (readonly [string, string])[];
  readonly followSymlinks: boolean;
}

export function isInside(real: string, dir: string): boolean {
  if (real === dir) return true;
  return real.startsWith(dir.endsWith('/') ? dir : dir + '/');
}

export function closeQuietly(fd: number): void {
  fs.close(fd, () => {});
}

const MISSING = { kind: 'missing' } as const;

/** Errors of open() that mean "no such file here". */
const NOT_THERE = new Set(['ENOENT', 'ENOTDIR', 'ENAMETOOLONG', 'ELOOP', 'EINVAL']);

export class Site {
  /** Aliases, longest URL first, then the document root. */
  readonly roots: readonly Root[];
  readonly followSymlinks: boolean;

  private constructor(roots: Root[], followSymlinks: boolean) {
    this.roots = roots;
    this.followSymlinks = followSymlinks;
  }

  /** Resolves the configured paths (the command line checked they exist); undefined when nothing is static. */
  static fromConfig(config: SiteRoots): Site | undefined {
    const roots: Root[] = [];
    const aliases = [...config.aliases].sort((a, b) => b[0].length - a[0].length);
    for (const [url, target] of aliases) {
      const dir = fs.realpathSync(target);
      roots.push({ url, dir, file: !fs.statSync(dir).isDirectory(), alias: true });
    }
    if (config.documentRoot !== undefined) {
      roots.push({ url: '', dir: fs.realpathSync(config.documentRoot), file: false, alias: false });
    }
    return roots.length === 0 ? undefined : new Site(roots, config.followSymlinks);
  }

  get hasDocumentRoot(): boolean {
    return this.roots.at(-1)?.alias === false;
  }

  /** The root a decoded request path falls in: the longest alias URL that matches whole segments, else the document root. */
  match(urlPath: string): Match | undefined {
    for (const root of this.roots) {
      const url = root.url;
      if (url === '') return { root, rest: urlPath };
      if (url.endsWith('/')) {
        if (urlPath.startsWith(url)) return { root, rest: urlPath.slice(url.length - 1) };
      } else if (urlPath === url) {
        return { root, rest: '' };
      } else if (urlPath.startsWith(url) && urlPath.charCodeAt(url.length) === 47 /* / */) {
        return { root, rest: urlPath.slice(url.length) };
      }
    }
    return undefined;
  }

  /** Opens what `rest` names under `root`; the caller closes a file's fd. */
  async open(root: Root, rest: string): Promise<Opened> {
    if (root.file) return rest === '' ? this.openPath(root, root.dir) : MISSING;
    return this.openPath(root, root.dir + rest);
  }

  /** Opens a path known to lie under `root` lexically (no dot segments), checking where it really is. */
  async openPath(root: Root, file: string): Promise<Opened> {
    if (!this.followSymlinks && FD_PATHS === undefined) {
      const real = await realpath(file).catch(() => undefined);
      if (real !== undefined && !isInside(real, root.dir)) return { kind: 'forbidden', why: 'a symlink leads out of its root' };
    }
    let fd: number;
    try {
      fd = await open(file, OPEN_FLAGS);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (NOT_THERE.has(code)) return MISSING;
      if (code === 'EACCES' || code === 'EPERM') return { kind: 'forbidden', why: 'not readable by the server' };
      throw err;
    }
    try {
      if (!this.followSymlinks && FD_PATHS !== undefined) {
        // procfs answers from the kernel's own table: no disk, so no reason to wait for a thread.
        const real = fs.readlinkSync(FD_PATHS + fd);
        if (!isInside(real, root.dir)) {
          closeQuietly(fd);
          return { kind: 'forbidden', why: 'a symlink leads out of its root' };
        }
      }
      const stats = await fstat(fd);
      if (stats.isFile()) return { kind: 'file', fd, stats, path: file };
      closeQuietly(fd);
      if (stats.isDirectory()) return { kind: 'dir', stats, path: file };
      return { kind: 'forbidden', why: 'not a regular file' };
    } catch (err) {
      closeQuietly(fd);
      throw err;
    }
  }

  /** Whether a name found in a listing of `dir` (under `root`) is allowed: inside the root, or symlinks followed. */
  async listable(root: Root, file: string): Promise<boolean> {
    if (this.followSymlinks) return true;
    const real = await realpath(file).catch(() => undefined);
    return real !== undefined && isInside(real, root.dir);
  }
}
