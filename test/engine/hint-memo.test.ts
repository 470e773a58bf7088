// DeviceTable.addHint with a slot memo (signals.ts passes one per identity hint) against the same calls without
// it: the same answers (earlier values) and the same device records, whatever the order of values and sources.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeviceTable } from '../../agent/engine/inventory/devices.js';
import { SiteIndex } from '../../agent/engine/site/site.js';
import { formatTs } from '../../agent/wire/time.js';

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

/** What addHint is documented to do, as a plain list: the reference for how it finds hints. */
class HintModel {
  readonly hints: { attribute: string; value: string; source: string; first: number; last: number }[] = [];
  dropped = 0;
  constructor(private readonly max: number) {}

  add(attribute: string, value: string, source: string, ts: number): string[] {
    const v = value.slice(0, 128);
    const found = this.hints.find((h) => h.attribute === attribute && h.value === v && h.source === source);
    if (found) {
      found.last = Math.max(found.last, ts);
      return [];
    }
    if (this.hints.length >= this.max) {
      this.dropped++;
      return [];
    }
    const previous = this.hints.filter((h) => h.attribute === attribute && h.value !== v).map((h) => h.value);
    this.hints.push({ attribute, value: v, source, first: ts, last: ts });
    return previous;
  }
}

describe('DeviceTable.addHint', () => {
  it('finds, adds and drops hints as a plain list of them does', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: SLOTS.length - 1 }),
            // Values shared between attributes, and one the same as an attribute name.
            fc.constantFrom('A', 'B', 'C', 'D', 'E', 'hl7_version', 'x'.repeat(130), 'x'.repeat(128)),
            fc.integer({ min: -3, max: 10 }),
            fc.boolean(),
          ),
          { maxLength: 100 },
        ),
        (maxHints, steps) => {
          const table = new DeviceTable(new SiteIndex(null), {
            maxDevices: 10,
            maxHintsPerDevice: maxHints,
            maxPeersPerDevice: 4,
            maxIpsPerDevice: 4,
            routerIpThreshold: 4,
          });
          const model = new HintModel(maxHints);
          const d = table.observe('10.0.0.1', '00:11:22:33:44:55', 0);
          let ts = 100;
          for (const [slot, value, dt, memo] of steps) {
            ts += dt;
            const { attr, source } = SLOTS[slot] as (typeof SLOTS)[number];
            expect(table.addHint(d, attr, value, source, ts, memo ? slot : -1)).toEqual(
              model.add(attr, value, source, ts),
            );
          }
          const [record] = table.records();
          expect(record?.hints).toEqual(
            model.hints.map((h) => ({
              attribute: h.attribute,
              value: h.value,
              source: h.source,
              first_seen: formatTs(h.first),
              last_seen: formatTs(h.last),
            })),
          );
          expect(table.stats.hintsDropped).toBe(model.dropped);
        },
      ),
      { seed: 42, numRuns: 500 },
    );
  });
});
