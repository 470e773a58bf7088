// The header-stretch memo against a plain map model: a hit only for the very bytes, separators and cap that were kept,
// whatever collides in its small table; a miss is always allowed (it is a cache).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SharedLists, StretchMemo } from '../../../agent/protocols/hl7/memo.js';
import type { Encoding } from '../../../agent/protocols/hl7/parse.js';

// two choices each: stretches kept under separators that differ in one place only are common
const sepChar = fc.constantFrom(0x7c, 0x26);
const enc: fc.Arbitrary<Encoding> = fc.record({
  field: sepChar,
  component: sepChar,
  repetition: sepChar,
  escape: sepChar,
  subcomponent: sepChar,
});
const key = fc.record({
  // few choices of each part: keys that differ in one part only are common, and share a slot when their bytes do
  bytes: fc.constantFrom(
    Uint8Array.of(),
    Uint8Array.of(0x41),
    Uint8Array.of(0x41, 0x42),
    Uint8Array.of(0x42, 0x41),
  ),
  enc,
  cap: fc.constantFrom(4, 256),
});

const id = (k: { bytes: Uint8Array; enc: Encoding; cap: number }): string =>
  `${[...k.bytes].join(',')}|${Object.values(k.enc).join(',')}|${k.cap}`;

describe('StretchMemo', () => {
  it('a hit is always what was kept for the same bytes, separators and cap', () => {
    fc.assert(
      fc.property(
        fc.array(key, { minLength: 1, maxLength: 8 }),
        fc.array(fc.tuple(fc.boolean(), fc.nat(), fc.nat(3)), { minLength: 1, maxLength: 200 }),
        (pool, ops) => {
          const memo = new StretchMemo(4, 8);
          const model = new Map<string, string>();
          let n = 0;
          for (const [write, i, pad] of ops) {
            const k = pool[i % pool.length] ?? pool[0];
            if (!k) return;
            // each stretch at another offset of another buffer, as in different blocks
            const buf = new Uint8Array(pad + k.bytes.length + 2).fill(0x7c);
            buf.set(k.bytes, pad);
            const a = pad;
            const b = pad + k.bytes.length;
            if (write) {
              const text = `t${n++}`;
              memo.set(buf, a, b, k.enc, k.cap, { texts: [text], cut: false });
              model.set(id(k), text);
            } else {
              const hit = memo.get(buf, a, b, k.enc, k.cap);
              if (hit) expect(hit.texts[0]).toBe(model.get(id(k)));
            }
          }
        },
      ),
      { seed: 5, numRuns: 500 },
    );
  });
});

describe('SharedLists', () => {
  it('gives a frozen list equal to the items, the same one again for equal items, whatever the hash collides on', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.array(fc.constantFrom('MSH', 'PID', 'OBX', 'MSA'), { maxLength: 6 }),
            fc.nat(7),
            fc.nat(3),
          ),
          { minLength: 1, maxLength: 100 },
        ),
        (ops) => {
          const lists = new SharedLists(4);
          for (const [items, extra, hash] of ops) {
            // scratch longer than the list: only items[0, n) count
            const scratch = [...items, ...Array.from({ length: extra }, () => 'ZZZ')];
            const got = lists.list(scratch, items.length, hash);
            expect(got).toEqual(items);
            expect(Object.isFrozen(got)).toBe(true);
            // the same items under the same hash right after: the same array
            expect(lists.list([...items], items.length, hash)).toBe(got);
          }
        },
      ),
    );
  });
});
