// ThresholdState against the one it replaced (test/engine/reference/threshold.ts): the same answers, group count and
// evictions for any stream of subjects, in every mode, with groups churning at a small cap.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FieldValue } from '../../agent/protocols/types.js';
import type { Subject } from '../../agent/engine/rules/match.js';
import type { ThresholdDef } from '../../agent/engine/rules/rule-schema.js';
import { ThresholdState } from '../../agent/engine/rules/threshold.js';
import { ThresholdState as ReferenceState } from './reference/threshold.js';

/** Field values as events carry them: text, numbers, flags, lists, or nothing. */
const value: fc.Arbitrary<FieldValue | undefined> = fc.oneof(
  fc.constantFrom('a', 'b', 'c', 'ORU^R01', ''),
  fc.integer({ min: 0, max: 4 }),
  fc.boolean(),
  fc.array(fc.constantFrom('x', 'y'), { maxLength: 2 }),
  fc.constant(undefined),
);

type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

const step = fc.record({
  dt: fc.integer({ min: -3, max: 30 }),
  src: fc.integer({ min: 0, max: 6 }),
  dst: fc.integer({ min: 0, max: 6 }),
  port: fc.option(fc.integer({ min: 1, max: 9 }), { nil: undefined }),
  flow: fc.option(fc.constantFrom('f1', 'f2', 'f3', 'f4'), { nil: undefined }),
  app: value,
  id: value,
});

function subject(ts: number, st: Step): Subject {
  const fields: Subject['fields'] = {};
  if (st.app !== undefined) fields.app = st.app;
  if (st.id !== undefined) fields.id = st.id;
  return {
    proto: 'hl7',
    type: 'message',
    ts,
    flow: st.flow,
    src: { ip: `10.0.0.${st.src}`, port: 4000, zone: 'internal' },
    dst: { ip: `10.0.1.${st.dst}`, port: st.port, zone: 'internal' },
    fields,
    crosses_zone: false,
    findingProto: 'hl7',
  };
}

const PATHS = ['src.ip', 'dst.ip', 'dst.port', 'flow', 'fields.app', 'fields.id'];

const definition = fc.record({
  // Small counts take the arrays, counts above 32 the map (distinct mode).
  count: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 30, max: 40 })),
  // Short windows expire values between steps; long ones keep every group's history, so evicting the wrong
  // group changes later counts.
  window: fc.oneof(fc.integer({ min: 0, max: 60 }), fc.constant(1e9)),
  by: fc.uniqueArray(fc.constantFrom(...PATHS), { minLength: 1, maxLength: 3 }),
  distinct: fc.option(fc.uniqueArray(fc.constantFrom(...PATHS), { minLength: 1, maxLength: 2 }), {
    nil: null,
  }),
  cap: fc.integer({ min: 0, max: 6 }),
});

describe('ThresholdState against the reference', () => {
  it('answers, holds and evicts as the reference does', () => {
    fc.assert(
      fc.property(definition, fc.array(step, { maxLength: 400, size: 'max' }), (d, steps) => {
        const def: ThresholdDef = {
          count: d.count,
          windowMicros: d.window,
          by: d.by.map((p) => p.split('.')),
          byText: d.by,
          distinct: d.distinct ? d.distinct.map((p) => p.split('.')) : null,
          distinctText: d.distinct ?? [],
        };
        const state = new ThresholdState(def, d.cap);
        const ref = new ReferenceState(def, d.cap);
        let ts = 1000;
        for (const st of steps) {
          ts += st.dt;
          const s = subject(ts, st);
          const want = { ...ref.add(s) };
          expect({ ...state.add(s) }).toEqual(want);
          expect(state.size).toBe(ref.size);
          expect(state.evicted).toBe(ref.evicted);
        }
      }),
      { seed: 1207, numRuns: 400 },
    );
  });
});
