/**
 * The whole server's counts for the status page and the metrics: the sum of
 * every living worker's last stats plus what the workers that have left had
 * counted (a recycled or reloaded worker's requests still count; its last
 * stats arrive just before it exits). So counters only grow, across reloads
 * and recycles, as Prometheus expects of a counter. A worker killed outright
 * takes the requests it served since its last heartbeat (at most a second's
 * worth) with it.
 *
 * Also the request rate: the total sampled every tick, the rate taken over the
 * last 10 s.
 */
import type { PoolTotals as Totals, WorkerStats } from '../ipc/messages.js';
import { addCounts, emptyCounts, type RequestCounts } from '../ipc/request-counts.js';

const RATE_WINDOW_MS = 10_000;

export class PoolTotals {
  private requests = 0;
  private queueTimeouts = 0;
  private requestTimeouts = 0;
  private readonly counts: RequestCounts = emptyCounts();
  private counted = false;
  private readonly samples: { at: number; requests: number }[];

  /** `startedAt`: none served yet, the rate's first point until ticks replace it. */
  constructor(startedAt = performance.now()) {
    this.samples = [{ at: startedAt, requests: 0 }];
  }

  /** A worker left: what it counted stays in the totals. */
  fold(stats: WorkerStats | undefined): void {
    if (!stats) return;
    this.requests += stats.requests;
    this.queueTimeouts += stats.queueTimeouts;
    this.requestTimeouts += stats.requestTimeouts;
    if (stats.counts) {
      addCounts(this.counts, stats.counts);
      this.counted = true;
    }
  }

  /** The totals with the living workers' last stats added. */
  totals(living: Iterable<WorkerStats | undefined>): Totals {
    let requests = this.requests;
    let queueTimeouts = this.queueTimeouts;
    let requestTimeouts = this.requestTimeouts;
    let counts: RequestCounts | undefined = this.counted ? addCounts(emptyCounts(), this.counts) : undefined;
    for (const stats of living) {
      if (!stats) continue;
      requests += stats.requests;
      queueTimeouts += stats.queueTimeouts;
      requestTimeouts += stats.requestTimeouts;
      if (stats.counts) counts = addCounts(counts ?? emptyCounts(), stats.counts);
    }
    return counts ? { requests, queueTimeouts, requestTimeouts, counts } : { requests, queueTimeouts, requestTimeouts };
  }

  /** Records the total served now (each tick). */
  sample(requests: number, at = performance.now()): void {
    this.samples.push({ at, requests });
    while (this.samples.length > 2 && at - this.samples[1]!.at >= RATE_WINDOW_MS) this.samples.shift();
  }

  /**
   * Requests per second between the oldest sample in the window and `now` (the
   * totals as the caller reads them): requests counted since the last tick count
   * too, so a burst that ended between two ticks (or before the first, a second
   * after the start) is not a rate of 0.
   */
  rate(now: { at: number; requests: number }): number {
    const first = this.samples[0]!; // the start's, until ticks replace it
    if (now.at <= first.at) return 0;
    return Math.max(0, (now.requests - first.requests) / ((now.at - first.at) / 1000));
  }
}
