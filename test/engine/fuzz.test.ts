// Property tests: arbitrary events, flows and ARP never make the engine throw, break its caps or leak denied keys.
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../agent/engine/engine.js';
import { isDeniedKey } from '../../agent/engine/findings/findings.js';
import { loadRules } from '../../agent/engine/rules/rules.js';
import { loadSite } from '../../agent/engine/site/site.js';
import type { EventFields, FieldValue, ProtoName } from '../../agent/protocols/types.js';
import type { Finding } from '../../agent/wire/finding.js';
import { FIXTURES, REPO_ROOT } from '../helpers/paths.js';
import { ev, flowInfo, flowRecord, T0 } from './helpers.js';

const RULES = loadRules(path.join(REPO_ROOT, 'rules'));
const SITE = loadSite(path.join(FIXTURES, 'site.yaml'));

const ip = fc.constantFrom(
  '10.20.30.17',
  '10.20.30.99',
  '10.20.40.10',
  '10.20.50.5',
  '10.20.60.2',
  '203.0.113.9',
  'fd00:20:30::5',
  'not-an-ip',
  '',
);
const mac = fc.option(fc.constantFrom('00:09:5b:00:00:01', '00:1a:2b:3c:4d:5e', 'b8:27:eb:00:00:99', 'zz'), {
  nil: undefined,
});
// Half the values come from the rules' vocabulary, so the rules are really exercised.
const fieldValue: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.constantFrom<FieldValue>(
    true,
    0,
    5,
    2,
    142,
    '#',
    '$SYS/#',
    'T',
    'AE',
    'ORU^R01',
    'RGV^O15',
    'C-FIND-RQ',
    'x/cmd/y',
    'mqtt.missing_connect',
    'hl7.bad_msh',
    [{ filter: '#' }],
    [{ key: 'PatientName', wildcard: true }],
    'DOE^JOHN',
  ),
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<FieldValue>,
);
const fields: fc.Arbitrary<EventFields> = fc.dictionary(
  fc.constantFrom(
    'topic',
    'retain',
    'client_id',
    'username',
    'password_present',
    'calling_ae',
    'command',
    'query_keys',
    'topic_filters',
    'message_type',
    'control_id',
    'version',
    'code',
    'patient_name',
    'password',
    'payload',
    'return_code',
    'reason_code',
    'ack_code',
    'has_phi',
    'implementation_version',
    'device_ids',
  ),
  fieldValue,
  { maxKeys: 6 },
);
const step = fc.oneof(
  fc.record({
    k: fc.constant('ev' as const),
    proto: fc.constantFrom<ProtoName>('mqtt', 'hl7', 'dicom'),
    type: fc.constantFrom(
      'connect',
      'connack',
      'publish',
      'subscribe',
      'message',
      'associate_rq',
      'dimse',
      'anomaly',
      'disconnect',
    ),
    f: fields,
    src: ip,
    dst: ip,
    smac: mac,
    dt: fc.integer({ min: -5, max: 2_000_000_000 }),
    flow: fc.constantFrom('a', 'b', 'c'),
  }),
  fc.record({
    k: fc.constant('fs' as const),
    src: ip,
    dst: ip,
    port: fc.integer({ min: 0, max: 65535 }),
    dt: fc.integer({ min: 0, max: 1e9 }),
    flow: fc.constantFrom('a', 'b', 'c'),
  }),
  fc.record({
    k: fc.constant('fe' as const),
    src: ip,
    dst: ip,
    port: fc.integer({ min: 0, max: 65535 }),
    dt: fc.integer({ min: 0, max: 1e9 }),
    flow: fc.constantFrom('a', 'b', 'c'),
  }),
  fc.record({
    k: fc.constant('arp' as const),
    mac: fc.integer({ min: -1, max: 2 ** 48 - 1 }),
    ip: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    dt: fc.integer({ min: 0, max: 1e9 }),
  }),
);

function checkFinding(f: Finding): void {
  expect(f.id).toMatch(/^[0-9a-f]{32}$/);
  expect(Number.isNaN(Date.parse(f.ts))).toBe(false);
  const walk = (v: unknown, depth: number): void => {
    expect(depth).toBeLessThan(6);
    if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        if (!Array.isArray(v)) expect(isDeniedKey(k), k).toBe(false);
        walk(x, depth + 1);
      }
  };
  walk(f.evidence, 0);
}

describe('engine under arbitrary input', () => {
  it('never throws, keeps caps, emits well-formed findings without denied keys', () => {
    let total = 0;
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), fc.boolean(), (steps, withSite) => {
        const findings: Finding[] = [];
        const engine = new Engine(
          {
            site: withSite ? SITE : null,
            rules: RULES,
            baseline: null,
            agentId: 'fuzz',
            limits: { maxDevices: 8, maxWindows: 6, maxFlowContexts: 2 },
          },
          (f) => findings.push(f),
        );
        let t = T0;
        for (const s of steps) {
          t += Math.max(0, s.dt);
          if (s.k === 'ev')
            engine.onEvent(
              ev(s.proto, s.type, s.f, {
                ts: t + Math.min(0, s.dt),
                src: s.src,
                dst: s.dst,
                ...(s.smac ? { smac: s.smac } : {}),
                flow: s.flow,
              }),
            );
          else if (s.k === 'fs') engine.onFlowStart(flowInfo(s.flow, s.src, s.dst, s.port, t), t);
          else if (s.k === 'fe')
            engine.onFlowEnd(flowRecord(s.flow, s.src, s.dst, s.port, [1, 2], t - 1000, t));
          else engine.onArp(s.mac, s.ip, t);
        }
        engine.advance(t + 3600e6);
        engine.flush();
        total += findings.length;
        for (const f of findings) checkFinding(f);
        expect(new Set(findings.map((f) => f.id)).size).toBe(findings.length);
        const devs = engine.devices();
        expect(devs.length).toBeLessThanOrEqual(8);
        expect(() => JSON.stringify(devs)).not.toThrow();
      }),
      { seed: 42, numRuns: 150 },
    );
    // The generator must reach the rules, or the property says nothing about findings.
    expect(total).toBeGreaterThan(20);
  });
});
