/**
 * Error responses the server itself sends (400, 404, 500, 503 ...): a short HTML
 * page from templates/. In debug mode a 500 carries the source-mapped stack trace;
 * outside debug mode it never does.
 */
import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { errorPage } from './templates.js';

export interface ErrorResponseOptions {
  /** Extra headers, e.g. Retry-After on 503. */
  readonly headers?: Record<string, string>;
  /** Debug mode: the error whose stack the page shows. */
  readonly debugError?: unknown;
  /** Close the connection after this response (the request body may be unread). */
  readonly close?: boolean;
  readonly detail?: string;
}

export function formatError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return `non-Error value thrown: ${String(err)}`;
}

/** Sends a complete error response unless headers already went out; returns false then. */
export function sendError(res: ServerResponse, status: number, opts: ErrorResponseOptions = {}): boolean {
  if (res.headersSent) return false;
  const reason = STATUS_CODES[status] ?? 'Error';
  const trace = opts.debugError === undefined ? undefined : formatError(opts.debugError);
  const body = errorPage(status, reason, opts.detail, trace);
  const headers: Record<string, string | number> = {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...opts.headers,
  };
  if (opts.close) headers.Connection = 'close';
  res.writeHead(status, reason, headers);
  res.end(res.req.method === 'HEAD' ? undefined : body);
  return true;
}
