/**
 * Stage: static files (--document-root, --url-alias), before the application
 * and after the host check, the mount split and access control, so a file
 * answer is checked and logged as an application answer is. mod_wsgi-express's
 * order: an alias URL is the server's alone (what it does not serve is 404); a
 * path naming a file under the document root is served from it; a directory
 * there too when --directory-index or --directory-listing is given (mod_wsgi-express
 * hands directories to the app unless --directory-index is given; here a
 * listing asked for is a listing shown); anything else goes to the application,
 * or is 404 outside the --mount-point.
 *
 * Only GET and HEAD are served (405 with Allow otherwise). Paths that could
 * climb out of a root (paths.ts: `%2F`, `%5C`, a backslash, a decoded dot
 * segment) are never looked up and are 404, for the application too, as
 * Apache's default AllowEncodedSlashes Off has it; dotfiles and dot-directories
 * are 404 except under /.well-known/; a file that changes before its first
 * byte is sent is opened again.
 */
import type { Log } from '../logging/log.js';
import { acceptedCodings, siblingName } from '../static/codings.js';
import { renderListing } from '../static/listing.js';
import type { MimeTypes } from '../static/mime.js';
import { hasEncodedSeparator, isHidden, isMappable, rawPath } from '../static/paths.js';
import { sendFile, type FileToSend } from '../static/send-file.js';
import { closeQuietly, type Match, type Opened, type Root, type Site } from '../static/site.js';
import type { RequestContext, Stage } from './context.js';
import { sendError } from './error-response.js';
import { absoluteForm } from './request-view.js';

export interface StaticOptions {
  readonly directoryIndex?: string | undefined;
  readonly directoryListing: boolean;
  /** --compress-responses: precompressed siblings (file.br, file.gz) are sent when accepted. */
  readonly precompressed: boolean;
}

const ALLOW = { Allow: 'GET, HEAD' };
/** How often a file that changes under a request is opened again before giving up. */
const ATTEMPTS = 3;

type Next = (ctx: RequestContext) => void;

/** The raw path of the request as matched (the mount stage merged slashes and removed dot segments). */
function requestRawPath(ctx: RequestContext): string {
  const url = ctx.req.url ?? '/';
  return rawPath(absoluteForm(url)?.rest ?? url);
}

export class StaticFiles {
  private readonly serveDirectories: boolean;

  constructor(
    private readonly site: Site,
    private readonly mime: MimeTypes,
    private readonly options: StaticOptions,
    private readonly log: Log,
  ) {
    this.serveDirectories = options.directoryIndex !== undefined || options.directoryListing;
  }

  readonly stage: Stage = (ctx, next) => {
    const path = ctx.scriptName + ctx.pathInfo;
    const match = this.site.match(path);
    if (match === undefined) return this.notStatic(ctx, next);
    // Apache's AllowEncodedSlashes Off: a %2F or %5C in the path is 404, whoever would answer it.
    if (!isMappable(match.rest) || hasEncodedSeparator(requestRawPath(ctx))) return void sendError(ctx.res, 404);
    this.serve(ctx, next, match, 1).catch((err: unknown) => this.failed(ctx, err));
  };

  /** Not a static answer: the application's, inside the mount point; 404 outside it. */
  private notStatic(ctx: RequestContext, next: Next): void {
    if (ctx.outsideMount) sendError(ctx.res, 404);
    else next(ctx);
  }

  private failed(ctx: RequestContext, err: unknown): void {
    this.log.error(`static file ${ctx.req.url}: ${(err as Error).message ?? String(err)}`, ctx.id);
    if (!sendError(ctx.res, 500) && !ctx.res.writableEnded) ctx.res.destroy();
  }

  private async serve(ctx: RequestContext, next: Next, match: Match, attempt: number): Promise<void> {
    const { root, rest } = match;
    const opened = await this.site.open(root, rest);
    if (opened.kind === 'missing') return root.alias ? void sendError(ctx.res, 404) : this.notStatic(ctx, next);
    if (isHidden(rest)) {
      if (opened.kind === 'file') closeQuietly(opened.fd);
      return void sendError(ctx.res, 404);
    }
    if (opened.kind === 'forbidden') return this.forbidden(ctx, opened.why);
    if (opened.kind === 'dir' && !root.alias && !this.serveDirectories && !ctx.outsideMount) {
      return next(ctx);
    }
    const method = ctx.req.method;
    if (method !== 'GET' && method !== 'HEAD') {
      if (opened.kind === 'file') closeQuietly(opened.fd);
      return void sendError(ctx.res, 405, { headers: ALLOW });
    }
    if (opened.kind === 'dir') return this.directory(ctx, match, opened.path);
    const outcome = await this.sendOpened(ctx, root, opened);
    if (outcome === 'retry' && attempt < ATTEMPTS) return this.serve(ctx, next, match, attempt + 1);
    if (outcome === 'retry') sendError(ctx.res, 503, { headers: { 'Retry-After': '1' } });
  }

  private forbidden(ctx: RequestContext, why: string): void {
    this.log.info(`${ctx.req.url}: refused: ${why}`, ctx.id);
    // A symlink out of the root is as good as not there: nothing outside is revealed.
    sendError(ctx.res, why.startsWith('a symlink') ? 404 : 403);
  }

  private async sendOpened(ctx: RequestContext, root: Root, opened: Extract<Opened, { kind: 'file' }>) {
    const contentType = this.mime.contentType(opened.path);
    let file: FileToSend = { fd: opened.fd, stats: opened.stats, contentType };
    if (this.options.precompressed && ctx.req.headers.range === undefined) {
      file = (await this.precompressed(ctx, root, opened, contentType)) ?? file;
    }
    return sendFile(ctx, file, this.log);
  }

  /**
   * A sibling file.br or file.gz in a coding the client accepts, no older than
   * the file itself (a stale copy is ignored): sent in its place, so nothing is
   * compressed per request. The original's descriptor is closed when one is used.
   */
  private async precompressed(ctx: RequestContext, root: Root, opened: Extract<Opened, { kind: 'file' }>, contentType: string) {
    for (const coding of acceptedCodings(ctx.req.headers)) {
      const sibling = await this.site.openPath(root, siblingName(opened.path, coding));
      if (sibling.kind !== 'file') continue;
      if (sibling.stats.mtimeMs < opened.stats.mtimeMs) {
        closeQuietly(sibling.fd);
        continue;
      }
      closeQuietly(opened.fd);
      return { fd: sibling.fd, stats: sibling.stats, contentType, encoding: coding, vary: true } satisfies FileToSend;
    }
    return undefined;
  }

  /** A directory: /dir redirects to /dir/; then the index file, the listing, or 403. */
  private async directory(ctx: RequestContext, match: Match, dir: string): Promise<void> {
    const { root, rest } = match;
    if (!rest.endsWith('/')) {
      const query = ctx.queryString === '' ? '' : '?' + ctx.queryString;
      const location = requestRawPath(ctx) + '/' + query;
      ctx.res.writeHead(301, { Location: location, 'Content-Length': 0 }).end();
      return;
    }
    const index = this.options.directoryIndex;
    if (index !== undefined) {
      const opened = await this.site.openPath(root, dir + '/' + index);
      if (opened.kind === 'file') {
        const outcome = await this.sendOpened(ctx, root, opened);
        if (outcome === 'retry') sendError(ctx.res, 503, { headers: { 'Retry-After': '1' } });
        return;
      }
      if (opened.kind === 'forbidden') return this.forbidden(ctx, opened.why);
    }
    if (!this.options.directoryListing) return void sendError(ctx.res, 403);
    const html = await renderListing(this.site, root, dir, ctx.scriptName + ctx.pathInfo, ctx.queryString);
    const body = Buffer.from(html);
    ctx.res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': body.length });
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : body);
  }
}
