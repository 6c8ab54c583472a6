import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { OPTIONS, type OptionSpec } from '../../src/config/options.js';
import { renderOptionsDoc } from '../../src/config/options-doc.js';
import { resolveConfig, validateOptions } from '../../src/config/resolve.js';
import { parseArgs } from '../../src/cli/parse-args.js';
import { banner } from '../../src/master/banner.js';
import { UsageError } from '../../src/errors.js';
import { ROOT } from '../helpers/server.js';

const ctx = { cwd: ROOT, env: { TMPDIR: '/tmp' }, uid: 1000, version: '9.9.9' };
const hello = 'examples/hello.ts';

function usage(raw: Record<string, unknown>, positional: string | null = hello): string {
  try {
    resolveConfig(raw, positional ?? undefined, ctx);
  } catch (err) {
    assert.ok(err instanceof UsageError, `expected UsageError, got ${err}`);
    return err.message;
  }
  assert.fail('expected a UsageError');
}

describe('options table', () => {
  it('every static default passes its own schema', () => {
    for (const spec of OPTIONS as readonly OptionSpec[]) {
      if (spec.default === undefined) continue;
      const result = spec.schema.safeParse(spec.default);
      assert.ok(result.success, `default of --${spec.flag} fails its schema`);
    }
  });

  it('flags are unique and kebab-case forms of their keys', () => {
    const flags = new Set<string>();
    for (const spec of OPTIONS as readonly OptionSpec[]) {
      assert.equal(spec.flag, spec.key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()));
      assert.ok(!flags.has(spec.flag), `duplicate --${spec.flag}`);
      flags.add(spec.flag);
    }
  });

  it('docs/options.md is what the table generates (run `npm run docs` to update)', () => {
    const committed = readFileSync(path.join(ROOT, 'docs/options.md'), 'utf8');
    assert.equal(committed, renderOptionsDoc());
  });
});

describe('resolveConfig', () => {
  it('the static options resolve their paths and leave the other options as resolved', () => {
    const c = resolveConfig(
      { documentRoot: 'examples/static-site/public', urlAlias: [['/media', 'examples']], authLocation: ['/admin/'], authUserScript: 'test/fixtures/auth/users.ts' },
      hello,
      ctx,
    );
    assert.equal(c.documentRoot, path.join(ROOT, 'examples/static-site/public'));
    assert.deepEqual(c.urlAlias, [['/media', path.join(ROOT, 'examples')]]);
    assert.deepEqual(c.authLocation, ['/admin'], 'the auth options keep their own resolution');
  });

  it('applies mod_wsgi-express defaults', () => {
    const c = resolveConfig({}, hello, ctx);
    assert.equal(c.port, 8000);
    assert.equal(c.processes, 1);
    assert.equal(c.threads, 100);
    assert.equal(c.multiprocess, false);
    assert.equal(c.mountPoint, '/');
    assert.equal(c.callableObject, 'application');
    assert.equal(c.workingDirectory, path.join(ROOT, 'examples'));
    assert.equal(c.serverRoot, '/tmp/tsgi-express-localhost:8000:1000');
    assert.equal(c.scriptPath, path.join(ROOT, hello));
    assert.deepEqual([c.startupTimeout, c.shutdownTimeout, c.gracefulTimeout, c.queueTimeout], [15, 5, 15, 45]);
    assert.ok(Object.isFrozen(c));
  });

  it('--processes given at all makes tsgi.multiprocess true, even 1', () => {
    assert.equal(resolveConfig({ processes: '1' }, hello, ctx).multiprocess, true);
  });

  it('stuck workers are detected at the default --deadlock-timeout; their stacks (a watchdog thread per worker) only when it is given', () => {
    const stacks = (raw: Record<string, unknown>) => {
      const c = resolveConfig(raw, hello, ctx);
      return [c.deadlockTimeout, c.deadlockStacks];
    };
    assert.deepEqual(stacks({}), [60, false]);
    assert.deepEqual(stacks({ deadlockTimeout: '60' }), [60, true]);
    assert.deepEqual(stacks({ deadlockTimeout: '5' }), [5, true]);
    assert.deepEqual(stacks({ deadlockTimeout: '0' }), [0, false]);
    assert.deepEqual(stacks({ deadlockTimeout: '5', debugMode: true }), [5, false]);
  });

  it('debug mode forces one process and one thread', () => {
    const c = resolveConfig({ debugMode: true, processes: '4', threads: '8' }, hello, ctx);
    assert.deepEqual([c.processes, c.threads, c.multiprocess], [1, 1, false]);
  });

  it('coerces strings from argv and accepts fractional timeouts', () => {
    const c = resolveConfig({ port: '8123', queueTimeout: '0.5', setenv: [['A', '1']] }, hello, ctx);
    assert.equal(c.port, 8123);
    assert.equal(c.queueTimeout, 0.5);
    assert.deepEqual(c.setenv, [['A', '1']]);
  });

  it('adds the leading slash to a mount point', () => {
    assert.equal(resolveConfig({ mountPoint: 'app' }, hello, ctx).mountPoint, '/app');
  });

  for (const [raw, expected] of [
    [{ processes: '0' }, '--processes must be at least 1 (got "0")'],
    [{ port: '70000' }, '--port must be at most 65535 (got "70000")'],
    [{ threads: 'abc' }, '--threads must be an integer (got "abc")'],
    [{ threads: '0' }, '--threads must be at least 1 (got "0")'],
    [{ shutdownTimeout: '-1' }, '--shutdown-timeout is in seconds and must be at least 0 (got "-1")'],
    [{ queueTimeout: 'soon' }, '--queue-timeout must be a number of seconds (got "soon")'],
    [{ logLevel: 'loud' }, '--log-level must be one of: error, warn, info, debug (got "loud")'],
    [{ applicationType: 'paste' }, '--application-type must be one of: script, module (got "paste")'],
  ] as const) {
    it(`rejects ${JSON.stringify(raw)}`, () => assert.equal(usage(raw), expected));
  }

  it('names a missing script', () => {
    assert.match(usage({}, 'nope.ts'), /application script .*nope\.ts: no such file/);
  });

  it('rejects a script with an unknown extension', () => {
    assert.match(usage({}, 'package.json'), /unsupported extension/);
  });

  it('asks for a script when none is given', () => {
    assert.match(usage({}, null), /no application given/);
  });

  it('accepts --reload-on-changes with --disable-reloading, as mod_wsgi-express does (the banner says off)', () => {
    const c = resolveConfig({ reloadOnChanges: true, disableReloading: true }, hello, ctx);
    assert.equal(c.disableReloading, true);
    assert.match(banner(c, 'tsgi'), /^Reloading {10}: off$/m);
  });

  it('--passenv takes one name per flag, so the script after it stays the script', async () => {
    const config = await parseArgs(['start-server', '--passenv', 'HOME', '--passenv', 'LANG', hello], 100);
    assert.deepEqual(config?.passenv, ['HOME', 'LANG']);
    assert.equal(config?.scriptPath, path.join(ROOT, hello));
  });

  it('validateOptions leaves absent options without a default absent', () => {
    const v = validateOptions({});
    assert.equal('processes' in v, false);
    assert.equal('host' in v, false);
  });
});
