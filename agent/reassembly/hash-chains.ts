// The flow table's index: entries chained by a 30-bit hash in a power-of-two array of buckets, grown and shrunk with
// the number of entries.

/** An entry that carries its own hash and chain link, so that indexing it allocates nothing. */
export interface Chained<T> {
  readonly hash: number;
  hnext: T | null;
}

const MIN_BUCKETS = 1024;

/**
 * Replaces a Map<number, T> of chain heads, whose lookup was a tenth of the flow stage (issue 12): a lookup here is
 * one masked array read. The caller walks the chain from `head(hash)` and compares its own key; entries with
 * the same hash keep their order (the newest first), across growing and shrinking too. At most one entry per
 * bucket on average: the array doubles when it would hold more and halves below a quarter.
 */
export class HashChains<T extends Chained<T>> {
  private buckets: (T | null)[];
  private mask: number;
  private count = 0;

  constructor(private readonly minBuckets = MIN_BUCKETS) {
    if (!(minBuckets >= 1) || (minBuckets & (minBuckets - 1)) !== 0) {
      throw new Error('HashChains: minBuckets must be a power of two');
    }
    this.buckets = new Array<T | null>(minBuckets).fill(null);
    this.mask = minBuckets - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Number of buckets (for tests and the memory estimate). */
  get capacity(): number {
    return this.buckets.length;
  }

  /** The first entry whose hash may be `hash` (walk `hnext` and compare). */
  head(hash: number): T | null {
    return this.buckets[hash & this.mask] ?? null;
  }

  /** Adds `e` in front of its chain: it is found before older entries of the same hash. */
  insert(e: T): void {
    if (this.count >= this.buckets.length) this.resize(this.buckets.length * 2);
    const i = e.hash & this.mask;
    e.hnext = this.buckets[i] ?? null;
    this.buckets[i] = e;
    this.count++;
  }

  /** Takes `e` out; false when it was not in the index. */
  remove(e: T): boolean {
    const i = e.hash & this.mask;
    let p = this.buckets[i] ?? null;
    if (p === e) this.buckets[i] = e.hnext;
    else {
      while (p !== null && p.hnext !== e) p = p.hnext;
      if (p === null) return false;
      p.hnext = e.hnext;
    }
    e.hnext = null;
    this.count--;
    const n = this.buckets.length;
    if (n > this.minBuckets && this.count < n >>> 2) this.resize(n >>> 1);
    return true;
  }

  /**
   * Rebuilds the array at `n` buckets. Each chain is walked in order and appended at the tail of its new bucket,
   * so entries of one hash stay in the order they had (they always land in the same bucket).
   */
  private resize(n: number): void {
    const old = this.buckets;
    const next = new Array<T | null>(n).fill(null);
    const tails = new Array<T | null>(n).fill(null);
    const mask = n - 1;
    for (let b = 0; b < old.length; b++) {
      let e = old[b] ?? null;
      while (e !== null) {
        const after: T | null = e.hnext;
        const i = e.hash & mask;
        e.hnext = null;
        const t = tails[i] ?? null;
        if (t === null) next[i] = e;
        else t.hnext = e;
        tails[i] = e;
        e = after;
      }
    }
    this.buckets = next;
    this.mask = mask;
  }
}
