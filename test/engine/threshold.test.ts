// ThresholdState in count mode against the plain definition: the last `count` matches inside the window.
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
