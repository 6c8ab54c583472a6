/**
 * Builds, once per worker, what the static options ask for: the MIME types, the
 * site's roots, the error documents (installed for every error the server
 * sends), and the stages: compress, static (when a document root or an alias is
 * given), error-override. Loaded only when one of those options is (static-setup.ts).
 */
import type { Config } from '../config/schema.js';
import type { Log } from '../logging/log.js';
import { errorDocuments } from '../static/error-documents.js';
import { readMimeTypes } from '../static/mime-file.js';
import { MimeTypes } from '../static/mime.js';
import { Site } from '../static/site.js';
import { compressStage } from './compress.js';
import { errorOverrideStage } from './error-override.js';
import { useErrorBodies } from './error-response.js';
import type { StaticStages } from './static-setup.js';
import { StaticFiles } from './static.js';

export function buildStaticStages(config: Config, log: Log): StaticStages {
  const mime = new MimeTypes(config.mimeTypes === undefined ? undefined : readMimeTypes(config.mimeTypes));
  const site = Site.fromConfig({ documentRoot: config.documentRoot, aliases: config.urlAlias, followSymlinks: config.followSymlinks });
  const bodies = errorDocuments(config.errorDocument, { site, mime, log });
  useErrorBodies(bodies?.response, bodies?.raw);
  const files = site === undefined ? undefined : new StaticFiles(site, mime, {
    directoryIndex: config.directoryIndex,
    directoryListing: config.directoryListing,
    precompressed: config.compressResponses,
  }, log);
  return {
    compress: config.compressResponses ? compressStage : undefined,
    static: files?.stage,
    errorOverride: config.errorOverride ? errorOverrideStage : undefined,
  };
}
