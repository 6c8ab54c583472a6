/**
 * --error-document STATUS FILE|URL: the body of the errors the server itself
 * answers (and, with --error-override, of the application's). As Apache's
 * ErrorDocument:
 * - an absolute path to an existing file: that file, read once when the worker
 *   starts (a reload picks up a changed one), sent with the original status;
 * - another path starting with `/`: a URL on this site, served internally from
 *   the document root or an alias with the original status (never by the
 *   application: the error may be the application's own); when it names no
 *   file, the built-in page;
 * - an `http://` or `https://` URL: a 302 redirect to it (the status is lost, as
 *   in Apache; for 401 the built-in page, as Apache does, since a browser would
 *   never ask for credentials).
 *
 * The same documents are the bodies of the errors written straight to a
 * connection, before any request exists (400, 414 and 431 from Node's parser,
 * 413 for chunk extensions, 405 for CONNECT, 408 for a late head): a local URL's
 * file is read whole then (up to 1 MiB; a larger one gets the built-in page).
 */
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { Log } from '../logging/log.js';
import { classifyErrorDocument, errorDocumentStatus, type ErrorDocumentTarget } from './error-document-spec.js';
import { sendBuiltInError, type ErrorBody, type RawErrorBody, type RawErrorDocument, type ResponseOut } from '../pipeline/error-response.js';
import { readExactly } from './file-body.js';
import type { MimeTypes } from './mime.js';
import { isHidden, isMappable } from './paths.js';
import { sendErrorFile } from './send-file.js';
import { closeQuietly, type Opened, type Site } from './site.js';

/** The largest local document a raw answer reads whole. */
const RAW_DOCUMENT_MAX = 1024 * 1024;

type Document =
  | { readonly kind: 'file'; readonly body: Buffer; readonly contentType: string }
  | { readonly kind: 'local'; readonly path: string }
  | { readonly kind: 'redirect'; readonly url: string };

export interface ErrorDocumentsDeps {
  readonly site: Site | undefined;
  readonly mime: MimeTypes;
  readonly log: Log;
}

function load(target: ErrorDocumentTarget, mime: MimeTypes): Document {
  if (target.kind !== 'file') return target;
  return { kind: 'file', body: readFileSync(target.path), contentType: mime.contentType(target.path) };
}

export interface ErrorBodies {
  /** For the errors answered through a response (sendError). */
  readonly response: ErrorBody;
  /** For the errors written straight to a connection. */
  readonly raw: RawErrorBody;
}

/** The worker's error bodies for the configured documents; undefined when there are none. */
export function errorDocuments(entries: readonly (readonly [string, string])[], deps: ErrorDocumentsDeps): ErrorBodies | undefined {
  const docs = new Map<number, Document>();
  for (const [statusText, value] of entries) {
    const status = errorDocumentStatus(statusText);
    const target = classifyErrorDocument(value);
    // The command line refused anything else; a file gone since is left to the built-in page.
    if (status === undefined || target === undefined) continue;
    try {
      docs.set(status, load(target, deps.mime));
    } catch (err) {
      deps.log.warn(`--error-document ${status} ${value}: ${(err as Error).message}; the built-in page is used`);
    }
  }
  if (docs.size === 0) return undefined;
  const raw: RawErrorBody = (status) => {
    const doc = docs.get(status);
    switch (doc?.kind) {
      case undefined:
        return undefined;
      case 'file':
        return { kind: 'body', body: doc.body, contentType: doc.contentType };
      case 'redirect':
        return status === 401 ? undefined : { kind: 'redirect', location: doc.url };
      case 'local':
        return deps.site === undefined ? undefined : readLocal(status, doc.path, deps);
    }
  };
  const response: ErrorBody = (res, out, status, headers) => {
    const doc = docs.get(status);
    if (doc === undefined) return false;
    switch (doc.kind) {
      case 'file':
        out.writeHead(status, undefined, { ...headers, 'Content-Type': doc.contentType, 'Content-Length': doc.body.length });
        out.end(res.req.method === 'HEAD' ? undefined : doc.body);
        return true;
      case 'redirect':
        if (status === 401) return false;
        out.writeHead(302, undefined, { ...headers, Location: doc.url, 'Content-Length': 0 });
        out.end();
        return true;
      case 'local':
        if (deps.site === undefined) return false;
        void serveLocal(res, out, status, headers, doc.path, deps);
        return true;
    }
  };
  return { response, raw };
}

/**
 * The files a local URL names, opened one after the other (at most 3: a file
 * replaced while it was read is opened again); the caller closes each. None when
 * it names no file on the site.
 */
async function* localFiles(urlPath: string, site: Site): AsyncGenerator<Extract<Opened, { kind: 'file' }>> {
  const match = site.match(urlPath);
  if (match === undefined || !isMappable(match.rest) || isHidden(match.rest)) return;
  for (let attempt = 0; attempt < 3; attempt++) {
    const opened = await site.open(match.root, match.rest);
    if (opened.kind !== 'file') return;
    yield opened;
  }
}

/** The local URL's file, read whole, for a raw answer; undefined (the built-in page) when it names none. */
async function readLocal(status: number, urlPath: string, deps: ErrorDocumentsDeps): Promise<RawErrorDocument | undefined> {
  const { site, mime, log } = deps;
  try {
    for await (const opened of localFiles(urlPath, site!)) {
      try {
        if (opened.stats.size > RAW_DOCUMENT_MAX) {
          log.warn(`--error-document ${status} ${urlPath}: larger than ${RAW_DOCUMENT_MAX} bytes; the built-in page is used`);
          return undefined;
        }
        const body = await readExactly(opened.fd, 0, opened.stats.size);
        if (body !== undefined) return { kind: 'body', body, contentType: mime.contentType(opened.path) };
      } finally {
        closeQuietly(opened.fd);
      }
    }
    log.debug(`--error-document ${status} ${urlPath}: no file there; the built-in page is used`);
  } catch (err) {
    log.error(`--error-document ${status} ${urlPath}: ${(err as Error).message}`);
  }
  return undefined;
}

/** The local URL's file with the original status; the built-in page when it names none. */
async function serveLocal(res: ServerResponse, out: ResponseOut, status: number, headers: Record<string, string>, urlPath: string, deps: ErrorDocumentsDeps): Promise<void> {
  const { site, mime, log } = deps;
  try {
    for await (const opened of localFiles(urlPath, site!)) {
      const file = { fd: opened.fd, stats: opened.stats, contentType: mime.contentType(opened.path) };
      if ((await sendErrorFile(res, out, file, status, headers, log)) === 'sent') return;
    }
    log.debug(`--error-document ${status} ${urlPath}: no file there; the built-in page is used`);
  } catch (err) {
    log.error(`--error-document ${status} ${urlPath}: ${(err as Error).message}`);
  }
  if (!res.headersSent) sendBuiltInError(res, status, { headers }, out);
  else if (!res.writableEnded) res.destroy();
}
