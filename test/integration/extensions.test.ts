// Every script extension the server accepts loads and serves: TypeScript and
// JavaScript, ESM and CommonJS, and JSX.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import { fixture, killAll, startServer } from '../helpers/server.js';

after(killAll);

describe('script extensions', { timeout: 60_000 }, () => {
  const cases = [
    ['esm.mjs', 'mjs'], ['common.cjs', 'cjs'], ['plain.js', 'js'],
    ['typed.mts', 'mts'], ['typed.cts', 'cts'], ['view.tsx', '<p>tsx</p>'],
  ] as const;
  for (const [file, expected] of cases) {
    it(`serves a ${file.split('.')[1]} script`, async () => {
      const server = await startServer([fixture(`extensions/${file}`)]);
      try {
        const res = await request(server.url);
        assert.equal(res.statusCode, 200);
        assert.equal(await res.body.text(), expected);
      } finally {
        process.kill(-server.pid, 'SIGKILL'); // the whole group: the master and its worker
      }
    });
  }
});
