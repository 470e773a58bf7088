// The one "evict the oldest" map: never above its cap, drops exactly the oldest, counts and reports each drop.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoundedMap } from '../../agent/wire/bounded-map.js';

describe('BoundedMap', () => {
  it('drops the oldest entry to admit a new key at the cap, counting and reporting it', () => {
    const dropped: Array<[string, number]> = [];
    const m = new BoundedMap<string, number>(2, (k, v) => dropped.push([k, v]));
    m.set('a', 1).set('b', 2);
    m.set('a', 10); // replacing keeps the place and drops nothing
    expect(m.evicted).toBe(0);
    m.set('c', 3);
    expect([...m.keys()]).toEqual(['b', 'c']);
    expect(dropped).toEqual([['a', 10]]);
    m.touch('b', 20); // b becomes the newest
    m.set('d', 4);
    expect([...m.entries()]).toEqual([
      ['b', 20],
      ['d', 4],
    ]);
    expect(m.evicted).toBe(2);
  });

  it('refuses a cap below 1', () => {
    expect(() => new BoundedMap(0)).toThrow(RangeError);
  });

  it('behaves like a list model under any sequence of set, touch and delete', () => {
    const op = fc.record({
      kind: fc.constantFrom('set', 'touch', 'delete'),
      key: fc.integer({ min: 0, max: 12 }),
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(op, { maxLength: 80 }), (cap, ops) => {
        const m = new BoundedMap<number, number>(cap);
        let model: number[] = [];
        let evicted = 0;
        ops.forEach(({ kind, key }, i) => {
          if (kind === 'delete') {
            m.delete(key);
            model = model.filter((k) => k !== key);
            return;
          }
          if (kind === 'touch') {
            m.touch(key, i);
            model = model.filter((k) => k !== key);
          } else m.set(key, i);
          if (!model.includes(key)) {
            while (model.length >= cap) {
              model.shift();
              evicted++;
            }
            model.push(key);
          }
          expect(m.size).toBeLessThanOrEqual(cap);
        });
        expect([...m.keys()]).toEqual(model);
        expect(m.evicted).toBe(evicted);
      }),
    );
  });
});
