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

/** Every module `entry` loads at run time (type-only imports are erased by tsc). */
function runtimeImports(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^import\s(?!type\s)[^'"]*['"]([^'"]+)['"]/gm)) {
      const spec = m[1]!;
      if (!spec.startsWith('.')) {
        seen.add(spec);
        continue;
      }
      const target = path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'));
      if (!seen.has(target)) {
        seen.add(target);
        visit(target);
      }
    }
  };
  visit(path.join(ROOT, 'src', entry));
  return seen;
}

describe('import rules', () => {
  it('the master (cli/main.ts) and the workers never load yargs or zod', () => {
    // Each entry's own core module shows that the walk reached deep enough to mean something.
    for (const [entry, own] of [['cli/main.ts', 'node:cluster'], ['worker/main.ts', 'node:http']] as const) {
      const loaded = runtimeImports(entry);
      assert.ok(loaded.has(own), `${entry}: the import walk never reached ${own}`);
      const heavy = [...loaded].filter((s) => /^(yargs|zod)(\/|$)/.test(s));
      assert.deepEqual(heavy, [], `${entry} loads ${heavy.join(', ')}`);
    }
    assert.ok(runtimeImports('cli/parse-process.ts').has('zod'), 'the parse process validates with zod');
  });

  it('the fetch adapter (which loads Node\'s undici through the global Request) is imported only on demand', () => {
    const fetchAdapter = [...runtimeImports('worker/main.ts')].filter((f) => /adapters\/fetch/.test(f));
    assert.deepEqual(fetchAdapter, []);
  });

  it('a worker loads the static-file code only when a static option is given', () => {
    const loaded = [...runtimeImports('worker/main.ts')].map((s) => (path.isAbsolute(s) ? path.relative(path.join(ROOT, 'src'), s) : s));
    const heavy = loaded.filter((s) => /^(mime-types|negotiator|vary|etag|fresh|range-parser|node:zlib)$|^static\/|^pipeline\/(compress|static|static-build|error-override)\.ts$/.test(s));
    assert.deepEqual(heavy, []);
    assert.ok(runtimeImports('pipeline/static-build.ts').has('mime-types'), 'the walk reaches the static code from its own entry');
  });

  it('master/ never imports node:http, pipeline/, tsgi/, adapters/ or static/', () => {
    assertNoImport(['master'], /^node:https?$|\/(pipeline|tsgi|adapters|static)\//);
  });

  it('pipeline/, tsgi/, adapters/, auth/ and static/ never import node:cluster, master/ or worker/', () => {
    assertNoImport(['pipeline', 'tsgi', 'adapters', 'auth', 'static'], /^node:cluster$|\/(master|worker)\//);
  });

  it('auth/ modules the master loads never load the pipeline, bcrypt or yargs/zod', () => {
    const loaded = [...runtimeImports('master/auth-service.ts')];
    const bad = loaded.filter((s) => /\/(pipeline|tsgi|adapters)\/|^(bcrypt|zod|yargs)$/.test(s));
    assert.deepEqual(bad, []);
  });

  it('every error code is documented in docs/architecture.md', () => {
    const codes = [...readFileSync(path.join(ROOT, 'src/errors.ts'), 'utf8').matchAll(/'(TSGI_[A-Z_]+)'/g)].map((m) => m[1]!);
    const docs = readFileSync(path.join(ROOT, 'docs/architecture.md'), 'utf8');
    assert.ok(codes.length >= 3, `found only ${codes.join(", ")}`);
    for (const code of codes) assert.ok(docs.includes(code), `${code} missing from docs/architecture.md`);
  });
});
