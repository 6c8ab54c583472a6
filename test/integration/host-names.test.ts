/**
 * --server-name, --server-alias and --allow-localhost through the real CLI, with
 * curl: 403 for other hosts (before the app), the www. parent domain's 301, case
 * and port ignored, loopback clients, and the same rules behind a trusted proxy.
 * Then the bad input of every option this work added: exit 2 naming the flag.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { fixture, killAll, runCli, startServer, type RunningServer } from '../helpers/server.js';
import { exchange, parseResponse } from '../helpers/proxy-client.js';

const siteRoot = mkdtempSync(path.join(tmpdir(), 'tsgi-hosts-site-'));
mkdirSync(path.join(siteRoot, 'root'));
mkdirSync(path.join(siteRoot, 'media'));
writeFileSync(path.join(siteRoot, 'root/page.txt'), 'STATIC PAGE\n');
writeFileSync(path.join(siteRoot, 'media/photo.txt'), 'ALIASED FILE\n');

after(() => {
  killAll();
  rmSync(siteRoot, { recursive: true, force: true });
});

const run = promisify(execFile);

interface CurlResult {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** curl -i against the server, with extra curl arguments (-H 'Host: ...'). */
async function curl(server: RunningServer, path: string, ...args: string[]): Promise<CurlResult> {
  const { stdout } = await run('curl', ['-s', '-i', '--max-time', '10', ...args, `http://127.0.0.1:${server.port}${path}`]);
  const res = parseResponse(stdout);
  return { status: res.status, headers: res.headers, body: res.body };
}

const host = (name: string) => ['-H', `Host: ${name}`];

describe('--server-name and --server-alias', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([
      fixture('proxy-echo.ts'), '--server-name', 'www.Example.test',
      '--server-alias', '*.alias.test', '--server-alias', 'other.test', '--server-alias', 'n?.test',
    ]);
  });

  it('serves the server name, ignoring case, port and a trailing dot; SERVER_NAME is the server name', async () => {
    for (const name of ['www.example.test', 'WWW.EXAMPLE.TEST:8080', 'www.example.test.']) {
      const res = await curl(server, '/get?key=SERVER_NAME', ...host(name));
      assert.equal(res.status, 200, name);
      assert.equal(res.body, 'value=www.Example.test;end', name);
    }
    const hostHeader = await curl(server, '/get?key=HTTP_HOST', ...host('WWW.EXAMPLE.TEST:8080'));
    assert.equal(hostHeader.body, 'value=WWW.EXAMPLE.TEST:8080;end');
  });

  it('serves the aliases, wildcards included; SERVER_NAME stays the server name', async () => {
    for (const name of ['a.alias.test', 'deep.b.alias.test', 'Other.Test', 'n1.test']) {
      const res = await curl(server, '/get?key=SERVER_NAME', ...host(name));
      assert.equal(res.status, 200, name);
      assert.equal(res.body, 'value=www.Example.test;end', name);
    }
  });

  it('answers any other host with 403 and a short body, logged at info with the client address', async () => {
    for (const name of ['evil.test', 'alias.test', 'n12.test', '127.0.0.1', 'www.example.test.evil.test']) {
      const from = server.output().length;
      const res = await curl(server, '/get?key=SERVER_NAME', ...host(name));
      assert.equal(res.status, 403, name);
      assert.doesNotMatch(res.body, /value=/, 'the app never saw it');
      assert.ok(res.body.length < 1000);
      await server.waitFor(new RegExp(`tsgi:info.*403 for 127\\.0\\.0\\.1: the host "${name.replace(/\./g, '\\.')}"`), 5_000, from);
    }
  });

  it('answers a request with no Host at all (HTTP/1.0) with 403', async () => {
    const { raw } = await exchange(server.port, ['GET /get?key=SERVER_NAME HTTP/1.0\r\n\r\n']);
    assert.equal(parseResponse(raw).status, 403);
  });

  it('redirects the parent domain of a www. name with 301, path and query kept', async () => {
    const res = await curl(server, '/a/b?c=1&d=%20', ...host('Example.test'));
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, `http://www.Example.test:${server.port}/a/b?c=1&d=%20`);
    assert.match(res.body, /www\.Example\.test/);
    const followed = await curl(server, '/get?key=PATH_INFO', ...host('example.test:1234'));
    assert.equal(followed.status, 301);
  });
});

describe('static files and host names', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([
      fixture('proxy-echo.ts'), '--server-name', 'www.example.test',
      '--document-root', path.join(siteRoot, 'root'), '--url-alias', '/media', path.join(siteRoot, 'media'),
    ]);
  });

  it('a file under the document root or an alias, for a host not served: 403, the file not sent', async () => {
    for (const [file, body] of [['/page.txt', 'STATIC PAGE\n'], ['/media/photo.txt', 'ALIASED FILE\n']]) {
      const from = server.output().length;
      const refused = await curl(server, file, ...host('evil.test'));
      assert.equal(refused.status, 403, file);
      assert.doesNotMatch(refused.body, /STATIC PAGE|ALIASED FILE/);
      await server.waitFor(/tsgi:info.*403 for 127\.0\.0\.1: the host "evil\.test"/, 5_000, from);
      const served = await curl(server, file, ...host('www.example.test'));
      assert.equal(served.status, 200, file);
      assert.equal(served.body, body);
    }
  });

  it("the www. name's parent domain is redirected before the file is looked at", async () => {
    const res = await curl(server, '/page.txt', ...host('example.test'));
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, `http://www.example.test:${server.port}/page.txt`);
    assert.doesNotMatch(res.body, /STATIC PAGE/);
  });
});

describe('--allow-localhost', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([
      fixture('proxy-echo.ts'), '--server-name', 'app.example.test', '--allow-localhost',
      '--trust-proxy-header', 'X-Forwarded-For', '--trust-proxy', '127.0.0.1',
    ]);
  });

  it('lets a loopback client in whatever Host it sends', async () => {
    const res = await curl(server, '/get?key=HTTP_HOST', ...host('anything.example'));
    assert.equal(res.status, 200);
    assert.equal(res.body, 'value=anything.example;end');
  });

  it('does not let in a remote client that a trusted proxy on loopback forwards', async () => {
    const res = await curl(server, '/get?key=REMOTE_ADDR', ...host('anything.example'), '-H', 'X-Forwarded-For: 203.0.113.5');
    assert.equal(res.status, 403);
    const named = await curl(server, '/get?key=REMOTE_ADDR', ...host('app.example.test'), '-H', 'X-Forwarded-For: 203.0.113.5');
    assert.equal(named.body, 'value=203.0.113.5;end');
  });
});

describe('host names behind a trusted proxy', { timeout: 60_000 }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer([
      fixture('proxy-echo.ts'), '--server-name', 'www.example.test',
      '--trust-proxy-header', 'X-Forwarded-Host', '--trust-proxy-header', 'X-Forwarded-Proto',
      '--trust-proxy-header', 'X-Forwarded-Port', '--trust-proxy', '127.0.0.1',
    ]);
  });

  it('checks the host the proxy forwarded, not the Host it connected with', async () => {
    const ok = await curl(server, '/get?key=HTTP_HOST', ...host('127.0.0.1:8000'), '-H', 'X-Forwarded-Host: www.example.test');
    assert.equal(ok.status, 200);
    assert.equal(ok.body, 'value=www.example.test;end');
    const refused = await curl(server, '/get?key=HTTP_HOST', ...host('www.example.test'), '-H', 'X-Forwarded-Host: evil.test');
    assert.equal(refused.status, 403);
  });

  it('redirects to the scheme and port the client used', async () => {
    const https = await curl(server, '/x?y=1', '-H', 'X-Forwarded-Host: example.test', '-H', 'X-Forwarded-Proto: https');
    assert.equal(https.status, 301);
    assert.equal(https.headers.location, 'https://www.example.test/x?y=1');
    const port = await curl(server, '/x', '-H', 'X-Forwarded-Host: example.test:8443', '-H', 'X-Forwarded-Proto: https');
    assert.equal(port.headers.location, 'https://www.example.test:8443/x');
    const forwardedPort = await curl(server, '/x', '-H', 'X-Forwarded-Host: example.test', '-H', 'X-Forwarded-Port: 8080');
    assert.equal(forwardedPort.headers.location, 'http://www.example.test:8080/x');
  });
});

describe('bad input exits 2 before anything starts, naming the flag', { timeout: 180_000 }, () => {
  const app = fixture('proxy-echo.ts');
  const cases: [string[], RegExp][] = [
    [['--server-alias', 'a.test'], /--server-alias needs --server-name/],
    [['--allow-localhost'], /--allow-localhost needs --server-name/],
    [['--server-name', 'bad name'], /--server-name must be a host name/],
    [['--server-name', 'example.test:80'], /--server-name must be a host name/],
    [['--server-name', 'x.test', '--server-alias', 'a/b'], /--server-alias must be a host name/],
    [['--trust-proxy-header', 'X-Bogus'], /--trust-proxy-header must be one of: X-Forwarded-For,/],
    [['--trust-proxy-header', 'X-Forwarded-For', '--trust-proxy', '10.0.0.0/33'], /--trust-proxy must be an IP address or CIDR block/],
    [['--trust-proxy-header', 'X-Forwarded-For', '--trust-proxy', 'proxy.internal'], /--trust-proxy must be an IP address or CIDR block/],
    [['--trust-proxy-header', 'X-Forwarded-For', '--trust-proxy', '2001:db8::/129'], /--trust-proxy must be an IP address or CIDR block/],
    [['--trust-proxy', '10.0.0.1'], /--trust-proxy needs --trust-proxy-header NAME or --proxy-protocol/],
    [['--proxy-protocol'], /--proxy-protocol needs --trust-proxy/],
    [['--map-head-to-get', 'Sometimes'], /--map-head-to-get must be one of: Off, On, Auto/],
  ];
  for (const [args, message] of cases) {
    it(args.join(' '), async () => {
      const { code, output } = await runCli(['start-server', app, '--port', '0', ...args]);
      assert.equal(code, 2, output);
      assert.match(output, message);
      assert.doesNotMatch(output, /Ready:/);
    });
  }

  it('accepts any case for the header names and --map-head-to-get, and IPv6 blocks', async () => {
    const server = await startServer([
      app, '--trust-proxy-header', 'x-forwarded-FOR', '--trust-proxy', '2001:db8::/32',
      '--trust-proxy', '127.0.0.0/8', '--map-head-to-get', 'oN',
    ]);
    const res = await curl(server, '/get?key=REMOTE_ADDR', '-H', 'X-Forwarded-For: 2001:db8::7, 203.0.113.9, 2001:db8::1');
    assert.equal(res.body, 'value=203.0.113.9;end');
  });
});
