// Flow ids: 16 hex digits, two MurmurHash3-style lanes over vlan, protocol, ports, start time and both addresses.
// Checked against the plain form of that definition (arrays of words, toString(16)), which flow-table.ts unrolls.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeFlowId } from '../../agent/reassembly/flow-table.js';

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

function reference(
  vlan: number,
  proto: number,
  ca: Uint8Array,
  cp: number,
  sa: Uint8Array,
  sp: number,
  start: number,
): string {
  const words = [vlan + 1, proto, cp, sp, start >>> 0, Math.floor(start / 2 ** 32), ca.length];
  for (const addr of [ca, sa])
    for (let i = 0; i + 3 < addr.length; i += 4)
      words.push((addr[i]! << 24) | (addr[i + 1]! << 16) | (addr[i + 2]! << 8) | addr[i + 3]! | 0);
  let h1 = 0x243f6a88;
  let h2 = 0x85a308d3;
  for (const w of words) {
    h1 = mix(h1, w);
    h2 = mix(h2, w ^ 0x13198a2e);
  }
  const hex = (x: number) => (x >>> 0).toString(16).padStart(8, '0');
  return hex(fmix(h1)) + hex(fmix(h2 ^ h1));
}

describe('makeFlowId', () => {
  it('is the two-lane hash of the flow key, for IPv4 and IPv6 and any start time', () => {
    const addr = fc.oneof(
      fc.uint8Array({ minLength: 4, maxLength: 4 }),
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: -1, max: 4095 }),
        fc.constantFrom(6, 17, 1, 58),
        addr,
        fc.integer({ min: 0, max: 65535 }),
        addr,
        fc.integer({ min: 0, max: 65535 }),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        (vlan, proto, ca, cp, sa, sp, start) => {
          const id = makeFlowId(vlan, proto, ca, cp, sa, sp, start);
          expect(id).toMatch(/^[0-9a-f]{16}$/);
          expect(id).toBe(reference(vlan, proto, ca, cp, sa, sp, start));
        },
      ),
      { seed: 5, numRuns: 2000 },
    );
  });
});
