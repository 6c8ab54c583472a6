// The pages the server itself serves (its error pages, and the debug-mode page
// with the stack trace) as a browser renders them: headless Chromium loads the
// page from a real server and prints the DOM it built. An exception message is
// the application's (often the user's) text, so it must reach the page as text,
// never as markup, and non-ASCII text must survive the trip.
//
// .ci/run installs Debian's chromium; elsewhere set CHROMIUM to a Chromium or
// Chrome binary, or these tests are skipped, saying why.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { renderedDom as render, skipWithoutChromium as skip, title } from '../helpers/chromium.js';
import { killAll, startServer } from '../helpers/server.js';

// An attacker-shaped message: if the page took it as markup, the DOM would hold an
// <img> and its onerror would rename the page.
const HOSTILE = `<img src=x onerror="document.title='injected'"> & naïve ☃`;
const APP = `export function application(environ: any, startResponse: any) {
  if (environ.PATH_INFO === '/boom') throw new Error(${JSON.stringify(HOSTILE)});
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return ['fine'];
}
`;
const THROW_LINE = 2;

let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tsgi-browser-'));
  await writeFile(path.join(dir, 'app.ts'), APP);
});
after(async () => {
  killAll();
  await rm(dir, { recursive: true, force: true });
});

const renderedDom = (url: string) => render(url, dir);

describe('error pages in a browser', { timeout: 120_000, skip }, () => {
  it('debug mode: the stack trace shows as text, hostile markup inert, non-ASCII intact', async () => {
    const server = await startServer([path.join(dir, 'app.ts'), '--debug-mode']);
    const dom = await renderedDom(`${server.url}boom`);
    assert.equal(title(dom), '500 Internal Server Error');
    assert.doesNotMatch(dom, /<img/);
    assert.match(dom, /<h2>Traceback<\/h2>/);
    const trace = /<pre>([\s\S]*?)<\/pre>/.exec(dom)?.[1] ?? '';
    assert.ok(trace.includes('Error: &lt;img src=x onerror="document.title=\'injected\'"&gt; &amp; naïve ☃'), trace);
    assert.match(trace, new RegExp(`app\\.ts:${THROW_LINE}:\\d+`));
  });

  it('outside debug mode: the 500 page says nothing of the error', async () => {
    const server = await startServer([path.join(dir, 'app.ts')]);
    const dom = await renderedDom(`${server.url}boom`);
    assert.equal(title(dom), '500 Internal Server Error');
    assert.match(dom, /<h1>500 Internal Server Error<\/h1>/);
    assert.doesNotMatch(dom, /Traceback|img|naïve|app\.ts/);
  });

  it('a URL outside the mount point renders the 404 page', async () => {
    const server = await startServer([path.join(dir, 'app.ts'), '--mount-point', '/app']);
    assert.equal(await (await fetch(`${server.url}app/`)).text(), 'fine');
    const dom = await renderedDom(`${server.url}elsewhere`);
    assert.equal(title(dom), '404 Not Found');
    assert.match(dom, /The requested URL was not found on this server\./);
  });
});
