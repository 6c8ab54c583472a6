/**
 * What a --error-document value means (docs in error-documents.ts): read by the
 * command line to refuse a bad one, and by each worker to serve it.
 */
import { statSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import path from 'node:path';

export type ErrorDocumentTarget =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'local'; readonly path: string }
  | { readonly kind: 'redirect'; readonly url: string };

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** How a --error-document value is served; undefined when it is none of the accepted forms. */
export function classifyErrorDocument(value: string): ErrorDocumentTarget | undefined {
  if (path.isAbsolute(value) && isFile(value)) return { kind: 'file', path: value };
  if (/^https?:\/\/[^/]/i.test(value)) return { kind: 'redirect', url: value };
  if (value.startsWith('/') && !value.startsWith('//')) {
    const raw = value.replace(/[?#].*/, '');
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    return { kind: 'local', path: decoded };
  }
  return undefined;
}

/** An error status --error-document takes: 400-599, one Node knows a reason phrase for. */
export function errorDocumentStatus(text: string): number | undefined {
  if (!/^\d{3}$/.test(text)) return undefined;
  const status = Number(text);
  return status >= 400 && status <= 599 && STATUS_CODES[status] !== undefined ? status : undefined;
}
