// Site zone lookup, OUI vendor lookup and the device inventory (keys, hints with provenance, peers, cap and eviction).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../agent/engine/engine.js';
import { lookupVendor } from '../../agent/engine/inventory/oui.js';
import { loadSite, SiteIndex } from '../../agent/engine/site/site.js';
import { FIXTURES } from '../helpers/paths.js';
import { ev, flowInfo, flowRecord, oneRule, run, siteFrom, SEC, T0 } from './helpers.js';

describe('zone lookup', () => {
  const idx = new SiteIndex(
    siteFrom(`zones:
  imaging-core: [10.20.40.0/28]
  imaging:
    cidrs: [10.20.40.0/24]
    vlans: [40]
  v6: ['2001:db8:1::/48']
`),
  );
  it('first matching zone wins, in file order', () => {
    expect(idx.zoneOf('10.20.40.5')).toBe('imaging-core');
    expect(idx.zoneOf('10.20.40.50')).toBe('imaging');
  });
  it('VLAN zones apply to tagged traffic', () => {
    expect(idx.zoneOf('10.77.0.1')).toBe('unknown-internal');
    expect(idx.zoneOf('10.77.0.1', 40)).toBe('imaging');
  });
  it('IPv6 CIDRs', () => {
    expect(idx.zoneOf('2001:db8:1:2::5')).toBe('v6');
    expect(idx.zoneOf('2001:db8:2::5')).toBe('internet');
  });
  it('unlisted private, loopback, link-local, ULA and multicast are unknown-internal; the rest internet', () => {
    for (const ip of [
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '127.0.0.1',
      '169.254.1.1',
      'fd12:3456::1',
      'fe80::1',
      '::1',
      '224.0.0.251',
      '::ffff:192.168.1.1',
    ]) {
      expect(idx.zoneOf(ip), ip).toBe('unknown-internal');
    }
    for (const ip of ['8.8.8.8', '172.32.0.1', '192.169.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])
      expect(idx.zoneOf(ip), ip).toBe('internet');
  });
  it('without a site every private address is unknown-internal', () => {
    const none = new SiteIndex(null);
    expect(none.zoneOf('10.20.40.5')).toBe('unknown-internal');
    expect(none.zoneOf('1.1.1.1')).toBe('internet');
  });
  it('the example site file places its assets in the documented zones', () => {
    const site = new SiteIndex(loadSite(path.join(FIXTURES, 'site.yaml')));
    expect(site.zoneOf('10.20.40.10')).toBe('imaging');
    expect(site.assetOf('10.20.40.10')?.dicomAe).toEqual(['PACS_MAIN']);
    expect(site.zoneOf('10.20.30.17')).toBe('medical-devices');
    expect(site.zoneOf('10.20.60.2')).toBe('iot-services');
    expect(site.zoneOf('10.99.3.4')).toBe('guest');
    expect(site.zoneOf('fd00:20:30::9')).toBe('medical-devices');
  });
});

describe('OUI vendor lookup', () => {
  it('finds MA-L assignments and ignores case and separators', () => {
    expect(lookupVendor('00:09:5b:11:22:33')).toBe('NETGEAR');
    expect(lookupVendor('00-09-5B-11-22-33')).toBe('NETGEAR');
  });
  it('prefers the longer MA-S / MA-M block over the registry-owned MA-L', () => {
    expect(lookupVendor('00:1b:c5:00:00:01')).toBe('Converging Systems Inc.');
    expect(lookupVendor('00:1b:c5:00:10:01')).toBe('OpenRB.com, Direct SIA');
    expect(lookupVendor('10:06:48:00:00:01')).toBe('FLEXTRONICS TECHNOLOGIES (INDIA) PVT LTD');
  });
  it('gives nothing for locally administered (randomised) or malformed MACs', () => {
    expect(lookupVendor('02:09:5b:11:22:33')).toBeUndefined();
    expect(lookupVendor('da:a1:19:00:00:01')).toBeUndefined();
    expect(lookupVendor('00:09:5b')).toBeUndefined();
  });
});

describe('device inventory', () => {
  // A rule that never fires: the engine runs, the inventory is what is under test.
  const rules = oneRule('      proto: flow\n      fields.transport: none');
  it('keys devices by MAC, with vendor, asset name and identity hints with provenance', () => {
    const site = siteFrom('assets:\n  ct:\n    ip: [10.20.40.21]\n');
    const evs = [
      ev(
        'dicom',
        'associate_rq',
        {
          calling_ae: 'CT_ROOM1',
          called_ae: 'PACS_MAIN',
          implementation_class_uid: '1.2.276.0.7230010.3.0.3.6.7',
          implementation_version: 'OFFIS_DCMTK_367',
        },
        {
          ts: T0,
          src: '10.20.40.21',
          smac: '00:09:5b:00:00:21',
          dst: '10.20.40.10',
          dmac: '00:09:5b:00:00:10',
          dport: 104,
        },
      ),
      ev(
        'dicom',
        'associate_rq',
        { calling_ae: 'CT_ROOM1', called_ae: 'PACS_MAIN' },
        {
          ts: T0 + 5 * SEC,
          src: '10.20.40.21',
          smac: '00:09:5b:00:00:21',
          dst: '10.20.40.10',
          dmac: '00:09:5b:00:00:10',
          dport: 104,
        },
      ),
      ev(
        'hl7',
        'message',
        {
          sending_app: 'MONITOR_GW',
          sending_facility: 'ICU',
          version: '2.6',
          device_ids: ['UDI-123'],
          message_type: 'ORU^R01',
        },
        { ts: T0, src: '10.20.30.17', smac: '00:1a:2b:3c:4d:5e', dst: '10.20.50.5' },
      ),
      ev(
        'mqtt',
        'connect',
        { client_id: 'pump-7', username: 'pumps', version: 4 },
        { ts: T0, src: '10.20.30.7', smac: '00:09:5b:00:00:07' },
      ),
    ];
    const devs = run(rules, evs, { site }).engine.devices();
    const ct = devs.find((d) => d.mac === '00:09:5b:00:00:21');
    expect(ct?.key).toBe('mac:00:09:5b:00:00:21');
    expect(ct?.vendor).toBe('NETGEAR');
    expect(ct?.name).toBe('ct');
    expect(ct?.zone).toBe('unknown-internal');
    expect(ct?.protocols).toEqual(['dicom']);
    expect(ct?.hints.map((h) => [h.attribute, h.value, h.source])).toEqual([
      ['dicom_ae', 'CT_ROOM1', 'dicom.calling_ae'],
      ['dicom_implementation_class_uid', '1.2.276.0.7230010.3.0.3.6.7', 'dicom.implementation_class_uid'],
      ['dicom_implementation_version', 'OFFIS_DCMTK_367', 'dicom.implementation_version'],
      // Derived from the class UID's root (issue 10), with the registry row as provenance.
      [
        'dicom_manufacturer',
        'OFFIS',
        expect.stringMatching(/^dicom\.implementation_class_uid: DCMTK .*dcuid\.h/),
      ],
      ['dicom_product', 'DCMTK', expect.stringMatching(/^dicom\.implementation_class_uid: DCMTK /)],
    ]);
    expect(ct?.hints[0]?.first_seen).toBe('2026-11-28T10:00:00.000000Z');
    expect(ct?.hints[0]?.last_seen).toBe('2026-11-28T10:00:05.000000Z');
    const pacs = devs.find((d) => d.mac === '00:09:5b:00:00:10');
    expect(pacs?.hints.map((h) => [h.attribute, h.value, h.source])).toEqual([
      ['dicom_ae', 'PACS_MAIN', 'dicom.called_ae'],
    ]);
    const mon = devs.find((d) => d.mac === '00:1a:2b:3c:4d:5e');
    expect(mon?.hints.map((h) => `${h.attribute}=${h.value}`)).toEqual([
      'hl7_sending_app=MONITOR_GW',
      'hl7_sending_facility=ICU',
      'hl7_version=2.6',
      'hl7_device_id=UDI-123',
    ]);
    const pump = devs.find((d) => d.mac === '00:09:5b:00:00:07');
    expect(pump?.hints.map((h) => `${h.attribute}=${h.value}<${h.source}`)).toEqual([
      'mqtt_client_id=pump-7<mqtt.client_id',
      'mqtt_username=pumps<mqtt.username',
    ]);
  });

  it('keys hosts behind a router (one MAC carrying many IPs) and Internet hosts by IP', () => {
    const gw = '00:09:5b:ff:ff:ff';
    const evs = [1, 2, 3, 4, 5, 6, 7].map((i) =>
      ev(
        'mqtt',
        'publish',
        {},
        { ts: T0 + i, src: `10.30.0.${i}`, smac: gw, dst: '10.20.60.2', dmac: '00:09:5b:00:00:02' },
      ),
    );
    evs.push(
      ev(
        'mqtt',
        'connect',
        {},
        { ts: T0 + 9, src: '10.20.30.7', smac: '00:09:5b:00:00:07', dst: '52.1.2.3', dmac: gw },
      ),
    );
    const devs = run(rules, evs).engine.devices();
    const router = devs.find((d) => d.key === `mac:${gw}`);
    expect(router?.router).toBe(true);
    expect(router?.ips).toEqual(['10.30.0.1', '10.30.0.2', '10.30.0.3', '10.30.0.4', '10.30.0.5']);
    expect(devs.find((d) => d.key === 'ip:10.30.0.6')?.mac).toBeUndefined();
    expect(devs.find((d) => d.key === 'ip:10.30.0.7')).toBeDefined();
    const cloud = devs.find((d) => d.key === 'ip:52.1.2.3');
    expect(cloud?.zone).toBe('internet');
    expect(cloud?.vendor).toBeUndefined();
  });

  it('keeps peers and counters from flows', () => {
    const findings: unknown[] = [];
    const engine = new Engine({ site: null, rules, baseline: null, agentId: 'a' }, (f) => findings.push(f));
    engine.onFlowStart(flowInfo('f1', '10.0.0.1', '10.0.0.2', 104, T0, { clientMac: 0x00095b000001 }), T0);
    engine.onFlowEnd(flowRecord('f1', '10.0.0.1', '10.0.0.2', 104, [1000, 50000], T0, T0 + SEC, 'dicom'));
    const c = engine.devices().find((d) => d.key === 'mac:00:09:5b:00:00:01');
    expect(c?.peers).toEqual([{ ip: '10.0.0.2', port: 104, proto: 'tcp', flows: 1 }]);
    expect(c?.counters).toMatchObject({ flows: 1, bytes_sent: 1000, bytes_received: 50000 });
    expect(c?.protocols).toEqual(['dicom']);
  });

  it('caps the number of devices with LRU eviction, counted', () => {
    const evs = Array.from({ length: 30 }, (_, i) =>
      ev('mqtt', 'publish', {}, { ts: T0 + i, src: `10.40.0.${i + 1}`, dst: '10.20.60.2' }),
    );
    // The broker is seen in every event, so it stays recently used and survives.
    const { engine } = run(rules, evs, { limits: { maxDevices: 10 } });
    expect(engine.devices()).toHaveLength(10);
    expect(engine.stats.devices.evicted).toBe(21);
    expect(engine.devices().map((d) => d.key)).toContain('ip:10.20.60.2');
    expect(engine.devices().map((d) => d.key)).toContain('ip:10.40.0.30');
    expect(engine.devices().map((d) => d.key)).not.toContain('ip:10.40.0.1');
  });

  it('caps hints per device, counted', () => {
    const evs = Array.from({ length: 40 }, (_, i) =>
      ev('mqtt', 'connect', { client_id: `c${i}` }, { ts: T0 + i, src: '10.40.0.1' }),
    );
    const { engine } = run(rules, evs, { limits: { maxHintsPerDevice: 5 } });
    expect(engine.devices().find((d) => d.key === 'ip:10.40.0.1')?.hints).toHaveLength(5);
    expect(engine.stats.devices.hintsDropped).toBe(35);
  });
});
