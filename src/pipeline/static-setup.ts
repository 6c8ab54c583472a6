/**
 * Builds, once per worker, what the static options ask for: the MIME types, the
 * site's roots, the error documents (installed for every error the server
 * sends), and the static stage (undefined when no document root or alias is given).
 */
import type { Config } from '../config/schema.js';
import type { Log } from '../logging/log.js';
import { errorDocuments } from '../static/error-documents.js';
import { readMimeTypes } from '../static/mime-file.js';
import { MimeTypes } from '../static/mime.js';
import { Site } from '../static/site.js';
import { useErrorBodies } from './error-response.js';
import { StaticFiles } from './static.js';

export function setUpStaticFiles(config: Config, log: Log): StaticFiles | undefined {
  const mime = new MimeTypes(config.mimeTypes === undefined ? undefined : readMimeTypes(config.mimeTypes));
  const site = Site.fromConfig({ documentRoot: config.documentRoot, aliases: config.urlAlias, followSymlinks: config.followSymlinks });
  useErrorBodies(errorDocuments(config.errorDocument, { site, mime, log }));
  if (site === undefined) return undefined;
  return new StaticFiles(site, mime, {
    directoryIndex: config.directoryIndex,
    directoryListing: config.directoryListing,
    precompressed: config.compressResponses,
  }, log);
}
