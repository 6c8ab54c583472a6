/**
 * The master's ledger of Digest (nonce, nc) pairs already accepted, so that a
 * captured request cannot be replayed on any worker: a table in each worker is
 * beaten by reconnecting until another worker gets the connection. Workers ask
 * only after the response proved the password, so only clients that know one
 * can add entries.
 *
 * Bounded: an entry goes once its nonce has expired (workers refuse it as stale
 * by then), each nonce accepts at most MAX_COUNTS answers, and past MAX_NONCES
 * the oldest entry is dropped and every nonce issued up to it is from then on
 * answered `stale` (the client retries with a new nonce, without asking its
 * user), so dropping an entry never lets its pairs be replayed.
 */
export type Claim = 'fresh' | 'replayed' | 'stale';

const MAX_NONCES = 100_000;
const MAX_COUNTS = 10_000;
/** Entries outlive the nonce's lifetime by this much: workers' clocks and the master's need not agree to the millisecond. */
const MARGIN_MS = 60_000;

interface Entry {
  readonly issuedAt: number;
  readonly counts: Set<string>;
}

export class NonceLedger {
  /** Insertion order is first-use order: close to issue order, so expiry sweeps from the front. */
  private readonly used = new Map<string, Entry>();
  /** Nonces issued at or before this time are stale (their entries may have been dropped). */
  private watermark = -Infinity;

  constructor(
    private readonly lifetimeMs: number,
    private readonly maxNonces = MAX_NONCES,
    private readonly maxCounts = MAX_COUNTS,
  ) {}

  get size(): number {
    return this.used.size;
  }

  claim(nonce: string, nc: string, issuedAt: number, now = Date.now()): Claim {
    this.sweep(now);
    if (issuedAt <= this.watermark || now - issuedAt > this.lifetimeMs + MARGIN_MS) return 'stale';
    let entry = this.used.get(nonce);
    if (entry === undefined) {
      if (this.used.size >= this.maxNonces) this.dropOldest();
      if (issuedAt <= this.watermark) return 'stale';
      entry = { issuedAt, counts: new Set() };
      this.used.set(nonce, entry);
    }
    if (entry.counts.has(nc)) return 'replayed';
    if (entry.counts.size >= this.maxCounts) return 'stale';
    entry.counts.add(nc);
    return 'fresh';
  }

  private sweep(now: number): void {
    for (const [nonce, entry] of this.used) {
      if (now - entry.issuedAt <= this.lifetimeMs + MARGIN_MS) break;
      this.used.delete(nonce);
    }
  }

  private dropOldest(): void {
    const [nonce, entry] = this.used.entries().next().value!;
    this.used.delete(nonce);
    this.watermark = Math.max(this.watermark, entry.issuedAt);
  }
}
