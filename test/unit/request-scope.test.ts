import assert from 'node:assert/strict';
import { test } from 'node:test';
import { currentRequestId, runInRequest, trackRequests } from '../../src/worker/request-scope.js';

// One test, in order: tracking is process-wide and cannot be turned off again.
test('request ids: synchronous code before any output, across awaits once output was seen', async () => {
  assert.equal(currentRequestId(), undefined);
  assert.equal(runInRequest('a', () => currentRequestId(), undefined), 'a');
  assert.equal(
    runInRequest('outer', (tag: string) => runInRequest('inner', () => currentRequestId(), 0) + tag + currentRequestId(), '/'),
    'inner/outer',
  );
  assert.equal(currentRequestId(), undefined, 'reset after the synchronous part');
  assert.throws(() => runInRequest('c', () => { throw new Error('x'); }, null));
  assert.equal(currentRequestId(), undefined, 'reset after a throw');

  trackRequests();
  const seen = await runInRequest('b', async (ms: number) => {
    await new Promise((r) => setTimeout(r, ms));
    return currentRequestId();
  }, 1);
  assert.equal(seen, 'b');
  assert.equal(currentRequestId(), undefined);
});
