// Packet time as RFC 3339 text with microseconds, and back.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatTs, parseTs } from '../../agent/wire/time.js';

describe('formatTs', () => {
  it('formats microseconds since the epoch as UTC with six fraction digits', () => {
    expect(formatTs(0)).toBe('1970-01-01T00:00:00.000000Z');
    expect(formatTs(1_795_918_188_861_007)).toBe('2026-11-29T02:09:48.861007Z');
    expect(formatTs(1_795_918_188_000_001)).toBe('2026-11-29T02:09:48.000001Z');
  });

  it('agrees with Date for any time and round-trips through parseTs (cache on or off)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_102_444_800_000_000 }),
        fc.integer({ min: 0, max: 2_000_000 }),
        (us, step) => {
          for (const t of [us, us + step, us]) {
            const text = formatTs(t);
            expect(text.slice(0, 23)).toBe(new Date(Math.floor(t / 1000)).toISOString().slice(0, 23));
            expect(parseTs(text)).toBe(t);
          }
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });
});
