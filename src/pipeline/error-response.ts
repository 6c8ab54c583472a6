/**
 * Error responses the server itself sends (400, 404, 500, 503 ...): a short HTML
 * page from templates/. In debug mode a 500 carries the source-mapped stack trace,
 * the application's source around the throw and the request (debug/error-page.ts);
 * outside debug mode it never does.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { debugSections } from '../debug/error-page.js';
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

/**
 * Where a response the server writes goes: the response's own methods, or (for
 * --error-override) the ones beneath the application's, which then go nowhere.
 */
export interface ResponseOut {
  writeHead(status: number, reason: string | undefined, headers: OutgoingHttpHeaders): void;
  write(chunk: Uint8Array | string): boolean;
  end(chunk?: Uint8Array | string): void;
}

export function responseOut(res: ServerResponse): ResponseOut {
  return {
    writeHead: (status, reason, headers) => void res.writeHead(status, reason, headers),
    write: (chunk) => res.write(chunk),
    end: (chunk) => void res.end(chunk),
  };
}

/**
 * A body other than the built-in page for an error status (--error-document):
 * sends the whole response and returns true, or returns false to leave it to the
 * built-in page. Installed once per worker, before it serves.
 */
export type ErrorBody = (res: ServerResponse, out: ResponseOut, status: number, headers: Record<string, string>) => boolean;

/**
 * The body of an error the server writes straight to a connection, where there
 * is no response object (a request Node's parser refused, CONNECT, a head that
 * did not arrive in time): a document for the status, or undefined for the
 * built-in page. A promise while a document on the site is read.
 */
export type RawErrorBody = (status: number) => RawErrorDocument | Promise<RawErrorDocument | undefined> | undefined;

export type RawErrorDocument =
  | { readonly kind: 'body'; readonly body: Buffer; readonly contentType: string }
  | { readonly kind: 'redirect'; readonly location: string };

let errorBody: ErrorBody | undefined;
let rawErrorBody: RawErrorBody | undefined;

export function useErrorBodies(body: ErrorBody | undefined, raw?: RawErrorBody): void {
  errorBody = body;
  rawErrorBody = raw;
}

/** The --error-document body for an error written straight to a connection; undefined: the built-in page. */
export function rawErrorDocument(status: number): ReturnType<RawErrorBody> {
  return rawErrorBody?.(status);
}

const SERVER_ANSWER = Symbol('tsgi.serverAnswer');

/** Whether the response is the server's own error answer (sendError), not the application's. */
export function isServerAnswer(res: ServerResponse): boolean {
  return (res as ServerResponse & { [SERVER_ANSWER]?: boolean })[SERVER_ANSWER] === true;
}

/** Sends a complete error response unless headers already went out; returns false then. */
export function sendError(res: ServerResponse, status: number, opts: ErrorResponseOptions = {}, out?: ResponseOut): boolean {
  if (res.headersSent) return false;
  (res as ServerResponse & { [SERVER_ANSWER]?: boolean })[SERVER_ANSWER] = true;
  // Debug mode's 500 shows the stack trace, which no error document can.
  if (errorBody !== undefined && opts.debugError === undefined) {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.close) headers.Connection = 'close';
    if (errorBody(res, out ?? responseOut(res), status, headers)) return true;
  }
  sendBuiltInError(res, status, opts, out);
  return true;
}

/** The built-in error page, whatever --error-document says. */
export function sendBuiltInError(res: ServerResponse, status: number, opts: ErrorResponseOptions = {}, out?: ResponseOut): void {
  const reason = STATUS_CODES[status] ?? 'Error';
  const trace = opts.debugError === undefined ? undefined : formatError(opts.debugError);
  const debugHtml = opts.debugError === undefined ? '' : debugSections(opts.debugError, res);
  const body = errorPage(status, reason, opts.detail, trace, debugHtml);
  const headers: Record<string, string | number> = {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...opts.headers,
  };
  if (opts.close) headers.Connection = 'close';
  const payload = res.req.method === 'HEAD' ? undefined : body;
  if (out === undefined) res.writeHead(status, reason, headers).end(payload);
  else {
    out.writeHead(status, reason, headers);
    out.end(payload);
  }
}
