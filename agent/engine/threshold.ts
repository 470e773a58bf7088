// Sliding-window thresholds for rules (rules/README.md "Thresholds"): count or distinct count of a field per group key, bounded memory.
import type { FieldValue } from '../protocols/types.js';
import { firstValue, keyOf, type Subject } from './match.js';
import type { ThresholdDef } from './rule-schema.js';

interface Group {
  /** Count mode: timestamps of the last `count` matches, oldest first. */
  times: number[];
  /** Distinct mode: value key → last time seen, oldest first (re-inserted on each sighting). */
  seen: Map<string, number>;
}

export interface ThresholdResult {
  crossed: boolean;
  /** Matches (count mode) or distinct values (distinct mode) inside the window now. */
  n: number;
  group: string;
}

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
  private readonly groups = new Map<string, Group>();
  evicted = 0;

  constructor(
    private readonly def: ThresholdDef,
    private readonly maxGroups: number,
  ) {}

  add(s: Subject): ThresholdResult {
    const group = keyOfPaths(s, this.def.by);
    let g = this.groups.get(group);
    if (!g) {
      if (this.groups.size >= this.maxGroups) {
        const oldest = this.groups.keys().next();
        if (!oldest.done) {
          this.groups.delete(oldest.value);
          this.evicted++;
        }
      }
      g = { times: [], seen: new Map() };
    } else this.groups.delete(group);
    this.groups.set(group, g); // LRU order
    const horizon = s.ts - this.def.windowMicros;
    if (this.def.distinct) {
      // Every distinct path needs a value; their first values make the key.
      let dk = '';
      for (let i = 0; i < this.def.distinct.length; i++) {
        const v = firstValue(s, this.def.distinct[i] as string[]);
        if (v === undefined) return { crossed: false, n: g.seen.size, group };
        dk += (i > 0 ? '\u0001' : '') + keyOfValue(v);
      }
      g.seen.delete(dk);
      g.seen.set(dk, s.ts);
      for (const [k, t] of g.seen) {
        if (t > horizon) break;
        g.seen.delete(k);
      }
      // Only `count` distinct values matter; dropping the oldest keeps memory at the threshold.
      while (g.seen.size > this.def.count) {
        const first = g.seen.keys().next();
        if (first.done) break;
        g.seen.delete(first.value);
      }
      return { crossed: g.seen.size >= this.def.count, n: g.seen.size, group };
    }
    g.times.push(s.ts);
    while (g.times.length > 0 && (g.times[0] ?? 0) <= horizon) g.times.shift();
    if (g.times.length > this.def.count) g.times.shift();
    return { crossed: g.times.length >= this.def.count, n: g.times.length, group };
  }

  get size(): number {
    return this.groups.size;
  }
}
