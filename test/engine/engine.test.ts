// Engine behaviour: thresholds and windows, dedup with counts, stable ids, rate limits, suppression, baseline deviations, signals.
import { describe, expect, it } from 'vitest';
import { Engine } from '../../agent/engine/engine.js';
import { parseRuleTexts } from '../../agent/engine/rules/rules.js';
import type { BaselineChecker, Deviation } from '../../agent/engine/baselines/baseline-types.js';
import type { Finding } from '../../agent/wire/finding.js';
import { parseTs } from '../../agent/wire/time.js';
import { ev, flowInfo, flowRecord, oneRule, rulesFrom, run, siteFrom, SEC, T0 } from './helpers.js';

const pub = (ts: number, src = '10.20.30.17', topic = 'a/b', flow = 'f1') =>
  ev('mqtt', 'publish', { topic, retain: true }, { ts, src, flow });

describe('dedup and counts', () => {
  it('emits the first occurrence at once, folds repeats, and reports the total in a summary when the window closes', () => {
    const rules = oneRule('      proto: mqtt\n      fields.retain: true', '    dedup: 60s\n');
    const findings: Finding[] = [];
    const engine = new Engine({ site: null, rules, baseline: null, agentId: 'a' }, (f) => findings.push(f));
    engine.onEvent(pub(T0));
    expect(findings).toHaveLength(1); // at once, not at window end
    expect(findings[0]?.count).toBe(1);
    for (let i = 1; i <= 4; i++) engine.onEvent(pub(T0 + i * SEC));
    expect(findings).toHaveLength(1);
    engine.advance(T0 + 61 * SEC);
    expect(findings).toHaveLength(2);
    const sum = findings[1];
    expect(sum?.count).toBe(5);
    expect(sum?.id).not.toBe(findings[0]?.id);
    expect(sum?.evidence.repeat_of).toBe(findings[0]?.id);
    expect(sum?.evidence.first_seen).toBe(findings[0]?.ts);
    expect(parseTs(sum?.ts ?? '')).toBe(T0 + 4 * SEC);
    expect(engine.stats.findings.folded).toBe(4);
    // A new window opens after the old one closed.
    engine.onEvent(pub(T0 + 70 * SEC));
    expect(findings).toHaveLength(3);
    expect(findings[2]?.count).toBe(1);
  });

  it('keeps one finding per device and peer', () => {
    const rules = oneRule('      proto: mqtt\n      fields.retain: true');
    const { findings } = run(rules, [
      pub(T0, '10.20.30.1'),
      pub(T0 + 1, '10.20.30.2'),
      pub(T0 + 2, '10.20.30.1'),
    ]);
    expect(findings.map((f) => [f.device.ip, f.count])).toEqual([
      ['10.20.30.1', 1],
      ['10.20.30.2', 1],
      ['10.20.30.1', 2],
    ]);
  });

  it('a window without repeats gives no summary', () => {
    const rules = oneRule('      proto: mqtt\n      fields.retain: true');
    expect(run(rules, [pub(T0)]).findings).toHaveLength(1);
  });
});

describe('finding ids', () => {
  const events = [
    pub(T0, '10.20.30.1'),
    pub(T0 + SEC, '10.20.30.2'),
    pub(T0 + 2 * SEC, '10.20.30.1'),
    pub(T0 + 700 * SEC, '10.20.30.1'),
  ];
  const rules = oneRule('      proto: mqtt\n      fields.retain: true');
  it('are the same across two runs of the same input, and unique within a run', () => {
    const a = run(rules, events).findings;
    const b = run(oneRule('      proto: mqtt\n      fields.retain: true'), events).findings;
    expect(a.map((f) => f.id)).toEqual(b.map((f) => f.id));
    expect(new Set(a.map((f) => f.id)).size).toBe(a.length);
    expect(a.length).toBe(4); // 3 firsts + 1 summary
    expect(a[0]?.id).toMatch(/^[0-9a-f]{32}$/);
  });
  it('differ between agents', () => {
    expect(run(rules, events, { agentId: 'x' }).findings[0]?.id).not.toBe(
      run(rules, events, { agentId: 'y' }).findings[0]?.id,
    );
  });
});

describe('rate limit', () => {
  it('caps first occurrences per rule per period and counts the rest', () => {
    const rules = oneRule(
      '      proto: mqtt\n      fields.retain: true',
      '    rate_limit: { count: 3, per: 60s }\n',
    );
    const events = Array.from({ length: 10 }, (_, i) => pub(T0 + i * 1000, `10.20.30.${i + 1}`));
    const { findings, engine } = run(rules, events);
    expect(findings).toHaveLength(3);
    expect(engine.stats.findings.rateLimited).toBe(7);
    // The next period admits new findings again.
    const later = run(rules, [...events, pub(T0 + 61 * SEC, '10.20.30.50')]);
    expect(later.findings.map((f) => f.device.ip)).toContain('10.20.30.50');
  });
});

describe('thresholds', () => {
  it('count within a sliding window, grouped by key', () => {
    const rules = oneRule(
      '      proto: mqtt\n      fields.retain: true',
      '    threshold: { count: 3, window: 10s }\n',
    );
    // Two events, a gap longer than the window, then three inside it.
    const quiet = run(rules, [pub(T0), pub(T0 + SEC), pub(T0 + 20 * SEC), pub(T0 + 21 * SEC)]).findings;
    expect(quiet).toHaveLength(0);
    const loud = run(rules, [pub(T0), pub(T0 + 20 * SEC), pub(T0 + 21 * SEC), pub(T0 + 22 * SEC)]).findings;
    expect(loud).toHaveLength(1);
    expect(loud[0]?.count).toBe(3);
    expect(loud[0]?.evidence.count_in_window).toBe(3);
    expect(loud[0]?.evidence.window_seconds).toBe(10);
    // Per group: three events spread over two sources do not cross.
    expect(
      run(rules, [pub(T0, '10.20.30.1'), pub(T0 + 1, '10.20.30.2'), pub(T0 + 2, '10.20.30.1')]).findings,
    ).toHaveLength(0);
  });

  it('distinct count of a field; repeats of one value do not count', () => {
    const rules = oneRule(
      '      proto: mqtt\n      type: publish',
      '    threshold: { count: 3, window: 60s, by: [src.ip], distinct: fields.topic }\n',
    );
    const same = [0, 1, 2, 3].map((i) => pub(T0 + i * SEC, '10.20.30.1', 'x'));
    expect(run(rules, same).findings).toHaveLength(0);
    const many = ['a', 'b', 'a', 'c', 'd'].map((t, i) => pub(T0 + i * SEC, '10.20.30.1', t));
    const { findings } = run(rules, many);
    expect(findings).toHaveLength(2); // crossing at 'c', then 'd' folded → summary at flush
    expect(findings[0]?.evidence.distinct_count).toBe(3);
    expect(findings[1]?.count).toBe(findings[0]!.count! + 1);
  });

  it('distinct values older than the window drop out', () => {
    const rules = oneRule(
      '      proto: mqtt\n      type: publish',
      '    threshold: { count: 3, window: 10s, distinct: fields.topic }\n',
    );
    const evs = [pub(T0, undefined, 'a'), pub(T0 + SEC, undefined, 'b'), pub(T0 + 30 * SEC, undefined, 'c')];
    expect(run(rules, evs).findings).toHaveLength(0);
  });

  it('a threshold over flows (port scan style, distinct dst.port)', () => {
    const rules = rulesFrom(`rules:
  - id: scan
    title: Port scan
    severity: high
    description: Many ports.
    match: { proto: flow, type: start }
    threshold: { count: 5, window: 60s, by: [src.ip, dst.ip], distinct: dst.port }
`);
    const findings: Finding[] = [];
    const engine = new Engine({ site: null, rules, baseline: null, agentId: 'a' }, (f) => findings.push(f));
    for (let p = 1; p <= 4; p++) engine.onFlowStart(flowInfo(`s${p}`, '10.0.0.9', '10.0.0.1', p), T0 + p);
    expect(findings).toHaveLength(0);
    engine.onFlowStart(flowInfo('s5', '10.0.0.9', '10.0.0.1', 5), T0 + 5);
    expect(findings).toHaveLength(1);
    expect(findings[0]?.peer?.ip).toBe('10.0.0.1'); // dst.ip is part of the group
    expect(findings[0]?.proto).toBe('tcp');
  });

  it('caps groups per rule with LRU eviction, counted', () => {
    const rules = oneRule(
      '      proto: mqtt\n      fields.retain: true',
      '    threshold: { count: 2, window: 60s }\n',
    );
    const evs = Array.from({ length: 50 }, (_, i) => pub(T0 + i, `10.20.31.${i}`));
    const { engine } = run(rules, evs, { limits: { maxThresholdGroups: 10 } });
    expect(engine.stats.thresholdGroupsEvicted).toBe(40);
  });
});

describe('suppression', () => {
  const extra = `    suppress:
      - ip: 10.20.30.0/28
        reason: lab bench
      - mac: 00:1A:2B:00:00:01
`;
  it('rule-level allow entries per device ip (CIDR) and mac', () => {
    const rules = oneRule('      proto: mqtt\n      fields.retain: true', extra);
    const evs = [
      pub(T0, '10.20.30.5'),
      ev('mqtt', 'publish', { retain: true }, { src: '10.20.30.200', smac: '00:1a:2b:00:00:01' }),
      pub(T0, '10.20.30.100'),
    ];
    const { findings, engine } = run(rules, evs);
    expect(findings.map((f) => f.device.ip)).toEqual(['10.20.30.100']);
    expect(engine.stats.suppressed).toBe(2);
  });
  it('site allow entries by rule glob and zone or asset', () => {
    const rules = oneRule('      proto: mqtt\n      fields.retain: true');
    const site = siteFrom(`zones:
  lab: [10.20.30.0/24]
assets:
  gw:
    ip: [10.20.31.1]
allow:
  - rule: 't.*'
    zone: lab
  - rule: other.rule
    asset: gw
`);
    const { findings } = run(rules, [pub(T0, '10.20.30.5'), pub(T0, '10.20.31.1'), pub(T0, '10.20.32.1')], {
      site,
    });
    expect(findings.map((f) => f.device.ip)).toEqual(['10.20.31.1', '10.20.32.1']);
    expect(findings[0]?.device.name).toBe('gw');
  });
});

describe('rules needing a site', () => {
  it('stay inactive without a site file', () => {
    const rules = oneRule('      proto: mqtt\n      fields.retain: true', '    needs_site: true\n');
    expect(run(rules, [pub(T0)]).findings).toHaveLength(0);
    expect(run(rules, [pub(T0)], { site: siteFrom('name: x\n') }).findings).toHaveLength(1);
  });
});

describe('finding content', () => {
  it('carries severity, attack, title from the rule, device enrichment and matched evidence only', () => {
    const rules = oneRule(
      '      proto: mqtt\n      fields.topic: { glob: "*/cmd/*" }\n      fields.retain: true',
    );
    const site = siteFrom('assets:\n  monitor:\n    ip: [10.20.30.17]\n');
    const e = ev(
      'mqtt',
      'publish',
      { topic: 'w/cmd/x', retain: true, qos: 1, payload_size: 10, client_note: 'x' },
      { smac: '00:09:5b:01:02:03' },
    );
    const f = run(rules, [e], { site }).findings[0];
    expect(f?.severity).toBe('high');
    expect(f?.attack).toEqual(['T0846']);
    expect(f?.title).toBe('Test rule');
    expect(f?.rule).toBe('t.rule');
    expect(f?.proto).toBe('mqtt');
    expect(f?.device).toEqual({
      ip: '10.20.30.17',
      mac: '00:09:5b:01:02:03',
      vendor: 'NETGEAR',
      name: 'monitor',
    });
    expect(f?.peer).toEqual({ ip: '10.20.60.2', port: 1883 });
    expect(f?.flow).toBe('f1');
    expect(f?.evidence).toEqual({ topic: 'w/cmd/x', retain: true });
  });

  it('device: dst makes the destination the device and the source the peer', () => {
    const rules = oneRule('      proto: mqtt\n      type: connack', '    device: dst\n');
    const f = run(rules, [
      ev(
        'mqtt',
        'connack',
        { return_code: 0 },
        { src: '10.20.60.2', dst: '10.20.30.9', sport: 1883, dport: 5555 },
      ),
    ]).findings[0];
    expect(f?.device.ip).toBe('10.20.30.9');
    expect(f?.peer).toEqual({ ip: '10.20.60.2', port: 1883 });
  });
});

describe('patient data never reaches findings', () => {
  const PHI = ['DOE^JOHN', '19700101', 'MRN-445566', 'Hemoglobin 13.2', 'secret-pw', 'PAYLOADBYTES'];
  it('a rule may not even name a field that is not in the protocol schema', () => {
    const { errors } = parseRuleTexts([
      {
        file: 'phi.yaml',
        text: `rules:
  - id: phi.probe
    title: PHI probe
    severity: low
    description: Matches on fields that look like patient data.
    match:
      proto: hl7
      fields.patient_name: { exists: true }
`,
      },
    ]);
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^phi\.yaml:8: rule phi\.probe: unknown field "fields\.patient_name" for hl7 /),
    ]);
  });

  it('even when an event carries PHI-looking fields (an analyzer bug) and a rule matches it', () => {
    const rules = rulesFrom(`rules:
  - id: phi.probe
    title: PHI probe
    severity: low
    description: Matches the message an analyzer bug decorated with patient data.
    match:
      proto: hl7
      fields.message_type: { glob: 'ORU*' }
`);
    const e = ev('hl7', 'message', {
      message_type: 'ORU^R01',
      patient_name: 'DOE^JOHN',
      birth_date: '19700101',
      mrn: 'MRN-445566',
      obx_value: 'Hemoglobin 13.2',
      password: 'secret-pw',
      payload: 'PAYLOADBYTES',
      nested: { patient_id: 'MRN-445566', values: ['Hemoglobin 13.2'], ok: 'fine' },
    });
    const findings: Finding[] = [];
    const engine = new Engine({ site: null, rules, baseline: null, agentId: 'a' }, (f) => findings.push(f));
    engine.onEvent(e);
    engine.onEvent({ ...e, tsMicros: T0 + SEC });
    engine.flush();
    expect(findings).toHaveLength(2);
    const text = JSON.stringify(findings) + JSON.stringify(engine.devices());
    for (const p of PHI) expect(text).not.toContain(p);
    // Evidence holds what the rule looked at, never the rest of the event.
    expect(findings[0]?.evidence).toEqual({ message_type: 'ORU^R01' });
  });

  it('baseline deviation evidence is redacted the same way', () => {
    const dev: Deviation = {
      code: 'baseline.x',
      ts: T0,
      proto: 'hl7',
      device: { ip: '10.0.0.1' },
      evidence: { message_type: 'ORU^R01', patient_name: 'DOE^JOHN' },
    };
    const checker: BaselineChecker = {
      onFlowStart: () => [],
      onEvent: () => [dev],
      onFlowEnd: () => [],
      advance: () => [],
    };
    const findings: Finding[] = [];
    const engine = new Engine(
      { site: null, rules: { rules: [], lists: {}, files: [] }, baseline: checker, agentId: 'a' },
      (f) => findings.push(f),
    );
    engine.onEvent(ev('hl7', 'message', {}));
    expect(JSON.stringify(findings)).not.toContain('DOE^JOHN');
    expect(findings[0]?.evidence).toEqual({ message_type: 'ORU^R01' });
  });
});

describe('baseline deviations', () => {
  const rules = rulesFrom(`rules:
  - id: baseline.new-peer
    kind: baseline
    title: New peer
    severity: low
    attack: [T0886]
    scenarios: [G2]
    description: A new peer.
`);
  function engineWith(devs: Deviation[]): { findings: Finding[]; engine: Engine } {
    const findings: Finding[] = [];
    const checker: BaselineChecker = {
      onFlowStart: () => devs.splice(0, 1),
      onEvent: () => [],
      onFlowEnd: () => [],
      advance: () => devs.splice(0),
    };
    return {
      findings,
      engine: new Engine({ site: null, rules, baseline: checker, agentId: 'a' }, (f) => findings.push(f)),
    };
  }
  it('take title, severity and attack from the kind: baseline rule; unknown codes default to medium', () => {
    const devs: Deviation[] = [
      {
        code: 'baseline.new-peer',
        ts: T0,
        proto: 'dicom',
        device: { ip: '10.20.40.21', mac: '00:09:5b:00:00:01' },
        peer: { ip: '10.20.40.99', port: 104 },
        flow: 'fx',
        evidence: { port: 104 },
      },
      {
        code: 'baseline.something-new',
        ts: T0 + 5,
        proto: 'mqtt',
        device: { ip: '10.20.30.3' },
        evidence: {},
      },
    ];
    const { findings, engine } = engineWith(devs);
    engine.onFlowStart(flowInfo('fx', '10.20.40.21', '10.20.40.99', 104), T0);
    engine.advance(T0 + 10);
    expect(findings.map((f) => [f.rule, f.severity, f.title, f.attack])).toEqual([
      ['baseline.new-peer', 'low', 'New peer', ['T0886']],
      ['baseline.something-new', 'medium', 'Baseline deviation baseline.something-new', []],
    ]);
    expect(findings[0]?.peer).toEqual({ ip: '10.20.40.99', port: 104 });
    expect(findings[0]?.device.vendor).toBe('NETGEAR');
    expect(findings[0]?.flow).toBe('fx');
    expect(engine.stats.deviations).toBe(2);
  });
});

describe('engine signals', () => {
  const sigRules = rulesFrom(`rules:
  - id: s.arp
    title: ARP change
    severity: high
    description: IP moved.
    match: { proto: device, type: ip_mac_changed }
  - id: s.impl
    title: Implementation changed
    severity: medium
    description: Changed.
    match: { proto: device, type: identity_changed }
  - id: s.moved
    title: Client id moved
    severity: medium
    description: Moved.
    match: { proto: device, type: client_id_moved }
  - id: s.anon
    title: Anonymous accepted
    severity: high
    device: dst
    description: Anonymous.
    match:
      proto: mqtt
      type: connack
      connect.version: { exists: true }
      connect.username: { exists: false }
      fields.return_code: 0
`);
  it('frames of one flow side bind their IP again after ARP moved it, though the side was checked before', () => {
    // The engine checks a flow side's binding once until some binding changes (DeviceSignals.arpChanges).
    const findings: Finding[] = [];
    const engine = new Engine({ site: null, rules: sigRules, baseline: null, agentId: 'a' }, (f) =>
      findings.push(f),
    );
    const m1 = '00:09:5b:00:00:01';
    const e = ev('mqtt', 'publish', { topic: 't' }, { src: '10.20.30.5', smac: m1 });
    engine.onEvent(e);
    engine.onEvent({ ...e, tsMicros: T0 + 1 });
    expect(findings).toHaveLength(0);
    const ip = (10 << 24) | (20 << 16) | (30 << 8) | 5;
    engine.onArp(0x0a0000000002, ip, T0 + 2);
    expect(findings).toHaveLength(1);
    // The same endpoint object again (as a dispatcher passes it): its MAC takes the IP back.
    engine.onEvent({ ...e, tsMicros: T0 + 3 });
    expect(findings).toHaveLength(2);
    expect(findings[1]?.device).toMatchObject({ ip: '10.20.30.5', mac: m1 });
    engine.onEvent({ ...e, tsMicros: T0 + 4 });
    expect(findings).toHaveLength(2);
  });
  it('an endpoint object reused with other contents is resolved anew, inside a flow and outside one', () => {
    // The engine keeps each flow side's resolution with the flow (or in a WeakMap without one), checked
    // against the address fields on every event.
    for (const withFlow of [true, false]) {
      const findings: Finding[] = [];
      const engine = new Engine({ site: null, rules: sigRules, baseline: null, agentId: 'a' }, (f) =>
        findings.push(f),
      );
      if (withFlow) engine.onFlowStart(flowInfo('f1', '10.20.30.5', '10.20.60.2', 1883), T0);
      const e = ev('mqtt', 'publish', { topic: 't' }, { src: '10.20.30.5', smac: '00:09:5b:00:00:01' });
      engine.onEvent(e);
      // The dispatcher's object for this side now carries another MAC for the same IP.
      e.src.mac = '0a:00:00:00:00:02';
      engine.onEvent({ ...e, tsMicros: T0 + 1 });
      expect(findings.map((f) => f.device.mac)).toEqual(['0a:00:00:00:00:02']);
      const macs = engine.devices().flatMap((d) => (d.mac ? [d.mac] : []));
      expect(macs.sort()).toEqual(['00:09:5b:00:00:01', '0a:00:00:00:00:02']);
    }
  });
  it('ARP: a known IP announced by a new MAC', () => {
    const findings: Finding[] = [];
    const engine = new Engine({ site: null, rules: sigRules, baseline: null, agentId: 'a' }, (f) =>
      findings.push(f),
    );
    const ip = (10 << 24) | (20 << 16) | (30 << 8) | 5;
    engine.onArp(0x00095b000001, ip, T0);
    engine.onArp(0x00095b000001, ip, T0 + 1);
    expect(findings).toHaveLength(0);
    engine.onArp(0x0a0000000002, ip, T0 + 2);
    expect(findings).toHaveLength(1);
    expect(findings[0]?.device).toMatchObject({ ip: '10.20.30.5', mac: '0a:00:00:00:00:02' });
    expect(findings[0]?.evidence).toEqual({});
    expect(findings[0]?.proto).toBe('arp');
    engine.onArp(0x00095b000001, 0, T0 + 3); // a probe claims nothing
    expect(findings).toHaveLength(1);
  });

  it('DICOM implementation version change on the same device', () => {
    const rq = (v: string, ts: number) =>
      ev(
        'dicom',
        'associate_rq',
        { calling_ae: 'CT1', called_ae: 'PACS', implementation_version: v },
        { ts, smac: '00:09:5b:00:00:07', dst: '10.20.40.10', dport: 104 },
      );
    const { findings } = run(sigRules, [
      rq('OFFIS_DCMTK_367', T0),
      rq('OFFIS_DCMTK_367', T0 + 1),
      rq('OFFIS_DCMTK_368', T0 + 2),
    ]);
    expect(findings.map((f) => f.rule)).toEqual(['s.impl']);
    expect(findings[0]?.proto).toBe('dicom');
  });

  it('MQTT client id moved to another IP, and anonymous CONNACK using the CONNECT of the same flow', () => {
    const evs = [
      ev('mqtt', 'connect', { client_id: 'pump-7', version: 4 }, { ts: T0, src: '10.20.30.7', flow: 'a' }),
      ev(
        'mqtt',
        'connack',
        { return_code: 0 },
        { ts: T0 + 1, src: '10.20.60.2', dst: '10.20.30.7', flow: 'a' },
      ),
      ev(
        'mqtt',
        'connect',
        { client_id: 'pump-7', version: 4, username: 'svc' },
        { ts: T0 + 2, src: '10.20.30.66', flow: 'b' },
      ),
      ev(
        'mqtt',
        'connack',
        { return_code: 0 },
        { ts: T0 + 3, src: '10.20.60.2', dst: '10.20.30.66', flow: 'b' },
      ),
      ev(
        'mqtt',
        'connack',
        { return_code: 0 },
        { ts: T0 + 4, src: '10.20.60.2', dst: '10.20.30.67', flow: 'c' },
      ),
    ];
    const { findings } = run(sigRules, evs);
    expect(findings.map((f) => [f.rule, f.device.ip])).toEqual([
      ['s.anon', '10.20.30.7'],
      ['s.moved', '10.20.30.66'],
    ]);
    expect(findings[1]?.proto).toBe('mqtt');
  });
});

describe('reload', () => {
  it('swaps rules and keeps device state', () => {
    const findings: Finding[] = [];
    const engine = new Engine(
      {
        site: null,
        rules: oneRule('      proto: mqtt\n      fields.retain: false'),
        baseline: null,
        agentId: 'a',
      },
      (f) => findings.push(f),
    );
    engine.onEvent(pub(T0));
    expect(findings).toHaveLength(0);
    engine.reload(oneRule('      proto: mqtt\n      fields.retain: true'));
    engine.onEvent(pub(T0 + 1));
    expect(findings).toHaveLength(1);
    expect(engine.devices().length).toBe(2);
  });
});

describe('flow subjects', () => {
  it('flow end fields: bytes, duration, app', () => {
    const rules = rulesFrom(`rules:
  - id: big
    title: Big flow
    severity: low
    description: Big.
    match:
      proto: flow
      type: end
      fields.app: dicom
      fields.bytes_total: { gt: 1000 }
      fields.duration_s: { gte: 2 }
`);
    const findings: Finding[] = [];
    const engine = new Engine({ site: null, rules, baseline: null, agentId: 'a' }, (f) => findings.push(f));
    engine.onFlowEnd(flowRecord('x', '10.0.0.1', '10.0.0.2', 104, [600, 600], T0, T0 + 3 * SEC, 'dicom'));
    engine.onFlowEnd(flowRecord('y', '10.0.0.1', '10.0.0.2', 104, [600, 600], T0, T0 + 1 * SEC, 'dicom'));
    expect(findings.map((f) => f.flow)).toEqual(['x']);
    expect(findings[0]?.evidence).toEqual({ app: 'dicom', bytes_total: 1200, duration_s: 3 });
    expect(findings[0]?.proto).toBe('dicom');
  });
});

describe('findings across the Internet boundary', () => {
  it('name the hospital side as the device, so both directions of a session fold into one finding', () => {
    const rules = rulesFrom(`rules:
  - id: hl7.internet
    title: HL7 across the Internet boundary
    severity: critical
    attack: [T0882]
    description: HL7 to or from a public address.
    remediation: Block it.
    match:
      proto: hl7
      type: message
      any:
        - src.zone: internet
        - dst.zone: internet
`);
    const site = siteFrom('zones:\n  medical-devices: [10.20.30.0/24]\n');
    const out = ev(
      'hl7',
      'message',
      { message_type: 'ORU^R01' },
      { src: '10.20.30.17', dst: '203.0.113.80', sport: 42576, dport: 6661 },
    );
    const back = ev(
      'hl7',
      'message',
      { message_type: 'ACK' },
      {
        src: '203.0.113.80',
        dst: '10.20.30.17',
        sport: 6661,
        dport: 42576,
        ts: T0 + SEC,
      },
    );
    const { findings } = run(rules, [out, back], { site });
    expect(findings.map((f) => f.device.ip)).toEqual(findings.map(() => '10.20.30.17'));
    expect(findings.every((f) => f.peer?.ip === '203.0.113.80' && f.peer.port === 6661)).toBe(true);
    // One finding at once, and one summary at the window's end carrying both occurrences.
    expect(findings.at(-1)?.count).toBe(2);
  });
});
