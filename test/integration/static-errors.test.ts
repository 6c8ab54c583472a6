// --error-document and --error-override through the real server, and the static
// options' bad input: one line naming the flag, exit code 2, nothing started.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fixture, killAll, runCli, startServer, type RunningServer } from '../helpers/server.js';
import { curl, makeSite, rawGet, type TestSite } from '../helpers/static-site.js';
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

describe('bad static options', { timeout: 60_000 }, () => {
  before(() => {
    writeFileSync(site.file('bad.types'), 'text/plain txt\nnot-a-type foo\n');
  });
  const cases = (): [string[], RegExp][] => [
    [['--document-root', site.file('nowhere')], /--document-root .*nowhere: does not exist/],
    [['--document-root', site.file('favicon.ico')], /--document-root .*favicon\.ico: not a directory/],
    [['--url-alias', 'media', site.media], /--url-alias media: the URL must start with '\/'/],
    [['--url-alias', '/media', site.file('nowhere')], /--url-alias \/media .*nowhere: does not exist/],
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
