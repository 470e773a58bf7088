// Field text of plain ASCII fields: recent texts are reused by a hash of their bytes, which must never change what
// a field reads as, whatever repeats, collides or is cut.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeText, type Encoding } from '../../../agent/protocols/hl7/parse.js';

const STD: Encoding = { field: 0x7c, component: 0x5e, repetition: 0x7e, escape: 0x5c, subcomponent: 0x26 };

describe('HL7 field text', () => {
  it('reads every field as its own bytes, in any order of repeats and lengths', () => {
    // A small alphabet and short lengths: many fields repeat and many share a length (and some a table slot).
    const field = fc.stringMatching(/^[AB0^&.]{0,6}$|^[A-Z0-9]{40,60}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(field, fc.nat(7)), { minLength: 1, maxLength: 200 }), (fields) => {
        for (const [text, pad] of fields) {
          // Each field sits at another offset of another buffer, as fields of different messages do.
          const bytes = new Uint8Array(pad + text.length + 3);
          bytes.fill(0x7c);
          for (let i = 0; i < text.length; i++) bytes[pad + i] = text.charCodeAt(i);
          const got = decodeText(bytes, pad, pad + text.length, STD, 256);
          expect(got.text).toBe(text);
          expect(got.truncated).toBe(false);
        }
      }),
      { seed: 7, numRuns: 300 },
    );
  });

  it('cuts a long field to the character cap, also when it was read whole before', () => {
    const text = 'ABCDEFGHIJ';
    const bytes = new TextEncoder().encode(text);
    expect(decodeText(bytes, 0, bytes.length, STD, 256).text).toBe(text);
    const cut = decodeText(bytes, 0, bytes.length, STD, 4);
    expect(cut).toEqual({ text: 'ABCD', truncated: true });
  });
});
