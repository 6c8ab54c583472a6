/**
 * Reads an Apache `mime.types` file (--mime-types): one media type per line,
 * followed by the file extensions that have it; `#` starts a comment. Used by the
 * command line to refuse a bad file before anything starts, and by each worker.
 */
import { readFileSync } from 'node:fs';

const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$/;

export class MimeFileError extends Error {}

/** extension (lower case, no dot) -> media type (lower case). */
export function parseMimeTypes(text: string, file: string): Map<string, string> {
  const types = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/#.*/, '').trim();
    if (line === '') continue;
    const [type, ...extensions] = line.split(/\s+/);
    if (!MEDIA_TYPE.test(type!)) {
      throw new MimeFileError(`${file}:${i + 1}: "${type}" is not a media type (type/subtype)`);
    }
    for (const ext of extensions) types.set(ext.replace(/^\./, '').toLowerCase(), type!.toLowerCase());
  }
  return types;
}

export function readMimeTypes(file: string): Map<string, string> {
  return parseMimeTypes(readFileSync(file, 'utf8'), file);
}
