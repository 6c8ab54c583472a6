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
 */
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { Log } from '../logging/log.js';
import { classifyErrorDocument, errorDocumentStatus, type ErrorDocumentTarget } from './error-document-spec.js';
import { sendBuiltInError, type ErrorBody, type ResponseOut } from '../pipeline/error-response.js';
import type { MimeTypes } from './mime.js';
import { isHidden, isMappable } from './paths.js';
import { sendErrorFile } from './send-file.js';
import type { Site } from './site.js';

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

/** The worker's ErrorBody for the configured documents; undefined when there are none. */
export function errorDocuments(entries: readonly (readonly [string, string])[], deps: ErrorDocumentsDeps): ErrorBody | undefined {
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
  return (res, out, status, headers) => {
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
}

/** The local URL's file with the original status; the built-in page when it names none. */
async function serveLocal(res: ServerResponse, out: ResponseOut, status: number, headers: Record<string, string>, urlPath: string, deps: ErrorDocumentsDeps): Promise<void> {
  const { site, mime, log } = deps;
  try {
    const match = site!.match(urlPath);
    for (let attempt = 0; match !== undefined && isMappable(match.rest) && !isHidden(match.rest) && attempt < 3; attempt++) {
      const opened = await site!.open(match.root, match.rest);
      if (opened.kind !== 'file') break;
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
