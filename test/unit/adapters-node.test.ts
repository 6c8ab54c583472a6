import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { Client, request } from 'undici';
import { createNodeHandler, urlBelowMount, type NodeHandler } from '../../src/adapters/node.js';
import { debugErrorPage, serve, type Harness } from './adapters-harness.js';

const servers: Harness[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

async function nodeApp(fn: NodeHandler, mount = '/'): Promise<Harness> {
  const h = await serve((opts) => createNodeHandler(fn, opts), mount);
  servers.push(h);
  return h;
}

describe('urlBelowMount', () => {
  it('strips the mount point on whole raw segments, keeping the query', () => {
    assert.equal(urlBelowMount('/a/b?x=1', ''), '/a/b?x=1');
    assert.equal(urlBelowMount('/sub', '/sub'), '/');
    assert.equal(urlBelowMount('/sub/', '/sub'), '/');
    assert.equal(urlBelowMount('/sub?q=1', '/sub'), '/?q=1');
    assert.equal(urlBelowMount('/sub/x/y?q', '/sub'), '/x/y?q');
    assert.equal(urlBelowMount('/s%20b/x', '/s b'), '/x');
    assert.equal(urlBelowMount('/a/b/c', '/a/b'), '/c');
    // Repeated slashes count once, as in the mount stage's match; below the mount they stay raw.
    assert.equal(urlBelowMount('//sub/x', '/sub'), '/x');
    assert.equal(urlBelowMount('/a//b///c?q', '/a/b'), '///c?q');
    assert.equal(urlBelowMount('/sub//x', '/sub'), '//x');
    assert.equal(urlBelowMount('http://h:1/sub/x?y', '/sub'), '/x?y');
  });
});

describe('node adapter', () => {
  it("passes Node's own req/res, with req.url below the mount and originalUrl in full", async () => {
    let seen: { url?: string; originalUrl?: string; script?: unknown; path?: unknown; sameRes: boolean } | undefined;
    const h = await nodeApp((req: IncomingMessage, res: ServerResponse) => {
      seen = {
        url: req.url, originalUrl: req.originalUrl,
        script: req.environ!.SCRIPT_NAME, path: req.environ!.PATH_INFO, sameRes: res.req === req,
      };
      res.end('ok');
    }, '/sub');
    const res = await request(`${h.url}/sub/a%20b?x=1`);
    assert.equal(await res.body.text(), 'ok');
    assert.deepEqual(seen, { url: '/a%20b?x=1', originalUrl: '/sub/a%20b?x=1', script: '/sub', path: '/a b', sameRes: true });
    await (await request(`${h.url}/sub`)).body.dump();
    assert.equal(seen!.url, '/');
  });

  it('sets req.baseUrl to the mount point, where an Express router starts, as for a mounted sub-app', async () => {
    let baseUrl: unknown = 'unset';
    const h = await nodeApp((req: IncomingMessage & { baseUrl?: string }, res: ServerResponse) => {
      baseUrl = req.baseUrl;
      res.end('ok');
    }, '/sub');
    await (await request(`${h.url}/sub/x`)).body.dump();
    assert.equal(baseUrl, '/sub');
  });

  it('sees the path with dot segments removed, and the target as sent in originalUrl', async () => {
    let seen: { url?: string; originalUrl?: string; requestUri?: unknown } | undefined;
    const h = await nodeApp((req: IncomingMessage, res: ServerResponse) => {
      seen = { url: req.url, originalUrl: req.originalUrl, requestUri: req.environ!.REQUEST_URI };
      res.end('ok');
    }, '/sub');
    // A Client sends the path as given; a URL would have its dot segments resolved by undici.
    const client = new Client(h.url);
    try {
      const res = await client.request({ method: 'GET', path: '/x/../sub/a/./b?q=1' });
      assert.equal(res.statusCode, 200);
      await res.body.dump();
    } finally {
      await client.close();
    }
    assert.deepEqual(seen, { url: '/a/b?q=1', originalUrl: '/x/../sub/a/./b?q=1', requestUri: '/x/../sub/a/./b?q=1' });
  });

  it('has the filtered headers and reads a 1 MiB body as a stream', async () => {
    let names: string[] = [];
    const h = await nodeApp(async (req, res) => {
      names = Object.keys(req.headers);
      const hash = createHash('sha256');
      for await (const chunk of req) hash.update(chunk as Buffer);
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.end(hash.digest('hex'));
    });
    const body = Buffer.alloc(1024 * 1024, 'y');
    const res = await request(h.url, { method: 'POST', body, headers: ['X_User', 'x', 'Proxy', 'p', 'X-Ok', '1'] });
    assert.equal(await res.body.text(), createHash('sha256').update(body).digest('hex'));
    assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
    assert.ok(names.includes('x-ok') && !names.includes('x_user') && !names.includes('proxy'), names.join());
  });

  it('lets the app read the body through environ tsgi.input instead', async () => {
    const h = await nodeApp(async (req, res) => {
      const input = req.environ!['tsgi.input'];
      const head = await input.read(3);
      const rest = await input.read();
      res.end(`${Buffer.from(head)}|${Buffer.from(rest)}`);
    });
    const res = await request(h.url, { method: 'POST', body: 'abcdef' });
    assert.equal(await res.body.text(), 'abc|def');
  });

  it('answers 500 and logs the stack for a throw and a rejected promise', async () => {
    const h = await nodeApp((req) => {
      if (req.url === '/throw') throw new Error('sync-marker');
      return Promise.reject(new Error('async-marker'));
    });
    for (const path of ['/throw', '/reject']) {
      const res = await request(h.url + path);
      assert.equal(res.statusCode, 500);
      assert.doesNotMatch(await res.body.text(), /marker/);
    }
    assert.match(h.logged.join('\n'), /error t\d+ Error: sync-marker\n\s+at /);
    assert.match(h.logged.join('\n'), /async-marker/);
  });

  it('shows the stack in the 500 page in debug mode', async () => {
    const page = await debugErrorPage(servers, (app, opts) => createNodeHandler(app, opts));
    assert.equal(page.status, 500);
    assert.match(page.body, /debug-marker/);
  });

  it('cuts the connection when the app fails after sending headers', async () => {
    const h = await nodeApp(async (_req, res) => {
      res.writeHead(200);
      res.write('partial');
      await new Promise((r) => setTimeout(r, 10));
      throw new Error('late-marker');
    });
    const res = await request(h.url);
    await assert.rejects(res.body.text());
    assert.match(h.logged.join('\n'), /late-marker/);
  });

  it('lets the app see a client that goes away', async () => {
    let closed!: () => void;
    const sawClose = new Promise<void>((r) => (closed = r));
    const h = await nodeApp((_req, res) => {
      res.write('first');
      res.on('close', () => {
        if (!res.writableFinished) closed();
      });
    });
    const socket = net.connect(Number(new URL(h.url).port), '127.0.0.1');
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await once(socket, 'data');
    socket.destroy();
    await sawClose;
  });
});
