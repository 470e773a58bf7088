// Sliding-window thresholds for rules (rules/README.md "Thresholds"): count or distinct count of a field per group key, bounded memory.
import type { FieldValue } from '../../protocols/types.js';
import { firstValueOf, keyOf, type Subject } from './match.js';
import { LruMap } from '../lru.js';
import type { ThresholdDef } from './rule-schema.js';

interface Group {
  /**
   * Count mode: timestamps of the last `count` matches, oldest first, from index `head` on. Dropping from
   * the front moves `head` instead of shifting: shift() on arrays over 100 elements (a count of 300) is a
   * runtime call in V8.
   */
  times: number[] | null;
  head: number;
  /** Distinct mode: value key → last time seen, oldest first (re-inserted on each sighting). */
  seen: Map<string, number> | null;
}

export interface ThresholdResult {
  crossed: boolean;
  /** Matches (count mode) or distinct values (distinct mode) inside the window now. */
  n: number;
  group: string;
}

/** Dropped timestamps a count-mode group may hold before its array is compacted. */
const COMPACT_AT = 32;

function keyOfValue(first: FieldValue | undefined): string {
  return first === undefined ? '' : (keyOf(first) ?? JSON.stringify(first));
}

/** Reads a path's first value (firstValue, compiled per path). */
type FirstValue = (s: Subject) => FieldValue | undefined;

/** The first value of each path, joined: the group (or distinct-value) key; one path is its value's key alone. */
function keyOfPaths(s: Subject, paths: readonly FirstValue[]): string {
  if (paths.length === 1) return keyOfValue((paths[0] as FirstValue)(s));
  let key = '';
  for (let i = 0; i < paths.length; i++) {
    if (i > 0) key += '\u0001';
    key += keyOfValue((paths[i] as FirstValue)(s));
  }
  return key;
}

export class ThresholdState {
  /** Groups in LRU order: the least recently counted is dropped at the cap. */
  private readonly groups = new LruMap<string, Group>();
  evicted = 0;
  private readonly by: readonly FirstValue[];
  private readonly distinct: readonly FirstValue[] | null;
  /**
   * The answer of the last add(), refilled by the next: the reporter reads it at once, and most hits (a burst's
   * 299 below its count) would otherwise each leave an object behind.
   */
  private readonly result: ThresholdResult = { crossed: false, n: 0, group: '' };

  constructor(
    private readonly def: ThresholdDef,
    private readonly maxGroups: number,
  ) {
    this.by = def.by.map(firstValueOf);
    this.distinct = def.distinct ? def.distinct.map(firstValueOf) : null;
  }

  private answer(crossed: boolean, n: number, group: string): ThresholdResult {
    const r = this.result;
    r.crossed = crossed;
    r.n = n;
    r.group = group;
    return r;
  }

  add(s: Subject): ThresholdResult {
    const group = keyOfPaths(s, this.by);
    let g = this.groups.use(group);
    if (!g) {
      if (this.groups.size >= this.maxGroups && this.groups.evictOldest()) this.evicted++;
      // Only the mode's own structure: many groups (one per HL7 control id) are seen once.
      g = this.distinct ? { times: null, head: 0, seen: new Map() } : { times: [], head: 0, seen: null };
      this.groups.set(group, g);
    }
    const horizon = s.ts - this.def.windowMicros;
    const distinct = this.distinct;
    if (distinct) {
      const seen = g.seen as Map<string, number>;
      // Every distinct path needs a value; their first values make the key.
      let dk = '';
      for (let i = 0; i < distinct.length; i++) {
        const v = (distinct[i] as FirstValue)(s);
        if (v === undefined) return this.answer(false, seen.size, group);
        dk += (i > 0 ? '\u0001' : '') + keyOfValue(v);
      }
      seen.delete(dk);
      seen.set(dk, s.ts);
      for (const [k, t] of seen) {
        if (t > horizon) break;
        seen.delete(k);
      }
      // Only `count` distinct values matter; dropping the oldest keeps memory at the threshold.
      while (seen.size > this.def.count) {
        const first = seen.keys().next();
        if (first.done) break;
        seen.delete(first.value);
      }
      return this.answer(seen.size >= this.def.count, seen.size, group);
    }
    let times = g.times as number[];
    times.push(s.ts);
    while (g.head < times.length && (times[g.head] as number) <= horizon) g.head++;
    if (times.length - g.head > this.def.count) g.head++;
    // Compact once the dropped part is both sizeable and at least half: amortised O(1) per match.
    if (g.head >= COMPACT_AT && g.head * 2 >= times.length) {
      times = times.slice(g.head);
      g.times = times;
      g.head = 0;
    }
    const n = times.length - g.head;
    return this.answer(n >= this.def.count, n, group);
  }

  get size(): number {
    return this.groups.size;
  }
}
