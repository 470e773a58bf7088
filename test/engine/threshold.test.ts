// ThresholdState against the plain definitions: count mode keeps the last `count` matches inside the window; distinct
// mode the last `count` distinct values inside it, each at its latest sighting.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Subject } from '../../agent/engine/rules/match.js';
import { ThresholdState } from '../../agent/engine/rules/threshold.js';

function subject(ts: number, ip: string): Subject {
  return {
    proto: 'mqtt',
    type: 'publish',
    ts,
    src: { ip, zone: 'internal' },
    dst: { ip: '10.0.0.1', zone: 'internal' },
    fields: {},
    crosses_zone: false,
    findingProto: 'mqtt',
  };
}

describe('ThresholdState count mode', () => {
  it('counts as a shifted list of the last `count` times inside the window would', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 150 }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.tuple(fc.integer({ min: -5, max: 20 }), fc.constantFrom('a', 'b')), { maxLength: 600 }),
        (count, window, steps) => {
          const state = new ThresholdState(
            {
              count,
              windowMicros: window,
              by: [['src', 'ip']],
              byText: ['src.ip'],
              distinct: null,
              distinctText: [],
            },
            10,
          );
          const ref = new Map<string, number[]>();
          let ts = 1000;
          for (const [dt, ip] of steps) {
            ts += dt;
            const times = ref.get(ip) ?? [];
            ref.set(ip, times);
            times.push(ts);
            while (times.length > 0 && (times[0] ?? 0) <= ts - window) times.shift();
            if (times.length > count) times.shift();
            const r = state.add(subject(ts, ip));
            expect(r).toEqual({ crossed: times.length >= count, n: times.length, group: ip });
          }
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });
});

describe('ThresholdState distinct mode', () => {
  it('counts as an insertion-ordered map of value → last time would', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(
          fc.tuple(
            fc.integer({ min: -5, max: 20 }),
            fc.constantFrom('a', 'b'),
            fc.integer({ min: 0, max: 45 }).map((n) => `10.0.1.${n}`),
          ),
          { maxLength: 500 },
        ),
        (count, window, steps) => {
          const state = new ThresholdState(
            {
              count,
              windowMicros: window,
              by: [['src', 'ip']],
              byText: ['src.ip'],
              distinct: [['dst', 'ip']],
              distinctText: ['dst.ip'],
            },
            10,
          );
          const ref = new Map<string, Map<string, number>>();
          let ts = 1000;
          for (const [dt, ip, peer] of steps) {
            ts += dt;
            const seen = ref.get(ip) ?? new Map<string, number>();
            ref.set(ip, seen);
            seen.delete(peer);
            seen.set(peer, ts);
            for (const [k, t] of seen) {
              if (t > ts - window) break;
              seen.delete(k);
            }
            while (seen.size > count) seen.delete(seen.keys().next().value as string);
            const s = subject(ts, ip);
            s.dst = { ip: peer, zone: 'internal' };
            expect(state.add(s)).toEqual({ crossed: seen.size >= count, n: seen.size, group: ip });
          }
        },
      ),
      { seed: 43, numRuns: 300 },
    );
  });
});
