// Sliding-window thresholds for rules (rules/README.md "Thresholds"): count or distinct count of a field per group key, bounded memory.
import type { FieldValue } from '../protocols/types.js';
import { getValues, keyOf, type Subject } from './match.js';
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

function keyOfPaths(s: Subject, paths: readonly string[][]): string | null {
  const parts: string[] = [];
  for (const p of paths) {
    const vs = getValues(s, p);
    const first: FieldValue | undefined = vs[0];
    const k = first === undefined ? '' : (keyOf(first) ?? JSON.stringify(first));
    parts.push(k);
  }
  return parts.join('\u0001');
}

export class ThresholdState {
  private readonly groups = new Map<string, Group>();
  evicted = 0;

  constructor(
    private readonly def: ThresholdDef,
    private readonly maxGroups: number,
  ) {}

  add(s: Subject): ThresholdResult {
    const group = keyOfPaths(s, this.def.by) ?? '';
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
      const vals = this.def.distinct.map((p) => getValues(s, p));
      if (vals.some((v) => v.length === 0)) return { crossed: false, n: g.seen.size, group };
      const dk = keyOfPaths(s, this.def.distinct) ?? '';
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
