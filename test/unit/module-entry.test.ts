import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { resolveModuleEntry } from '../../src/config/module-entry.js';
import { UsageError } from '../../src/errors.js';
import { fixture } from '../helpers/server.js';

const DIR = fixture('modules');
const NM = path.join(DIR, 'node_modules');
const resolve = (name: string, from = DIR) => resolveModuleEntry(name, from);

describe('--application-type module resolution', () => {
  it('resolves an ESM package through its "exports" string', () => {
    assert.equal(resolve('esm-app'), path.join(NM, 'esm-app/server.js'));
  });

  it('resolves a CommonJS package through "main" without an extension', () => {
    assert.equal(resolve('cjs-app'), path.join(NM, 'cjs-app/lib/app.js'));
  });

  it('resolves a scoped package subpath with the import condition, not require', () => {
    assert.equal(resolve('@acme/web/server'), path.join(NM, '@acme/web/server.js'));
    assert.equal(resolve('@acme/web'), path.join(NM, '@acme/web/index.js'));
  });

  it('resolves subpath patterns, the most specific pattern first', () => {
    assert.equal(resolve('@acme/web/routes/users'), path.join(NM, '@acme/web/routes/users.js'));
    assert.equal(resolve('@acme/web/routes/admin/users'), path.join(NM, '@acme/web/routes/admin-users.js'));
  });

  it('looks in node_modules of parent directories', () => {
    assert.equal(resolve('esm-app', path.join(DIR, 'project/deep/dir')), path.join(NM, 'esm-app/server.js'));
  });

  it('uses index.js inside a package without "main", never a sibling file', () => {
    assert.equal(resolve('no-main'), path.join(NM, 'no-main/index.js'));
  });

  it('returns the real path of a symlinked package, as Node loads it', () => {
    assert.equal(resolve('linked'), path.join(NM, 'linked-real/main.js'));
  });

  it('resolves relative paths from the directory', () => {
    assert.equal(resolve('./node_modules/esm-app/server'), path.join(NM, 'esm-app/server.js'));
  });

  it('resolves to files that load as ESM and as CommonJS', async () => {
    for (const name of ['esm-app', 'cjs-app', '@acme/web/server']) {
      const ns = (await import(pathToFileURL(resolve(name)).href)) as { default: unknown };
      assert.ok(ns.default, name);
    }
  });

  const failures: [string, RegExp][] = [
    ['not-installed', /no package "not-installed" in node_modules of that directory or its parents/],
    ['@acme/web/private', /package "@acme\/web" does not export ".\/private"/],
    ['@acme/web/nothing-here', /does not export ".\/nothing-here"/],
    ['bad-target', /maps to .*missing\.js, which does not exist/],
    ['./no/such/file', /no such file/],
  ];
  for (const [name, why] of failures) {
    it(`stops on "${name}", naming it and the directory searched`, () => {
      assert.throws(
        () => resolve(name),
        (err: Error) => {
          assert.ok(err instanceof UsageError);
          assert.ok(err.message.includes(`cannot resolve "${name}" from ${DIR}`), err.message);
          assert.match(err.message, why);
          return true;
        },
      );
    });
  }
});
