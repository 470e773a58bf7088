// DeviceTable.observe with a flow side's ObserveKeys (which remember the device they led to) against the same calls
// without keys: the same device each time, the same records, order of eviction and counters, with devices evicted
// at a small cap and MACs turning into routers (their hosts then keyed by IP) along the way.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DeviceTable,
  observeKeys,
  type DeviceLimits,
  type FlowDeviceMemo,
  type ObserveKeys,
} from '../../agent/engine/inventory/devices.js';
import { SiteIndex } from '../../agent/engine/site/site.js';

const IPS = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6', '8.8.8.8', ''];
const MACS = [undefined, '00:00:00:00:00:01', '00:00:00:00:00:02', '00:00:00:00:00:03'];

/** Caps small enough that random steps evict devices, drop hints and peers and make routers. */
function smallLimits(maxDevices: number): DeviceLimits {
  return { maxDevices, maxHintsPerDevice: 4, maxPeersPerDevice: 4, maxIpsPerDevice: 3, routerIpThreshold: 2 };
}

describe('DeviceTable.observe with remembered keys', () => {
  it('gives what the lookup gives', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: IPS.length - 1 }), fc.integer({ min: 0, max: MACS.length - 1 })),
          { maxLength: 120 },
        ),
        (maxDevices, steps) => {
          const limits = smallLimits(maxDevices);
          const site = new SiteIndex(null);
          const cached = new DeviceTable(site, limits);
          const plain = new DeviceTable(site, limits);
          // One ObserveKeys per address pair, as the engine keeps one per flow side.
          const keys = new Map<string, ObserveKeys>();
          let ts = 0;
          for (const [i, m] of steps) {
            ts++;
            const ip = IPS[i] as string;
            const mac = MACS[m];
            const id = `${ip}|${mac ?? ''}`;
            let k = keys.get(id);
            if (!k) keys.set(id, (k = observeKeys(ip, mac, site.zoneOf(ip))));
            const a = cached.observe(ip, mac, ts, -1, k);
            const b = plain.observe(ip, mac, ts);
            expect(a.key).toBe(b.key);
            expect(cached.get(a.key)).toBe(a);
          }
          expect(cached.records()).toEqual(plain.records());
          expect(cached.stats).toEqual(plain.stats);
        },
      ),
      { seed: 42, numRuns: 500 },
    );
  });
});

// Few addresses, so that flows' devices often gain an address their events asked for before (and the table seldom
// evicts, which would hide a stale memo by changing the version anyway).
const newMemo = (): FlowDeviceMemo => ({ flowDevice: null, flowOwner: null, flowVersion: -1 });
const FIPS = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '8.8.8.8'];
const FMACS = [undefined, '00:00:00:00:00:01', '00:00:00:00:00:02'];

describe('DeviceTable.flowDevice with remembered results', () => {
  it('gives what the plain lookup gives, across evictions, new IPs and routers', () => {
    const op = fc.oneof(
      // A host seen (may evict, add an IP, make a router).
      fc.record({
        kind: fc.constant('observe' as const),
        ip: fc.integer({ min: 0, max: FIPS.length - 1 }),
        mac: fc.integer({ min: 0, max: FMACS.length - 1 }),
      }),
      // A flow starts: its two endpoints observed, their keys kept by the flow.
      fc.record({
        kind: fc.constant('start' as const),
        flow: fc.integer({ min: 0, max: 3 }),
        c: fc.tuple(
          fc.integer({ min: 0, max: FIPS.length - 1 }),
          fc.integer({ min: 0, max: FMACS.length - 1 }),
        ),
        s: fc.tuple(
          fc.integer({ min: 0, max: FIPS.length - 1 }),
          fc.integer({ min: 0, max: FMACS.length - 1 }),
        ),
      }),
      // An event of a flow without a MAC: the flow's device for this address.
      fc.record({
        kind: fc.constant('event' as const),
        flow: fc.integer({ min: 0, max: 3 }),
        ip: fc.integer({ min: 0, max: FIPS.length - 1 }),
      }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.array(op, { minLength: 20, maxLength: 150, size: 'max' }),
        (maxDevices, ops) => {
          const limits = smallLimits(maxDevices);
          const site = new SiteIndex(null);
          const cached = new DeviceTable(site, limits);
          const plain = new DeviceTable(site, limits);
          // A flow: its owner object, the keys of its start, one memo per address (as the engine's flow sides).
          const flows = new Map<
            number,
            { owner: object; c: string; s: string; memos: Map<string, FlowDeviceMemo> }
          >();
          let ts = 0;
          const both = (ip: string, mac: string | undefined): string => {
            const a = cached.observe(ip, mac, ts);
            const b = plain.observe(ip, mac, ts);
            expect(a.key).toBe(b.key);
            return a.key;
          };
          for (const o of ops) {
            ts++;
            if (o.kind === 'observe') both(FIPS[o.ip] as string, FMACS[o.mac]);
            else if (o.kind === 'start') {
              const c = both(FIPS[o.c[0]] as string, FMACS[o.c[1]]);
              const s = both(FIPS[o.s[0]] as string, FMACS[o.s[1]]);
              flows.set(o.flow, { owner: {}, c, s, memos: new Map() });
            } else {
              const f = flows.get(o.flow);
              if (!f) continue;
              const ip = FIPS[o.ip] as string;
              let k = f.memos.get(ip);
              if (!k) f.memos.set(ip, (k = newMemo()));
              const a = cached.flowDevice(f.c, f.s, ip, f.owner, k);
              const b = plain.flowDevice(f.c, f.s, ip, f.owner);
              expect(a?.key).toBe(b?.key);
              if (a) expect(cached.get(a.key)).toBe(a);
              // The engine falls back to observe when the flow's devices do not hold the address.
              if (!a) both(ip, undefined);
            }
          }
          expect(cached.records()).toEqual(plain.records());
          expect(cached.stats).toEqual(plain.stats);
        },
      ),
      { seed: 42, numRuns: 500 },
    );
  });
});

describe('DeviceTable.flowDevice', () => {
  it('finds the flow device that gained the address after a miss was remembered', () => {
    const site = new SiteIndex(null);
    const table = new DeviceTable(site);
    const c = table.observe('10.0.0.1', '00:00:00:00:00:01', 1);
    const s = table.observe('10.0.0.2', '00:00:00:00:00:02', 1);
    const owner = {};
    const k = newMemo();
    expect(table.flowDevice(c.key, s.key, '10.0.0.3', owner, k)).toBeUndefined();
    table.observe('10.0.0.3', '00:00:00:00:00:02', 2);
    expect(table.flowDevice(c.key, s.key, '10.0.0.3', owner, k)).toBe(s);
    expect(table.flowDevice(c.key, s.key, '10.0.0.3', {}, k)).toBe(s);
  });
});
