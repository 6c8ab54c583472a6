import assert from 'node:assert/strict';
import type { Stats } from 'node:fs';
import { describe, it } from 'node:test';
import { acceptedCodings } from '../../src/static/codings.js';
import { evaluatePreconditions, ifRangeHolds, validators } from '../../src/static/conditional.js';
import { classifyErrorDocument, errorDocumentStatus } from '../../src/static/error-document-spec.js';
import { formatSize, parseSort } from '../../src/static/listing.js';
import { MimeFileError, parseMimeTypes } from '../../src/static/mime-file.js';
import { MimeTypes } from '../../src/static/mime.js';
import { hasEncodedSeparator, isHidden, isMappable, rawPath } from '../../src/static/paths.js';
import { multipart, parseRanges } from '../../src/static/ranges.js';

describe('static paths', () => {
  it('refuses what decoding can turn into a climb or a hidden separator', () => {
    for (const bad of ['/../x', '/a/./b', '/a/..', '/a\\b', '/a\0b']) assert.equal(isMappable(bad), false, bad);
    for (const good of ['/', '/a/b.txt', '/.well-known/x', '/a..b', '/...']) assert.equal(isMappable(good), true, good);
    assert.equal(hasEncodedSeparator('/a%2fb'), true);
    assert.equal(hasEncodedSeparator('/a%5Cb'), true);
    assert.equal(hasEncodedSeparator('/a%20b'), false);
    assert.equal(rawPath('//a///b?x=//y'), '/a/b');
  });

  it('dotfiles and dot-directories are hidden, except /.well-known/ and what is in it', () => {
    for (const hidden of ['/.env', '/a/.git/config', '/.git', '/.well-known/.x', '/a/.well-known/x', '/.well-knownx']) {
      assert.equal(isHidden(hidden), true, hidden);
    }
    for (const shown of ['/a.b', '/.well-known', '/.well-known/', '/.well-known/acme/x']) assert.equal(isHidden(shown), false, shown);
  });
});

describe('ranges', () => {
  const ranges = (header: string, size: number) => {
    const parsed = parseRanges(header, size);
    return Array.isArray(parsed) ? parsed.map((r) => ({ ...r })) : parsed;
  };

  it('parses, combines, refuses and ignores as RFC 9110 says', () => {
    assert.deepEqual(ranges('bytes=0-9', 100), [{ start: 0, end: 9 }]);
    assert.deepEqual(ranges('bytes=90-200', 100), [{ start: 90, end: 99 }]);
    assert.deepEqual(ranges('bytes=0-9,5-20', 100), [{ start: 0, end: 20 }]);
    assert.equal(parseRanges('bytes=100-', 100), 'unsatisfiable');
    assert.equal(parseRanges('bytes=0-0', 0), 'unsatisfiable');
    assert.equal(parseRanges('bytes=x-y', 100), 'ignore');
    assert.equal(parseRanges('items=0-1', 100), 'ignore');
    assert.equal(parseRanges('bytes=' + Array.from({ length: 200 }, (_, i) => `${i}-${i}`).join(','), 1000), 'ignore');
  });

  it('the multipart length is the length of what is sent', () => {
    const ranges = [{ start: 0, end: 9 }, { start: 50, end: 59 }];
    const parts = multipart(ranges, 100, 'text/plain');
    const sent = parts.heads.reduce((n, h) => n + h.length, 0) + 20 + parts.tail.length;
    assert.equal(parts.length, sent);
    assert.match(parts.heads[0]!.toString(), /^--\w+\r\nContent-Type: text\/plain\r\nContent-Range: bytes 0-9\/100\r\n\r\n$/);
    assert.match(parts.heads[1]!.toString(), /^\r\n--\w+\r\n/);
    assert.match(parts.tail.toString(), /^\r\n--\w+--\r\n$/);
  });
});

describe('validators and preconditions', () => {
  const stats = { size: 10, mtime: new Date('2026-01-02T03:04:05.678Z'), mtimeMs: Date.parse('2026-01-02T03:04:05.678Z'), ctime: new Date(), ino: 1 } as unknown as Stats;
  const v = validators(stats);

  it('a strong ETag and an HTTP-date Last-Modified', () => {
    assert.match(v.etag, /^"a-[0-9a-f]+"$/);
    assert.equal(v.lastModified, 'Fri, 02 Jan 2026 03:04:05 GMT');
  });

  it('If-Match and If-Unmodified-Since fail; If-None-Match and If-Modified-Since say not modified', () => {
    assert.equal(evaluatePreconditions({ 'if-match': '"x"' }, v), 'failed');
    assert.equal(evaluatePreconditions({ 'if-match': '*' }, v), 'none');
    assert.equal(evaluatePreconditions({ 'if-match': `W/${v.etag}` }, v), 'failed', 'If-Match compares strongly');
    assert.equal(evaluatePreconditions({ 'if-unmodified-since': 'Fri, 02 Jan 2026 03:04:04 GMT' }, v), 'failed');
    assert.equal(evaluatePreconditions({ 'if-unmodified-since': v.lastModified }, v), 'none');
    assert.equal(evaluatePreconditions({ 'if-none-match': `"x", ${v.etag}` }, v), 'not-modified');
    assert.equal(evaluatePreconditions({ 'if-modified-since': v.lastModified }, v), 'not-modified');
    assert.equal(evaluatePreconditions({ 'if-none-match': '"x"', 'if-modified-since': v.lastModified }, v), 'none');
  });

  it('If-Range holds for our strong ETag or our exact date only', () => {
    assert.equal(ifRangeHolds(undefined, v), true);
    assert.equal(ifRangeHolds(v.etag, v), true);
    assert.equal(ifRangeHolds(`W/${v.etag}`, v), false);
    assert.equal(ifRangeHolds(v.lastModified, v), true);
    assert.equal(ifRangeHolds('Fri, 02 Jan 2026 03:04:06 GMT', v), false);
  });
});

describe('MIME types', () => {
  it('an Apache mime.types file on top of mime-db; a bad line names its place', () => {
    const overlay = parseMimeTypes('# c\ntext/x-mine  mine MINE2\n\napplication/x-css css\n', 'f');
    const mime = new MimeTypes(overlay);
    assert.equal(mime.contentType('a.mine'), 'text/x-mine; charset=utf-8');
    assert.equal(mime.contentType('a.mine2'), 'text/x-mine; charset=utf-8');
    assert.equal(mime.contentType('a.css'), 'application/x-css');
    assert.equal(mime.contentType('a.html'), 'text/html; charset=utf-8');
    assert.equal(mime.contentType('a.png'), 'image/png');
    assert.equal(mime.contentType('README'), 'application/octet-stream');
    assert.throws(() => parseMimeTypes('text/plain txt\nbogus x\n', 'types'), (err: Error) => err instanceof MimeFileError && /^types:2: "bogus"/.test(err.message));
  });
});

describe('listing helpers', () => {
  it('sizes as Apache prints them; the sort column and order from the query', () => {
    assert.deepEqual([0, 972, 1024, 10 * 1024, 1.5 * 1024 * 1024, 5 * 1024 ** 3].map(formatSize), ['0', '972', '1.0K', '10K', '1.5M', '5.0G']);
    assert.deepEqual(parseSort(''), { column: 'N', descending: false });
    assert.deepEqual(parseSort('C=M;O=D'), { column: 'M', descending: true });
    assert.deepEqual(parseSort('O=D&C=S'), { column: 'S', descending: true });
  });
});

describe('codings and error documents', () => {
  it('brotli first on a tie; q=0 refuses; no header, no coding', () => {
    assert.deepEqual(acceptedCodings({ 'accept-encoding': 'gzip, br' }), ['br', 'gzip']);
    assert.deepEqual(acceptedCodings({ 'accept-encoding': 'br;q=0, gzip' }), ['gzip']);
    assert.deepEqual(acceptedCodings({}), []);
  });

  it('a --error-document value is a file, a site URL or a redirect; the status is 400-599', () => {
    assert.deepEqual(classifyErrorDocument('/errors/404%20page.html?x'), { kind: 'local', path: '/errors/404 page.html' });
    assert.deepEqual(classifyErrorDocument('https://e.example/x'), { kind: 'redirect', url: 'https://e.example/x' });
    assert.equal(classifyErrorDocument('//e.example/x'), undefined);
    assert.equal(classifyErrorDocument('relative.html'), undefined);
    assert.equal(classifyErrorDocument('/etc/hostname')?.kind, 'file');
    assert.equal(errorDocumentStatus('404'), 404);
    assert.equal(errorDocumentStatus('200'), undefined);
    assert.equal(errorDocumentStatus('499'), undefined);
  });
});
