// Baseline learner, YAML, diff and checker on hand-built traffic (issue 4 "Baselines").
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BaselineLearner } from '../../agent/engine/baselines/baseline-learn.js';
import { BaselineCheck } from '../../agent/engine/baselines/baseline-check.js';
import {
  formatBaselineYaml,
  parseBaselineYaml,
  BaselineFormatError,
} from '../../agent/engine/baselines/baseline-yaml.js';
import { diffBaselines, showBaseline } from '../../agent/engine/baselines/baseline-diff.js';
import {
  BASELINE_CODES,
  generaliseTopic,
  type Baseline,
} from '../../agent/engine/baselines/baseline-model.js';
import type { Deviation } from '../../agent/engine/baselines/baseline-types.js';
import {
  BROKER,
  CT,
  Conv,
  ENGINE,
  FIND_STUDY,
  MONITOR,
  PACS,
  PUMP,
  S,
  T0,
  checkAll,
  dicomStore,
  hl7Oru,
  learnFrom,
  mqttPump,
  normalTraffic,
  sortOps,
  type Op,
} from './traffic.js';

const zoneOf = (ip: string): string | undefined =>
  ip.startsWith('10.20.30.') ? 'medical-devices' : ip.startsWith('10.20.40.') ? 'imaging' : undefined;

function learnNormal(): Baseline {
  // The hand-made normal day is short: arm the time-based checks after a minute of it.
  const l = new BaselineLearner({
    zoneOf,
    nameOf: (ip) => (ip === PACS.ip ? 'pacs' : undefined),
    minLearningS: 60,
  });
  learnFrom(l, normalTraffic());
  return l.result();
}

const LATER = T0 + 20 * 60 * S;
const codes = (ds: Deviation[]): string[] => [...new Set(ds.map((d) => d.code))].sort();

describe('learner', () => {
  const b = learnNormal();
  it('records peers, AE pairs, HL7 apps with cadence and generalised MQTT topics', () => {
    const pacs = b.devices.find((d) => d.ip === PACS.ip);
    expect(pacs?.name).toBe('pacs');
    expect(pacs?.zone).toBe('imaging');
    expect(pacs?.peers).toContainEqual({
      address: CT.ip,
      zone: 'imaging',
      port: 104,
      protocol: 'dicom',
      role: 'server',
    });
    expect(pacs?.dicom?.ae_pairs).toContainEqual({
      calling: 'CT_SCANNER1',
      called: 'PACS_MAIN',
      peer: CT.ip,
      role: 'server',
    });
    const ct = b.devices.find((d) => d.ip === CT.ip);
    expect(ct?.dicom?.commands).toEqual(['C-STORE-RQ']);
    expect(ct?.dicom?.implementations).toEqual([
      { class_uid: '1.2.276.0.7230010.3.0.3.6.7', version: 'OFFIS_DCMTK_367' },
    ]);
    const mon = b.devices.find((d) => d.ip === MONITOR.ip);
    expect(mon?.hl7?.sent).toEqual([{ type: 'ORU^R01', count: 10, median_interval_s: 60 }]);
    const engine = b.devices.find((d) => d.ip === ENGINE.ip);
    expect(engine?.hl7?.senders_seen).toEqual([{ app: 'MONITOR_B40', facility: 'ICU', from: MONITOR.ip }]);
    expect(engine?.hl7?.receiving_apps).toEqual([{ app: 'ENGINE' }]);
    expect(engine?.hl7?.sent[0]).toEqual({ type: 'ACK^R01', count: 10 });
    const pump = b.devices.find((d) => d.ip === PUMP.ip);
    expect(pump?.mqtt?.publishes).toEqual([
      {
        topic: 'ward3/pump/+/telemetry',
        count: 55,
        retained: false,
        max_payload: 120,
        median_interval_s: 10,
      },
    ]);
    expect(pump?.mqtt?.subscribes).toEqual(['ward3/pump/+/cmd']);
    expect(b.devices.find((d) => d.ip === BROKER.ip)?.mqtt?.clients_seen).toEqual([
      { client_id: 'pump-0031', from: PUMP.ip },
    ]);
    expect(ct?.volume.bytes_per_hour.max).toBe(3 * 20_200);
  });

  it('gives the same baseline for the same input (ordered output)', () => {
    expect(formatBaselineYaml(learnNormal())).toBe(formatBaselineYaml(b));
  });

  it('caps devices and counts what it dropped', () => {
    const l = new BaselineLearner({ limits: { maxDevices: 2, maxValuesPerSet: 1 } });
    learnFrom(l, sortOps([...normalTraffic(), ...dicomStore(CT, T0 + 30 * S, { sop: FIND_STUDY })]));
    expect(l.result().devices).toHaveLength(2);
    expect(l.stats.droppedDevices).toBeGreaterThan(0);
    expect(l.stats.droppedValues).toBeGreaterThan(0);
  });
});

describe('checker', () => {
  const b = learnNormal();
  it('stays quiet on the traffic it learned, even shifted in time', () => {
    expect(checkAll(new BaselineCheck(b), normalTraffic())).toEqual([]);
    expect(checkAll(new BaselineCheck(b), normalTraffic(T0 + 24 * 3600 * S))).toEqual([]);
  });

  const ROGUE = { ip: '10.20.30.99', mac: 0x001122334455 };
  const cases: [string, () => Op[]][] = [
    ['baseline.new-device', () => dicomStore(ROGUE, LATER)],
    ['baseline.mac-changed', () => dicomStore({ ip: CT.ip, mac: 0x00deadbeef01 }, LATER)],
    ['baseline.new-peer', () => new Conv(CT, { ip: '203.0.113.9', mac: 1 }, 443, null, LATER).end(LATER + S)],
    ['baseline.new-service', () => new Conv(MONITOR, ENGINE, 22, null, LATER).end(LATER + S)],
    ['baseline.new-ae-pair', () => dicomStore(CT, LATER, { calling: 'EVIL_SCU' })],
    ['baseline.implementation-changed', () => dicomStore(CT, LATER, { version: 'OFFIS_DCMTK_369' })],
    ['baseline.new-sop-class', () => dicomStore(CT, LATER, { sop: FIND_STUDY })],
    [
      'baseline.new-dicom-command',
      () =>
        new Conv(CT, PACS, 104, 'dicom', LATER)
          .ev(0, LATER + 1, 'associate_rq', {
            calling_ae: 'CT_SCANNER1',
            called_ae: 'PACS_MAIN',
            abstract_syntaxes: ['1.2.840.10008.5.1.4.1.1.2'],
          })
          .ev(0, LATER + 2, 'dimse', { command: 'C-FIND-RQ' })
          .end(LATER + 3),
    ],
    [
      'baseline.new-move-destination',
      () =>
        new Conv(CT, PACS, 104, 'dicom', LATER)
          .ev(0, LATER + 1, 'dimse', { command: 'C-STORE-RQ', move_destination: 'EXFIL' })
          .end(LATER + 2),
    ],
    [
      'baseline.reject-rate-above-range',
      () => {
        const c = new Conv(CT, PACS, 104, 'dicom', LATER);
        for (let i = 0; i < 11; i++) c.ev(1, LATER + i, 'associate_rj', { result: 1, source: 1, reason: 7 });
        return c.end(LATER + 20);
      },
    ],
    ['baseline.new-hl7-sender', () => hl7Oru(LATER, { app: 'LAB_SYS' })],
    ['baseline.new-hl7-message-type', () => hl7Oru(LATER, { type: 'ADT^A40' })],
    ['baseline.hl7-version-changed', () => hl7Oru(LATER, { pid: 'T' })],
    [
      'baseline.nak-rate-above-range',
      () => sortOps(Array.from({ length: 11 }, (_, i) => hl7Oru(LATER + i * S, { ack: 'AE' })).flat()),
    ],
    [
      'baseline.new-mqtt-topic',
      () =>
        new Conv(PUMP, BROKER, 1883, 'mqtt', LATER)
          .ev(0, LATER + 1, 'publish', { topic: 'ward3/pump/0032/cmd', retain: false, payload_size: 5 })
          .end(LATER + 2),
    ],
    [
      'baseline.new-retained-topic',
      () =>
        new Conv(PUMP, BROKER, 1883, 'mqtt', LATER)
          .ev(0, LATER + 1, 'publish', { topic: 'ward3/pump/0031/telemetry', retain: true, payload_size: 5 })
          .end(LATER + 2),
    ],
    [
      'baseline.payload-above-range',
      () =>
        new Conv(PUMP, BROKER, 1883, 'mqtt', LATER)
          .ev(0, LATER + 1, 'publish', {
            topic: 'ward3/pump/7/telemetry',
            retain: false,
            payload_size: 100_000,
          })
          .end(LATER + 2),
    ],
    [
      'baseline.new-mqtt-subscription',
      () =>
        new Conv(PUMP, BROKER, 1883, 'mqtt', LATER)
          .ev(0, LATER + 1, 'subscribe', { topic_filters: [{ filter: '#', qos: 0 }] })
          .end(LATER + 2),
    ],
    [
      'baseline.mqtt-client-id-moved',
      () => mqttPump(LATER, 0, { from: { ip: '10.20.30.66', mac: 0x0040b3000066 } }),
    ],
    ['baseline.new-mqtt-client', () => mqttPump(LATER, 0, { clientId: 'mosq-xyz' })],
    [
      'baseline.volume-above-range',
      () =>
        new Conv(CT, PACS, 104, 'dicom', LATER)
          .ev(0, LATER + 1, 'dimse', { command: 'C-STORE-RQ' }, 400_000)
          .end(LATER + 2),
    ],
  ];

  it.each(cases)('%s fires once on a planted change', (code, plant) => {
    const checker = new BaselineCheck(b);
    const ops = plant();
    const first = checkAll(checker, ops);
    expect(codes(first)).toContain(code);
    for (const d of first) expect(d.ts).toBeGreaterThanOrEqual(LATER);
    // the same change again is not reported again
    expect(checkAll(checker, ops).filter((d) => d.code === code)).toEqual([]);
  });

  it('baseline.tls-downgrade fires when a device known only on DICOM-TLS sends cleartext DICOM', () => {
    const b2 = { ip: '10.20.30.12', mac: 0x0009fb000012 };
    const l = new BaselineLearner();
    learnFrom(l, sortOps([...normalTraffic(), ...new Conv(b2, PACS, 2762, null, T0).end(T0 + S)]));
    const checker = new BaselineCheck(l.result());
    const ds = checkAll(checker, dicomStore(b2, LATER));
    const tls = ds.filter((d) => d.code === 'baseline.tls-downgrade');
    expect(tls.map((d) => [d.device.ip, d.peer?.ip, d.evidence.port])).toEqual([[b2.ip, PACS.ip, 104]]);
    expect(checkAll(checker, new Conv(b2, PACS, 2762, null, LATER).end(LATER + S))).toEqual([]);
  });

  it('every code it can emit is tested here (its rule and scenarios: test/engine/shipped-rules.test.ts)', () => {
    const tested = new Set([
      ...cases.map(([c]) => c),
      'baseline.tls-downgrade',
      'baseline.feed-stopped',
      ...TLS_AND_IDENTITY_CODES,
    ]);
    expect([...BASELINE_CODES].sort()).toEqual([...tested].sort());
  });

  it('judges volume by hour of the week where it learned one, else by the overall range with a tolerance', () => {
    const bulk = (t: number, bytes: number): Op[] =>
      new Conv(CT, PACS, 104, 'dicom', t).ev(0, t + 1, 'dimse', { command: 'C-STORE-RQ' }, bytes).end(t + 2);
    const volume = (ds: Deviation[]): Deviation[] =>
      ds.filter((d) => d.code === 'baseline.volume-above-range' && d.device.ip === CT.ip);
    const ct = b.devices.find((d) => d.ip === CT.ip);
    const max = ct?.volume.bytes_per_hour.max ?? 0;
    expect(ct?.volume.hours_of_week?.length).toBeGreaterThan(0);
    const night = T0 + 16 * 3600 * S; // 02:00 the next day: never seen while learning
    // An unseen hour is not an hour in which nothing is allowed (the old rule gave a finding here).
    expect(volume(checkAll(new BaselineCheck(b), bulk(night, 70_000)))).toEqual([]);
    // Far above the overall range it is still reported, with the overall maximum as the reference.
    const fired = volume(checkAll(new BaselineCheck(b), bulk(night, max * 4 + 70_000)));
    expect(fired.map((d) => [d.evidence.metric, d.evidence.learned_max])).toEqual([['bytes_per_hour', max]]);
    expect(fired[0]?.evidence.observed).toBeGreaterThan(max * 4);
  });

  it('arms volume and feed-stopped checks only after the minimum learning time, and says so in the file', () => {
    const short = new BaselineLearner({ minLearningS: 7200 });
    learnFrom(short, normalTraffic());
    const unarmed = short.result();
    expect(unarmed.armed).toEqual({ volume: false, feed_stopped: false, min_learning_s: 7200 });
    expect(formatBaselineYaml(unarmed)).toMatch(
      /armed: \{ volume: false, feed_stopped: false, min_learning_s: 7200 \}|armed:\n\s+volume: false/,
    );
    const night = T0 + 16 * 3600 * S;
    const huge = new Conv(CT, PACS, 104, 'dicom', night)
      .ev(0, night + 1, 'dimse', { command: 'C-STORE-RQ' }, 50_000_000)
      .end(night + 2);
    expect(
      checkAll(new BaselineCheck(unarmed), huge).filter((d) => d.code === 'baseline.volume-above-range'),
    ).toEqual([]);
    expect(
      checkAll(new BaselineCheck(b), huge).filter((d) => d.code === 'baseline.volume-above-range'),
    ).not.toEqual([]);
  });

  it('sees a MAC change in events when the flow table knows no MAC at flow start', () => {
    const ops = hl7Oru(LATER).map((o): Op => {
      if (o.op === 'start') return { ...o, flow: { ...o.flow, clientMac: -1, serverMac: -1 } };
      if (o.op === 'event' && o.ev.src.ip === MONITOR.ip)
        return { ...o, ev: { ...o.ev, src: { ...o.ev.src, mac: '28:cd:c1:00:00:11' } } };
      return o;
    });
    const ds = checkAll(new BaselineCheck(b), ops).filter((d) => d.code === 'baseline.mac-changed');
    expect(ds.map((d) => [d.device.ip, d.evidence.mac])).toEqual([[MONITOR.ip, '28:cd:c1:00:00:11']]);
  });

  it('counts an unknown server as a new device only once it answered', () => {
    const empty = { ip: '10.20.40.200', mac: 0x002590000200 };
    const refused = new Conv(CT, empty, 445, null, LATER).end(LATER + 1);
    expect(checkAll(new BaselineCheck(b), refused).filter((d) => d.code === 'baseline.new-device')).toEqual(
      [],
    );
    const answered = new Conv(CT, empty, 104, 'dicom', LATER)
      .ev(1, LATER + 1, 'associate_rj', { result: 1 })
      .end(LATER + 2);
    const ds = checkAll(new BaselineCheck(b), answered).filter((d) => d.code === 'baseline.new-device');
    expect(ds.map((d) => [d.device.ip, d.evidence.role])).toEqual([[empty.ip, 'server']]);
  });

  it('reports a periodic feed that stops, by packet time, once', () => {
    const checker = new BaselineCheck(b);
    const feed = sortOps([0, 1, 2].flatMap((i) => hl7Oru(LATER + i * 60 * S)));
    expect(checkAll(checker, feed)).toEqual([]);
    const lastMsg = LATER + 2 * 60 * S + 1000;
    expect(checker.advance(lastMsg + 5 * 60 * S)).toEqual([]);
    const fired = checker.advance(lastMsg + 5 * 60 * S + 2 * S);
    expect(fired.map((d) => [d.code, d.device.ip, d.evidence.feed])).toEqual([
      ['baseline.feed-stopped', MONITOR.ip, 'hl7:ORU^R01'],
    ]);
    expect(checker.advance(lastMsg + 60 * 60 * S)).toEqual([]);
  });

  it('waits at least the minimum silence for a fast feed', () => {
    const checker = new BaselineCheck(b);
    const ops = mqttPump(LATER, 3);
    checkAll(checker, ops);
    const last = LATER + 3 * 10 * S;
    expect(checker.advance(last + 60 * S)).toEqual([]); // 6 intervals of 10 s, but under 120 s
    expect(checker.advance(last + 121 * S).map((d) => d.evidence.feed)).toEqual([
      'mqtt:ward3/pump/+/telemetry',
    ]);
  });

  it('does not arm a feed that never appeared in this run', () => {
    const checker = new BaselineCheck(b);
    checkAll(checker, dicomStore(CT, LATER));
    expect(checker.advance(LATER + 5 * 3600 * S)).toEqual([]);
  });

  it('caps deviations per device and code, and the remembered keys', () => {
    const checker = new BaselineCheck(b, { limits: { maxPerDeviceCode: 3, maxReportedKeys: 80 } });
    const scan = Array.from({ length: 100 }, (_, i) =>
      new Conv(CT, { ip: `10.20.40.${100 + (i % 50)}`, mac: 5 }, 1000 + i, null, LATER + i).end(
        LATER + i + 1,
      ),
    ).flat();
    const ds = checkAll(checker, scan);
    expect(ds.filter((d) => d.code === 'baseline.new-peer')).toHaveLength(3);
    expect(ds.filter((d) => d.code === 'baseline.new-service')).toHaveLength(3);
    expect(checker.stats.suppressed).toBeGreaterThan(0);
    expect(checker.stats.evictedKeys).toBeGreaterThan(0);
  });

  it('never throws and reports each (code, device, value) at most once on random events', () => {
    const field = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null));
    const evArb = fc.record({
      proto: fc.constantFrom('dicom', 'hl7', 'mqtt' as const),
      type: fc.constantFrom(
        'associate_rq',
        'associate_ac',
        'associate_rj',
        'dimse',
        'message',
        'connect',
        'publish',
        'subscribe',
        'anomaly',
      ),
      src: fc.constantFrom(CT, PACS, PUMP, BROKER, MONITOR, ENGINE, { ip: '10.9.9.9', mac: 1 }),
      fields: fc.dictionary(
        fc.constantFrom(
          'calling_ae',
          'called_ae',
          'command',
          'message_type',
          'topic',
          'retain',
          'payload_size',
          'topic_filters',
          'client_id',
          'sending_app',
          'version',
          'ack_code',
          'abstract_syntaxes',
          'move_destination',
        ),
        fc.oneof(
          field,
          fc.array(field, { maxLength: 3 }),
          fc.array(fc.record({ filter: field }), { maxLength: 2 }),
        ),
      ),
      dt: fc.integer({ min: 0, max: 3600 * S }),
    });
    fc.assert(
      fc.property(fc.array(evArb, { maxLength: 30 }), (evs) => {
        const checker = new BaselineCheck(b);
        const seen = new Set<string>();
        for (const e of evs) {
          const c = new Conv(e.src, PACS, 104, e.proto, LATER);
          c.ev(0, LATER + e.dt, e.type, e.fields);
          for (const d of checkAll(checker, c.end(LATER + e.dt + 1))) {
            const key = `${d.code}|${d.device.ip}|${d.peer?.ip ?? ''}|${JSON.stringify(d.evidence)}`;
            if (d.code !== 'baseline.volume-above-range' && seen.has(key)) return false;
            seen.add(key);
          }
        }
        return true;
      }),
      { seed: 42, numRuns: 200 },
    );
  });
});

describe('yaml', () => {
  const b = learnNormal();
  it('round-trips', () => {
    const text = formatBaselineYaml(b);
    expect(parseBaselineYaml(text, 'b.yaml')).toEqual(b);
    expect(text).toMatch(/^# wardwatch device baseline/);
    expect(text).toContain('- 1.2.840.10008.5.1.4.1.1.2 # CT Image Storage');
    expect(text).toContain(
      '# ── device 10.20.40.10 · "pacs" · Cisco Systems, Inc · zone imaging · dicom · AE PACS_MAIN',
    );
    expect(text).toContain(
      '- { address: 10.20.40.21, zone: imaging, port: 104, protocol: dicom, role: server }',
    );
  });

  it('names file and line of a bad entry', () => {
    const text = formatBaselineYaml(b);
    const lines = text.split('\n');
    const i = lines.findIndex((l) => l.includes('port: 104'));
    lines[i] = (lines[i] ?? '').replace('port: 104', 'port: many');
    expect(() => parseBaselineYaml(lines.join('\n'), 'site-b.yaml')).toThrow(
      new RegExp(`^site-b.yaml:${i + 1}: devices\\.\\d+\\.peers\\.\\d+\\.port must be an integer`),
    );
    const j = lines.findIndex((l) => l.includes('macs:'));
    lines.splice(j, 0, '    colour: blue');
    expect(() => parseBaselineYaml(lines.join('\n'), 'b.yaml')).toThrow(
      new RegExp(`^b.yaml:${j + 1}: unknown key "colour"`),
    );
    expect(() => parseBaselineYaml('devices: [\n  {ip: 1\n', 'x.yaml')).toThrow(BaselineFormatError);
    expect(() => parseBaselineYaml('version: 1\n', 'x.yaml')).toThrow(
      /^x.yaml:1: document lacks required key "devices"/,
    );
  });

  it('accepts a reviewed file with lists removed', () => {
    const parsed = parseBaselineYaml(
      'version: 1\ndevices:\n  - ip: 10.20.40.21\n    dicom: { commands: [C-STORE-RQ] }\n',
      'r.yaml',
    );
    expect(parsed.devices[0]?.peers).toEqual([]);
    expect(parsed.devices[0]?.dicom?.sop_classes).toEqual([]);
    expect(checkAll(new BaselineCheck(parsed), dicomStore(CT, LATER)).map((d) => d.code)).toContain(
      'baseline.new-peer',
    );
  });
});

describe('diff', () => {
  it('says what was added, removed and changed per device', () => {
    const a = learnNormal();
    const l = new BaselineLearner();
    learnFrom(
      l,
      sortOps([
        ...normalTraffic(),
        ...hl7Oru(T0 + 30 * S, { type: 'ADT^A40' }),
        ...dicomStore({ ip: '10.20.30.99', mac: 7 }, T0),
      ]),
    );
    const b = l.result();
    const lines = diffBaselines(a, b);
    expect(lines).toContain('+ device 10.20.30.99');
    expect(lines).toContain('  device 10.20.30.11');
    expect(lines).toContain('  + hl7 sent: ADT^A40');
    expect(lines).not.toContain('  + hl7 receiving app: ENGINE');
    expect(lines.some((x) => x.startsWith('  ~ hl7 ORU^R01 every (s): 60 →'))).toBe(false);
    expect(diffBaselines(b, a)).toContain('- device 10.20.30.99');
    expect(diffBaselines(b, a)).toContain('  - hl7 sent: ADT^A40');
    expect(diffBaselines(a, a)).toEqual([]);
  });
});

describe('topic generalisation', () => {
  it.each([
    ['ward3/pump/0031/telemetry', 'ward3/pump/+/telemetry'],
    ['dev/3f2504e0-4f89-11d3-9a0c-0305e82c3301/state', 'dev/+/state'],
    ['dev/00:1a:2b:3c:4d:5e/state', 'dev/+/state'],
    ['dev/a1b2c3d4/state', 'dev/+/state'],
    ['ward3/decade/cmd', 'ward3/decade/cmd'],
    ['#', '#'],
    ['$SYS/broker/clients/connected', '$SYS/broker/clients/connected'],
  ])('%s → %s', (topic, pattern) => {
    expect(generaliseTopic(topic)).toBe(pattern);
  });
});

describe('names for people (issue 10)', () => {
  const b = learnNormal();
  const LATER2 = T0 + 20 * 60 * S;

  it('a new SOP class and a changed implementation carry names beside the UIDs', () => {
    const ds = checkAll(new BaselineCheck(b), [
      ...dicomStore(CT, LATER2, { sop: FIND_STUDY }),
      ...dicomStore(CT, LATER2 + 60 * S, { version: 'OFFIS_DCMTK_369' }),
    ]);
    const sop = ds.find((d) => d.code === 'baseline.new-sop-class');
    expect(sop?.evidence).toEqual({
      sop_class: FIND_STUDY,
      sop_class_name: 'Study Root Query/Retrieve Information Model - FIND',
    });
    const impl = ds.find((d) => d.code === 'baseline.implementation-changed');
    expect(impl?.evidence).toMatchObject({
      implementation_version: 'OFFIS_DCMTK_369',
      implementation_manufacturer: 'OFFIS',
      implementation_product: 'DCMTK',
    });
    expect(impl?.evidence.known).toContain('1.2.276.0.7230010.3.0.3.6.7 OFFIS_DCMTK_367 (DCMTK (OFFIS))');
  });

  it('diff and show print names, the file keeps UIDs', () => {
    const l = new BaselineLearner({ zoneOf, minLearningS: 60 });
    learnFrom(l, sortOps([...normalTraffic(), ...dicomStore(CT, T0 + 30 * S, { sop: FIND_STUDY })]));
    const lines = diffBaselines(b, l.result());
    expect(lines).toContain(
      `  + dicom sop class: ${FIND_STUDY} (Study Root Query/Retrieve Information Model - FIND)`,
    );
    const shown = showBaseline(b);
    expect(shown).toContain('  dicom sop class: 1.2.840.10008.5.1.4.1.1.2 (CT Image Storage)');
    expect(shown).toContain(
      '  dicom implementation: 1.2.276.0.7230010.3.0.3.6.7 OFFIS_DCMTK_367: DCMTK (OFFIS)',
    );
    expect(shown.filter((x) => x.startsWith('device ')).length).toBe(b.devices.length);
    expect(formatBaselineYaml(b)).toMatch(/# ── device 10\.20\.40\.21 .*DCMTK \(OFFIS\)/);
  });
});

/** Issue 15: TLS server names and fingerprints, and what a device says it is, in the baseline and its checks. */
const TLS_AND_IDENTITY_CODES = [
  'baseline.new-tls-server-name',
  'baseline.new-tls-fingerprint',
  'baseline.identity-changed',
] as const;

describe('TLS and identity in the baseline (issue 15)', () => {
  const hello = (ts: number, sni: string, ja4: string): Op[] =>
    new Conv(PUMP, BROKER, 8883, 'tls', ts).ev(0, ts + 1, 'client_hello', { sni, ja4 }).end(ts + 2);
  const ssdp = (ts: number, server: string): Op[] =>
    new Conv(PUMP, BROKER, 1900, 'ssdp', ts)
      .ev(0, ts + 1, 'notify', { nt: 'urn:schemas-upnp-org:device:InfusionPump:1', server })
      .end(ts + 2);
  const learned = (): BaselineLearner => {
    const l = new BaselineLearner();
    learnFrom(
      l,
      sortOps([
        ...normalTraffic(),
        ...hello(T0 + 5 * S, 'Broker.Hospital.local', 't13d1516h2_aaa_bbb'),
        ...ssdp(T0 + 9 * S, 'Linux/5.4 UPnP/1.0 PumpOS/2.1'),
      ]),
    );
    return l;
  };

  it('learns the server names, fingerprints and identity into the file, which round-trips', () => {
    const b = learned().result();
    const pump = b.devices.find((d) => d.ip === PUMP.ip);
    expect(pump?.tls).toEqual({
      server_names: ['broker.hospital.local'],
      client_fingerprints: ['t13d1516h2_aaa_bbb'],
    });
    // Only the identity protocols' entries: the clinical ones have their own sections (no duplicates).
    expect(pump?.identity).toEqual([
      { attribute: 'device_type', value: 'urn:schemas-upnp-org:device:InfusionPump:1' },
      { attribute: 'software', value: 'Linux/5.4 UPnP/1.0 PumpOS/2.1' },
    ]);
    const yaml = formatBaselineYaml(b);
    expect(yaml).toContain('PumpOS/2.1');
    expect(parseBaselineYaml(yaml, 'b.yaml').devices.find((d) => d.ip === PUMP.ip)?.tls).toEqual(pump?.tls);
  });

  it('reports a new server name, a new fingerprint and a changed software string; the learned ones stay quiet', () => {
    const checker = new BaselineCheck(learned().result());
    const codes = (ops: Op[]): string[] => checkAll(checker, ops).map((d) => d.code);
    expect(codes(hello(LATER, 'broker.hospital.local', 't13d1516h2_aaa_bbb'))).toEqual([]);
    expect(codes(ssdp(LATER + 10 * S, 'Linux/5.4 UPnP/1.0 PumpOS/2.1'))).toEqual([]);
    const sni = checkAll(
      checker,
      hello(LATER + 20 * S, 'telemetry.vendor-cloud.example', 't13d1516h2_aaa_bbb'),
    );
    expect(sni.map((d) => [d.code, d.evidence.sni])).toEqual([
      ['baseline.new-tls-server-name', 'telemetry.vendor-cloud.example'],
    ]);
    expect(codes(hello(LATER + 30 * S, 'broker.hospital.local', 't13d1517h2_ccc_ddd'))).toEqual([
      'baseline.new-tls-fingerprint',
    ]);
    const fw = checkAll(checker, ssdp(LATER + 40 * S, 'Linux/5.4 UPnP/1.0 PumpOS/2.2'));
    expect(fw.map((d) => [d.code, d.evidence.attribute, d.evidence.current])).toEqual([
      ['baseline.identity-changed', 'software', 'Linux/5.4 UPnP/1.0 PumpOS/2.2'],
    ]);
  });

  it('a device that learned no TLS is reported on its first server name, not on its first fingerprint', () => {
    const l = new BaselineLearner();
    learnFrom(l, normalTraffic());
    const checker = new BaselineCheck(l.result());
    const codes = checkAll(checker, hello(LATER, 'new.example', 't13d_x_y')).map((d) => d.code);
    expect(codes).toContain('baseline.new-tls-server-name');
    expect(codes).not.toContain('baseline.new-tls-fingerprint');
  });
});

describe('link-layer identity (LLDP, CDP) in the baseline', () => {
  const macText = (m: number): string =>
    Array.from({ length: 6 }, (_, i) => ((m / 2 ** (8 * (5 - i))) & 0xff).toString(16).padStart(2, '0')).join(
      ':',
    );
  const lldp = (ts: number, mac: number, description: string): Op => ({
    op: 'event',
    ev: {
      kind: 'event',
      ts: new Date(ts / 1000).toISOString(),
      tsMicros: ts,
      proto: 'lldp',
      type: 'advertisement',
      src: { ip: '', port: 0, mac: macText(mac) },
      dst: { ip: '', port: 0, mac: '01:80:c2:00:00:0e' },
      flow: '',
      fields: { system_name: 'pump-31', system_description: description },
    },
  });

  it('lands on the device whose MAC sent it, and a new system description is identity-changed', () => {
    const l = new BaselineLearner();
    learnFrom(l, sortOps([...normalTraffic(), lldp(T0 + 30 * S, PUMP.mac, 'PumpOS 2.1 build 7')]));
    const pump = l.result().devices.find((d) => d.ip === PUMP.ip);
    expect(pump?.identity).toEqual(
      expect.arrayContaining([
        { attribute: 'hostname', value: 'pump-31' },
        { attribute: 'system_description', value: 'PumpOS 2.1 build 7' },
      ]),
    );
    const checker = new BaselineCheck(l.result());
    expect(checkAll(checker, [lldp(LATER, PUMP.mac, 'PumpOS 2.1 build 7')])).toEqual([]);
    const changed = checkAll(checker, [lldp(LATER + S, PUMP.mac, 'PumpOS 3.0 build 1')]);
    expect(changed.map((d) => [d.code, d.device.ip, d.evidence.current])).toEqual([
      ['baseline.identity-changed', PUMP.ip, 'PumpOS 3.0 build 1'],
    ]);
  });

  it('a MAC never seen with a device address names no device', () => {
    const l = new BaselineLearner();
    learnFrom(l, sortOps([...normalTraffic(), lldp(T0 + 30 * S, 0x00aabbccddee, 'Switch OS 15')]));
    expect(l.result().devices.some((d) => (d.identity ?? []).length > 0)).toBe(false);
  });
});
