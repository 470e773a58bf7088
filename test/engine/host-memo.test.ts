// The resolver's per-host memo (flow starts and ends): what it gives equals what the plain lookups give for the same
// address, MAC and VLAN, in any order of hosts, whichever memo an address had before.
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { macToString } from '../../agent/decode/addr.js';
import { observeKeys } from '../../agent/engine/inventory/devices.js';
import { EndpointResolver } from '../../agent/engine/site/endpoints.js';
import { loadSite, SiteIndex, ZONE_INTERNET } from '../../agent/engine/site/site.js';
import { FIXTURES } from '../helpers/paths.js';

const SITE = loadSite(path.join(FIXTURES, 'site.yaml'));
// Site assets (by IP and by MAC), zones, a VLAN zone, unlisted private space, the Internet, IPv6.
const IPS = [
  '10.20.40.10',
  '10.20.30.17',
  '10.20.50.5',
  '10.77.0.1',
  '192.168.1.9',
  '203.0.113.9',
  'fd00:20:30::5',
];
// -1: no MAC; the others include an IEEE-registered vendor prefix and a locally administered one.
const MACS = [-1, 0x00095b000001, 0x001a2b3c4d5e, 0xb827eb000099, 0x020000000001];
const VLANS = [-1, 40, 7];

describe('EndpointResolver.host', () => {
  it('gives the endpoint, device keys and zone the plain lookups give', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: IPS.length - 1 }),
            fc.integer({ min: 0, max: MACS.length - 1 }),
            fc.integer({ min: 0, max: VLANS.length - 1 }),
            fc.integer({ min: 0, max: 65535 }),
            fc.boolean(),
          ),
          { minLength: 1, maxLength: 60 },
        ),
        (steps) => {
          const site = new SiteIndex(SITE);
          const memoised = new EndpointResolver(site);
          const plain = new EndpointResolver(new SiteIndex(SITE));
          for (const [i, m, v, port, fromRecord] of steps) {
            const ip = IPS[i] as string;
            const macNum = MACS[m] as number;
            const vlan = VLANS[v] as number;
            const mac = macNum >= 0 ? macToString(macNum) : undefined;
            // A flow start names the MAC by number, a flow record by text.
            const h = fromRecord ? memoised.hostOf({ ip, port, mac }, vlan) : memoised.host(ip, macNum, vlan);
            if (h === null) throw new Error('a memo for every MAC but the empty one');
            expect(h.ip).toBe(ip);
            expect(h.mac).toBe(mac);
            expect(memoised.hostEndpoint(h, port)).toEqual(plain.endpoint({ ip, port, mac }, vlan));
            const keys = observeKeys(ip, mac, site.zoneOf(ip, vlan));
            expect([h.keys.zone, h.keys.ipKey, h.keys.macKey]).toEqual([keys.zone, keys.ipKey, keys.macKey]);
            expect(h.internet).toBe(site.zoneOf(ip) === ZONE_INTERNET);
            expect(memoised.ipPort(h, port)).toBe(`${ip}|${port}`);
          }
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });

  it('has no memo for an empty MAC text', () => {
    const r = new EndpointResolver(new SiteIndex(SITE));
    expect(r.hostOf({ ip: '10.20.30.17', mac: '' }, -1)).toBeNull();
  });

  it('keeps one memo per address, MAC and VLAN, by number or by text', () => {
    const r = new EndpointResolver(new SiteIndex(SITE));
    const a = r.host('10.20.30.17', 0x00095b000001, -1);
    expect(r.host('10.20.30.17', 0x00095b000001, -1)).toBe(a);
    const b = r.host('10.20.30.17', -1, -1);
    expect(b).not.toBe(a);
    expect(b.mac).toBeUndefined();
    expect(r.host('10.20.30.17', 0x00095b000001, 40)).not.toBe(a);
    // A few variants of one address are kept side by side (the server's MAC unknown at the start, known at the end).
    expect(r.host('10.20.30.17', 0x00095b000001, -1)).toBe(a);
    expect(r.host('10.20.30.17', -1, -1)).toBe(b);
    expect(r.hostOf({ ip: '10.20.30.17', mac: '00:09:5b:00:00:01' }, -1)).toBe(a);
    expect(r.hostOf({ ip: '10.20.30.17' }, -1)).toBe(b);
  });

  it('holds a bounded number of memos, whatever the number of hosts', () => {
    const r = new EndpointResolver(new SiteIndex(SITE));
    const first = r.host('10.0.0.1', -1, -1);
    for (let i = 0; i < 20000; i++) {
      const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      r.host(ip, i % 3 === 0 ? -1 : i, i % 2 === 0 ? -1 : 7);
      expect(r.hostMemoCount).toBeLessThanOrEqual(4096);
    }
    // Cleared on the way: the first host's memo is made anew, and still right.
    const again = r.host('10.0.0.1', -1, -1);
    expect(again).not.toBe(first);
    expect(again.keys.ipKey).toBe('ip:10.0.0.1');
  });
});
