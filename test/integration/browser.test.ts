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

// The debug page shows the source around the throw: a line of it is markup-shaped too.
const DEBUG_APP = `// <script>document.title = 'injected by the source'</script>
export function application(environ: any, startResponse: any) {
  const limit = 3;
  if (environ.PATH_INFO === '/fail') {
    throw new TypeError(\`over the limit of \${limit} & <counting>\`);
  }
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return ['fine'];
}
`;
const DEBUG_THROW_LINE = 5;
const FETCH_APP = `export default {
  fetch(request: Request): Response {
    if (new URL(request.url).pathname === '/fail') throw new Error('fetch failure');
    return new Response('fine');
  },
};
`;
const NODE_APP = `import type { IncomingMessage, ServerResponse } from 'node:http';
export default function handler(req: IncomingMessage, res: ServerResponse) {
  if (req.url === '/fail') throw new Error('node failure');
  res.end('fine');
}
`;

let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tsgi-browser-'));
  await writeFile(path.join(dir, 'app.ts'), APP);
  await writeFile(path.join(dir, 'debug-app.ts'), DEBUG_APP);
  await writeFile(path.join(dir, 'fetch-app.ts'), FETCH_APP);
  await writeFile(path.join(dir, 'node-app.ts'), NODE_APP);
});
after(async () => {
  killAll();
  await rm(dir, { recursive: true, force: true });
});

const renderedDom = (url: string, extraArgs: readonly string[] = []) => render(url, dir, undefined, extraArgs);

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

  it('debug mode: the source around the throwing .ts line and the request, all as text', async () => {
    const server = await startServer([path.join(dir, 'debug-app.ts'), '--debug-mode']);
    // Chromium sends this User-Agent: a request header the page must show as text.
    const agent = `<b id="agent">bold agent</b> & co`;
    const dom = await renderedDom(`${server.url}fail?x=1&y=<2>`, [`--user-agent=${agent}`]);
    assert.equal(title(dom), '500 Internal Server Error');
    assert.doesNotMatch(dom, /<script|<b id|injected by the source<\/title>/);
    // The source: the throwing line marked, the lines around it, escaped.
    assert.match(dom, new RegExp(`<h2>Source</h2>\\s*<p class="source-file">[^<]*debug-app\\.ts, line ${DEBUG_THROW_LINE}, column \\d+</p>`));
    const current = new RegExp(`<mark class="line-current" data-line="${DEBUG_THROW_LINE}">([^<]*)</mark>`).exec(dom)?.[1];
    assert.equal(current, `&gt; ${DEBUG_THROW_LINE}      throw new TypeError(\`over the limit of \${limit} &amp; &lt;counting&gt;\`);`);
    assert.match(dom, /<span data-line="1">  1  \/\/ &lt;script&gt;document\.title = 'injected by the source'&lt;\/script&gt;<\/span>/);
    assert.match(dom, /<span data-line="9">  9  }<\/span>/);
    // The request: method and URL, headers, the environ's keys.
    assert.match(dom, /<p class="request-line">GET \/fail\?x=1&amp;y=%3C2%3E HTTP\/1\.1<\/p>/);
    assert.match(dom, /<tr><th>User-Agent<\/th><td>&lt;b id="agent"&gt;bold agent&lt;\/b&gt; &amp; co<\/td><\/tr>/);
    assert.match(dom, /<h3>Environ<\/h3>/);
    assert.match(dom, /<tr><th>PATH_INFO<\/th><td>"\/fail"<\/td><\/tr>/);
    assert.match(dom, /<tr><th>REQUEST_METHOD<\/th><td>"GET"<\/td><\/tr>/);
    assert.match(dom, /<tr><th>HTTP_USER_AGENT<\/th><td>"&lt;b id=\\"agent\\"&gt;bold agent&lt;\/b&gt; &amp; co"<\/td><\/tr>/);
  });

  it('debug mode: fetch and node apps get the source and request sections too', async () => {
    for (const [file, line] of [['fetch-app.ts', 3], ['node-app.ts', 3]] as const) {
      const server = await startServer([path.join(dir, file), '--debug-mode']);
      const dom = await renderedDom(`${server.url}fail`);
      assert.equal(title(dom), '500 Internal Server Error', file);
      assert.match(dom, new RegExp(`<mark class="line-current" data-line="${line}">`), file);
      assert.match(dom, /<p class="request-line">GET \/fail HTTP\/1\.1<\/p>/, file);
      assert.match(dom, /<tr><th>REQUEST_METHOD<\/th><td>"GET"<\/td><\/tr>/, file);
    }
  });

  it('outside debug mode: the 500 page says nothing of the error', async () => {
    const server = await startServer([path.join(dir, 'app.ts')]);
    const dom = await renderedDom(`${server.url}boom`);
    assert.equal(title(dom), '500 Internal Server Error');
    assert.match(dom, /<h1>500 Internal Server Error<\/h1>/);
    assert.doesNotMatch(dom, /Traceback|img|naïve|app\.ts|Source|Request|Environ/);
  });

  it('a URL outside the mount point renders the 404 page', async () => {
    const server = await startServer([path.join(dir, 'app.ts'), '--mount-point', '/app']);
    assert.equal(await (await fetch(`${server.url}app/`)).text(), 'fine');
    const dom = await renderedDom(`${server.url}elsewhere`);
    assert.equal(title(dom), '404 Not Found');
    assert.match(dom, /The requested URL was not found on this server\./);
  });
});
