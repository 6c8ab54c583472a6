// The status page's request rate: taken over the window of tick samples up to the
// moment the page is read, so a burst that ended between two ticks is not a rate of 0.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PoolTotals } from '../../src/master/pool-totals.js';

describe('PoolTotals.rate', () => {
  it('counts the requests since the last tick when given the totals read now', () => {
    const totals = new PoolTotals(0);
    totals.sample(0, 1000);
    // 300 requests answered after that tick, read half a second later: no tick has seen them yet.
    assert.equal(totals.rate({ at: 1500, requests: 300 }), 200);
  });

  it('before the first tick: since the start', () => {
    // A burst served within the first second (recycles included) is not a rate of 0.
    assert.equal(new PoolTotals(1000).rate({ at: 1800, requests: 400 }), 500);
  });

  it('is taken over the last 10 s of samples', () => {
    const totals = new PoolTotals(0);
    for (let s = 0; s <= 20; s++) totals.sample(s * 100, 1000 + s * 1000);
    // Samples older than 10 s before the newest are dropped: 100 requests a second throughout.
    assert.equal(totals.rate({ at: 21_000, requests: 2000 }), 100);
  });
});
