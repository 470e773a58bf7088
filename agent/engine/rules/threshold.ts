// Sliding-window thresholds for rules (rules/README.md "Thresholds"): count or distinct count of a field per group key, bounded memory.
import type { FieldValue } from '../../protocols/types.js';
import { firstValueOf, keyOf, type Subject } from './match.js';
import type { ThresholdDef } from './rule-schema.js';

/**
 * One group: its window and its place in the use order (least recently counted first), in one object. A group
 * seen once is the common case (HL7 replay: one per control id, most evicted at the cap), so it holds no list
 * node, map or array beside itself.
 */
class Group {
  /** Neighbours in the use order. */
  older: Group | null = null;
  newer: Group | null = null;
  /**
   * Count mode: timestamps of the last `count` matches, oldest first, from index `head` on. Dropping from
   * the front moves `head` instead of shifting: shift() on arrays over 100 elements (a count of 300) is a
   * runtime call in V8. Small distinct mode: the times of `keys`.
   */
  times: number[] | null = null;
  head = 0;
  /** Distinct mode: value key → last time seen, oldest first (re-inserted on each sighting). */
  seen: Map<string, number> | null = null;
  /**
   * Distinct mode with a small count (seen null): the same, as keys beside `times` (oldest first). Null while
   * the group holds at most one value: that one is `key0` (null: none) at `time0`.
   */
  keys: string[] | null = null;
  /** How many of `keys` (and `times`) are the group's: the rest are left over (see seeSmall). */
  held = 0;
  key0: string | null = null;
  time0 = 0;

  constructor(readonly key: string) {}
}

/** Distinct counts up to this keep their values in arrays (Group.keys), larger ones in a Map. */
const SMALL_DISTINCT = 32;

/**
 * Group.keys/times (the first `g.held`) as the Map would change on one sighting: `key` moves to the newest end
 * with time `ts`, keys seen at or before `horizon` go from the oldest end until a newer one, and the oldest go
 * beyond `count`. The arrays are never shortened (setting an array's length is a runtime call, and the next
 * sighting would grow it again): entries from `held` on are left over, at most `count` + 1 in all.
 */
function seeSmall(g: Group, key: string, ts: number, horizon: number, count: number): void {
  const keys = g.keys as string[];
  const times = g.times as number[];
  let n = g.held;
  let at = -1;
  for (let i = 0; i < n; i++)
    if (keys[i] === key) {
      at = i;
      break;
    }
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
  g.held = n;
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
  /** Groups by key; in LRU order from `oldest` to `newest` (the least recently counted is dropped at the cap). */
  private readonly groups = new Map<string, Group>();
  private oldest: Group | null = null;
  private newest: Group | null = null;
  evicted = 0;
  private readonly by: readonly FirstValue[];
  private readonly distinct: readonly FirstValue[] | null;
  /** Distinct mode keeps its values in arrays (Group.keys), not a Map. */
  private readonly small: boolean;
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
    this.small = def.count <= SMALL_DISTINCT;
  }

  private answer(crossed: boolean, n: number, group: string): ThresholdResult {
    const r = this.result;
    r.crossed = crossed;
    r.n = n;
    r.group = group;
    return r;
  }

  /** The group of `key`, made the most recently counted; a new one (evicting the oldest at the cap) if none. */
  private groupOf(key: string): Group {
    let g = this.groups.get(key);
    if (g !== undefined) {
      if (g !== this.newest) {
        this.unlink(g);
        this.link(g);
      }
      return g;
    }
    const old = this.oldest;
    if (this.groups.size >= this.maxGroups && old !== null) {
      this.groups.delete(old.key);
      this.unlink(old);
      this.evicted++;
    }
    g = new Group(key);
    // Only the mode's own structure: many groups (one per HL7 control id) are seen once.
    if (this.distinct === null) g.times = [];
    else if (!this.small) g.seen = new Map();
    this.groups.set(key, g);
    this.link(g);
    return g;
  }

  private link(g: Group): void {
    g.older = this.newest;
    g.newer = null;
    if (this.newest !== null) this.newest.newer = g;
    else this.oldest = g;
    this.newest = g;
  }

  private unlink(g: Group): void {
    if (g.older !== null) g.older.newer = g.newer;
    else this.oldest = g.newer;
    if (g.newer !== null) g.newer.older = g.older;
    else this.newest = g.older;
    g.older = g.newer = null;
  }

  add(s: Subject): ThresholdResult {
    const group = keyOfPaths(s, this.by);
    const g = this.groupOf(group);
    const horizon = s.ts - this.def.windowMicros;
    const distinct = this.distinct;
    if (distinct) {
      // Every distinct path needs a value; their first values make the key.
      let dk = '';
      for (let i = 0; i < distinct.length; i++) {
        const v = (distinct[i] as FirstValue)(s);
        if (v === undefined) return this.answer(false, distinctCount(g), group);
        dk += (i > 0 ? '\u0001' : '') + keyOfValue(v);
      }
      if (g.seen === null) {
        if (g.keys !== null) seeSmall(g, dk, s.ts, horizon, this.def.count);
        else if (g.key0 === null) {
          // The first value: a group seen once holds it without arrays.
          if (s.ts > horizon) {
            g.key0 = dk;
            g.time0 = s.ts;
          }
        } else {
          g.keys = [g.key0];
          g.times = [g.time0];
          g.held = 1;
          g.key0 = null;
          seeSmall(g, dk, s.ts, horizon, this.def.count);
        }
        const n = distinctCount(g);
        return this.answer(n >= this.def.count, n, group);
      }
      const seen = g.seen;
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

/** Distinct values a distinct-mode group holds now. */
function distinctCount(g: Group): number {
  if (g.seen !== null) return g.seen.size;
  if (g.keys !== null) return g.held;
  return g.key0 === null ? 0 : 1;
}
