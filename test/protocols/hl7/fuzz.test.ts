// fast-check fuzz of the HL7 analyzer, seeded from the committed corpus: never throws, buffers stay under caps, metadata only.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseBlock, parseFrame } from '../../../agent/protocols/hl7/parse.js';
import { DEFAULT_LIMITS } from '../../../agent/protocols/hl7/constants.js';
import { Hl7Session } from '../../../agent/protocols/hl7/session.js';
import { hl7Schema } from '../../../agent/protocols/hl7/events.js';
import { RecordingSink } from './builders.js';
import { readCorpus } from './helpers.js';

const seeds = readCorpus().map((c) => c.bytes);
const LIMITS = {
  maxMessageBytes: 2048,
  maxOutstanding: 8,
  maxSegments: 16,
  maxDeviceIds: 4,
  maxFieldChars: 32,
};
const CAP = LIMITS.maxMessageBytes + 8;
const allowed = new Set<string>([
  ...Object.keys(hl7Schema.events.message?.fields ?? {}),
  ...Object.keys(hl7Schema.anomalyFields),
  'code',
]);

/** A seed with a few bytes overwritten, cut out or duplicated. */
const mutated = fc
  .tuple(
    fc.constantFrom(...seeds),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
    fc.nat(),
    fc.nat(),
    fc.boolean(),
  )
  .map(([seed, flips, a, b, splice]) => {
    const out = seed.slice();
    for (const [i, v] of flips) out[i % out.length] = v;
    const x = a % out.length;
    const y = b % out.length;
    return !splice
      ? out
      : concat2(out.subarray(0, Math.min(x, y)), out.subarray(Math.max(x, y)), out.subarray(x));
  });

function concat2(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const piece = fc.oneof(
  mutated,
  fc.constantFrom(...seeds),
  fc.uint8Array({ maxLength: 64 }),
  fc.constantFrom(
    new Uint8Array([0x0b]),
    new Uint8Array([0x1c, 0x0d]),
    new Uint8Array([0x0b, 0x4d, 0x53, 0x48, 0x7c]),
  ),
);

type Op =
  { kind: 'data'; dir: 0 | 1; bytes: Uint8Array } | { kind: 'gap'; dir: 0 | 1 } | { kind: 'end'; dir: 0 | 1 };
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc
      .tuple(fc.constantFrom<0 | 1>(0, 1), piece)
      .map(([dir, bytes]): Op => ({ kind: 'data', dir, bytes })),
  },
  { weight: 1, arbitrary: fc.constantFrom<0 | 1>(0, 1).map((dir): Op => ({ kind: 'gap', dir })) },
  { weight: 1, arbitrary: fc.constantFrom<0 | 1>(0, 1).map((dir): Op => ({ kind: 'end', dir })) },
);

describe('hl7 fuzz', () => {
  it('session: never throws, buffers under the cap, only known fields', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const sink = new RecordingSink();
        const s = new Hl7Session(sink, LIMITS);
        let ts = 0;
        for (const o of ops) {
          ts += 1000;
          if (o.kind === 'data') s.onData(o.dir, o.bytes, ts);
          else if (o.kind === 'gap') s.onGap(o.dir, 10, ts);
          else s.onEnd(o.dir, ts);
          expect(s.bufferedBytes()).toBeLessThanOrEqual(2 * CAP);
          expect(s.outstandingCount()).toBeLessThanOrEqual(LIMITS.maxOutstanding);
        }
        for (const e of sink.events()) {
          for (const k of Object.keys(e.fields)) expect(allowed.has(k)).toBe(true);
          expect((e.fields.segments as string[]).length).toBeLessThanOrEqual(LIMITS.maxSegments);
        }
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it('parseFrame and parseBlock: never throw, results stay inside the input', () => {
    fc.assert(
      fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 300 })), fc.nat(), (bytes, off) => {
        const offset = bytes.length === 0 ? 0 : off % bytes.length;
        const r = parseFrame(bytes, offset, LIMITS);
        if (r.kind === 'ok') {
          expect(r.end).toBeLessThanOrEqual(bytes.length);
          expect(r.consumed).toBeGreaterThan(0);
          expect(offset + r.consumed).toBeLessThanOrEqual(bytes.length);
          parseBlock(bytes, r.start, r.end, { ...DEFAULT_LIMITS, ...LIMITS });
        } else if (r.kind === 'bad') {
          expect(r.consumed).toBeGreaterThan(0);
          expect(offset + r.consumed).toBeLessThanOrEqual(bytes.length);
        }
        const b = parseBlock(bytes, 0, bytes.length, { ...DEFAULT_LIMITS, ...LIMITS });
        for (const m of b.messages) expect(m.size).toBeLessThanOrEqual(bytes.length);
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});
