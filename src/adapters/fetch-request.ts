/**
 * IncomingMessage -> fetch Request, as the client addressed it: the public URL
 * (scheme and Host as the client sent them, mount point included), the filtered
 * headers, and the body streamed straight from the socket.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerInfo } from '../tsgi/environ.js';
import { requestBody } from './request-body.js';

/** Only these may carry no body; every other method streams whatever the client sends. */
function hasBody(req: IncomingMessage): boolean {
  const method = req.method;
  if (method === 'GET' || method === 'HEAD') return false;
  const headers = req.headers;
  // Node's parser gives a request without either header an empty body; skip the stream then.
  return headers['transfer-encoding'] !== undefined ||
    (headers['content-length'] !== undefined && headers['content-length'] !== '0');
}

export function publicUrl(req: IncomingMessage, server: ServerInfo): string {
  const url = req.url ?? '/';
  if (url.charCodeAt(0) !== 47 /* '/' */) {
    // Absolute-form request target (proxies send it): already the full URL.
    if (/^https?:\/\//i.test(url)) return url;
    return `${server.scheme}://${req.headers.host || 'localhost:' + server.port}/${url === '*' ? '' : url}`;
  }
  return `${server.scheme}://${req.headers.host || 'localhost:' + server.port}${url}`;
}

function headerPairs(raw: readonly string[]): [string, string][] {
  const pairs = new Array<[string, string]>(raw.length >> 1);
  for (let i = 0, j = 0; i < raw.length; i += 2, j++) pairs[j] = [raw[i]!, raw[i + 1]!];
  return pairs;
}

/** Throws TypeError when the Host header cannot form a URL (the caller answers 400). */
export function toRequest(
  req: IncomingMessage,
  res: ServerResponse,
  server: ServerInfo,
  signal: AbortSignal,
): Request {
  const init: RequestInit & { duplex?: 'half' } = {
    method: req.method,
    headers: headerPairs(req.rawHeaders),
    signal,
  };
  if (hasBody(req)) {
    init.body = requestBody(req, res);
    init.duplex = 'half';
  }
  return new Request(publicUrl(req, server), init);
}
