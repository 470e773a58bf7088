// Identity hints as the engine records them (DeviceSignals: schema hints read in place, a repeated hint recognised
// before any call) against a plain model: every value hintValues() gives, as text, through DeviceTable.addHint
// without slots. Same hints, provenance and times on every device, and the same count of hints dropped at the cap.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../agent/engine/engine.js';
import { DeviceTable } from '../../agent/engine/inventory/devices.js';
import { SiteIndex } from '../../agent/engine/site/site.js';
import { PROTOCOL_SCHEMAS } from '../../agent/protocols/registry.js';
import { hintValues, indexIdentityHints } from '../../agent/protocols/schema.js';
import type { EventFields, FieldValue, ProtoName } from '../../agent/protocols/types.js';
import { ev, T0 } from './helpers.js';

const IDENTITY = indexIdentityHints(PROTOCOL_SCHEMAS);
const HOSTS = [
  { ip: '10.20.30.17', mac: '00:09:5b:00:00:01' },
  { ip: '10.20.30.18', mac: '00:09:5b:00:00:02' },
  { ip: '10.20.60.2', mac: undefined },
];
// Repeats, numbers, empty and overlong text, arrays longer than a hint's max.
const value: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.constantFrom<FieldValue>('LIS', 'HIS', 'PUMP-7', 2.5, 7, '', 'x'.repeat(140), 'x'.repeat(128), true),
  fc.array(fc.constantFrom<FieldValue>('D1', 'D2', 'D3', 'D4', 5, ''), { maxLength: 10 }),
);
const event = fc.record({
  kind: fc.constantFrom<[ProtoName, string]>(
    ['hl7', 'message'],
    ['mqtt', 'connect'],
    ['dicom', 'associate_rq'],
  ),
  src: fc.integer({ min: 0, max: HOSTS.length - 1 }),
  dst: fc.integer({ min: 0, max: HOSTS.length - 1 }),
  fields: fc.dictionary(
    fc.constantFrom(
      'sending_app',
      'sending_facility',
      'receiving_app',
      'version',
      'device_ids',
      'client_id',
      'username',
      'calling_ae',
      'called_ae',
    ),
    value,
  ),
  dt: fc.integer({ min: -2, max: 5 }),
});

const str = (v: FieldValue | undefined): string | undefined =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;

describe('DeviceSignals identity hints', () => {
  it('record what the plain reading of the schema hints records', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(event, { maxLength: 60 }), (maxHints, events) => {
        const limits = { maxHintsPerDevice: maxHints };
        const engine = new Engine(
          { site: null, rules: { rules: [], lists: {}, files: [] }, baseline: null, agentId: 't', limits },
          () => undefined,
        );
        const plain = new DeviceTable(new SiteIndex(null), {
          maxDevices: 10000,
          maxHintsPerDevice: maxHints,
          maxPeersPerDevice: 64,
          maxIpsPerDevice: 8,
          routerIpThreshold: 4,
        });
        let ts = T0;
        for (const e of events) {
          ts += e.dt;
          const [proto, type] = e.kind;
          const s = HOSTS[e.src] as (typeof HOSTS)[number];
          const d = HOSTS[e.dst] as (typeof HOSTS)[number];
          const opts = {
            ts,
            src: s.ip,
            dst: d.ip,
            ...(s.mac ? { smac: s.mac } : {}),
            ...(d.mac ? { dmac: d.mac } : {}),
          };
          engine.onEvent(ev(proto, type, e.fields as EventFields, opts));
          const sd = plain.observe(s.ip, s.mac, ts);
          const dd = plain.observe(d.ip, d.mac, ts);
          for (const h of IDENTITY.get(proto)?.get(type) ?? [])
            for (const v of hintValues(h, e.fields as EventFields)) {
              const text = str(v);
              if (text !== undefined)
                plain.addHint(h.side === 'src' ? sd : dd, h.attr, text, `${proto}.${h.field}`, ts);
            }
        }
        const hintsOf = (records: { key: string; hints: unknown[] }[]): Record<string, unknown[]> =>
          Object.fromEntries(records.map((r) => [r.key, r.hints]));
        expect(hintsOf(engine.devices())).toEqual(hintsOf(plain.records()));
        expect(engine.stats.devices.hintsDropped).toBe(plain.stats.hintsDropped);
      }),
      { seed: 42, numRuns: 300 },
    );
  });
});
