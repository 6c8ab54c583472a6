// --enable-profiler and --enable-coverage through a real server: a CPU profile
// written on SIGUSR2 (the server goes on serving) and at stop, each a
// .cpuprofile that names the application's function; a coverage report, at
// stop, that shows a line of the application's .ts that ran and one that did not.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { killAll, startServer } from '../helpers/server.js';

const APP = `export function application(environ: Record<string, unknown>, startResponse: (s: string, h: [string, string][]) => void) {
  if (environ.PATH_INFO === '/never') {
    return neverCalled();
  }
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [crunchNumbers()];
}

function crunchNumbers(): string {
  let total = 0;
  for (let i = 0; i < 2e6; i++) total += Math.sqrt(i);
  return String(total);
}

function neverCalled(): string[] {
  const unused = 'this line never runs';
  return [unused];
}
`;
const HIT_LINE = 5; // startResponse(...)
const MISSED_LINE = 16; // const unused = ...

let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tsgi-profiler-'));
  await writeFile(path.join(dir, 'app.ts'), APP);
});
after(async () => {
  killAll();
  await rm(dir, { recursive: true, force: true });
});

async function get(url: string): Promise<number> {
  const res = await request(url);
  await res.body.dump();
  return res.statusCode;
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Parses as Chrome DevTools reads a .cpuprofile: the node tree, samples and their time deltas. */
function readProfile(file: string): CpuProfile {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  assert.ok(Array.isArray(profile.nodes) && profile.nodes.length > 0, 'no nodes');
  assert.equal(typeof profile.startTime, 'number');
  assert.ok(profile.endTime >= profile.startTime);
  assert.equal(profile.samples.length, profile.timeDeltas.length);
  const ids = new Set(profile.nodes.map((n) => n.id));
  assert.ok(profile.samples.every((id) => ids.has(id)), 'a sample names a node the profile does not have');
  return profile;
}

function namesAppFunction(profile: CpuProfile, ...names: string[]): boolean {
  return profile.nodes.some((n) => names.includes(n.callFrame.functionName) && n.callFrame.url.endsWith('app.ts'));
}

/** The per-line coverage column of istanbul's HTML page for one file: [class, count text] per line. */
function lineCoverage(html: string): [string, string][] {
  const start = html.indexOf('<td class="line-coverage quiet">');
  assert.ok(start >= 0, 'no line-coverage column');
  const column = html.slice(start, html.indexOf('</td>', start));
  return [...column.matchAll(/<span class="cline-any (cline-[a-z]+)">([^<]*)<\/span>/g)].map((m) => [m[1]!, m[2]!]);
}

describe('--enable-profiler and --enable-coverage', { timeout: 120_000 }, () => {
  it('SIGUSR2 writes a CPU profile without stopping; another is written at stop', async () => {
    const profiles = path.join(dir, 'profiles');
    const server = await startServer([path.join(dir, 'app.ts'), '--enable-profiler', '--profiler-directory', profiles]);
    assert.match(server.output(), new RegExp(`^CPU Profiles {7}: ${profiles} `, 'm'));
    for (let i = 0; i < 5; i++) assert.equal(await get(server.url), 200);
    const from = server.output().length;
    server.signal('SIGUSR2');
    const written = (await server.waitFor(/CPU profile of worker \d+ written: (\S+\.cpuprofile)/, 30_000, from))[1]!;
    assert.ok(namesAppFunction(readProfile(written), 'crunchNumbers'), 'the profile does not name crunchNumbers in app.ts');
    // Still serving, still profiling.
    for (let i = 0; i < 5; i++) assert.equal(await get(server.url), 200);
    server.signal('SIGTERM');
    assert.equal((await server.exited()).code, 0);
    const files = readdirSync(profiles).filter((f) => f.endsWith('.cpuprofile')).sort();
    assert.equal(files.length, 2, files.join(' '));
    const last = path.join(profiles, files[1]!);
    assert.notEqual(last, written);
    // By now V8 may have inlined crunchNumbers into its caller, which the profile then names instead.
    assert.ok(namesAppFunction(readProfile(last), 'crunchNumbers', 'application'));
  });

  it('the coverage report at stop shows a hit and a missed line of the app\'s .ts, and nothing of the server', async () => {
    const coverage = path.join(dir, 'coverage');
    const server = await startServer([path.join(dir, 'app.ts'), '--enable-coverage', '--coverage-directory', coverage]);
    assert.match(server.output(), new RegExp(`^Coverage Report {4}: ${coverage}/index\\.html$`, 'm'));
    for (let i = 0; i < 3; i++) assert.equal(await get(server.url), 200);
    server.signal('SIGTERM');
    assert.equal((await server.exited()).code, 0);
    const index = readFileSync(path.join(coverage, 'index.html'), 'utf8');
    assert.match(index, /app\.ts/);
    assert.doesNotMatch(index, /node_modules|dist\/|tsgi-express/);
    const lines = lineCoverage(readFileSync(path.join(coverage, 'app.ts.html'), 'utf8'));
    assert.deepEqual(lines[HIT_LINE - 1], ['cline-yes', '3x']);
    assert.equal(lines[MISSED_LINE - 1]![0], 'cline-no');
  });
  it('without directories, each tool writes under the server root, as mod_wsgi-express lays it out', async () => {
    const root = path.join(dir, 'root');
    const server = await startServer([path.join(dir, 'app.ts'), '--server-root', root, '--enable-profiler', '--enable-coverage', '--enable-recorder']);
    assert.match(server.output(), new RegExp(`^CPU Profiles {7}: ${root}/profiles `, 'm'));
    assert.match(server.output(), new RegExp(`^Coverage Report {4}: ${root}/coverage/index\\.html$`, 'm'));
    assert.equal(await get(server.url), 200);
    server.signal('SIGTERM');
    assert.equal((await server.exited()).code, 0);
    assert.ok(readdirSync(path.join(root, 'profiles')).some((f) => f.endsWith('.cpuprofile')), 'no profile in SERVER_ROOT/profiles');
    assert.ok(readdirSync(path.join(root, 'coverage')).includes('index.html'), 'no report in SERVER_ROOT/coverage');
    assert.ok(readdirSync(path.join(root, 'archive')).length > 0, 'no recorded request in SERVER_ROOT/archive');
  });
});
