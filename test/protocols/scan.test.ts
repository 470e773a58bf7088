// The native byte search and latin1 slicer the text analyzers use on plain Uint8Arrays: the same answers as the
// engine's own `Uint8Array#indexOf` and a byte-by-byte string, for any bytes, value and bounds.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { indexOfByte, indexOfByteIn } from '../../agent/protocols/scan.js';
import { latin1 } from '../../agent/protocols/intern.js';

/** A Uint8Array that is a view into a larger buffer at an offset, as reassembly hands them over. */
const view = fc.tuple(fc.uint8Array({ maxLength: 80 }), fc.nat(8), fc.nat(8)).map(([body, pre, post]) => {
  const backing = new Uint8Array(pre + body.length + post).fill(0x0d);
  backing.set(body, pre);
  return backing.subarray(pre, pre + body.length);
});

describe('byte search', () => {
  it('indexOfByte equals Uint8Array#indexOf from any start, and never looks outside the view', () => {
    fc.assert(
      fc.property(
        view,
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: -3, max: 90 }),
        (bytes, b, from) => {
          expect(indexOfByte(bytes, b, from)).toBe(bytes.indexOf(b, Math.max(0, from)));
        },
      ),
      { seed: 11, numRuns: 2000 },
    );
  });

  it('indexOfByteIn finds only inside [from, to)', () => {
    fc.assert(
      fc.property(view, fc.integer({ min: 0, max: 255 }), fc.nat(90), fc.nat(90), (bytes, b, from, to) => {
        const i = bytes.indexOf(b, from);
        expect(indexOfByteIn(bytes, b, from, to)).toBe(i >= 0 && i < to ? i : -1);
      }),
      { seed: 11, numRuns: 2000 },
    );
  });

  it('latin1 reads each byte as one character, clamped to the view', () => {
    fc.assert(
      fc.property(view, fc.integer({ min: -5, max: 90 }), fc.nat(90), (bytes, a, b) => {
        let want = '';
        for (let i = Math.max(a, 0); i < Math.min(b, bytes.length); i++)
          want += String.fromCharCode(bytes[i] ?? 0);
        expect(latin1(bytes, a, b)).toBe(want);
      }),
      { seed: 11, numRuns: 2000 },
    );
  });
});
