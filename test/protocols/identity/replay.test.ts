// End to end: `wardwatch replay --events` on the identity fixture prints an event of every identity protocol, and
// the shipped rules raise nothing on it (link-layer senders have no IP; DHCP clients send from 0.0.0.0).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, HAVE_SHARED, SHARED_CAPTURES } from '../../helpers/paths.js';
import { BIN } from '../../helpers/processes.js';

const FIXTURE = path.join(FIXTURES, 'identity', 'identity.pcap');
const TAPIRXL = path.join(SHARED_CAPTURES, 'dicom/tapirxl-synthetic_philips_demo.pcap');
const CI = process.env.WARDWATCH_CI !== undefined;
if (!existsSync(BIN)) console.warn(`${BIN} not built: identity replay test skipped`);

function replay(files: string[]): { kind: string; proto?: string; type?: string; rule?: string }[] {
  const r = spawnSync(process.execPath, [BIN, 'replay', '--events', ...files], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { kind: string; proto?: string; type?: string; rule?: string });
}

describe.runIf(existsSync(BIN) || CI)('wardwatch replay --events with identity protocols', () => {
  it('prints the identity events of the fixture and no finding', () => {
    const out = replay([FIXTURE]);
    const events = out.filter((r) => r.kind === 'event').map((r) => `${r.proto} ${r.type}`);
    expect(events).toEqual([
      'lldp advertisement',
      'lldp advertisement',
      'cdp advertisement',
      'dhcp discover',
      'dhcp request',
      'dhcpv6 solicit',
      'mdns response',
      'ssdp notify',
      'ssdp msearch',
      'wsd hello',
      'wsd probe',
    ]);
    expect(out.filter((r) => r.kind === 'finding')).toEqual([]);
  });

  it.runIf(HAVE_SHARED || CI)('raises no IP/MAC change for DHCP clients sharing 0.0.0.0', () => {
    const out = replay([TAPIRXL]);
    expect(out.filter((r) => r.kind === 'event' && r.proto === 'dhcp').length).toBeGreaterThan(10);
    expect(out.filter((r) => r.rule === 'network.ip-mac-change')).toEqual([]);
  });
});
