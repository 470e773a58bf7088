// DeviceTable.observe with a flow side's ObserveKeys (which remember the device they led to) against the same calls
// without keys: the same device each time, the same records, order of eviction and counters, with devices evicted
// at a small cap and MACs turning into routers (their hosts then keyed by IP) along the way.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeviceTable, observeKeys, type ObserveKeys } from '../../agent/engine/inventory/devices.js';
import { SiteIndex } from '../../agent/engine/site/site.js';

const IPS = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6', '8.8.8.8', ''];
const MACS = [undefined, '00:00:00:00:00:01', '00:00:00:00:00:02', '00:00:00:00:00:03'];

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
          const limits = {
            maxDevices,
            maxHintsPerDevice: 4,
            maxPeersPerDevice: 4,
            maxIpsPerDevice: 3,
            routerIpThreshold: 2,
          };
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
