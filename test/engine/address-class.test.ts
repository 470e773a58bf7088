// One address classification for the whole agent (issue 12): the site's "internet" zone and the baselines' "may be a
// device" used to be two functions that disagreed on 100.64.0.0/10 and multicast.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPrivateIp } from '../../agent/engine/baselines/baseline-model.js';
import { classifyAddress, isDeviceAddress, isLocalAddress, parseIp } from '../../agent/engine/site/ip.js';
import { SiteIndex } from '../../agent/engine/site/site.js';
import { siteFrom } from './helpers.js';

const bytes = (t: string): Uint8Array => {
  const b = parseIp(t);
  if (!b) throw new Error(`bad address ${t}`);
  return b;
};

describe('address classes', () => {
  it.each([
    ['10.20.30.40', 'private', true, true],
    ['172.31.255.1', 'private', true, true],
    ['172.32.0.1', 'public', false, false],
    ['192.168.1.1', 'private', true, true],
    ['100.64.0.1', 'shared', true, true],
    ['100.127.255.254', 'shared', true, true],
    ['100.128.0.1', 'public', false, false],
    ['127.0.0.1', 'loopback', true, true],
    ['169.254.10.10', 'link-local', true, true],
    ['224.0.0.251', 'multicast', true, false],
    ['239.255.255.250', 'multicast', true, false],
    ['255.255.255.255', 'broadcast', true, false],
    ['0.0.0.0', 'unspecified', true, false],
    ['8.8.8.8', 'public', false, false],
    ['198.51.100.7', 'public', false, false],
    ['::ffff:10.1.2.3', 'private', true, true],
    ['fd00::1', 'private', true, true],
    ['fe80::1', 'link-local', true, true],
    ['ff02::fb', 'multicast', true, false],
    ['::1', 'loopback', true, true],
    ['2001:db8::1', 'public', false, false],
  ] as const)('%s is %s (local %s, device %s)', (ip, cls, local, device) => {
    expect(classifyAddress(bytes(ip))).toBe(cls);
    expect(isLocalAddress(bytes(ip))).toBe(local);
    expect(isDeviceAddress(bytes(ip))).toBe(device);
    expect(isPrivateIp(ip)).toBe(device);
  });

  it('a device address is always local, and the site zones agree with the classes', () => {
    const site = new SiteIndex(siteFrom('zones:\n  wards: [10.20.0.0/16]\n'));
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (ip) => {
        const b = bytes(ip);
        if (isDeviceAddress(b)) expect(isLocalAddress(b)).toBe(true);
        const zone = site.zoneOf(ip);
        if (zone !== 'wards') expect(zone === 'internet').toBe(classifyAddress(b) === 'public');
      }),
    );
  });
});
