// HashChains (the flow table's index) against a Map reference under random insert/remove sequences, through growth
// and shrinking.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashChains, type Chained } from '../../agent/reassembly/hash-chains.js';

class Entry implements Chained<Entry> {
  hnext: Entry | null = null;
  constructor(
    readonly hash: number,
    readonly id: number,
  ) {}
}

/** The entries the index yields for `hash`, in chain order. */
function chainOf(index: HashChains<Entry>, hash: number): number[] {
  const ids: number[] = [];
  for (let e = index.head(hash); e !== null; e = e.hnext) if (e.hash === hash) ids.push(e.id);
  return ids;
}

type Op = { kind: 'insert'; hash: number } | { kind: 'remove'; pick: number };

// Few distinct hashes (collisions and long chains) and many (the array grows past its minimum, then shrinks).
const op = (hashes: fc.Arbitrary<number>): fc.Arbitrary<Op> =>
  fc.oneof(
    hashes.map((hash) => ({ kind: 'insert' as const, hash })),
    fc.nat().map((pick) => ({ kind: 'remove' as const, pick })),
  );

function check(ops: Op[], minBuckets: number): void {
  const index = new HashChains<Entry>(minBuckets);
  // Reference: per hash, the live entries newest first.
  const ref = new Map<number, Entry[]>();
  const live: Entry[] = [];
  let nextId = 0;
  for (const o of ops) {
    if (o.kind === 'insert') {
      const e = new Entry(o.hash, nextId++);
      index.insert(e);
      live.push(e);
      ref.set(e.hash, [e, ...(ref.get(e.hash) ?? [])]);
    } else if (live.length > 0) {
      const [e] = live.splice(o.pick % live.length, 1);
      if (e === undefined) continue;
      expect(index.remove(e)).toBe(true);
      expect(index.remove(e)).toBe(false);
      const rest = (ref.get(e.hash) ?? []).filter((x) => x !== e);
      if (rest.length > 0) ref.set(e.hash, rest);
      else ref.delete(e.hash);
    }
    expect(index.size).toBe(live.length);
    expect(index.capacity).toBeGreaterThanOrEqual(minBuckets);
    // Never more than one entry per bucket on average, nor a quarter after a removal shrank it.
    expect(index.size).toBeLessThanOrEqual(index.capacity);
  }
  for (const [hash, entries] of ref) expect(chainOf(index, hash)).toEqual(entries.map((e) => e.id));
  // Nothing else is reachable: the chains hold exactly the live entries.
  let reachable = 0;
  for (let h = 0; h < index.capacity; h++) for (let e = index.head(h); e !== null; e = e.hnext) reachable++;
  expect(reachable).toBe(live.length);
}

describe('HashChains', () => {
  it('agrees with a Map of chains under random inserts and removals (many collisions)', () => {
    fc.assert(
      fc.property(fc.array(op(fc.integer({ min: 0, max: 20 })), { maxLength: 300 }), (ops) => check(ops, 4)),
      { seed: 12, numRuns: 300 },
    );
  });

  it('agrees with a Map of chains while growing far past its minimum and shrinking back', () => {
    const hashes = fc.integer({ min: 0, max: 0x3fffffff });
    // Inserts first (growth to 256+ buckets from 4), then mostly removals (shrinking).
    const grow = fc.array(
      hashes.map((hash) => ({ kind: 'insert' as const, hash })),
      {
        minLength: 200,
        maxLength: 600,
      },
    );
    const mixed = fc.array(op(hashes), { maxLength: 200 });
    const drain = fc.array(
      fc.nat().map((pick) => ({ kind: 'remove' as const, pick })),
      { minLength: 200, maxLength: 600 },
    );
    fc.assert(
      fc.property(grow, mixed, drain, (a, b, c) => check([...a, ...b, ...c], 4)),
      { seed: 12, numRuns: 60 },
    );
  });

  it('grows and shrinks the bucket array with the entries', () => {
    const index = new HashChains<Entry>(8);
    const entries = Array.from({ length: 100 }, (_, i) => new Entry(i * 7919, i));
    for (const e of entries) index.insert(e);
    expect(index.capacity).toBe(128);
    for (const e of entries.slice(0, 95)) index.remove(e);
    expect(index.capacity).toBeLessThan(128);
    expect(index.capacity).toBeGreaterThanOrEqual(8);
    for (const e of entries.slice(95)) expect(chainOf(index, e.hash)).toEqual([e.id]);
  });
});
