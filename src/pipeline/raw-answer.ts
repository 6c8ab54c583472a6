/**
 * The server's last word on a connection where there is no response object to
 * answer through: a request Node's parser refused (client-error.ts), CONNECT, a
 * head that did not arrive in time (slow-clients.ts). A complete HTTP/1.1
 * answer written straight to the socket, with `Connection: close`, then the
 * connection ends (pipeline/connection.ts).
 *
 * The body is the --error-document for the status when one is configured, as
 * for every other error the server answers; else the built-in page. Without
 * error documents nothing but the built-in page is ever looked at.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { endConnection } from './connection.js';
import { rawErrorDocument, type RawErrorDocument } from './error-response.js';
import { errorPage } from './templates.js';

export interface RawAnswer {
  readonly status: number;
  /** What the built-in page says went wrong. */
  readonly detail: string;
}

function head(status: number, reason: string, headers: Record<string, string | number>): string {
  let text = `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\n`;
  for (const [name, value] of Object.entries(headers)) text += `${name}: ${value}\r\n`;
  return text + '\r\n';
}

/** The answer with the built-in page. */
export function rawReply(status: number, detail: string): string {
  const reason = STATUS_CODES[status] ?? 'Error';
  const body = errorPage(status, reason, detail);
  return head(status, reason, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(body) }) + body;
}

/** The answer with an error document: its body with the original status, or a 302 to its URL (as Apache). */
function documentReply(status: number, doc: RawErrorDocument): Buffer {
  if (doc.kind === 'redirect') {
    return Buffer.from(head(302, 'Found', { Location: doc.location, 'Content-Length': 0 }), 'latin1');
  }
  const reason = STATUS_CODES[status] ?? 'Error';
  const text = head(status, reason, { 'Content-Type': doc.contentType, 'Content-Length': doc.body.length });
  return Buffer.concat([Buffer.from(text, 'latin1'), doc.body]);
}

/** The bytes of the answer; a promise while an error document on the site is read. */
export function rawAnswer({ status, detail }: RawAnswer): string | Buffer | Promise<string | Buffer> {
  const doc = rawErrorDocument(status);
  if (doc === undefined) return rawReply(status, detail);
  if (!(doc instanceof Promise)) return documentReply(status, doc);
  return doc.then(
    (found) => (found === undefined ? rawReply(status, detail) : documentReply(status, found)),
    () => rawReply(status, detail),
  );
}

/** Ends the connection with `answer` (or without a word when undefined). */
export function endWithAnswer(socket: Socket, answer: RawAnswer | undefined): void {
  if (answer === undefined) return endConnection(socket);
  const bytes = rawAnswer(answer);
  if (!(bytes instanceof Promise)) return endConnection(socket, bytes);
  // Nothing more is read (and parsed into a request) while the document is read.
  socket.pause();
  void bytes.then((last) => endConnection(socket, last));
}
