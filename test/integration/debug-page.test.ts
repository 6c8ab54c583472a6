// The debug-mode 500 page's request section, read over HTTP (browser.test.ts
// renders it in Chromium, which cannot be made to send these headers): the
// client's credentials are not put on the page, every other header is.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { killAll, startServer } from '../helpers/server.js';

const APP = `export function application(environ: any, startResponse: any) {
  throw new Error('failed with ' + environ.HTTP_X_NOTE);
}
`;
const SECRETS = { authorization: 'Basic c2VjcmV0LXVzZXI6c2VjcmV0LXBhc3M=', cookie: 'session=secret-session-id' };

let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tsgi-debug-page-'));
  await writeFile(path.join(dir, 'app.ts'), APP);
});
after(async () => {
  killAll();
  await rm(dir, { recursive: true, force: true });
});

async function page(url: string): Promise<{ status: number; body: string }> {
  const res = await request(`${url}where?q=1`, { headers: { ...SECRETS, 'x-note': 'a <note>' } });
  return { status: res.statusCode, body: await res.body.text() };
}

describe('the debug page\'s request section', { timeout: 60_000 }, () => {
  it('shows the headers and environ, credentials hidden', async () => {
    const server = await startServer([path.join(dir, 'app.ts'), '--debug-mode']);
    const { status, body } = await page(server.url);
    assert.equal(status, 500);
    assert.match(body, /<p class="request-line">GET \/where\?q=1 HTTP\/1\.1<\/p>/);
    assert.match(body, /<tr><th>x-note<\/th><td>a &#60;note&#62;<\/td><\/tr>/);
    assert.match(body, /<tr><th>authorization<\/th><td>\(hidden\)<\/td><\/tr>/);
    assert.match(body, /<tr><th>cookie<\/th><td>\(hidden\)<\/td><\/tr>/);
    assert.match(body, /<tr><th>HTTP_AUTHORIZATION<\/th><td>\(hidden\)<\/td><\/tr>/);
    assert.match(body, /<tr><th>HTTP_COOKIE<\/th><td>\(hidden\)<\/td><\/tr>/);
    assert.match(body, /<tr><th>QUERY_STRING<\/th><td>&#34;q=1&#34;<\/td><\/tr>/);
    assert.doesNotMatch(body, /secret|c2VjcmV0/);
    assert.match(body, /<mark class="line-current" data-line="2">/);
  });

  it('outside debug mode: no source, no request', async () => {
    const server = await startServer([path.join(dir, 'app.ts')]);
    const { status, body } = await page(server.url);
    assert.equal(status, 500);
    assert.doesNotMatch(body, /request-line|<table|line-current|note|where/);
  });
});
