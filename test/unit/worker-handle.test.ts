import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fixture } from '../helpers/server.js';

describe('WorkerHandle', () => {
  it('a message to a worker that has just died is logged, and does not crash the master', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', fixture('send-to-dead-worker.ts')], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /master survived/);
    assert.match(run.stderr, /message to worker \d+ not delivered: write EPIPE \(it is exiting\)/);
  });
});
