// Identity from the schemas' hints (issue 15): the identity protocols' make, model, firmware and names land on the
// device with their provenance, and a tracked value that changes is the network.device-software-changed finding.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../agent/engine/engine.js';
import { loadRules } from '../../agent/engine/rules/rules.js';
import type { Finding } from '../../agent/wire/finding.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { ev, SEC, T0 } from './helpers.js';

const RULES = loadRules(path.join(REPO_ROOT, 'rules'));
const MAC = '00:1b:2c:3d:4e:5f';

function run(events: ReturnType<typeof ev>[]): { findings: Finding[]; engine: Engine } {
  const findings: Finding[] = [];
  const engine = new Engine({ site: null, rules: RULES, baseline: null, agentId: 't' }, (f) =>
    findings.push(f),
  );
  for (const e of events) engine.onEvent(e);
  engine.flush();
  return { findings, engine };
}

const cdp = (software: string, ts: number): ReturnType<typeof ev> =>
  ev(
    'cdp',
    'advertisement',
    { device_id: 'infusion-gw-3', platform: 'cisco IE-3400', software_version: software },
    { src: '', dst: '', sport: 0, dport: 0, smac: MAC, dmac: '01:00:0c:cc:cc:cc', flow: '', ts },
  );

describe('identity hints', () => {
  it('record hostname, model and firmware with their source on the device', () => {
    const { engine } = run([cdp('IOS 17.3.1', T0)]);
    const d = engine.devices().find((x) => x.mac === MAC);
    const hints = Object.fromEntries((d?.hints ?? []).map((h) => [h.attribute, [h.value, h.source]]));
    expect(hints).toMatchObject({
      hostname: ['infusion-gw-3', 'cdp.device_id'],
      model: ['cisco IE-3400', 'cdp.platform'],
      firmware: ['IOS 17.3.1', 'cdp.software_version'],
    });
  });

  it('a changed firmware string is a finding naming the previous value; the same string again is not', () => {
    const same = run([cdp('IOS 17.3.1', T0), cdp('IOS 17.3.1', T0 + 60 * SEC)]);
    expect(same.findings.filter((f) => f.rule === 'network.device-software-changed')).toEqual([]);
    const changed = run([cdp('IOS 17.3.1', T0), cdp('IOS 17.9.4', T0 + 60 * SEC)]);
    const f = changed.findings.filter((x) => x.rule === 'network.device-software-changed');
    expect(f).toHaveLength(1);
    expect(f[0]?.evidence).toMatchObject({
      attribute: 'firmware',
      current: 'IOS 17.9.4',
      previous: ['IOS 17.3.1'],
    });
  });

  it('reads a key of an object field (mDNS TXT md) and the DHCP fingerprint from a client message only', () => {
    const mdns = ev(
      'mdns',
      'response',
      { hosts: ['pump-7.local'], txt: { md: 'Alaris 8015' } },
      { smac: MAC },
    );
    const offer = ev('dhcp', 'offer', { hostname: 'echoed-by-server', fingerprint: '1,3,6' }, { smac: MAC });
    const { engine } = run([mdns, offer]);
    const hints = engine.devices().find((x) => x.mac === MAC)?.hints ?? [];
    expect(hints.map((h) => [h.attribute, h.value])).toEqual(
      expect.arrayContaining([
        ['hostname', 'pump-7.local'],
        ['model', 'Alaris 8015'],
      ]),
    );
    expect(hints.some((h) => h.source.startsWith('dhcp.'))).toBe(false);
  });
});
