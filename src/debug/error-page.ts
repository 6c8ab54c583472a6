/**
 * What the debug-mode 500 page shows beyond the stack trace: the source lines
 * around the line of the application's own file that threw (the first frame of
 * the source-mapped stack in one of its files, so a .ts line), and the request
 * (method, URL, headers, the environ's keys). Everything in it is the client's or
 * the application's text, so every piece is escaped. Only called in debug mode:
 * error-response.ts passes an error here only when debugMode gave it one.
 */
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { escapeHtml } from '../pipeline/templates.js';
import { isAppFile, scriptPath } from './app-files.js';

/** Lines shown either side of the throwing line. */
const CONTEXT_LINES = 5;
/** Credentials are not put on a page a browser may cache or a colleague may see over a shoulder. */
const HIDDEN = /authorization|cookie/i;

const environs = new WeakMap<ServerResponse, object>();

/** The interfaces hand over the request's environ (debug mode only), for the page's list of its keys. */
export function rememberEnviron(res: ServerResponse, environ: object | undefined): void {
  if (environ !== undefined) environs.set(res, environ);
}

interface Frame {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** `at fn (file:line:col)` or `at file:line:col`, V8's frame shapes. */
const FRAME = /^\s*at (?:.*? \()?(.+?):(\d+):(\d+)\)?$/;

/** The first frame of the stack in one of the application's own files that can be read. */
export function appFrame(err: unknown): Frame | undefined {
  const stack = err instanceof Error ? err.stack : undefined;
  if (typeof stack !== 'string') return undefined;
  for (const text of stack.split('\n')) {
    const m = FRAME.exec(text);
    if (!m) continue;
    const file = scriptPath(m[1]!);
    if (file === undefined || !isAppFile(file)) continue;
    return { file, line: Number(m[2]), column: Number(m[3]) };
  }
  return undefined;
}

function readLines(file: string): string[] | undefined {
  try {
    const lines = readFileSync(file, 'utf8').split(/\r?\n/);
    if (lines.at(-1) === '') lines.pop(); // the newline that ends the last line
    return lines;
  } catch {
    return undefined;
  }
}

function sourceSection(err: unknown): string {
  const frame = appFrame(err);
  if (frame === undefined) return '';
  const lines = readLines(frame.file);
  if (lines === undefined || frame.line > lines.length) return '';
  const first = Math.max(1, frame.line - CONTEXT_LINES);
  const last = Math.min(lines.length, frame.line + CONTEXT_LINES);
  const width = String(last).length;
  const rows: string[] = [];
  for (let n = first; n <= last; n++) {
    const mark = n === frame.line ? '&gt;' : ' ';
    const text = `${mark} ${String(n).padStart(width)}  ${escapeHtml(lines[n - 1]!)}`;
    rows.push(n === frame.line ? `<mark class="line-current" data-line="${n}">${text}</mark>` : `<span data-line="${n}">${text}</span>`);
  }
  const where = `${escapeHtml(frame.file)}, line ${frame.line}, column ${frame.column}`;
  return `<h2>Source</h2>\n<p class="source-file">${where}</p>\n<pre class="source">${rows.join('\n')}</pre>\n`;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return `array (${value.length})`;
  if (typeof value === 'function') return 'function';
  return (value as object).constructor?.name ?? 'object';
}

function table(className: string, rows: readonly (readonly [string, string])[]): string {
  const body = rows.map(([name, value]) => `<tr><th>${escapeHtml(name)}</th><td>${escapeHtml(value)}</td></tr>`).join('\n');
  return `<table class="${className}">\n${body}\n</table>\n`;
}

function requestSection(res: ServerResponse): string {
  const req = res.req;
  const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '';
  const headers: [string, string][] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    headers.push([name, HIDDEN.test(name) ? '(hidden)' : req.rawHeaders[i + 1]!]);
  }
  let html = `<h2>Request</h2>\n<p class="request-line">${escapeHtml(req.method ?? '')} ${escapeHtml(url)} HTTP/${escapeHtml(req.httpVersion)}</p>\n`;
  html += `<h3>Headers</h3>\n${table('headers', headers)}`;
  const environ = environs.get(res);
  if (environ !== undefined) {
    const keys = Object.keys(environ).sort();
    const rows = keys.map((key): [string, string] => [key, HIDDEN.test(key) ? '(hidden)' : describeValue((environ as Record<string, unknown>)[key])]);
    html += `<h3>Environ</h3>\n${table('environ', rows)}`;
  }
  return html;
}

/** The page's debug sections (HTML, escaped), after the stack trace. */
export function debugSections(err: unknown, res: ServerResponse): string {
  return sourceSection(err) + requestSection(res);
}
