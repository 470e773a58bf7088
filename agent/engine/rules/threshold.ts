// Sliding-window thresholds for rules (rules/README.md "Thresholds"): count or distinct count of a field per group key, bounded memory.
import type { FieldValue } from '../../protocols/types.js';
import { firstValue, keyOf, type Subject } from './match.js';
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

/** The first value of each path, joined: the group (or distinct-value) key. */
function keyOfPaths(s: Subject, paths: readonly string[][]): string {
  let key = '';
  for (let i = 0; i < paths.length; i++) {
    if (i > 0) key += '\u0001';
    key += keyOfValue(firstValue(s, paths[i] as string[]));
  }
  return key;
}

export class ThresholdState {
  /** Groups in LRU order: the least recently counted is dropped at the cap. */
  private readonly groups = new LruMap<string, Group>();
  evicted = 0;

  constructor(
    private readonly def: ThresholdDef,
    private readonly maxGroups: number,
  ) {}

  add(s: Subject): ThresholdResult {
    const group = keyOfPaths(s, this.def.by);
    let g = this.groups.use(group);
    if (!g) {
      if (this.groups.size >= this.maxGroups && this.groups.evictOldest()) this.evicted++;
      // Only the mode's own structure: many groups (one per HL7 control id) are seen once.
      g = this.def.distinct ? { times: null, head: 0, seen: new Map() } : { times: [], head: 0, seen: null };
      this.groups.set(group, g);
    }
    const horizon = s.ts - this.def.windowMicros;
    if (this.def.distinct) {
      const seen = g.seen as Map<string, number>;
      // Every distinct path needs a value; their first values make the key.
      let dk = '';
      for (let i = 0; i < this.def.distinct.length; i++) {
        const v = firstValue(s, this.def.distinct[i] as string[]);
        if (v === undefined) return { crossed: false, n: seen.size, group };
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
      return { crossed: seen.size >= this.def.count, n: seen.size, group };
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
    return { crossed: n >= this.def.count, n, group };
  }

  get size(): number {
    return this.groups.size;
  }
}
