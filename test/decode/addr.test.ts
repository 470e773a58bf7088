// MAC formatting: six lower-case hex bytes, most significant first, for every 48-bit value.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { macToString } from '../../agent/decode/addr.js';

/** The byte-by-byte reading of a MAC number, independent of how addr.ts splits it. */
function bytesOf(mac: number): number[] {
  const out: number[] = [];
  let v = mac;
  for (let i = 0; i < 6; i++) {
    out.unshift(v % 256);
    v = Math.floor(v / 256);
  }
  return out;
}

describe('macToString', () => {
  it('formats the extremes and a known address', () => {
    expect(macToString(0)).toBe('00:00:00:00:00:00');
    expect(macToString(2 ** 48 - 1)).toBe('ff:ff:ff:ff:ff:ff');
    expect(macToString(0x00aabbccddee)).toBe('00:aa:bb:cc:dd:ee');
    expect(macToString(0x0100_0000_0001)).toBe('01:00:00:00:00:01');
    expect(macToString(-1)).toBe('');
  });

  it('reads back as the same six bytes for any 48-bit value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (mac) => {
        const text = macToString(mac);
        expect(text).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
        expect(text.split(':').map((h) => parseInt(h, 16))).toEqual(bytesOf(mac));
      }),
    );
  });
});
