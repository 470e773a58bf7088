// Wire validators (docs/wire.md, docs/findings.md): accept every well-formed message, refuse each broken one.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseAgentMessage,
  parseCollectorMessage,
  validateFinding,
  validateMessage,
  type StatsMessage,
} from '../../agent/wire/messages.js';
import { makeFinding } from '../collector/helpers.js';

const stats: StatsMessage = {
  type: 'stats',
  ts: '2026-11-28T10:00:00.000000Z',
  packets: 10,
  bytes: 1000,
  drops: { kernel: 0, interface: 1, queue: 2 },
  parse_errors: { mqtt: 1 },
  messages: { mqtt: { publish: 5, connect: 1 }, hl7: { message: 2 } },
  flows: 3,
  devices: 2,
  memory: 50_000_000,
  lag_seconds: 0.5,
  spool: { bytes: 0, pending: 0, dropped: 0 },
};

describe('wire messages', () => {
  const good: Array<[string, unknown]> = [
    ['hello', { type: 'hello', agent: 'a', version: '0.1.0', token: 't', proto: 1 }],
    ['welcome', { type: 'welcome', version: '0.1.0' }],
    ['findings', { type: 'findings', seq: 1, findings: [makeFinding(1), makeFinding(2)] }],
    ['empty findings', { type: 'findings', seq: 7, findings: [] }],
    [
      'findings with a class',
      {
        type: 'findings',
        seq: 2,
        findings: [
          makeFinding(1, 'a', { class: 'alert', incident: 'a-f1' }),
          makeFinding(2, 'a', { class: 'exposure' }),
        ],
      },
    ],
    ['stats', stats],
    [
      'devices',
      {
        type: 'devices',
        devices: [
          {
            id: '00:1a:2b:3c:4d:5e',
            ip: '10.20.30.17',
            protocols: ['mqtt'],
            attributes: [
              {
                name: 'mqtt_client_id',
                value: 'pump-7',
                source: 'mqtt.client_id',
                seen: '2026-11-28T10:00:00Z',
              },
            ],
          },
        ],
      },
    ],
    ['ack', { type: 'ack', seq: 3 }],
    ['error', { type: 'error', reason: 'auth' }],
    ['unknown extra field', { type: 'ack', seq: 3, future: true }],
  ];
  it.each(good)('accepts %s', (_name, msg) => {
    const r = validateMessage(msg);
    expect(r.ok ? 'ok' : r.detail).toBe('ok');
  });

  const bad: Array<[string, unknown, string]> = [
    ['not an object', [1, 2], '$'],
    ['unknown type', { type: 'nope' }, '$.type'],
    ['hello without token', { type: 'hello', agent: 'a', version: '1' }, '$.token'],
    ['hello empty agent', { type: 'hello', agent: '', version: '1', token: 't' }, '$.agent'],
    ['seq zero', { type: 'findings', seq: 0, findings: [] }, '$.seq'],
    ['seq fraction', { type: 'findings', seq: 1.5, findings: [] }, '$.seq'],
    ['findings not array', { type: 'findings', seq: 1, findings: {} }, '$.findings'],
    [
      'bad severity',
      { type: 'findings', seq: 1, findings: [makeFinding(1, 'a', { severity: 'urgent' as never })] },
      'severity',
    ],
    ['bad ts', { type: 'findings', seq: 1, findings: [makeFinding(1, 'a', { ts: 'yesterday' })] }, '.ts'],
    [
      'empty incident',
      { type: 'findings', seq: 1, findings: [makeFinding(1, 'a', { incident: '' })] },
      '.incident',
    ],
    [
      'unknown class',
      { type: 'findings', seq: 1, findings: [makeFinding(1, 'a', { class: 'incident' as never })] },
      '.class',
    ],
    [
      'port out of range',
      { type: 'findings', seq: 1, findings: [makeFinding(1, 'a', { peer: { ip: '1.2.3.4', port: 70000 } })] },
      'peer.port',
    ],
    ['stats negative', { ...stats, packets: -1 }, '$.packets'],
    ['stats drops missing', { ...stats, drops: { kernel: 0 } }, '$.drops'],
    ['stats messages nested wrong', { ...stats, messages: { mqtt: 3 } }, '$.messages.mqtt'],
    [
      'device attribute without provenance',
      { type: 'devices', devices: [{ id: 'x', attributes: [{ name: 'n', value: 'v' }] }] },
      'source',
    ],
  ];
  it.each(bad)('refuses %s', (_name, msg, where) => {
    const r = validateMessage(msg);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toBe('schema');
      expect(r.detail).toContain(where);
    }
  });

  it('direction: the collector accepts only agent messages and the agent only collector ones', () => {
    expect(parseAgentMessage('{"type":"ack","seq":1}').ok).toBe(false);
    expect(parseCollectorMessage('{"type":"ack","seq":1}').ok).toBe(true);
    expect(parseCollectorMessage(JSON.stringify(stats)).ok).toBe(false);
    expect(parseAgentMessage(JSON.stringify(stats)).ok).toBe(true);
  });

  it('malformed JSON is a malformed_json refusal, not an exception', () => {
    const r = parseAgentMessage('{"type":"hello",');
    expect(r).toMatchObject({ ok: false, reason: 'malformed_json' });
  });

  it('never quotes the input in a refusal (a misdirected HL7 message carries patient data)', () => {
    for (const text of [
      'PID|1||PAT-0000-FAKE^^^HOSP^MR||DOE^JANE',
      '{"type":"hello","agent":"DOE^JANE" x}',
    ]) {
      const r = parseAgentMessage(text);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.detail).not.toContain('DOE');
        expect(r.detail).toMatch(/^not valid JSON/);
      }
    }
    const schema = validateMessage({
      type: 'findings',
      seq: 1,
      findings: [makeFinding(1, 'a', { severity: 'DOE^JANE' as never })],
    });
    expect(schema.ok || schema.detail.includes('DOE')).toBe(false);
  });

  it('validateFinding checks a single finding', () => {
    expect(validateFinding(makeFinding(1)).ok).toBe(true);
    const { agent: _a, ...noAgent } = makeFinding(1);
    expect(validateFinding(noAgent).ok).toBe(false);
    expect(validateFinding({ ...makeFinding(1), kind: 'event' }).ok).toBe(false);
  });

  it('never throws on arbitrary JSON values or text', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const r = validateMessage(v);
        expect(typeof r.ok).toBe('boolean');
      }),
      { seed: 42, numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(typeof parseAgentMessage(s).ok).toBe('boolean');
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('never throws when fields of a valid message are replaced by arbitrary values', () => {
    const base = { type: 'findings', seq: 1, findings: [makeFinding(1)] } as Record<string, unknown>;
    const keys = [
      'kind',
      'id',
      'ts',
      'rule',
      'severity',
      'title',
      'attack',
      'proto',
      'device',
      'peer',
      'evidence',
      'count',
      'agent',
      'class',
    ];
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.jsonValue(), (k, v) => {
        const f = { ...(makeFinding(1) as unknown as Record<string, unknown>), [k]: v };
        const r = validateMessage({ ...base, findings: [f] });
        expect(typeof r.ok).toBe('boolean');
      }),
      { seed: 42, numRuns: 300 },
    );
  });
});
