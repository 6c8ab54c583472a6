/** Renders the HTML templates in templates/ (read once, at first use). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const TEMPLATES = new URL('../../templates/', import.meta.url);
const cache = new Map<string, string>();

export function template(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(fileURLToPath(new URL(name, TEMPLATES)), 'utf8');
    cache.set(name, text);
  }
  return text;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function fill(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (_, key: string) => values[key] ?? '');
}

/** `debugHtml`: the debug page's further sections (debug/error-page.ts), already escaped. */
export function errorPage(status: number, reason: string, detail?: string, trace?: string, debugHtml = ''): string {
  const traceHtml = trace === undefined ? '' : `<h2>Traceback</h2>\n<pre>${escapeHtml(trace)}</pre>\n${debugHtml}`;
  return fill(template('error.html'), {
    status: String(status),
    reason: escapeHtml(reason),
    detail: escapeHtml(detail ?? defaultDetail(status)),
    trace: traceHtml,
  });
}

function defaultDetail(status: number): string {
  switch (status) {
    case 400: return 'The request could not be understood by the server.';
    case 401: return 'This server could not verify that you are authorized to access the document requested.';
    case 403: return "You don't have permission to access this resource.";
    case 404: return 'The requested URL was not found on this server.';
    case 500: return 'The server encountered an internal error and was unable to complete your request.';
    case 503: return 'The server is busy. Please retry shortly.';
    default: return '';
  }
}
