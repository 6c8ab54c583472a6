// The config file's pieces without a server: how the command line merges over the
// file, how a file's values are shaped and checked, and defineConfig's contract.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineConfig } from 'tsgi-express';
import { mergeOptions, readOptionObject } from '../../src/config/config-file.js';
import { UsageError } from '../../src/errors.js';

describe('config file values', () => {
  it('takes flag names and camelCase keys, shapes lists and setenv objects', () => {
    const { raw } = readOptionObject({ 'mount-point': '/a', passenv: 'HOME', setenv: { A: 1, B: true }, startupTimeout: 3 }, 'f.yaml');
    assert.deepEqual(raw, { mountPoint: '/a', passenv: ['HOME'], setenv: [['A', '1'], ['B', 'true']], startupTimeout: 3 });
  });

  it('names the file and key path of a bad value', () => {
    assert.throws(() => readOptionObject({ processes: 0 }, 'f.yaml'), (err: Error) =>
      err instanceof UsageError && err.message === 'f.yaml: processes must be at least 1 (got 0)');
    assert.throws(() => readOptionObject({ config: 'other.yaml' }, 'f.yaml'), /f\.yaml: unknown key "config"/);
  });

  it('the command line replaces a key, and adds to setenv and passenv after the file\'s', () => {
    const merged = mergeOptions(
      { processes: 2, mountPoint: '/file', setenv: [['A', 'file'], ['B', 'file']], passenv: ['HOME'], entryPoint: '/srv/app.ts' },
      { processes: '4', setenv: [['A', 'cli']], passenv: ['LANG'] },
      'other.ts',
    );
    assert.deepEqual(merged, { processes: '4', mountPoint: '/file', setenv: [['A', 'file'], ['B', 'file'], ['A', 'cli']], passenv: ['HOME', 'LANG'] });
  });

  it('defineConfig returns what it is given (the parse process validates it)', () => {
    const config = { processes: 2, 'mount-point': '/x', setenv: { A: 'b' } } as const;
    assert.equal(defineConfig(config), config);
    const make = async () => ({ threads: 3 });
    assert.equal(defineConfig(make), make);
    // @ts-expect-error -- an unknown key is a type error in a .ts config file
    defineConfig({ proceses: 2 });
    // @ts-expect-error -- so is a value of the wrong type
    defineConfig({ threads: 'many' });
  });
});
