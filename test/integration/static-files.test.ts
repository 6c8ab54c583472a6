// Static files through the real server (curl, raw sockets): what is served
// from --document-root and --url-alias and what goes to the application; file
// headers, conditional and Range requests, HEAD, methods; directories.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { killAll, startServer, type RunningServer } from '../helpers/server.js';
import { CSS, curl, makeSite, rawGet, type TestSite } from '../helpers/static-site.js';

let site: TestSite;
before(() => {
  site = makeSite();
});
after(() => {
  killAll();
  site.remove();
});

describe('--document-root and --url-alias', { timeout: 120_000 }, () => {
  let server: RunningServer;
  let base: string;
  before(async () => {
    server = await startServer([
      site.app, '--document-root', site.root, '--access-log',
      '--url-alias', '/media', site.media,
      '--url-alias', '/media/deep', site.file('root/sub'),
      '--url-alias', '/favicon.ico', site.file('favicon.ico'),
    ]);
    base = server.url.replace(/\/$/, '');
  });

  it('serves a file with its type, length, validators and Accept-Ranges', async () => {
    const r = await curl(`${base}/style.css`);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), CSS);
    assert.equal(r.headers['content-type'], 'text/css; charset=utf-8');
    assert.equal(r.headers['content-length'], String(CSS.length));
    assert.match(r.headers.etag!, /^"[0-9a-f]+-[0-9a-f]+"$/);
    assert.ok(!Number.isNaN(Date.parse(r.headers['last-modified']!)));
    assert.equal(r.headers['accept-ranges'], 'bytes');
    const bin = await curl(`${base}/data.bin`);
    assert.equal(bin.headers['content-type'], 'application/octet-stream');
    assert.ok(bin.body.equals(site.binary));
  });

  it('an empty file is a 200 with Content-Length 0; an unknown extension is application/octet-stream', async () => {
    const empty = await curl(`${base}/empty.txt`);
    assert.equal(empty.status, 200);
    assert.equal(empty.headers['content-length'], '0');
    assert.equal(empty.body.length, 0);
    assert.equal((await curl(`${base}/unknown.zzq`)).headers['content-type'], 'application/octet-stream');
  });

  it('what names no file goes to the application, with its path', async () => {
    const r = await curl(`${base}/not/a/file?q=1`);
    assert.equal(r.body.toString(), 'app GET |/not/a/file');
    // A directory, without --directory-index or --directory-listing, is the app's too.
    assert.equal((await curl(`${base}/sub/`)).body.toString(), 'app GET |/sub/');
    assert.equal((await curl(`${base}/`)).body.toString(), 'app GET |/');
  });

  it('HEAD has the GET headers and no body (raw socket)', async () => {
    const get = await rawGet(server.port, '/data.bin');
    const head = await rawGet(server.port, '/data.bin', {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0, 'no body bytes after the head');
    for (const name of ['content-type', 'content-length', 'etag', 'last-modified', 'accept-ranges']) {
      assert.equal(head.headers[name], get.headers[name], name);
    }
  });

  it('other methods get 405 with Allow; a missing file still goes to the app', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const r = await rawGet(server.port, '/style.css', { 'Content-Length': '0' }, method);
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, 'GET, HEAD');
    }
    const post = await rawGet(server.port, '/nothing-here', { 'Content-Length': '0' }, 'POST');
    assert.equal(post.body.toString(), 'app POST |/nothing-here');
  });

  it('If-None-Match and If-Modified-Since give 304; If-Match and If-Unmodified-Since can give 412', async () => {
    const first = await curl(`${base}/style.css`);
    const { etag } = first.headers;
    const lastModified = first.headers['last-modified']!;
    const byTag = await curl(`${base}/style.css`, ['-H', `If-None-Match: "nope", ${etag}`]);
    assert.equal(byTag.status, 304);
    assert.equal(byTag.body.length, 0);
    assert.equal(byTag.headers.etag, etag);
    assert.equal((await curl(`${base}/style.css`, ['-H', 'If-None-Match: "other"'])).status, 200);
    assert.equal((await curl(`${base}/style.css`, ['-H', `If-Modified-Since: ${lastModified}`])).status, 304);
    const earlier = new Date(Date.parse(lastModified) - 60_000).toUTCString();
    assert.equal((await curl(`${base}/style.css`, ['-H', `If-Modified-Since: ${earlier}`])).status, 200);
    assert.equal((await curl(`${base}/style.css`, ['-H', 'If-Match: "other"'])).status, 412);
    assert.equal((await curl(`${base}/style.css`, ['-H', `If-Match: ${etag}`])).status, 200);
    assert.equal((await curl(`${base}/style.css`, ['-H', `If-Unmodified-Since: ${earlier}`])).status, 412);
  });

  it('one range: 206 with Content-Range; several: multipart/byteranges; none satisfiable: 416', async () => {
    const size = site.binary.length;
    const one = await curl(`${base}/data.bin`, ['-H', 'Range: bytes=100-199']);
    assert.equal(one.status, 206);
    assert.equal(one.headers['content-range'], `bytes 100-199/${size}`);
    assert.equal(one.headers['content-length'], '100');
    assert.ok(one.body.equals(site.binary.subarray(100, 200)));
    const suffix = await curl(`${base}/data.bin`, ['-H', 'Range: bytes=-10']);
    assert.ok(suffix.body.equals(site.binary.subarray(size - 10)));
    // A large range is streamed (past the small-file read).
    const large = await curl(`${base}/data.bin`, ['-H', 'Range: bytes=1000-250000']);
    assert.ok(large.body.equals(site.binary.subarray(1000, 250001)));

    const multi = await curl(`${base}/data.bin`, ['-H', 'Range: bytes=0-9, 200000-200099, 5-20']);
    assert.equal(multi.status, 206);
    const boundary = /^multipart\/byteranges; boundary=(\S+)$/.exec(multi.headers['content-type']!)?.[1];
    assert.ok(boundary, multi.headers['content-type']);
    assert.equal(Number(multi.headers['content-length']), multi.body.length);
    const parts = parseMultipart(multi.body, boundary!);
    // Overlapping ranges are combined (0-9 and 5-20 become 0-20), in the order asked.
    assert.deepEqual(parts.map((p) => p.range), [`bytes 0-20/${size}`, `bytes 200000-200099/${size}`]);
    assert.ok(parts[0]!.body.equals(site.binary.subarray(0, 21)));
    assert.ok(parts[1]!.body.equals(site.binary.subarray(200000, 200100)));
    assert.ok(parts.every((p) => p.type === 'application/octet-stream'));

    const bad = await curl(`${base}/data.bin`, ['-H', `Range: bytes=${size}-`]);
    assert.equal(bad.status, 416);
    assert.equal(bad.headers['content-range'], `bytes */${size}`);
    // A Range the server cannot read is ignored: the whole file.
    const ignored = await curl(`${base}/data.bin`, ['-H', 'Range: lines=1-2']);
    assert.equal(ignored.status, 200);
    assert.equal(ignored.body.length, size);
  });

  it('If-Range: the range when the validator is current, the whole file when not', async () => {
    const { etag, 'last-modified': lastModified } = (await curl(`${base}/data.bin`, ['-I'])).headers;
    const current = await curl(`${base}/data.bin`, ['-H', 'Range: bytes=0-3', '-H', `If-Range: ${etag}`]);
    assert.equal(current.status, 206);
    const byDate = await curl(`${base}/data.bin`, ['-H', 'Range: bytes=0-3', '-H', `If-Range: ${lastModified}`]);
    assert.equal(byDate.status, 206);
    const stale = await curl(`${base}/data.bin`, ['-H', 'Range: bytes=0-3', '-H', 'If-Range: "old"']);
    assert.equal(stale.status, 200);
    assert.equal(stale.body.length, site.binary.length);
    const weak = await curl(`${base}/data.bin`, ['-H', 'Range: bytes=0-3', '-H', `If-Range: W/${etag}`]);
    assert.equal(weak.status, 200, 'a weak validator never matches If-Range');
  });

  it('HEAD with a Range: the 206 headers, no body', async () => {
    const r = await rawGet(server.port, '/data.bin', { Range: 'bytes=0-9,20-29' }, 'HEAD');
    assert.equal(r.status, 206);
    assert.match(r.headers['content-type']!, /^multipart\/byteranges/);
    assert.equal(r.body.length, 0);
  });

  it('an alias to a directory serves its files; a miss under it is 404, never the app', async () => {
    assert.equal((await curl(`${base}/media/photo.txt`)).body.toString(), 'photo bytes\n');
    const miss = await curl(`${base}/media/nothing.txt`);
    assert.equal(miss.status, 404);
    assert.doesNotMatch(miss.body.toString(), /^app /);
    // Whole segments only: /mediax is not under /media.
    assert.equal((await curl(`${base}/mediax`)).body.toString(), 'app GET |/mediax');
    // The longest alias wins: /media/deep is the sub directory, not media/deep.
    assert.equal((await curl(`${base}/media/deep/page.txt`)).body.toString(), 'sub page\n');
    assert.equal((await curl(`${base}/media/deep/x.txt`)).status, 404);
    // POST to an alias is the server's too.
    assert.equal((await rawGet(server.port, '/media/photo.txt', { 'Content-Length': '0' }, 'POST')).status, 405);
  });

  it('an alias to a file serves that URL only; a directory under an alias without index or listing is 403', async () => {
    const icon = await curl(`${base}/favicon.ico`);
    assert.equal(icon.body.toString(), 'icon bytes');
    assert.equal(icon.headers['content-type'], 'image/vnd.microsoft.icon');
    assert.equal((await curl(`${base}/favicon.ico/x`)).status, 404);
    const dir = await curl(`${base}/media/deep2/`);
    assert.equal(dir.status, 404);
    assert.equal((await curl(`${base}/media`)).status, 301);
    assert.equal((await curl(`${base}/media/`)).status, 403);
  });

  it('static answers are in the access log', async () => {
    const from = server.output().length;
    await curl(`${base}/small.txt`);
    await server.waitFor(/"GET \/small\.txt HTTP\/1\.1" 200 11/, 5000, from);
  });

  it('a bad Host is refused before any file is served', async () => {
    const r = await rawGet(server.port, '/style.css', { Host: 'a/b' });
    assert.equal(r.status, 400);
  });
});

describe('--mount-point with a document root', { timeout: 60_000 }, () => {
  it('the app keeps its prefix; the rest of the site comes from the document root, or is 404', async () => {
    const server = await startServer([site.app, '--document-root', site.root, '--mount-point', '/app']);
    const base = server.url.replace(/\/$/, '');
    assert.equal((await curl(`${base}/app/x`)).body.toString(), 'app GET /app|/x');
    assert.equal((await curl(`${base}/style.css`)).body.toString(), CSS);
    const outside = await curl(`${base}/elsewhere`);
    assert.equal(outside.status, 404);
    assert.doesNotMatch(outside.body.toString(), /^app /);
    // A file under the mount point's own path in the document root is still a file.
    assert.equal((await curl(`${base}/app`)).body.toString(), 'app GET /app|');
  });
});

describe('--directory-index and --directory-listing', { timeout: 60_000 }, () => {
  it('--directory-index: /dir redirects to /dir/ (query kept), which serves the index; no index and no listing is 403', async () => {
    const server = await startServer([site.app, '--document-root', site.root, '--directory-index', 'index.html']);
    const base = server.url.replace(/\/$/, '');
    const redirect = await curl(`${base}/sub?x=1`);
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.location, '/sub/?x=1');
    const index = await curl(`${base}/sub/`);
    assert.equal(index.body.toString(), '<h1>sub index</h1>\n');
    assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal((await curl(`${base}/noindex/`)).status, 403);
    // Directories no longer reach the app; what does not exist still does.
    assert.equal((await curl(`${base}/`)).status, 403);
    assert.equal((await curl(`${base}/nothing/`)).body.toString(), 'app GET |/nothing/');
    // A redirect never leaves the site, whatever the slashes.
    const slashes = await rawGet(server.port, '//sub');
    assert.equal(slashes.status, 301);
    assert.equal(slashes.headers.location, '/sub/');
  });

  it('--directory-listing: a directory without an index is listed; with both, the index wins', async () => {
    const server = await startServer([site.app, '--document-root', site.root, '--directory-index', 'index.html', '--directory-listing']);
    const base = server.url.replace(/\/$/, '');
    assert.equal((await curl(`${base}/sub/`)).body.toString(), '<h1>sub index</h1>\n');
    const listing = await curl(`${base}/`);
    assert.equal(listing.status, 200);
    assert.equal(listing.headers['content-type'], 'text/html; charset=utf-8');
    const html = listing.body.toString();
    assert.match(html, /<title>Index of \/<\/title>/);
    const names = [...html.matchAll(/<a href="([^"?]+)">/g)].map((m) => m[1]);
    assert.ok(names.includes('style.css') && names.includes('sub/') && names.includes('.well-known/') === false, names.join(' '));
    assert.ok(!html.includes('.env') && !html.includes('.git'), 'dotfiles are not listed');
    assert.ok(!html.includes('link-out.txt') && !html.includes('dir-out'), 'symlinks out of the root are not listed');
    assert.ok(html.includes('link-in.css'), 'a symlink inside the root is');
    const sorted = [...names].sort();
    assert.deepEqual(names, sorted, 'sorted by name');
    const bySize = (await curl(`${base}/?C=S;O=D`)).body.toString();
    const sizeNames = [...bySize.matchAll(/<a href="([^"?]+)">/g)].map((m) => m[1]);
    assert.equal(sizeNames[0], 'data.bin', 'the largest first');
    const nested = (await curl(`${base}/noindex/`)).body.toString();
    assert.match(nested, /<a href="\.\.\/">Parent Directory<\/a>/);
    assert.match(nested, /<a href="a\.txt">a\.txt<\/a><\/td><td>\d{4}-\d\d-\d\d \d\d:\d\d<\/td><td class="size">2<\/td>/);
  });
});

describe('--mime-types', { timeout: 60_000 }, () => {
  it('extensions the file names take its types; the others keep the built-in ones', async () => {
    const types = site.file('mime.types');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(types, '# local types\ntext/x-custom\tzzq\napplication/x-override css\n\n');
    const server = await startServer([site.app, '--document-root', site.root, '--mime-types', types]);
    const base = server.url.replace(/\/$/, '');
    assert.equal((await curl(`${base}/unknown.zzq`)).headers['content-type'], 'text/x-custom; charset=utf-8');
    assert.equal((await curl(`${base}/style.css`)).headers['content-type'], 'application/x-override');
    assert.equal((await curl(`${base}/small.txt`)).headers['content-type'], 'text/plain; charset=utf-8');
  });
});

interface Part {
  readonly type: string | undefined;
  readonly range: string | undefined;
  readonly body: Buffer;
}

/** Splits a multipart/byteranges body on its boundary (RFC 9110 14.6; RFC 2046 5.1.1). */
function parseMultipart(body: Buffer, boundary: string): Part[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const afterDelimiter = at + delimiter.length;
    if (body.subarray(afterDelimiter, afterDelimiter + 2).toString() === '--') break;
    const headEnd = body.indexOf('\r\n\r\n', afterDelimiter);
    const head = body.subarray(afterDelimiter + 2, headEnd).toString();
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), headEnd);
    const header = (name: string) => new RegExp(`^${name}: (.*)$`, 'mi').exec(head)?.[1]?.trim();
    parts.push({ type: header('Content-Type'), range: header('Content-Range'), body: body.subarray(headEnd + 4, next) });
    at = next + 2;
  }
  return parts;
}

describe('examples/static-site, as docs/static-files.md serves it', { timeout: 60_000 }, () => {
  it('the page and its stylesheet from public/, the API from the app', async () => {
    const server = await startServer([
      'examples/static-site/app.ts', '--document-root', 'examples/static-site/public',
      '--directory-index', 'index.html', '--compress-responses',
    ]);
    const base = server.url.replace(/\/$/, '');
    const page = await curl(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(page.body.toString(), /<h1>Served from the document root<\/h1>/);
    const css = await curl(`${base}/css/site.css`, ['-H', 'Accept-Encoding: br']);
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    assert.equal(css.headers['content-encoding'], undefined, 'under 1 KiB: sent as it is');
    assert.match(css.body.toString(), /font-family/);
    const api = await curl(`${base}/api/time`);
    assert.ok(!Number.isNaN(Date.parse(JSON.parse(api.body.toString()).now)));
    assert.equal((await curl(`${base}/missing`)).status, 404);
  });
});

describe('static files behind access control', { timeout: 60_000 }, () => {
  it('a file needs the credentials an app request needs, and its access-log line names the user', async () => {
    const { execFileSync } = await import('node:child_process');
    const { writeFileSync } = await import('node:fs');
    const users = site.file('users.htpasswd');
    writeFileSync(users, execFileSync('htpasswd', ['-nbB', 'alice', 's3cret'], { encoding: 'utf8' }));
    const server = await startServer([site.app, '--document-root', site.root, '--auth-user-file', users, '--access-log']);
    const base = server.url.replace(/\/$/, '');
    const anonymous = await curl(`${base}/style.css`);
    assert.equal(anonymous.status, 401);
    assert.ok(!anonymous.body.toString().includes(CSS.slice(0, 30)));
    assert.equal((await curl(`${base}/style.css`, ['-u', 'alice:wrong'])).status, 401);
    const from = server.output().length;
    const alice = await curl(`${base}/style.css`, ['-u', 'alice:s3cret']);
    assert.equal(alice.status, 200);
    assert.equal(alice.body.toString(), CSS);
    await server.waitFor(/ - alice \[[^\]]+\] "GET \/style\.css HTTP\/1\.1" 200 /, 5000, from);
  });
});
