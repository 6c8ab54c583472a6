// Pattern mounts (--mount-app-match) without a server: the rule checks (every bad input
// exits 2 naming the flag or the config key), which script a path names and what never
// names one (a '..' or an encoded slash climbing out of the template's directory), and the
// mount stage's precedence between explicit mounts and patterns.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { readOptionObject } from '../../src/config/config-file.js';
import { checkMatchRule, compileMatchRules, fixedDirectory, insideRule, matchPath } from '../../src/config/match-rules.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { UsageError } from '../../src/errors.js';
import { PatternRouter } from '../../src/groups/match-route.js';
import type { RequestContext } from '../../src/pipeline/context.js';
import { mountStage } from '../../src/pipeline/mount.js';
import { ROOT } from '../helpers/server.js';

const ctx = { cwd: ROOT, env: { TMPDIR: '/tmp' }, uid: 1000, version: '9.9.9' };

function usage(raw: Record<string, unknown>): string {
  try {
    resolveConfig(raw, 'examples/hello.ts', ctx);
  } catch (err) {
    assert.ok(err instanceof UsageError, `expected UsageError, got ${err}`);
    return err.message;
  }
  assert.fail('expected a UsageError');
}

describe('--mount-app-match: bad input', () => {
  const cases: [string, [string, string], RegExp][] = [
    ['a regex that does not compile', ['^/([^/]+', '/srv/$1/app.ts'], /^--mount-app-match \^\/\(\[\^\/\]\+: the regex does not compile \(/],
    ['a template without a capture', ['^/([^/]+)', '/srv/site/app.ts'], /^--mount-app-match \/srv\/site\/app\.ts: the template uses no capture of the regex/],
    ['$2 with one group', ['^/([^/]+)', '/srv/$1/$2.ts'], /^--mount-app-match \/srv\/\$1\/\$2\.ts: the template uses \$2, but the regex \^\/\(\[\^\/\]\+\) has 1 capture group/],
    ['$1 with no group', ['^/[^/]+', '/srv/$1/app.ts'], /the template uses \$1, but the regex \^\/\[\^\/\]\+ has no capture group/],
    ['$0', ['^/([^/]+)', '/srv/$0/app.ts'], /the template uses \$0/],
    ['a regex not anchored at ^', ['/([^/]+)', '/srv/$1/app.ts'], /^--mount-app-match \/\(\[\^\/\]\+\): the regex must start with \^ \(what it matches becomes SCRIPT_NAME/],
    ['a template with a .. segment', ['^/([^/]+)', '/srv/$1/../../etc/app.ts'], /the template must not hold \. or \.\. segments/],
  ];
  for (const [what, pair, message] of cases) {
    it(`${what}: a UsageError naming the flag`, () => {
      assert.match(usage({ mountAppMatch: [pair] }), message);
    });
  }

  it('values out of range name their flags', () => {
    assert.match(usage({ matchProcesses: 0 }), /^--match-processes must be at least 1 \(got 0\)/);
    assert.match(usage({ matchProcesses: 1.5 }), /^--match-processes must be an integer/);
    assert.match(usage({ maxMatchApps: 0 }), /^--max-match-apps must be at least 1 \(got 0\)/);
    assert.match(usage({ matchIdleTimeout: -1 }), /^--match-idle-timeout is in seconds and must be at least 0 \(got -1\)/);
    assert.match(usage({ matchIdleTimeout: 'soon' }), /^--match-idle-timeout must be a number of seconds/);
  });

  it('debug mode refuses it, saying why and what to do instead', () => {
    assert.match(usage({ mountAppMatch: [['^/([^/]+)', '/srv/$1/app.ts']], debugMode: true }), /^--mount-app-match cannot be used with --debug-mode: debug mode runs one process.*mount each site with --mount-app instead$/);
  });

  it('a config file: the same checks, naming the file and key path', () => {
    assert.throws(() => readOptionObject({ 'mount-app-match': [['^/([^/]+)', 'sites/app.ts']] }, 'f.yaml'), (err: Error) =>
      err instanceof UsageError && /^f\.yaml: mount-app-match sites\/app\.ts: the template uses no capture/.test(err.message));
    assert.throws(() => readOptionObject({ mountAppMatch: { '([^/]+)': 'sites/$1.ts' } }, 'f.yaml'), (err: Error) =>
      /^f\.yaml: mountAppMatch \(\[\^\/\]\+\): the regex must start with \^/.test(err.message));
    assert.throws(() => readOptionObject({ 'max-match-apps': 0 }, 'f.yaml'), (err: Error) => /^f\.yaml: max-match-apps must be at least 1 \(got 0\)/.test(err.message));
    const { raw } = readOptionObject({ 'mount-app-match': { '^/([^/]+)': 'sites/$1/app.ts' }, 'match-idle-timeout': 2 }, 'f.yaml');
    assert.deepEqual(raw, { mountAppMatch: [['^/([^/]+)', 'sites/$1/app.ts']], matchIdleTimeout: 2 });
  });

  it('a good rule resolves with its template made absolute', () => {
    const config = resolveConfig({ mountAppMatch: [['^/([^/]+)', 'sites/$1/app.ts']] }, 'examples/hello.ts', ctx);
    assert.deepEqual(config.mountAppMatch, [['^/([^/]+)', path.join(ROOT, 'sites/$1/app.ts')]]);
    assert.deepEqual([config.matchProcesses, config.matchIdleTimeout, config.maxMatchApps], [1, 300, 50]);
    assert.equal(checkMatchRule('^/(?<site>[a-z]+)/(v\\d)', '/srv/$1/$2.ts'), undefined);
  });
});

describe('which script a path names', () => {
  const rules = compileMatchRules([['^/([^/]+)', '/srv/sites/$1/app.ts']]);
  const named = (p: string) => {
    const hit = matchPath(rules, p);
    return hit && [hit.scriptName, hit.pathInfo, hit.script];
  };

  it('the matched prefix is SCRIPT_NAME, the rest PATH_INFO', () => {
    assert.deepEqual(named('/blog'), ['/blog', '', '/srv/sites/blog/app.ts']);
    assert.deepEqual(named('/blog/'), ['/blog', '/', '/srv/sites/blog/app.ts']);
    assert.deepEqual(named('/blog/a/b'), ['/blog', '/a/b', '/srv/sites/blog/app.ts']);
    assert.equal(named('/'), undefined);
  });

  it('a match must end at a segment boundary', () => {
    const prefix = compileMatchRules([['^/s(\\d)', '/srv/s$1.ts']]);
    assert.equal(matchPath(prefix, '/s1x/y'), undefined);
    assert.deepEqual(matchPath(prefix, '/s1/y')?.scriptName, '/s1');
  });

  it('.. and encoded slashes (decoded before matching) never reach outside the fixed directory', () => {
    // The mount stage has decoded %2F to / and removed plain dot segments already.
    assert.equal(named('/../etc/x'), undefined);
    assert.equal(named('/./x'), undefined);
    const wide = compileMatchRules([['^/(.+)/go', '/srv/sites/$1.ts'], ['^/x(.*)', '/srv/sites/$1/app.ts']]);
    for (const p of ['/../../etc/passwd/go', '/a/../../etc/go', '/a/..\\..\\b/go', '/x/../../x', '/x\0/a']) assert.equal(matchPath(wide, p), undefined, p);
    assert.equal(matchPath(wide, '/a/b/go')?.script, '/srv/sites/a/b.ts');
    // An empty capture names nothing either.
    assert.equal(matchPath(compileMatchRules([['^/p([^/]*)', '/srv/sites/$1/app.ts']]), '/p/x'), undefined);
  });

  it('the fixed directory is the part before the first capture', () => {
    assert.equal(fixedDirectory('/srv/sites/$1/app.ts'), '/srv/sites');
    assert.equal(fixedDirectory('/srv/sites/site-$1.ts'), '/srv/sites');
    assert.equal(fixedDirectory('/$1/app.ts'), '/');
  });

  it('the master accepts only scripts a rule can name', () => {
    assert.ok(insideRule(rules, '/srv/sites/blog/app.ts'));
    for (const s of ['/srv/other/app.ts', '/srv/sites/../x.ts', 'srv/sites/a/app.ts', '/srv/sites']) assert.equal(insideRule(rules, s), undefined, s);
  });
});

describe('mount stage with pattern mounts', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-match-unit-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  for (const site of ['blog', 'api']) {
    mkdirSync(path.join(dir, site));
    writeFileSync(path.join(dir, site, 'app.ts'), '');
  }
  const router = new PatternRouter([['^/([^/]+)', `${dir}/$1/app.ts`]]);

  function route(stage: ReturnType<typeof mountStage>, url: string): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      const req = { url, method: 'GET', headers: {} } as IncomingMessage;
      const res = { req, headersSent: false, writeHead: (s: number) => (resolve({ status: s }), res), end() {} } as unknown as ServerResponse;
      const c = { req, res, scriptName: '', pathInfo: '', queryString: '' } as RequestContext;
      stage(c, () => resolve({ app: c.matchScript !== undefined ? path.basename(path.dirname(c.matchScript)) : c.appIndex ?? 0, scriptName: c.scriptName, pathInfo: c.pathInfo }));
    });
  }

  it('a pattern whose script exists wins over a less specific mount; an explicit one wins a tie', async () => {
    const stage = mountStage('/', [], undefined, false, ['/api', '/blog/admin'], router);
    assert.deepEqual(await route(stage, '/blog/x'), { app: 'blog', scriptName: '/blog', pathInfo: '/x' });
    assert.deepEqual(await route(stage, '/api/x'), { app: 1, scriptName: '/api', pathInfo: '/x' });
    assert.deepEqual(await route(stage, '/blog/admin/x'), { app: 2, scriptName: '/blog/admin', pathInfo: '/x' });
    // No such site: the explicit mount that holds the path (the main app at /).
    assert.deepEqual(await route(stage, '/nosite/x'), { app: 0, scriptName: '', pathInfo: '/nosite/x' });
  });

  it('no such site and no explicit mount holding it: 404; escapes: 404', async () => {
    const stage = mountStage('/main', [], undefined, false, [], router);
    assert.deepEqual(await route(stage, '/nosite/x'), { status: 404 });
    assert.deepEqual(await route(stage, '/..%2Fblog/x'), { status: 404 });
    assert.deepEqual(await route(stage, '/%2e%2e/blog/x'), { status: 400 });
    assert.deepEqual(await route(stage, '/blog/x'), { app: 'blog', scriptName: '/blog', pathInfo: '/x' });
  });
});
