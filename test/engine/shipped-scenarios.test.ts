// Each shipped match rule fires on hand-built traffic showing its scenario and stays quiet on the nearest normal traffic (example site).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../agent/engine/engine.js';
import { loadRules } from '../../agent/engine/rules/rules.js';
import { loadSite } from '../../agent/engine/site/site.js';
import type { EventFields, ProtoName } from '../../agent/protocols/types.js';
import type { Finding } from '../../agent/wire/finding.js';
import { FIXTURES, REPO_ROOT } from '../helpers/paths.js';
import { ev, flowInfo, flowRecord, SEC, T0 } from './helpers.js';

const RULES = loadRules(path.join(REPO_ROOT, 'rules'));
const SITE = loadSite(path.join(FIXTURES, 'site.yaml'));

type Step = (e: Engine, i: number) => void;
const PACS = '10.20.40.10';
const ENGINE = '10.20.50.5';
const BROKER = '10.20.60.2';
const ROGUE = '10.20.30.99';

let clock = 0;
const tick = (): number => T0 + ++clock * 1000;
const e =
  (
    proto: ProtoName,
    type: string,
    fields: EventFields,
    src: string,
    dst: string,
    flow = 'f1',
    dport = 104,
  ): Step =>
  (en) =>
    en.onEvent(ev(proto, type, fields, { ts: tick(), src, dst, flow, dport }));
const times = (n: number, make: (i: number) => Step): Step[] => Array.from({ length: n }, (_, i) => make(i));
const flowStart =
  (client: string, server: string, port: number, id = `fs${port}-${server}`): Step =>
  (en) =>
    en.onFlowStart(flowInfo(id, client, server, port), tick());
const arp =
  (mac: number, ip: string): Step =>
  (en) => {
    const [a = 0, b = 0, c = 0, d = 0] = ip.split('.').map(Number);
    en.onArp(mac, ((a << 24) | (b << 16) | (c << 8) | d) >>> 0, tick());
  };

const macEv =
  (ip: string, mac: string): Step =>
  (en) =>
    en.onEvent(
      ev(
        'hl7',
        'message',
        { message_type: 'ORU^R01' },
        { ts: tick(), src: ip, smac: mac, dst: ENGINE, dport: 6661 },
      ),
    );
const rq = (fields: EventFields, src = ROGUE, dst = PACS): Step =>
  e('dicom', 'associate_rq', { calling_ae: 'X', called_ae: 'PACS_MAIN', ...fields }, src, dst);
const dimse = (fields: EventFields, src = ROGUE, dst = PACS): Step => e('dicom', 'dimse', fields, src, dst);
const hl7 = (fields: EventFields, src = ROGUE, dst = ENGINE, flow = 'h1'): Step =>
  e(
    'hl7',
    'message',
    { sending_app: 'LIS', message_type: 'ADT^A01', control_id: `c${clock}`, ...fields },
    src,
    dst,
    flow,
    6661,
  );
const mq = (type: string, fields: EventFields, src = ROGUE, dst = BROKER, flow = 'm1'): Step =>
  e('mqtt', type, fields, src, dst, flow, 1883);

const CASES: Record<string, { fire: Step[]; quiet: Step[] }> = {
  'dicom.unknown-calling-ae': {
    fire: [rq({ calling_ae: 'EVIL_SCU' })],
    quiet: [rq({ calling_ae: 'CT_ROOM1' })],
  },
  'dicom.ae-enumeration': {
    fire: times(3, () => e('dicom', 'associate_rj', { result: 1, source: 1, reason: 3 }, PACS, ROGUE)),
    quiet: times(2, () => e('dicom', 'associate_rj', { result: 1, source: 1, reason: 3 }, PACS, ROGUE)),
  },
  'dicom.echo-sweep': {
    fire: times(5, (i) => rq({ abstract_syntaxes: ['1.2.840.10008.1.1'] }, ROGUE, `10.20.40.${50 + i}`)),
    quiet: times(5, () => rq({ abstract_syntaxes: ['1.2.840.10008.1.1'] }, ROGUE, PACS)),
  },
  'dicom.cfind-wildcard': {
    fire: [
      dimse({
        command: 'C-FIND-RQ',
        query_level: 'PATIENT',
        query_keys: [
          { key: 'PatientID', wildcard: false },
          { key: 'PatientName', wildcard: true },
        ],
      }),
    ],
    quiet: [
      dimse({
        command: 'C-FIND-RQ',
        query_level: 'STUDY',
        query_keys: [
          { key: 'PatientID', wildcard: false },
          { key: 'StudyInstanceUID', wildcard: true },
        ],
      }),
      dimse({
        command: 'C-FIND-RQ',
        query_level: 'PATIENT',
        query_keys: [
          { key: 'PatientName', wildcard: false },
          { key: 'PatientBirthDate', wildcard: false },
        ],
      }),
    ],
  },
  'dicom.cfind-harvest': {
    fire: times(200, () => dimse({ command: 'C-FIND-RSP', status: 0xff00 }, PACS, ROGUE)),
    quiet: times(199, () => dimse({ command: 'C-FIND-RSP', status: 0xff00 }, PACS, ROGUE)),
  },
  'dicom.cmove-foreign-destination': {
    fire: [dimse({ command: 'C-MOVE-RQ', move_destination: 'EXFIL_AE' })],
    quiet: [dimse({ command: 'C-MOVE-RQ', move_destination: 'VIEWER1' })],
  },
  'dicom.bulk-retrieve': {
    fire: [dimse({ command: 'C-MOVE-RSP', completed: 5000 }, PACS, ROGUE)],
    quiet: [dimse({ command: 'C-MOVE-RSP', completed: 12 }, PACS, ROGUE)],
  },
  'dicom.large-association': {
    fire: [
      (en) => en.onFlowEnd(flowRecord('big', ROGUE, PACS, 104, [100, 3e9], T0, T0 + 600 * SEC, 'dicom')),
    ],
    quiet: [
      (en) => en.onFlowEnd(flowRecord('small', ROGUE, PACS, 104, [100, 3e6], T0, T0 + 60 * SEC, 'dicom')),
    ],
  },
  'dicom.store-from-viewer': {
    fire: [dimse({ command: 'C-STORE-RQ' }, '10.20.40.31')],
    quiet: [dimse({ command: 'C-STORE-RQ' }, '10.20.40.21')],
  },
  'dicom.internet-association': { fire: [rq({}, ROGUE, '203.0.113.5')], quiet: [rq({})] },
  'dicom.internet-port': {
    fire: [flowStart(ROGUE, '198.51.100.7', 104)],
    quiet: [flowStart(ROGUE, PACS, 104)],
  },
  'dicom.cleartext-to-tls-only': {
    fire: [rq({}, ROGUE, '10.20.40.12'), rq({}, '10.20.40.22', PACS)],
    quiet: [rq({}), rq({}, '10.20.40.21')],
  },
  'dicom.cleartext-credentials': {
    fire: [rq({ user_identity_type: 2, user_identity_has_passcode: true })],
    quiet: [rq({})],
  },
  'dicom.implementation-changed': {
    fire: [
      rq({ implementation_version: 'OFFIS_DCMTK_367' }),
      rq({ implementation_version: 'OFFIS_DCMTK_368' }),
    ],
    quiet: [
      rq({ implementation_version: 'OFFIS_DCMTK_367' }),
      rq({ implementation_version: 'OFFIS_DCMTK_367' }),
    ],
  },
  'dicom.modality-proposes-qr': {
    fire: [
      rq({ abstract_syntaxes: ['1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.5.1.4.1.2.2.1'] }, '10.20.40.21'),
    ],
    quiet: [rq({ abstract_syntaxes: ['1.2.840.10008.5.1.4.1.1.2'] }, '10.20.40.21')],
  },
  'dicom.abort-storm': {
    fire: times(10, () => e('dicom', 'abort', { source: 0, reason: 0 }, ROGUE, PACS)),
    quiet: times(9, () => e('dicom', 'abort', { source: 0, reason: 0 }, ROGUE, PACS)),
  },

  'hl7.unknown-sender': {
    fire: [hl7({ sending_app: 'ROGUE_APP' })],
    quiet: [hl7({ sending_app: 'LIS' }), hl7({ sending_app: 'X', message_type: 'ACK^A01' })],
  },
  'hl7.results-from-unexpected-source': {
    fire: [hl7({ message_type: 'ORU^R01^ORU_R01' })],
    quiet: [hl7({ message_type: 'ORU^R01^ORU_R01' }, '10.20.50.7')],
  },
  'hl7.unauthorized-order': {
    fire: [hl7({ message_type: 'RGV^O15^RGV_O15' })],
    quiet: [hl7({ message_type: 'RGV^O15^RGV_O15' }, '10.20.50.8')],
  },
  'hl7.query-burst': {
    fire: times(20, () => hl7({ message_type: 'QBP^Q22' })),
    quiet: times(19, () => hl7({ message_type: 'QBP^Q22' })),
  },
  'hl7.internet': { fire: [hl7({}, '10.20.30.17', '203.0.113.9')], quiet: [hl7({}, '10.20.30.17')] },
  'hl7.cleartext-phi-cross-zone': {
    fire: [hl7({ has_phi: true }, ENGINE, '10.99.1.1')],
    quiet: [hl7({ has_phi: true }, '10.20.30.17'), hl7({ has_phi: false }, ENGINE, '10.99.1.1')],
  },
  'hl7.nak-spike': {
    fire: times(10, () => hl7({ message_type: 'ACK^R01', ack_code: 'AE' }, ENGINE, '10.20.30.17')),
    quiet: times(10, () => hl7({ message_type: 'ACK^R01', ack_code: 'AA' }, ENGINE, '10.20.30.17')),
  },
  'hl7.adt-merge-delete': {
    fire: [hl7({ message_type: 'ADT^A40^ADT_A39' })],
    quiet: [hl7({ message_type: 'ADT^A40^ADT_A39' }, '10.20.50.8')],
  },
  'hl7.replay': {
    fire: [
      hl7({ control_id: 'MSG0001' }, '10.20.30.17', ENGINE, 'h1'),
      hl7({ control_id: 'MSG0001' }, '10.20.30.17', ENGINE, 'h2'),
    ],
    quiet: [
      hl7({ control_id: 'MSG0001' }, '10.20.30.17', ENGINE, 'h1'),
      hl7({ control_id: 'MSG0001' }, '10.20.30.17', ENGINE, 'h1'),
      hl7({ control_id: 'MSG0002' }, '10.20.30.17', ENGINE, 'h2'),
    ],
  },
  'hl7.non-production-processing-id': {
    fire: [hl7({ processing_id: 'T' })],
    quiet: [hl7({ processing_id: 'P' })],
  },
  'hl7.version-changed': {
    fire: [hl7({ version: '2.5' }), hl7({ version: '2.6' })],
    quiet: [hl7({ version: '2.5' }), hl7({ version: '2.5' })],
  },

  'mqtt.wildcard-subscribe': {
    fire: [mq('subscribe', { topic_filters: [{ filter: '#', qos: 0 }] })],
    quiet: [mq('subscribe', { topic_filters: [{ filter: 'ward3/+/telemetry', qos: 0 }] })],
  },
  'mqtt.sys-subscribe': {
    fire: [mq('subscribe', { topic_filters: [{ filter: '$SYS/#', qos: 0 }] })],
    quiet: [mq('subscribe', { topic_filters: [{ filter: 'sys/#', qos: 0 }] })],
  },
  'mqtt.anonymous-accepted': {
    fire: [mq('connect', { client_id: 'c1', version: 4 }), mq('connack', { return_code: 0 }, BROKER, ROGUE)],
    quiet: [
      mq('connect', { client_id: 'c1', version: 4, username: 'dev' }),
      mq('connack', { return_code: 0 }, BROKER, ROGUE),
      mq('connack', { return_code: 0 }, BROKER, ROGUE, 'm9'),
    ],
  },
  'mqtt.auth-failures': {
    fire: times(5, () => mq('connack', { return_code: 5 }, BROKER, ROGUE)),
    quiet: times(4, () => mq('connack', { reason_code: 0x87 }, BROKER, ROGUE)),
  },
  'mqtt.cleartext-password': {
    fire: [mq('connect', { client_id: 'c', password_present: true })],
    quiet: [mq('connect', { client_id: 'c', password_present: false })],
  },
  'mqtt.command-publish-unexpected-client': {
    fire: [
      mq('connect', { client_id: 'laptop', version: 4 }),
      mq('publish', { topic: 'ward3/pump/7/cmd/rate', retain: false }),
    ],
    quiet: [
      mq('connect', { client_id: 'pump-manager', version: 4 }),
      mq('publish', { topic: 'ward3/pump/7/cmd/rate', retain: false }),
      // The broker delivering the command to the pump that subscribed is not the pump publishing it.
      mq('connect', { client_id: 'pump-7', version: 4 }, '10.20.30.7', BROKER, 'p7'),
      mq('publish', { topic: 'ward3/pump/7/cmd/rate', retain: false }, BROKER, '10.20.30.7', 'p7'),
    ],
  },
  'mqtt.retained-command': {
    fire: [mq('connect', { client_id: 'x' }), mq('publish', { topic: 'ward3/pump/7/config', retain: true })],
    quiet: [
      mq('connect', { client_id: 'x' }),
      mq('publish', { topic: 'ward3/pump/7/telemetry', retain: true }),
      mq('publish', { topic: 'ward3/pump/7/config', retain: false }),
      mq('connect', { client_id: 'pump-7' }, '10.20.30.7', BROKER, 'p7'),
      mq('publish', { topic: 'ward3/pump/7/config', retain: true }, BROKER, '10.20.30.7', 'p7'),
    ],
  },
  'mqtt.client-id-takeover': {
    fire: [
      mq('connect', { client_id: 'pump-7' }, '10.20.30.7', BROKER, 'a'),
      mq('connect', { client_id: 'pump-7' }, ROGUE, BROKER, 'b'),
    ],
    quiet: [
      mq('connect', { client_id: 'pump-7' }, '10.20.30.7', BROKER, 'a'),
      mq('connect', { client_id: 'pump-7' }, '10.20.30.7', BROKER, 'b'),
    ],
  },
  'mqtt.session-taken-over': {
    fire: [mq('disconnect', { reason_code: 0x8e }, BROKER, '10.20.30.7')],
    quiet: [mq('disconnect', { reason_code: 0 }, BROKER, '10.20.30.7')],
  },
  'mqtt.large-payload': {
    fire: [mq('connect', { client_id: 'x' }), mq('publish', { topic: 'a/b', payload_size: 300000 })],
    quiet: [mq('connect', { client_id: 'x' }), mq('publish', { topic: 'a/b', payload_size: 120 })],
  },
  'mqtt.publish-burst': {
    fire: [
      mq('connect', { client_id: 'x' }),
      ...times(300, () => mq('publish', { topic: 'ward3/export/dump', payload_size: 1000 })),
    ],
    quiet: [
      mq('connect', { client_id: 'x' }),
      ...times(299, () => mq('publish', { topic: 'ward3/export/dump', payload_size: 1000 })),
    ],
  },
  'mqtt.external-broker': {
    fire: [mq('connect', { client_id: 'c' }, '10.20.30.7', '52.1.2.3')],
    quiet: [mq('connect', { client_id: 'c' }, '10.20.30.7')],
  },
  'mqtt.external-broker-port': {
    fire: [flowStart('10.20.30.7', '52.1.2.3', 8883)],
    quiet: [flowStart('10.20.30.7', BROKER, 8883), flowStart('10.20.30.7', '52.1.2.3', 443)],
  },

  'network.unlisted-clinical-device': {
    fire: [hl7({}, ROGUE)],
    quiet: [hl7({}, '10.20.30.17'), hl7({}, '10.55.0.1')],
  },
  'network.remote-admin-service': {
    fire: [flowStart('10.20.30.50', '10.20.50.9', 3389)],
    quiet: [
      flowStart('10.20.30.50', ENGINE, 6661),
      flowStart('10.20.50.9', '10.20.30.50', 22),
      flowStart('10.20.30.50', '52.1.2.3', 443),
    ],
  },
  'network.remote-admin-service#web': {
    fire: [flowStart('10.20.30.50', '10.20.50.9', 8443), flowStart('10.20.30.50', '52.1.2.3', 22, 'x22')],
    quiet: [flowStart('10.20.30.50', '52.1.2.3', 443)],
  },
  'network.host-scan': {
    fire: times(20, (i) => flowStart(ROGUE, `10.20.50.${100 + i}`, 445)),
    quiet: [
      ...times(19, (i) => flowStart(ROGUE, `10.20.50.${100 + i}`, 445)),
      ...times(30, (i) => flowStart(ENGINE, `10.20.30.${100 + i}`, 6661)),
    ],
  },
  'network.port-scan': {
    fire: times(25, (i) => flowStart(ROGUE, ENGINE, 1000 + i)),
    quiet: times(24, (i) => flowStart(ROGUE, ENGINE, 1000 + i)),
  },
  'network.ip-mac-change': {
    fire: [arp(0x00095b000001, '10.20.30.17'), arp(0x0a0000000bad, '10.20.30.17')],
    quiet: [
      arp(0x00095b000001, '10.20.30.17'),
      arp(0x00095b000001, '10.20.30.17'),
      macEv('10.20.30.17', '00:09:5b:00:00:01'),
      macEv('52.1.2.3', '00:09:5b:00:00:99'),
    ],
  },
  // The same change seen in ordinary frames (no ARP in the capture), e.g. a device swapped or spoofed.
  'network.ip-mac-change#frames': {
    fire: [macEv('10.20.30.17', '00:1a:2b:3c:4d:5e'), macEv('10.20.30.17', 'b8:27:eb:00:00:99')],
    quiet: [macEv('10.20.30.17', '00:1a:2b:3c:4d:5e'), macEv('10.20.30.17', '00:1a:2b:3c:4d:5e')],
  },
};

function runSteps(steps: Step[]): Finding[] {
  const findings: Finding[] = [];
  const engine = new Engine({ site: SITE, rules: RULES, baseline: null, agentId: 'scenario' }, (f) =>
    findings.push(f),
  );
  steps.forEach((s, i) => s(engine, i));
  engine.flush();
  return findings;
}

describe('shipped match rules on hand-built scenario traffic (fixtures/site.yaml)', () => {
  it('every shipped match rule with scenarios has a case here', () => {
    const ids = RULES.rules.filter((r) => r.kind === 'match' && r.scenarios.length > 0).map((r) => r.id);
    const cased = Object.keys(CASES).map((k) => k.split('#')[0] ?? k);
    expect(ids.filter((id) => !cased.includes(id))).toEqual([]);
    expect(cased.filter((id) => !ids.includes(id))).toEqual([]);
  });
  for (const [key, c] of Object.entries(CASES)) {
    const id = key.split('#')[0] ?? key;
    it(`${key} fires on its scenario and stays quiet on normal traffic`, () => {
      const fired = runSteps(c.fire).filter((f) => f.rule === id);
      expect(fired.length, `${id} should fire`).toBeGreaterThan(0);
      const rule = RULES.rules.find((r) => r.id === id);
      expect(fired[0]?.severity).toBe(rule?.severity);
      expect(fired[0]?.attack).toEqual(rule?.attack);
      expect(runSteps(c.quiet).filter((f) => f.rule === id)).toEqual([]);
    });
  }
});
