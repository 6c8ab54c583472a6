// The way most users meet tsgi-express: `npm install tsgi-express`, then
// `npx tsgi-express start-server app.ts` in their own project. Packs this
// checkout with npm, installs the tarball into a fresh project (from npm's
// cache, as `npm ci` left it) and runs the installed bin, so a file missing from
// "files", a path that only resolves inside the repo, or types that do not reach
// a user's tsc fail here rather than for the first user.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { request } from 'undici';
import { killAll, ROOT, startServer } from '../helpers/server.js';

const run = promisify(execFile);
const NPM_TIMEOUT_MS = 120_000;
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');

const APP = `import type { Application } from 'tsgi-express';

export const application: Application = (environ, startResponse) => {
  const answer: number = 42;
  if (environ.PATH_INFO === '/boom') throw new Error('boom from the installed app');
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [\`hi \${answer} \${environ.PATH_INFO}\`];
};
`;
/** Line of the throw in APP, for the source-mapped stack trace. */
const THROW_LINE = 5;

const ILL_TYPED_APP = `import type { Application } from 'tsgi-express';

export const application: Application = (environ, startResponse) => {
  startResponse(200, [['Content-Type', 'text/plain']]);
  return [environ.NO_SUCH_KEY.length];
};
`;

let dir = '';
let project = '';
let packedFiles: string[] = [];

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tsgi-package-'));
  // `npm test` built dist/ already; --ignore-scripts skips prepack's second build.
  const packed = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], {
    cwd: ROOT,
    timeout: NPM_TIMEOUT_MS,
  });
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  packedFiles = info!.files.map((f) => f.path);
  project = path.join(dir, 'user-app');
  await mkdir(project);
  await writeFile(path.join(project, 'package.json'), '{ "name": "user-app", "private": true, "type": "module" }\n');
  await writeFile(path.join(project, 'app.ts'), APP);
  await writeFile(path.join(project, 'ill-typed.ts'), ILL_TYPED_APP);
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(dir, info!.filename)], {
    cwd: project,
    timeout: NPM_TIMEOUT_MS,
  });
});

after(async () => {
  killAll();
  await rm(dir, { recursive: true, force: true });
});

const installedBin = () => path.join(project, 'node_modules/.bin/tsgi-express');

async function typecheck(file: string): Promise<{ ok: boolean; output: string }> {
  const tsconfig = {
    compilerOptions: {
      strict: true,
      noEmit: true,
      module: 'nodenext',
      moduleResolution: 'nodenext',
      // The package's .d.ts files are checked too, against the Node types a user's project has.
      skipLibCheck: false,
      typeRoots: [path.join(ROOT, 'node_modules/@types')],
      types: ['node'],
    },
    files: [file],
  };
  await writeFile(path.join(project, 'tsconfig.json'), JSON.stringify(tsconfig));
  try {
    const { stdout } = await run(process.execPath, [TSC, '-p', project], { cwd: project, timeout: NPM_TIMEOUT_MS });
    return { ok: true, output: stdout };
  } catch (err) {
    return { ok: false, output: String((err as { stdout?: string }).stdout) };
  }
}

describe('the npm package, installed into a user project', { timeout: 180_000 }, () => {
  it('holds what the installed CLI runs, and none of the repo-only files', () => {
    for (const needed of ['bin/tsgi-express', 'dist/cli/main.js', 'dist/worker/main.js', 'dist/index.d.ts', 'templates/error.html']) {
      assert.ok(packedFiles.includes(needed), `${needed} is missing from the tarball`);
    }
    const repoOnly = packedFiles.filter((f) => /^(test|bench|src|\.ci)\//.test(f));
    assert.deepEqual(repoOnly, []);
  });

  it('serves a .ts app through the installed bin', async () => {
    const server = await startServer(['app.ts'], { bin: installedBin(), cwd: project });
    assert.match(server.output(), /Application +: .*user-app\/app\.ts \(tsgi\)/);
    const res = await request(`${server.url}x`);
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'hi 42 /x');
  });

  it('answers a throwing app with the packaged error page and a .ts stack trace', async () => {
    const server = await startServer(['app.ts', '--debug-mode'], { bin: installedBin(), cwd: project });
    const res = await request(`${server.url}boom`);
    assert.equal(res.statusCode, 500);
    const page = await res.body.text();
    assert.match(page, /<h1>500 Internal Server Error<\/h1>/);
    assert.match(page, /boom from the installed app/);
    assert.match(page, new RegExp(`app\\.ts:${THROW_LINE}:\\d+`));
  });

  it("gives a user's tsc the TSGI types, which catch a wrong app", async () => {
    const good = await typecheck('app.ts');
    assert.ok(good.ok, `app.ts should type-check against the installed package:\n${good.output}`);
    const bad = await typecheck('ill-typed.ts');
    assert.equal(bad.ok, false);
    assert.match(bad.output, /ill-typed\.ts\(4,17\).*not assignable to parameter of type 'string'/);
  });
});
