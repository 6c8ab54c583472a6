// No request path reaches a file outside its root: dot segments (plain and
// percent-encoded), encoded slashes and backslashes, backslashes, NUL, absolute-form
// targets, symlinks the test creates (unless --follow-symlinks); dotfiles are 404
// except under /.well-known/; a FIFO in the root never blocks a worker. Sent over
// raw sockets (the target exactly as written) and with curl --path-as-is.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { killAll, startServer, type RunningServer } from '../helpers/server.js';
import { CSS, curl, makeSite, rawGet, SECRET, type TestSite } from '../helpers/static-site.js';

let site: TestSite;
before(() => {
  site = makeSite();
  mkdirSync(site.file('root/sub/.hidden-dir'), { recursive: true });
  writeFileSync(site.file('root/sub/.hidden'), SECRET);
  writeFileSync(site.file('root/sub/.hidden-dir/x.txt'), SECRET);
  writeFileSync(site.file('root/.well-known/.secret'), SECRET);
  execFileSync('mkfifo', [site.file('root/pipe')]);
});
after(() => {
  killAll();
  site.remove();
});

const TRAVERSALS = [
  '/../outside/secret.txt',
  '/sub/../../outside/secret.txt',
  '/%2e%2e/outside/secret.txt',
  '/%2E%2E/%2E%2E/outside/secret.txt',
  '/.%2e/outside/secret.txt',
  '/sub/%2e%2e/%2e%2e/outside/secret.txt',
  '/..%2foutside%2fsecret.txt',
  '/..%2Foutside/secret.txt',
  '/sub/..%2F..%2Foutside/secret.txt',
  '/%2e%2e%2f%2e%2e%2foutside%2fsecret.txt',
  '/..%5coutside%5csecret.txt',
  '/sub/..%5C..%5Coutside%5Csecret.txt',
  '/..\\outside\\secret.txt',
  '/sub\\..\\..\\outside\\secret.txt',
  '/style.css%00.txt',
  '/%00/../outside/secret.txt',
  '/%252e%252e/outside/secret.txt',
  '/media/../../outside/secret.txt',
  '/media/..%2f..%2foutside/secret.txt',
  '/media/%2e%2e/%2e%2e/outside/secret.txt',
  '/media/..%5c..%5coutside%5csecret.txt',
  '/link-out.txt',
  '/dir-out/secret.txt',
  'http://127.0.0.1/../outside/secret.txt',
  'http://127.0.0.1/..%2foutside/secret.txt',
];

describe('paths never leave their root', { timeout: 120_000 }, () => {
  let server: RunningServer;
  let base: string;
  before(async () => {
    // Under a mount point, so that what the server does not serve is a 404 (not an app answer).
    server = await startServer([site.app, '--document-root', site.root, '--mount-point', '/app', '--url-alias', '/media', site.media]);
    base = server.url.replace(/\/$/, '');
  });

  for (const target of TRAVERSALS) {
    it(`raw socket: ${target} is 400 or 404, never the file`, async () => {
      const r = await rawGet(server.port, target);
      assert.ok(!r.raw.includes(SECRET), `${target} leaked the secret`);
      assert.ok(r.status === 400 || r.status === 404, `${target}: ${r.status}`);
    });
  }

  it('curl --path-as-is: the same targets', async () => {
    for (const target of TRAVERSALS.filter((t) => t.startsWith('/') && !t.includes('\\'))) {
      const r = await curl(`${base}${target}`, ['--path-as-is']);
      assert.ok(!r.body.includes(SECRET), `${target} leaked the secret`);
      assert.ok(r.status === 400 || r.status === 404, `${target}: ${r.status}`);
    }
  });

  it('a symlink inside the root is followed; one created now that leads out is refused', async () => {
    const inside = await curl(`${base}/link-in.css`);
    assert.equal(inside.status, 200);
    assert.equal(inside.body.toString(), CSS);
    symlinkSync(site.outside, site.file('root/late-link'));
    const late = await rawGet(server.port, '/late-link/secret.txt');
    assert.equal(late.status, 404);
    assert.ok(!late.raw.includes(SECRET));
  });

  it('dotfiles and dot-directories are 404, /.well-known/ is served (and its own dotfiles are not)', async () => {
    for (const target of ['/.env', '/.git/config', '/.git/', '/.git', '/%2eenv', '/%2Egit/config', '/sub/.hidden', '/sub/.hidden-dir/x.txt', '/.well-known/.secret']) {
      const r = await rawGet(server.port, target);
      assert.equal(r.status, 404, target);
      assert.ok(!r.raw.includes(SECRET), target);
    }
    const acme = await curl(`${base}/.well-known/acme.txt`);
    assert.equal(acme.status, 200);
    assert.equal(acme.body.toString(), 'acme token\n');
  });

  it('a FIFO in the root is refused at once; the worker keeps serving', async () => {
    const r = await curl(`${base}/pipe`, ['--max-time', '5']);
    assert.equal(r.status, 403);
    assert.equal((await curl(`${base}/style.css`)).status, 200);
  });

  it('a file the server cannot read is 403', { skip: process.getuid?.() === 0 ? 'root reads every file' : false }, async () => {
    writeFileSync(site.file('root/locked.txt'), SECRET);
    chmodSync(site.file('root/locked.txt'), 0o000);
    const r = await rawGet(server.port, '/locked.txt');
    assert.equal(r.status, 403);
    assert.ok(!r.raw.includes(SECRET));
  });
});

describe('--document-root at / with an application', { timeout: 60_000 }, () => {
  it('an encoded slash or backslash is 404 for the application too (Apache AllowEncodedSlashes Off)', async () => {
    const server = await startServer([site.app, '--document-root', site.root]);
    for (const target of ['/..%2f..%2foutside/secret.txt', '/api/a%2Fb', '/x%5Cy']) {
      const r = await rawGet(server.port, target);
      assert.equal(r.status, 404, target);
      assert.doesNotMatch(r.body.toString(), /^app /, target);
    }
    // A double-encoded dot names a file called %2e%2e, which is not there: the app's.
    const double = await rawGet(server.port, '/%252e%252e/outside/secret.txt');
    assert.equal(double.body.toString(), 'app GET |/%2e%2e/outside/secret.txt');
  });
});

describe('--follow-symlinks', { timeout: 60_000 }, () => {
  it('symlinks are followed wherever they lead', async () => {
    const server = await startServer([site.app, '--document-root', site.root, '--follow-symlinks']);
    const base = server.url.replace(/\/$/, '');
    assert.equal((await curl(`${base}/link-out.txt`)).body.toString(), SECRET);
    assert.equal((await curl(`${base}/dir-out/secret.txt`)).body.toString(), SECRET);
    // Dot segments are still refused.
    assert.equal((await rawGet(server.port, '/dir-out/../../outside/secret.txt')).status, 400);
  });
});
