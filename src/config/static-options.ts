/**
 * The static-file options resolved against the filesystem at start-up, each
 * failure a UsageError naming the flag: the document root and alias targets
 * exist and can be read, alias URLs start with '/', --error-document has a
 * known error status and a usable target, --mime-types can be read and parsed;
 * and, when the workers run as another user (--user, --group), that they can
 * read them too (worker-access.ts).
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { classifyErrorDocument, errorDocumentStatus } from '../static/error-document-spec.js';
import { MimeFileError, readMimeTypes } from '../static/mime-file.js';
import { checkWorkersCanRead, type PathToRead, type WorkerIds } from './worker-access.js';

export interface StaticValues {
  documentRoot?: string;
  urlAlias: [string, string][];
  directoryIndex?: string;
  errorDocument: [string, string][];
  mimeTypes?: string;
}

function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'does not exist';
  if (code === 'EACCES' || code === 'EPERM') return 'cannot be read by this user';
  if (code === 'ENOTDIR') return 'cannot be reached: a part of the path is a file, not a directory';
  if (code === 'ELOOP') return 'cannot be reached: too many levels of symbolic links';
  return (err as Error).message;
}

/** An existing, readable directory (searchable) or, when `fileOk`, a readable file; its absolute path. */
function readable(flag: string, given: string, cwd: string, fileOk: boolean): string {
  const target = path.resolve(cwd, given);
  let isDir: boolean;
  try {
    isDir = statSync(target).isDirectory();
    accessSync(target, isDir ? constants.R_OK | constants.X_OK : constants.R_OK);
  } catch (err) {
    throw new UsageError(`${flag} ${target}: ${reason(err)}`);
  }
  if (!isDir && !fileOk) throw new UsageError(`${flag} ${target}: not a directory`);
  return target;
}

function isDirectory(target: string): boolean {
  return statSync(target).isDirectory();
}

/** The static options' values resolved (absolute paths); only those keys, to spread over the others. */
export function resolveStaticOptions(v: StaticValues, cwd: string, workers?: WorkerIds): Partial<StaticValues> {
  const documentRoot = v.documentRoot === undefined ? undefined : readable('--document-root', v.documentRoot, cwd, false);
  const urlAlias = v.urlAlias.map(([url, target]): [string, string] => {
    if (!url.startsWith('/')) throw new UsageError(`--url-alias ${url}: the URL must start with '/'`);
    return [url, readable(`--url-alias ${url}`, target, cwd, true)];
  });
  const index = v.directoryIndex;
  if (index !== undefined && (index.includes('/') || index === '.' || index === '..')) {
    throw new UsageError(`--directory-index ${index}: must be a file name, without '/'`);
  }
  const errorFiles: PathToRead[] = [];
  for (const [status, value] of v.errorDocument) {
    if (errorDocumentStatus(status) === undefined) {
      throw new UsageError(`--error-document ${status}: not an HTTP error status (400-599)`);
    }
    const target = classifyErrorDocument(value);
    if (target?.kind === 'file') errorFiles.push({ flag: `--error-document ${status}`, path: target.path, directory: false });
    if (target === undefined) {
      throw new UsageError(`--error-document ${status} ${value}: must be an absolute path to an existing file, a URL path on this site starting with '/', or an http(s):// URL`);
    }
  }
  let mimeTypes: string | undefined;
  if (v.mimeTypes !== undefined) {
    mimeTypes = path.resolve(cwd, v.mimeTypes);
    try {
      readMimeTypes(mimeTypes);
    } catch (err) {
      const why = err instanceof MimeFileError ? err.message : `${mimeTypes}: ${reason(err)}`;
      throw new UsageError(`--mime-types ${why}`);
    }
  }
  if (workers !== undefined) {
    checkWorkersCanRead([
      ...(documentRoot === undefined ? [] : [{ flag: '--document-root', path: documentRoot, directory: true }]),
      ...urlAlias.map(([url, target]) => ({ flag: `--url-alias ${url}`, path: target, directory: isDirectory(target) })),
      ...errorFiles,
      ...(mimeTypes === undefined ? [] : [{ flag: '--mime-types', path: mimeTypes, directory: false }]),
    ], workers);
  }
  return { documentRoot, urlAlias, mimeTypes };
}
