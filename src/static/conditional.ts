/**
 * Validators and preconditions for a file (RFC 9110 8.8, 13): a strong ETag
 * from its size and modification time (etag, as Express's static files make
 * it, but strong: If-Range needs a strong validator), Last-Modified, and the
 * request's conditions evaluated in the RFC's order: If-Match, else
 * If-Unmodified-Since (412 when false); If-None-Match, else If-Modified-Since
 * (fresh, as Express evaluates them: 304 when the client's copy is current).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Stats } from 'node:fs';
import etag from 'etag';
import fresh from 'fresh';

export interface Validators {
  readonly etag: string;
  readonly lastModified: string;
  /** Last-Modified as a number, to whole seconds (what an HTTP-date can say). */
  readonly modifiedSeconds: number;
}

export function validators(stats: Stats, suffix = ''): Validators {
  const tag = etag(stats, { weak: false });
  return {
    etag: suffix === '' ? tag : tag.slice(0, -1) + suffix + '"',
    lastModified: stats.mtime.toUTCString(),
    modifiedSeconds: Math.floor(stats.mtimeMs / 1000),
  };
}

/** The entity-tags of an If-Match / If-None-Match value. */
function tags(value: string): string[] {
  return value.split(',').map((tag) => tag.trim()).filter(Boolean);
}

function strongMatch(header: string, tag: string): boolean {
  if (header.trim() === '*') return true;
  return tags(header).some((t) => !t.startsWith('W/') && t === tag);
}

function httpDateSeconds(value: string | undefined): number {
  const ms = value === undefined ? NaN : Date.parse(value);
  return Number.isNaN(ms) ? NaN : Math.floor(ms / 1000);
}

export type Precondition = 'none' | 'not-modified' | 'failed';

export function evaluatePreconditions(headers: IncomingHttpHeaders, v: Validators): Precondition {
  const ifMatch = headers['if-match'];
  if (ifMatch !== undefined) {
    if (!strongMatch(ifMatch, v.etag)) return 'failed';
  } else {
    const since = httpDateSeconds(headers['if-unmodified-since']);
    if (v.modifiedSeconds > since) return 'failed';
  }
  return fresh(headers, { etag: v.etag, 'last-modified': v.lastModified }) ? 'not-modified' : 'none';
}

/**
 * If-Range (RFC 9110 13.1.5): the Range applies only while the client's copy is
 * the current one: a strong ETag equal to ours, or a date equal to Last-Modified.
 */
export function ifRangeHolds(value: string | undefined, v: Validators): boolean {
  if (value === undefined) return true;
  const trimmed = value.trim();
  if (trimmed.startsWith('"') || trimmed.startsWith('W/')) return trimmed === v.etag;
  return httpDateSeconds(trimmed) === v.modifiedSeconds;
}
