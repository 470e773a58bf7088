// The one byte reader (issue 12): the same integers Node's Buffer reads, and zeros past the end instead of a throw.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { u16, u16le, u32, u32le, u48 } from '../../agent/wire/bytes.js';

const bytesAndOffset = fc
  .uint8Array({ minLength: 6, maxLength: 64 })
  .chain((b) => fc.tuple(fc.constant(b), fc.nat({ max: b.length - 6 })));

describe('wire/bytes', () => {
  it('reads what Buffer reads, in both byte orders, unsigned', () => {
    fc.assert(
      fc.property(bytesAndOffset, ([b, o]) => {
        const buf = Buffer.from(b);
        expect(u16(b, o)).toBe(buf.readUInt16BE(o));
        expect(u16le(b, o)).toBe(buf.readUInt16LE(o));
        expect(u32(b, o)).toBe(buf.readUInt32BE(o));
        expect(u32le(b, o)).toBe(buf.readUInt32LE(o));
        expect(u48(b, o)).toBe(buf.readUIntBE(o, 6));
      }),
    );
  });

  it('reads bytes past the end as 0 (a truncated field never throws or yields NaN)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 8 }), fc.integer({ min: -2, max: 12 }), (b, o) => {
        const padded = new Uint8Array(32);
        for (let i = 0; i < b.length; i++) padded[i + 8] = b[i] ?? 0;
        const at = o + 8;
        expect(u16(b, o)).toBe(Buffer.from(padded).readUInt16BE(at));
        expect(u32le(b, o)).toBe(Buffer.from(padded).readUInt32LE(at));
        expect(Number.isInteger(u48(b, o))).toBe(true);
      }),
    );
  });
});
