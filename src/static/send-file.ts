/**
 * One file as an HTTP response: validators, preconditions (304, 412), ranges
 * (206, multipart/byteranges, 416), HEAD, and the body from the open descriptor.
 * The caller has opened the file; this closes it, whatever happens.
 */
import type { Stats } from 'node:fs';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Log } from '../logging/log.js';
import type { RequestContext } from '../pipeline/context.js';
import { endConnection } from '../pipeline/connection.js';
import { responseOut, sendError, type ResponseOut } from '../pipeline/error-response.js';
import { evaluatePreconditions, ifRangeHolds, validators } from './conditional.js';
import { readExactly, SMALL_FILE, writeSegments, type BodyOutcome, type Segment } from './file-body.js';
import { contentRange, multipart, parseRanges } from './ranges.js';
import { closeQuietly } from './site.js';

export interface FileToSend {
  readonly fd: number;
  readonly stats: Stats;
  readonly contentType: string;
  /** A precompressed sibling (file.br, file.gz) sent in place of the file. */
  readonly encoding?: 'br' | 'gzip' | undefined;
  /** The response depends on Accept-Encoding (a sibling was chosen by it). */
  readonly vary?: boolean;
}

/** 'retry': the file changed before anything was sent; open it again. */
export type SendOutcome = 'sent' | 'retry';

/** Cuts a response whose body cannot be completed: the client sees fewer bytes than announced. */
function cut(res: ServerResponse): void {
  const socket = res.socket;
  if (socket === null || socket.destroyed) res.destroy();
  else endConnection(socket);
}

function finish(outcome: BodyOutcome, res: ServerResponse, log: Log, rid?: string): void {
  if (outcome === 'done') return;
  if (outcome === 'changed') log.warn(`${res.req.url}: the file changed on disk while it was being sent; connection closed`, rid);
  cut(res);
}

/** The whole body, or undefined when it is larger than SMALL_FILE (streamed then). */
async function smallBody(file: FileToSend, start: number, length: number): Promise<Buffer | undefined | 'changed'> {
  if (length > SMALL_FILE) return undefined;
  return (await readExactly(file.fd, start, length)) ?? 'changed';
}

export async function sendFile(ctx: RequestContext, file: FileToSend, log: Log): Promise<SendOutcome> {
  try {
    return await respond(ctx, file, log);
  } finally {
    closeQuietly(file.fd);
  }
}

async function respond(ctx: RequestContext, file: FileToSend, log: Log): Promise<SendOutcome> {
  const { req, res } = ctx;
  const { stats } = file;
  const v = validators(stats);
  const headers: OutgoingHttpHeaders = { 'Last-Modified': v.lastModified, ETag: v.etag };
  if (file.vary) headers.Vary = 'Accept-Encoding';
  switch (evaluatePreconditions(req.headers, v)) {
    case 'failed':
      sendError(res, 412);
      return 'sent';
    case 'not-modified':
      res.writeHead(304, headers).end();
      return 'sent';
  }
  headers['Content-Type'] = file.contentType;
  if (file.encoding !== undefined) headers['Content-Encoding'] = file.encoding;
  else headers['Accept-Ranges'] = 'bytes';
  const size = stats.size;
  const range = req.headers.range;
  const ranges = range !== undefined && file.encoding === undefined && ifRangeHolds(req.headers['if-range'] as string | undefined, v)
    ? parseRanges(range, size)
    : 'ignore';
  if (ranges === 'unsatisfiable') {
    sendError(res, 416, { headers: { 'Content-Range': `bytes */${size}` } });
    return 'sent';
  }
  const head = req.method === 'HEAD';
  if (ranges === 'ignore' || ranges.length === 1) {
    const start = ranges === 'ignore' ? 0 : ranges[0]!.start;
    const end = ranges === 'ignore' ? size - 1 : ranges[0]!.end;
    const length = end + 1 - start;
    headers['Content-Length'] = length;
    if (ranges !== 'ignore') headers['Content-Range'] = contentRange(ranges[0]!, size);
    const status = ranges === 'ignore' ? 200 : 206;
    if (head || length === 0) {
      res.writeHead(status, headers).end();
      return 'sent';
    }
    const body = await smallBody(file, start, length);
    if (body === 'changed') return 'retry';
    if (res.destroyed) return 'sent';
    res.writeHead(status, headers);
    if (body !== undefined) {
      res.end(body);
      return 'sent';
    }
    finish(await writeSegments(res, responseOut(res), file.fd, stats, [{ start, end }]), res, log, ctx.id);
    return 'sent';
  }
  const parts = multipart(ranges, size, file.contentType);
  headers['Content-Type'] = parts.contentType;
  headers['Content-Length'] = parts.length;
  res.writeHead(206, headers);
  if (head) {
    res.end();
    return 'sent';
  }
  const segments: Segment[] = ranges.map((r, i) => ({ head: parts.heads[i]!, start: r.start, end: r.end }));
  finish(await writeSegments(res, responseOut(res), file.fd, stats, segments, parts.tail), res, log, ctx.id);
  return 'sent';
}

/**
 * A file as the body of an error response (an error document): the status given,
 * no validators or ranges, since the page stands for the error, not for the file.
 */
export async function sendErrorFile(
  res: ServerResponse,
  out: ResponseOut,
  file: FileToSend,
  status: number,
  extra: OutgoingHttpHeaders,
  log: Log,
): Promise<SendOutcome> {
  try {
    const size = file.stats.size;
    const headers: OutgoingHttpHeaders = { ...extra, 'Content-Type': file.contentType, 'Content-Length': size };
    if (res.req.method === 'HEAD' || size === 0) {
      out.writeHead(status, undefined, headers);
      out.end();
      return 'sent';
    }
    const body = await smallBody(file, 0, size);
    if (body === 'changed') return 'retry';
    if (res.destroyed) return 'sent';
    out.writeHead(status, undefined, headers);
    if (body !== undefined) out.end(body);
    else finish(await writeSegments(res, out, file.fd, file.stats, [{ start: 0, end: size - 1 }]), res, log);
    return 'sent';
  } finally {
    closeQuietly(file.fd);
  }
}
