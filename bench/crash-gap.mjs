// node bench/crash-gap.mjs [path/to/tsgi-express] [--rounds N] [-- extra tsgi-express flags]
// What clients see while a crashed worker is replaced: starts the server with
// --processes 1 (unless the extra flags say otherwise), SIGKILLs the worker, then opens
// one new connection every 20 ms for 1.5 s, and prints how many were served, how
// many failed and how, and how long the longest one waited. Not part of `npm run bench`.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { freePort } from './lib/port.mjs';
import { startServer } from './lib/proc.mjs';
import { ROOT } from './lib/servers.mjs';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { rounds: { type: 'string', default: '3' } } });
const cli = positionals[0] ?? join(ROOT, 'bin/tsgi-express');
const extra = positionals.slice(1);
const APP = join(ROOT, 'test/fixtures/app.ts');
const TRIES = 75;
const EVERY_MS = 20;

async function pidOf(url) {
  return Number(await (await request(`${url}pid`)).body.text());
}

/** One new connection every EVERY_MS, each with one request: when it was sent and how it ended. */
async function probe(url, t0) {
  const dispatcher = new Agent({ headersTimeout: 10_000, connect: { timeout: 10_000 } });
  const tries = [];
  for (let i = 0; i < TRIES; i++) {
    const sent = performance.now() - t0;
    tries.push(
      request(`${url}pid`, { reset: true, dispatcher }).then(
        (r) => r.body.text().then(() => ({ ok: true, wait: performance.now() - t0 - sent })),
        (err) => ({ ok: false, code: err.code ?? String(err) }),
      ),
    );
    await sleep(EVERY_MS);
  }
  const outcomes = await Promise.all(tries);
  await dispatcher.close();
  return outcomes;
}

async function round(tmp, i) {
  const port = await freePort();
  const args = ['start-server', APP, '--host', '127.0.0.1', '--port', String(port), '--processes', '1', ...extra];
  const server = await startServer({ cmd: cli, args, cwd: ROOT, logFile: join(tmp, `gap-${i}.log`) });
  try {
    const url = `http://127.0.0.1:${port}/`;
    process.kill(await pidOf(url), 'SIGKILL');
    const outcomes = await probe(url, performance.now());
    const served = outcomes.filter((o) => o.ok);
    const failed = outcomes.filter((o) => !o.ok);
    const codes = [...new Set(failed.map((o) => o.code))].join(', ');
    const longest = Math.max(0, ...served.map((o) => o.wait));
    console.log(`served ${served.length}/${TRIES}, failed ${failed.length}${codes ? ` (${codes})` : ''}, longest wait ${Math.round(longest)} ms`);
  } finally {
    await server.stop();
  }
}

const tmp = mkdtempSync(join(os.tmpdir(), 'tsgi-gap-'));
console.log(`${cli} ${extra.join(' ')}`);
for (let i = 0; i < Number(values.rounds); i++) await round(tmp, i);
