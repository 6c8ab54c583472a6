// --error-document and --error-override through the real server, and the static
// options' bad input: one line naming the flag, exit code 2, nothing started.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { fixture, killAll, runCli, startServer, type RunningServer } from '../helpers/server.js';
import { proxyV1 } from '../helpers/proxy-client.js';
import { RawConnection, exchange } from '../helpers/raw-client.js';
import { curl, makeSite, parseResponse, rawGet, type TestSite } from '../helpers/static-site.js';
import { TEXT } from '../fixtures/compress/text.js';

let site: TestSite;
before(() => {
  site = makeSite();
});
after(() => {
  killAll();
  site.remove();
});

describe('--error-document', { timeout: 120_000 }, () => {
  let server: RunningServer;
  let base: string;
  before(async () => {
    server = await startServer([
      site.app, '--document-root', site.root, '--mount-point', '/app', '--url-alias', '/media', site.media,
      '--error-document', '404', '/errors/404.html',
      '--error-document', '405', site.file('error-page.html'),
      '--error-document', '400', site.file('error-page.html'),
      '--error-document', '403', 'https://errors.example/forbidden',
      '--error-document', '412', '/errors/missing.html',
    ]);
    base = server.url.replace(/\/$/, '');
  });

  it('a URL on the site: its file, with the original status (outside the mount point, under an alias)', async () => {
    for (const path of ['/elsewhere', '/media/none.txt', '/.env']) {
      const r = await curl(`${base}${path}`);
      assert.equal(r.status, 404, path);
      assert.equal(r.body.toString(), '<h1>custom not found</h1>\n');
      assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(r.headers.etag, undefined, 'an error page is not the file');
    }
    const head = await rawGet(server.port, '/elsewhere', {}, 'HEAD');
    assert.equal(head.status, 404);
    assert.equal(head.body.length, 0);
  });

  it('a file: sent as it is, with the status and the headers the error needs', async () => {
    const r = await rawGet(server.port, '/style.css', { 'Content-Length': '0' }, 'POST');
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'GET, HEAD');
    assert.equal(r.body.toString(), '<h1>file error page</h1>\n');
    // Also for errors answered before the static stage: a bad Host.
    const badHost = await rawGet(server.port, '/style.css', { Host: 'a/b' });
    assert.equal(badHost.status, 400);
    assert.equal(badHost.body.toString(), '<h1>file error page</h1>\n');
  });

  it('an http(s) URL: a 302 to it; a site URL that names nothing: the built-in page', async () => {
    // A FIFO in the root is refused with 403.
    execFileSync('mkfifo', [site.file('root/a-fifo')]);
    const forbidden = await curl(`${base}/a-fifo`);
    assert.equal(forbidden.status, 302);
    assert.equal(forbidden.headers.location, 'https://errors.example/forbidden');
    const failed = await curl(`${base}/style.css`, ['-H', 'If-Match: "not-it"']);
    assert.equal(failed.status, 412);
    assert.match(failed.body.toString(), /<h1>412 Precondition Failed<\/h1>/);
  });

  it('without --error-override the app keeps its own error body', async () => {
    const r = await curl(`${base}/app/app-error`);
    assert.equal(r.status, 404);
    assert.equal(r.body.toString(), 'the app says no');
  });
});

describe('--error-document on the answers written straight to the socket, 413 and 503', { timeout: 120_000 }, () => {
  let server: RunningServer;
  const FILE_PAGE = '<h1>file error page</h1>\n';
  const page = (status: number) => `<h1>site page for ${status}</h1>\n`;
  const answer = (raw: string) => parseResponse(Buffer.from(raw, 'latin1'));
  before(async () => {
    for (const status of [408, 413, 431, 503]) writeFileSync(site.file(`root/errors/${status}.html`), page(status));
    server = await startServer([
      fixture('body/tsgi.ts'), '--document-root', site.root, '--threads', '1', '--queue-timeout', '1',
      '--header-timeout', '1', '--header-max-timeout', '2', '--limit-request-body', '1000',
      '--proxy-protocol', '--trust-proxy', '10.99.99.99',
      '--error-document', '400', site.file('error-page.html'),
      '--error-document', '405', site.file('error-page.html'),
      '--error-document', '408', '/errors/408.html',
      '--error-document', '413', '/errors/413.html',
      '--error-document', '414', 'https://errors.example/too-long',
      '--error-document', '431', '/errors/431.html',
      '--error-document', '503', '/errors/503.html',
    ]);
  });

  it("400 for what Node's parser refuses: the file, with the status, then the connection closes", async () => {
    const r = answer(await exchange(server.port, 'GET / HTTP/1.1\r\nX_Bad Header\r\n\r\n'));
    assert.equal(r.status, 400);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(r.headers.connection, 'close');
    assert.equal(r.headers['content-length'], String(r.body.length));
    assert.equal(r.body.toString(), FILE_PAGE);
  });

  it("431 for a head past Node's limit: the site's page, read for the answer", async () => {
    const head = `GET / HTTP/1.1\r\nHost: x\r\n${'X-Big: ' + 'a'.repeat(8000) + '\r\n'}${'X-Big2: ' + 'a'.repeat(9000) + '\r\n'}\r\n`;
    const r = answer(await exchange(server.port, head));
    assert.equal(r.status, 431);
    assert.equal(r.body.toString(), page(431));
    assert.equal(r.headers['content-length'], String(r.body.length));
  });

  it("414 for a request line past Node's limit: a 302 to the document's URL", async () => {
    const r = answer(await exchange(server.port, `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`));
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, 'https://errors.example/too-long');
    assert.equal(r.headers.connection, 'close');
  });

  it('400 for a PROXY protocol preamble from a peer that is not a trusted proxy', async () => {
    const r = answer(await exchange(server.port, `${proxyV1('203.0.113.5', '192.0.2.1', 1, 2).toString('latin1')}GET / HTTP/1.1\r\nHost: x\r\n\r\n`));
    assert.equal(r.status, 400);
    assert.equal(r.body.toString(), FILE_PAGE);
  });

  it('405 for CONNECT, which never becomes a request', async () => {
    const r = answer(await exchange(server.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'));
    assert.equal(r.status, 405);
    assert.equal(r.body.toString(), FILE_PAGE);
  });

  it('408 for a head that did not arrive in time (--header-timeout)', async () => {
    const c = await RawConnection.open(server.port);
    c.write('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: a');
    assert.ok(await c.closedWithin(6000), c.received);
    const r = answer(c.received);
    assert.equal(r.status, 408);
    assert.equal(r.body.toString(), page(408));
  });

  it('413 for a body over --limit-request-body and for chunk extensions past Node\'s limit', async () => {
    const declared = answer(await exchange(server.port, 'POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n'));
    assert.equal(declared.status, 413);
    assert.equal(declared.body.toString(), page(413));
    const extended = answer(await exchange(server.port,
      `POST /read HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;${'a'.repeat(20_000)}\r\nx\r\n0\r\n\r\n`));
    assert.equal(extended.status, 413);
    assert.equal(extended.body.toString(), page(413));
  });

  it('503 for a request that waited --queue-timeout for a thread: the page, Retry-After kept', async () => {
    // The one thread is busy from the response's start until its body ends, 4 s later.
    const busy = await request(`${server.url}stall?ms=4000`);
    assert.equal(busy.statusCode, 200);
    const queued = await curl(`${server.url}`);
    assert.equal(queued.status, 503);
    assert.equal(queued.headers['retry-after'], '1');
    assert.equal(queued.body.toString(), page(503));
    assert.equal(await busy.body.text(), 'started\ndone\n');
  });

  it('the server keeps serving after all of them', async () => {
    const r = await curl(`${server.url}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'ok');
  });
});

describe('--error-override, every interface', { timeout: 120_000 }, () => {
  const servers: Record<string, RunningServer> = {};
  before(async () => {
    const docs = ['--error-document', '403', site.file('error-page.html')];
    for (const name of ['tsgi', 'fetch', 'express']) {
      servers[name] = await startServer([fixture(`compress/${name}.ts`), '--error-override', ...docs]);
    }
  });

  it('tsgi: a 500 body becomes the server page; the status and Retry-After stay, the rest goes', async () => {
    const r = await curl(`${servers.tsgi!.url}denied`);
    assert.equal(r.status, 500);
    assert.match(r.body.toString(), /<h1>500 Internal Server Error<\/h1>/);
    assert.ok(!r.body.toString().includes('tsgi says no'));
    assert.equal(r.headers['retry-after'], '7');
    assert.equal(r.headers['x-app'], undefined);
    const ok = await curl(`${servers.tsgi!.url}text`);
    assert.equal(ok.body.toString(), TEXT, 'a success is untouched');
  });

  it('fetch: a 401 keeps its WWW-Authenticate; the body is the server page', async () => {
    const r = await curl(`${servers.fetch!.url}denied`);
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'], 'Basic realm="fetch"');
    assert.match(r.body.toString(), /<h1>401 Unauthorized<\/h1>/);
    assert.equal(r.headers['content-length'], String(r.body.length));
  });

  it("express: a 403 gets the error document; Express's own 500 page is replaced too", async () => {
    const denied = await curl(`${servers.express!.url}denied`);
    assert.equal(denied.status, 403);
    assert.equal(denied.body.toString(), '<h1>file error page</h1>\n');
    const boom = await curl(`${servers.express!.url}boom`);
    assert.equal(boom.status, 500);
    assert.match(boom.body.toString(), /<h1>500 Internal Server Error<\/h1>/);
    assert.ok(!boom.body.toString().includes('express handler failed'));
    // Keep-alive still works after a replaced body.
    const again = await curl(`${servers.express!.url}text`);
    assert.equal(again.body.toString(), TEXT);
  });
});

describe('bad static options', { timeout: 180_000 }, () => {
  before(() => {
    writeFileSync(site.file('bad.types'), 'text/plain txt\nnot-a-type foo\n');
  });
  const cases = (): [string[], RegExp][] => [
    [['--document-root', site.file('nowhere')], /--document-root .*nowhere: does not exist/],
    [['--document-root', site.file('favicon.ico')], /--document-root .*favicon\.ico: not a directory/],
    [['--url-alias', 'media', site.media], /--url-alias media: the URL must start with '\/'/],
    [['--url-alias', '/media', site.file('nowhere')], /--url-alias \/media .*nowhere: does not exist/],
    // Unreadable to root too: a path through a regular file.
    [['--document-root', site.file('favicon.ico', 'root')], /--document-root .*favicon\.ico\/root: cannot be reached: a part of the path is a file, not a directory/],
    [['--url-alias', '/media', site.file('favicon.ico', 'media')], /--url-alias \/media .*favicon\.ico\/media: cannot be reached: a part of the path is a file/],
    [['--error-document', '999', '/x.html'], /--error-document 999: not an HTTP error status/],
    [['--error-document', '200', '/x.html'], /--error-document 200: not an HTTP error status/],
    [['--error-document', '404', 'errors/404.html'], /--error-document 404 errors\/404\.html: must be an absolute path/],
    [['--error-document', '404'], /Not enough arguments following: error-document/],
    [['--mime-types', site.file('nowhere.types')], /--mime-types .*nowhere\.types: does not exist/],
    [['--mime-types', site.file('bad.types')], /--mime-types .*bad\.types:2: "not-a-type" is not a media type/],
    [['--directory-index', 'a/index.html'], /--directory-index a\/index\.html: must be a file name/],
  ];
  it('each is refused with one line naming the flag, exit code 2', async () => {
    for (const [args, expected] of cases()) {
      const { code, output } = await runCli(['start-server', site.app, '--port', '0', ...args]);
      assert.equal(code, 2, `${args.join(' ')}: ${output}`);
      const lines = output.trim().split('\n');
      assert.equal(lines.length, 1, output);
      assert.match(lines[0]!, expected);
    }
  });
});

describe('static files the workers cannot read (--user)', { skip: process.getuid?.() === 0 ? false : 'needs root: --user acts only when the server starts as root', timeout: 60_000 }, () => {
  // Everything the workers need is readable by nobody, except the "private" paths (root's, 0700 and 0600).
  let open = '';
  before(() => {
    open = mkdtempSync(path.join(tmpdir(), 'tsgi-static-user-'));
    chmodSync(open, 0o755);
    mkdirSync(path.join(open, 'public'), { mode: 0o755 });
    writeFileSync(path.join(open, 'public/page.txt'), 'readable by nobody\n', { mode: 0o644 });
    mkdirSync(path.join(open, 'private'), { mode: 0o700 });
    writeFileSync(path.join(open, 'private.html'), '<h1>root only</h1>\n', { mode: 0o600 });
    writeFileSync(path.join(open, 'private.types'), 'text/plain txt\n', { mode: 0o600 });
    copyFileSync(site.app, path.join(open, 'app.ts'));
    chmodSync(path.join(open, 'app.ts'), 0o644);
  });
  after(() => rmSync(open, { recursive: true, force: true }));

  it('each is refused at start, naming the flag and the user, exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--document-root', path.join(open, 'private')], /^tsgi-express: error: --document-root .*\/private: cannot be read by user nobody, whom the workers run as \(permission denied\)/],
      [['--url-alias', '/p', path.join(open, 'private')], /--url-alias \/p .*\/private: cannot be read by user nobody/],
      [['--error-document', '404', path.join(open, 'private.html')], /--error-document 404 .*private\.html: cannot be read by user nobody/],
      [['--mime-types', path.join(open, 'private.types')], /--mime-types .*private\.types: cannot be read by user nobody/],
    ];
    for (const [args, expected] of cases) {
      const { code, output } = await runCli(['start-server', path.join(open, 'app.ts'), '--port', '0', '--user', 'nobody', ...args]);
      assert.equal(code, 2, `${args.join(' ')}: ${output}`);
      assert.match(output.trim(), expected);
      assert.doesNotMatch(output, /Ready:/);
    }
  });

  it('what the user can read is served by workers running as it', async () => {
    const server = await startServer([path.join(open, 'app.ts'), '--user', 'nobody', '--document-root', path.join(open, 'public')]);
    const r = await curl(`${server.url}page.txt`);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'readable by nobody\n');
  });
});
