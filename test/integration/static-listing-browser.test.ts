// --directory-listing as a browser renders it: headless Chromium loads the listing
// of a directory whose file names are hostile (markup, quotes, ampersands, a
// scheme-like name, '?' and '#', non-ASCII). Every name must reach the page as
// text, never as markup, and every link must lead back to its own file.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { renderedDom, skipWithoutChromium as skip, title } from '../helpers/chromium.js';
import { killAll, startServer } from '../helpers/server.js';
import { curl, makeSite, type TestSite } from '../helpers/static-site.js';

const HOSTILE = [
  `<img src=x onerror="document.title='pwned'">.txt`,
  `a&b "double" 'single'.txt`,
  'javascript:alert(1)',
  'what?x=1#frag.txt',
  'naïve ☃ 100%.txt',
  '<script>document.title=1<',
];

let site: TestSite;
before(() => {
  site = makeSite();
  mkdirSync(site.file('root/list'));
  HOSTILE.forEach((name, i) => writeFileSync(site.file('root/list', name), `file number ${i}\n`));
  mkdirSync(site.file('root/list/<b>sub'));
});
after(() => {
  killAll();
  site.remove();
});

/** What the browser's serialised DOM holds in an attribute or text, as plain text. */
function unescape(html: string): string {
  return html.replace(/&(amp|lt|gt|quot|#39|#(\d+));/g, (_, name: string, code?: string) =>
    code ? String.fromCharCode(Number(code)) : ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" } as Record<string, string>)[name]!);
}

describe('directory listing in a browser', { timeout: 120_000, skip }, () => {
  it('hostile names show as text, the page keeps its title, and each link fetches its own file', async () => {
    const server = await startServer([site.app, '--document-root', site.root, '--directory-listing']);
    const listingUrl = `${server.url}list/`;
    const dom = await renderedDom(listingUrl, site.dir);
    assert.equal(title(dom), 'Index of /list/', 'no script ran (it would have renamed the page)');
    assert.doesNotMatch(dom, /<img|<script>document|<b>sub/i, 'no name became markup');
    const links = [...dom.matchAll(/<a href="([^"]*)">([^<]*)<\/a>/g)].map((m) => ({ href: unescape(m[1]!), text: unescape(m[2]!) }));
    const files = links.filter((l) => HOSTILE.includes(l.text));
    assert.deepEqual(files.map((l) => l.text).sort(), [...HOSTILE].sort(), 'every name is shown exactly');
    assert.ok(links.some((l) => l.text === '<b>sub/'), 'the directory, with its slash');
    for (const link of files) {
      const target = new URL(link.href, listingUrl);
      assert.equal(target.origin, new URL(listingUrl).origin, `${link.text} stays on the site`);
      const r = await curl(target.href);
      assert.equal(r.status, 200, link.text);
      assert.equal(r.body.toString(), `file number ${HOSTILE.indexOf(link.text)}\n`, link.text);
    }
  });
});
