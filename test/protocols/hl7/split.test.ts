// Split invariance: the events of a stream do not depend on how TCP cut it (every byte boundary, random cuts for large ones).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ack, adt, batch, concat, message, mllp, msh, oruPcd01, rgv, SEG } from './builders.js';
import { feedSplit, readCorpus } from './helpers.js';

describe('split invariance', () => {
  const small: [string, Uint8Array][] = [
    [
      'adt + ack + batch + garbage',
      concat(mllp(adt('1')), 'xx\r\n', mllp(ack({ controlId: 'A', ackOf: 'Q' })), mllp(batch([rgv('2')]))),
    ],
    ...readCorpus()
      .filter((c) => c.bytes.length <= 600)
      .map((c): [string, Uint8Array] => [c.name, c.bytes]),
  ];
  for (const [name, stream] of small) {
    it(`${name}: every single cut and every pair of cuts 16 bytes apart give the same events`, () => {
      const whole = feedSplit(stream, []).out;
      expect(whole.length).toBeGreaterThan(0);
      for (let k = 1; k < stream.length; k++) expect(feedSplit(stream, [k]).out).toEqual(whole);
      for (let k = 1; k + 16 < stream.length; k += 7)
        expect(feedSplit(stream, [k, k + 16]).out).toEqual(whole);
    });
  }

  for (const c of readCorpus().filter((x) => x.bytes.length > 600)) {
    it(`${c.name}: random cuts give the same events`, () => {
      const whole = feedSplit(c.bytes, []).out;
      expect(whole.length).toBeGreaterThan(0);
      fc.assert(
        fc.property(
          fc.uniqueArray(fc.integer({ min: 1, max: c.bytes.length - 1 }), { maxLength: 12 }),
          (cuts) => {
            cuts.sort((a, b) => a - b);
            expect(feedSplit(c.bytes, cuts).out).toEqual(whole);
          },
        ),
        { seed: 42, numRuns: 60 },
      );
    });
  }

  it('a block over the cap that ends (skipped to its end) under every cut', () => {
    const big = message(
      msh({ type: 'ORU^R01', controlId: 'BIG' }),
      SEG.pid,
      `OBX|1|ED|PDF||${'QUJD'.repeat(150)}`,
    );
    const stream = concat(mllp(big), 'junk', mllp(adt('next')));
    const limits = { maxMessageBytes: 300 };
    const whole = feedSplit(stream, [], { limits }).out;
    expect(whole.map((r) => r.type)).toEqual([
      'hl7.limit_exceeded',
      'message',
      'hl7.garbage_between_frames',
      'message',
    ]);
    for (let k = 1; k < stream.length; k += 2) expect(feedSplit(stream, [k], { limits }).out).toEqual(whole);
  });

  it('byte-by-byte delivery gives the same events', () => {
    const stream = concat(mllp(oruPcd01()), mllp(adt('9')));
    const cuts = Array.from({ length: stream.length - 1 }, (_, i) => i + 1);
    expect(feedSplit(stream, cuts).out).toEqual(feedSplit(stream, []).out);
  });

  it('large messages (~300 KB ORU, cap-crossing junk) under random cuts', () => {
    const obx = Array.from({ length: 1800 }, (_, i) => SEG.obxDevice.replace('OBX|1|', `OBX|${i}|`));
    const big = message(msh({ type: 'ORU^R01', controlId: 'BIG' }), SEG.pid, ...obx);
    const stream = concat(
      mllp(big),
      mllp(adt('after')),
      '\x0bMSH|^~\\&|' + 'z'.repeat(5000),
      mllp(adt('last')),
    );
    const limits = { maxMessageBytes: 400_000 };
    const whole = feedSplit(stream, [], { limits }).out;
    expect(whole.filter((r) => r.kind === 'event').map((r) => r.fields.control_id)).toEqual([
      'BIG',
      'after',
      'last',
    ]);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 40 }),
        (cuts) => {
          cuts.sort((a, b) => a - b);
          expect(feedSplit(stream, cuts, { limits }).out).toEqual(whole);
        },
      ),
      { seed: 42, numRuns: 25 },
    );
  });
});
