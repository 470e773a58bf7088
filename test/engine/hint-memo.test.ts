// DeviceTable.addHint with a slot memo (signals.ts passes one per identity hint) against the same calls without
// it: the same answers (earlier values) and the same device records, whatever the order of values and sources.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeviceTable } from '../../agent/engine/inventory/devices.js';
import { SiteIndex } from '../../agent/engine/site/site.js';

/** A slot stands for one (attribute, source) pair, as in signals.ts. */
const SLOTS = [
  { attr: 'hl7_sending_app', source: 'hl7.sending_app' },
  { attr: 'hl7_sending_app', source: 'hl7.other_field' },
  { attr: 'hl7_version', source: 'hl7.version' },
];

describe('DeviceTable.addHint slot memo', () => {
  it('answers and records as the lookup without a memo does', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: SLOTS.length - 1 }),
            fc.constantFrom('A', 'B', 'C', 'D', 'x'.repeat(130), 'x'.repeat(129)),
            fc.integer({ min: -3, max: 10 }),
          ),
          { maxLength: 80 },
        ),
        (maxHints, steps) => {
          const limits = {
            maxDevices: 10,
            maxHintsPerDevice: maxHints,
            maxPeersPerDevice: 4,
            maxIpsPerDevice: 4,
            routerIpThreshold: 4,
          };
          const site = new SiteIndex(null);
          const memo = new DeviceTable(site, limits);
          const plain = new DeviceTable(site, limits);
          const dm = memo.observe('10.0.0.1', '00:11:22:33:44:55', 0);
          const dp = plain.observe('10.0.0.1', '00:11:22:33:44:55', 0);
          let ts = 100;
          for (const [slot, value, dt] of steps) {
            ts += dt;
            const { attr, source } = SLOTS[slot] as (typeof SLOTS)[number];
            const a = memo.addHint(dm, attr, value, source, ts, slot);
            const b = plain.addHint(dp, attr, value, source, ts);
            expect(a).toEqual(b);
          }
          expect(memo.records()).toEqual(plain.records());
          expect(memo.stats).toEqual(plain.stats);
        },
      ),
      { seed: 42, numRuns: 500 },
    );
  });
});
