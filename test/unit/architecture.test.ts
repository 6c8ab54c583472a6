// Import rules from docs/architecture.md: supervision, request handling and the
// worker stay separate, and generated docs name every error code.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/server.js';

function importsOf(dir: string): Map<string, string[]> {
  const result = new Map<string, string[]>();
  for (const name of readdirSync(path.join(ROOT, 'src', dir))) {
    if (!name.endsWith('.ts')) continue;
    const text = readFileSync(path.join(ROOT, 'src', dir, name), 'utf8');
    const specs = [...text.matchAll(/^import\s[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
    result.set(`${dir}/${name}`, specs);
  }
  return result;
}

function assertNoImport(dirs: string[], forbidden: RegExp): void {
  for (const dir of dirs) {
    for (const [file, specs] of importsOf(dir)) {
      const bad = specs.filter((s) => forbidden.test(s));
      assert.deepEqual(bad, [], `${file} imports ${bad.join(', ')}`);
    }
  }
}

describe('import rules', () => {
  it('master/ never imports node:http, pipeline/, tsgi/ or adapters/', () => {
    assertNoImport(['master'], /^node:https?$|\/(pipeline|tsgi|adapters)\//);
  });

  it('pipeline/, tsgi/ and adapters/ never import node:cluster, master/ or worker/', () => {
    assertNoImport(['pipeline', 'tsgi', 'adapters'], /^node:cluster$|\/(master|worker)\//);
  });

  it('every error code is documented in docs/architecture.md', () => {
    const codes = [...readFileSync(path.join(ROOT, 'src/errors.ts'), 'utf8').matchAll(/'(TSGI_[A-Z_]+)'/g)].map((m) => m[1]!);
    const docs = readFileSync(path.join(ROOT, 'docs/architecture.md'), 'utf8');
    assert.ok(codes.length >= 3, `found only ${codes.join(", ")}`);
    for (const code of codes) assert.ok(docs.includes(code), `${code} missing from docs/architecture.md`);
  });
});
