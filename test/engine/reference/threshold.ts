// ThresholdState as it was before the fused group/LRU rewrite (issue 12), kept unchanged as the oracle of
// threshold-oracle.test.ts. Its LruMap is the engine's own (agent/engine/lru.ts, unchanged by the rewrite and tested in lru.test.ts).
import type { FieldValue } from '../../../agent/protocols/types.js';
import { firstValue, keyOf, type Subject } from '../../../agent/engine/rules/match.js';
import { LruMap } from '../../../agent/engine/lru.js';
import type { ThresholdDef } from '../../../agent/engine/rules/rule-schema.js';

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
  /**
   * Distinct mode with a small count (seen null): the same, as keys beside `times` (oldest first), null before
   * the first value. A Map per group was most of the cost of a group seen once (HL7 replay: one per control
   * id), and a count of 2 to 32 is searched faster.
   */
  keys: string[] | null;
}

/** Distinct counts up to this keep their values in arrays (Group.keys), larger ones in a Map. */
const SMALL_DISTINCT = 32;

/**
 * Group.keys/times as the Map would change on one sighting: `key` moves to the newest end with time `ts`, keys
 * seen at or before `horizon` go from the oldest end until a newer one, and the oldest go beyond `count`.
 */
function seeSmall(
  keys: string[],
  times: number[],
  key: string,
  ts: number,
  horizon: number,
  count: number,
): void {
  let n = keys.length;
  const at = keys.indexOf(key);
  if (at >= 0) {
    for (let i = at + 1; i < n; i++) {
      keys[i - 1] = keys[i] as string;
      times[i - 1] = times[i] as number;
    }
    n--;
  }
  keys[n] = key;
  times[n] = ts;
  n++;
  let drop = 0;
  while (drop < n && (times[drop] as number) <= horizon) drop++;
  if (n - drop > count) drop = n - count;
  if (drop > 0) {
    for (let i = drop; i < n; i++) {
      keys[i - drop] = keys[i] as string;
      times[i - drop] = times[i] as number;
    }
    n -= drop;
  }
  keys.length = n;
  times.length = n;
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
    // The general walk (not the compiled readers the engine uses), so the oracle checks those too.
    this.by = def.by.map((segs) => (s: Subject) => firstValue(s, segs));
    this.distinct = def.distinct ? def.distinct.map((segs) => (s: Subject) => firstValue(s, segs)) : null;
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
      g = !this.distinct
        ? { times: [], head: 0, seen: null, keys: null }
        : this.def.count <= SMALL_DISTINCT
          ? { times: null, head: 0, seen: null, keys: null }
          : { times: null, head: 0, seen: new Map(), keys: null };
      this.groups.insert(group, g);
    }
    const horizon = s.ts - this.def.windowMicros;
    const distinct = this.distinct;
    if (distinct) {
      // Every distinct path needs a value; their first values make the key.
      let dk = '';
      for (let i = 0; i < distinct.length; i++) {
        const v = (distinct[i] as FirstValue)(s);
        if (v === undefined) return this.answer(false, g.seen ? g.seen.size : (g.keys?.length ?? 0), group);
        dk += (i > 0 ? '\u0001' : '') + keyOfValue(v);
      }
      if (!g.seen) {
        // The first value makes arrays of one (a group seen once, the common case, holds no spare room).
        if (g.keys === null) {
          if (s.ts > horizon) {
            g.keys = [dk];
            g.times = [s.ts];
          }
        } else seeSmall(g.keys, g.times as number[], dk, s.ts, horizon, this.def.count);
        const n = g.keys?.length ?? 0;
        return this.answer(n >= this.def.count, n, group);
      }
      const seen = g.seen as Map<string, number>;
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
