/**
 * Content-Type for a file name: the extensions of --mime-types first, then the
 * mime-db database (through mime-types, as Express's static files use it).
 * Text types carry `charset=utf-8`, as mime-types gives them; unknown
 * extensions are `application/octet-stream`. Looked up once per extension.
 */
import path from 'node:path';
import mime from 'mime-types';

const UNKNOWN = 'application/octet-stream';

export class MimeTypes {
  private readonly cache = new Map<string, string>();

  constructor(private readonly overlay: ReadonlyMap<string, string> = new Map()) {}

  /** The Content-Type header for `fileName`. */
  contentType(fileName: string): string {
    const ext = path.extname(fileName).slice(1).toLowerCase();
    let type = this.cache.get(ext);
    if (type === undefined) {
      const media = this.overlay.get(ext) ?? (ext === '' ? undefined : mime.types[ext]) ?? UNKNOWN;
      type = mime.contentType(media) || media;
      if (this.cache.size < 4096) this.cache.set(ext, type);
    }
    return type;
  }
}

/** The media type of a Content-Type value, lower case, without parameters. */
export function mediaType(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}
