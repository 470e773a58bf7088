// LruMap keeps the same order as a Map used with delete + set on every use (what the engine did before).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LruMap } from '../../agent/engine/lru.js';

describe('LruMap', () => {
  it('evicts in the order a delete-and-reinsert Map would', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom('use', 'set', 'insert', 'delete', 'evict', 'peek', 'touch'),
            fc.integer({ min: 0, max: 9 }),
          ),
          {
            maxLength: 200,
          },
        ),
        (ops) => {
          const lru = new LruMap<number, number>();
          const ref = new Map<number, number>();
          ops.forEach(([op, k], i) => {
            if (op === 'use') {
              const v = ref.get(k);
              if (v !== undefined) {
                ref.delete(k);
                ref.set(k, v);
              }
              expect(lru.use(k)).toBe(v);
            } else if (op === 'set') {
              ref.delete(k);
              ref.set(k, i);
              lru.set(k, i);
            } else if (op === 'delete') {
              expect(lru.delete(k)).toBe(ref.delete(k));
            } else if (op === 'evict') {
              const first = ref.keys().next();
              if (!first.done) ref.delete(first.value);
              expect(lru.evictOldest()).toBe(!first.done);
            } else if (op === 'insert') {
              // insert() is set() for a key found absent.
              if (lru.peek(k) === undefined) {
                ref.set(k, i);
                lru.insert(k, i);
              }
            } else if (op === 'touch') {
              // touch() is use() through an entry found earlier and still in the map.
              const v = ref.get(k);
              const e = lru.entry(k);
              expect(e?.value).toBe(v);
              if (e !== undefined && v !== undefined) {
                ref.delete(k);
                ref.set(k, v);
                lru.touch(e);
              }
            } else expect(lru.peek(k)).toBe(ref.get(k));
            expect(lru.size).toBe(ref.size);
            expect([...lru.values()]).toEqual([...ref.values()]);
          });
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });
});
