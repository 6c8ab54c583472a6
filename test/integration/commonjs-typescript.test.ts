// A .ts app in a project without "type": "module" (npm init's default) runs as
// CommonJS: tsx compiles `export default app` to module.exports.default, and
// Node hands import() the whole module.exports as the default export. Every
// interface must still find the app there, as it does in an ES-module project.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { killAll, startServer } from '../helpers/server.js';

const APPS: Record<string, string> = {
  'node.ts': `export default (req: any, res: any) => res.end('node ' + req.url);\n`,
  'fetch.ts': `export default { fetch: (request: Request) => new Response('fetch ' + new URL(request.url).pathname) };\n`,
  'tsgi.ts':
    `export function application(environ: any, startResponse: any) {\n` +
    `  startResponse('200 OK', [['Content-Type', 'text/plain']]);\n  return ['tsgi ' + environ.PATH_INFO];\n}\n`,
};

let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tsgi-cjs-'));
  // A package.json without "type": .ts and .js files here are CommonJS.
  await writeFile(path.join(dir, 'package.json'), '{ "name": "cjs-project" }\n');
  for (const [name, source] of Object.entries(APPS)) await writeFile(path.join(dir, name), source);
});
after(async () => {
  killAll();
  await rm(dir, { recursive: true, force: true });
});

describe('TypeScript apps in a CommonJS project', { timeout: 60_000 }, () => {
  for (const kind of ['node', 'fetch', 'tsgi']) {
    it(`finds the ${kind} app through --interface auto`, async () => {
      const server = await startServer([path.join(dir, `${kind}.ts`)]);
      assert.match(server.output(), new RegExp(`Application +: .*${kind}\\.ts \\(${kind}\\)`));
      const res = await request(`${server.url}x`);
      assert.equal(res.statusCode, 200);
      assert.equal(await res.body.text(), `${kind} /x`);
    });
  }
});
