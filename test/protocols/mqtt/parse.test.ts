// Table-driven tests of the pure MQTT parser: every control packet of 3.1, 3.1.1 and 5.0, version inference, and an error table.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LIMITS,
  parsePacket,
  plausibleHeader,
  type MqttPacket,
  type MqttVersion,
} from '../../../agent/protocols/mqtt/parse.js';
import * as b from './builders.js';

const L = DEFAULT_LIMITS;

function ok(bytes: Uint8Array, version: MqttVersion): MqttPacket {
  const r = parsePacket(bytes, 0, L, version);
  if (r.kind !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  expect(r.consumed).toBe(bytes.length);
  return r.msg;
}

type OkCase = [name: string, bytes: Uint8Array, version: MqttVersion, expected: Partial<MqttPacket>];

const OK_CASES: OkCase[] = [
  [
    '3.1 CONNECT MQIsdp',
    b.connect({ level: 3, clientId: 'pump-7', username: 'u' }),
    3,
    {
      protocolName: 'MQIsdp',
      protocolLevel: 3,
      clientId: 'pump-7',
      username: 'u',
      passwordPresent: false,
      cleanSession: true,
      keepAlive: 60,
    },
  ],
  [
    '3.1.1 CONNECT with will and password',
    b.connect({
      clientId: 'm',
      username: 'nurse',
      password: 'secret',
      will: { topic: 'ward/lwt', payload: 'gone', qos: 1, retain: true },
      clean: false,
      keepAlive: 5,
    }),
    0,
    {
      protocolLevel: 4,
      clientId: 'm',
      username: 'nurse',
      passwordPresent: true,
      cleanSession: false,
      keepAlive: 5,
      willTopic: 'ward/lwt',
      willRetain: true,
      willQos: 1,
      issues: [],
    },
  ],
  [
    '5.0 CONNECT with properties and will properties',
    b.connect({
      level: 5,
      clientId: '',
      props: [
        [0x11, 3600],
        [0x21, 10],
        [0x26, ['k', 'v']],
        [0x15, 'SCRAM-SHA-1'],
      ],
      will: {
        topic: 'w',
        payload: 'x',
        props: [
          [0x18, 5],
          [0x01, 1],
        ],
      },
    }),
    0,
    {
      protocolLevel: 5,
      clientId: '',
      willTopic: 'w',
      propertyCount: 6,
      authMethod: 'SCRAM-SHA-1',
      layout: 'v5',
    },
  ],
  ['3.1.1 CONNACK', b.connack({ sp: true, code: 0 }), 4, { sessionPresent: true, code: 0, layout: 'legacy' }],
  ['3.1.1 CONNACK refused (5)', b.connack({ code: 5 }), 4, { sessionPresent: false, code: 5 }],
  [
    '5.0 CONNACK with assigned client id',
    b.connack({
      v5: true,
      code: 0,
      props: [
        [0x12, 'auto-1'],
        [0x13, 30],
        [0x24, 1],
        [0x28, 0],
      ],
    }),
    5,
    { code: 0, assignedClientId: 'auto-1', propertyCount: 4 },
  ],
  ['5.0 CONNACK 0x87 not authorized', b.connack({ v5: true, code: 0x87 }), 5, { code: 0x87 }],
  [
    'PUBLISH QoS 0',
    b.publish({ topic: 't/1', payload: 'abc' }),
    4,
    { topic: 't/1', qos: 0, retain: false, dup: false, payloadSize: 3 },
  ],
  [
    'PUBLISH QoS 1 retained dup',
    b.publish({ topic: 't', qos: 1, id: 9, retain: true, dup: true, payload: '' }),
    4,
    { qos: 1, packetId: 9, retain: true, dup: true, payloadSize: 0 },
  ],
  [
    '5.0 PUBLISH with properties',
    b.publish({
      v5: true,
      qos: 2,
      id: 3,
      topic: 'a/b',
      payload: '12345',
      props: [
        [0x01, 1],
        [0x02, 60],
        [0x03, 'text/plain'],
        [0x08, 'resp'],
        [0x09, b.utf8('cid')],
        [0x0b, 200],
        [0x23, 4],
      ],
    }),
    5,
    { topic: 'a/b', packetId: 3, payloadSize: 5, propertyCount: 7, topicAlias: 4 },
  ],
  ['PUBACK 3.x', b.ack(4, 7), 4, { packetId: 7 }],
  [
    'PUBREC 5.0 with reason and reason string',
    b.ack(5, 7, { code: 0x10, props: [[0x1f, 'no subscribers']] }),
    5,
    { packetId: 7, code: 0x10, propertyCount: 1 },
  ],
  ['PUBREL flags 0010', b.ack(6, 7), 4, { packetId: 7, issues: [] }],
  ['PUBCOMP 5.0 reason only', b.ack(7, 7, { code: 0x92 }), 5, { packetId: 7, code: 0x92 }],
  [
    'SUBSCRIBE 3.1.1 wildcard',
    b.subscribe(2, [
      ['#', 0],
      ['$SYS/#', 1],
    ]),
    4,
    {
      packetId: 2,
      topicFilters: [
        { filter: '#', qos: 0 },
        { filter: '$SYS/#', qos: 1 },
      ],
      filterCount: 2,
    },
  ],
  [
    'SUBSCRIBE 5.0 options and subscription id',
    b.subscribe(2, [['a/+', 0x2e]], { v5: true, props: [[0x0b, 17]] }),
    5,
    { topicFilters: [{ filter: 'a/+', qos: 2 }], propertyCount: 1 },
  ],
  ['SUBACK 3.1.1 with failure', b.suback(2, [0, 1, 0x80]), 4, { packetId: 2, codes: [0, 1, 0x80] }],
  ['SUBACK 5.0 not authorized', b.suback(2, [0x87], { v5: true }), 5, { codes: [0x87] }],
  [
    'UNSUBSCRIBE',
    b.unsubscribe(4, ['x', 'y']),
    4,
    { packetId: 4, topicFilters: [{ filter: 'x' }, { filter: 'y' }] },
  ],
  ['UNSUBACK 3.x', b.unsuback(4), 4, { packetId: 4 }],
  ['UNSUBACK 5.0', b.unsuback(4, { v5: true, codes: [0, 0x11] }), 5, { codes: [0, 0x11] }],
  ['PINGREQ', b.pingreq(), 0, { type: 12 }],
  ['PINGRESP', b.pingresp(), 4, { type: 13 }],
  ['DISCONNECT 3.x', b.disconnect(), 4, { type: 14 }],
  [
    'DISCONNECT 5.0 reason 4 with session expiry',
    b.disconnect({ code: 4, props: [[0x11, 0]] }),
    5,
    { code: 4 },
  ],
  [
    'AUTH 5.0 continue',
    b.auth(0x18, [
      [0x15, 'SCRAM-SHA-1'],
      [0x16, b.utf8('data')],
    ]),
    5,
    { code: 0x18, propertyCount: 2 },
  ],
];

describe('parsePacket: every control packet', () => {
  it.each(OK_CASES)('%s', (_name, bytes, version, expected) => {
    expect(ok(bytes, version)).toMatchObject(expected);
  });

  it('never keeps the password, will payload or user property values', () => {
    const m = ok(
      b.connect({
        level: 5,
        username: 'u',
        password: 'hunter2',
        will: { topic: 't', payload: 'PATIENT-42' },
        props: [[0x26, ['mrn', 'PATIENT-42']]],
      }),
      5,
    );
    expect(JSON.stringify(m)).not.toMatch(/hunter2|PATIENT-42/);
  });

  it('decodes every remaining-length size class (MQTT 3.1.1 §2.2.3)', () => {
    for (const rl of [0, 127, 128, 16383, 16384, 2097151, 2097152, 268435455]) {
      const header = b.cat([0x30], b.varint(rl));
      const limits = { ...L, maxPacketSize: 268435455 };
      const r = parsePacket(b.cat(header, b.str('t')), 0, limits, 4);
      if (rl < 3) expect(r.kind).toBe('bad');
      else
        expect(r).toMatchObject({
          kind: 'ok',
          consumed: header.length + rl,
          msg: { remainingLength: rl, payloadSize: rl - 3 },
        });
    }
  });

  it('needs only the variable header of a PUBLISH, never its payload', () => {
    const full = b.publish({ topic: 'big', payload: new Uint8Array(50_000) });
    const r = parsePacket(full.subarray(0, 20), 0, L, 4);
    expect(r).toMatchObject({
      kind: 'ok',
      consumed: full.length,
      msg: { topic: 'big', payloadSize: 50_000 },
    });
  });

  it('asks for exactly the bytes still missing', () => {
    const p = b.subscribe(1, [['a', 0]]);
    for (let cut = 0; cut < p.length; cut++) {
      const r = parsePacket(p.subarray(0, cut), 0, L, 4);
      expect(r.kind).toBe('need');
      if (r.kind === 'need') expect(r.bytes).toBeGreaterThan(cut);
    }
  });

  it('cuts long strings to maxFieldChars', () => {
    const m = parsePacket(b.publish({ topic: 'x'.repeat(5000) }), 0, { ...L, maxFieldChars: 100 }, 4);
    expect(m.kind === 'ok' && m.msg.topic?.length).toBe(100);
  });
});

type InferCase = [name: string, bytes: Uint8Array, layout: 'legacy' | 'v5', strong: boolean];

// Mid-session pickup: the version is unknown (0) and inferred from the packet's shape.
const INFER_CASES: InferCase[] = [
  ['CONNACK of 2 bytes is 3.x', b.connack(), 'legacy', true],
  ['CONNACK with a property length is 5.0', b.connack({ v5: true }), 'v5', true],
  ['PUBLISH with non-empty properties is 5.0', b.publish({ v5: true, props: [[0x01, 1]] }), 'v5', true],
  [
    'PUBLISH with an empty property section stays 3.x, weakly',
    b.publish({ v5: true, payload: 'x' }),
    'legacy',
    false,
  ],
  ['3.x PUBLISH with JSON payload stays 3.x', b.publish({ payload: '{"hr":72}' }), 'legacy', true],
  ['PUBACK with a reason code is 5.0', b.ack(4, 1, { code: 0x10 }), 'v5', true],
  ['PUBACK of 2 bytes is either', b.ack(4, 1), 'legacy', false],
  ['DISCONNECT with a reason is 5.0', b.disconnect({ code: 0 }), 'v5', true],
  ['5.0 SUBSCRIBE options do not fit 3.x', b.subscribe(1, [['t', 0x24]], { v5: true }), 'v5', true],
  ['3.x SUBACK with one code is 3.x', b.suback(1, [1]), 'legacy', true],
  ['AUTH is 5.0', b.auth(0x18), 'v5', true],
];

describe('parsePacket: version inference mid-session', () => {
  it.each(INFER_CASES)('%s', (_name, bytes, layout, strong) => {
    expect(ok(bytes, 0)).toMatchObject({ layout, strong });
  });
});

type BadCase = [name: string, bytes: Uint8Array, version: MqttVersion, code: string, skip: 'length' | 'lost'];

const ERROR_CASES: BadCase[] = [
  [
    '5-byte remaining length',
    Uint8Array.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]),
    4,
    'mqtt.malformed_length',
    'lost',
  ],
  [
    'declared length over the cap',
    b.cat([0x30], b.varint(2 * 1024 * 1024)),
    4,
    'mqtt.packet_too_large',
    'length',
  ],
  ['packet type 0', b.packet(0, 0, b.cat(b.str('t'))), 4, 'mqtt.unassigned_msg_type', 'length'],
  ['AUTH in 3.1.1', b.auth(0), 4, 'mqtt.unassigned_msg_type', 'length'],
  [
    'unknown protocol level',
    b.connect({ level: 4, name: 'MQTT' }).map((x, i) => (i === 8 ? 9 : x)),
    0,
    'mqtt.invalid_protocol',
    'length',
  ],
  [
    'CONNECT string past the end',
    b.packet(1, 0, b.cat(b.str('MQTT'), [4, 2], b.u16(60), b.u16(50), b.utf8('abc'))),
    0,
    'mqtt.malformed_packet',
    'length',
  ],
  [
    '5.0 CONNECT property length past the end',
    b.packet(1, 0, b.cat(b.str('MQTT'), [5, 2], b.u16(60), b.varint(100), b.str('id'))),
    0,
    'mqtt.malformed_packet',
    'length',
  ],
  [
    '5.0 unknown property id',
    b.packet(2, 0, b.cat([0, 0], [2, 0x7f, 0])),
    5,
    'mqtt.malformed_packet',
    'length',
  ],
  [
    '3.x CONNACK of 3 bytes',
    b.packet(2, 0, Uint8Array.from([0, 0, 0])),
    4,
    'mqtt.malformed_packet',
    'length',
  ],
  ['bytes after PINGREQ', b.packet(12, 0, Uint8Array.from([1])), 4, 'mqtt.malformed_packet', 'length'],
  ['SUBSCRIBE without filters', b.packet(8, 2, b.u16(1)), 4, 'mqtt.malformed_packet', 'length'],
  ['3.x SUBSCRIBE reserved QoS bits', b.subscribe(1, [['t', 0x40]]), 4, 'mqtt.malformed_packet', 'length'],
  ['3.x SUBACK code 0x10', b.suback(1, [0x10]), 4, 'mqtt.malformed_packet', 'length'],
  [
    'PUBLISH topic past the end',
    b.packet(3, 0, b.cat(b.u16(10), b.utf8('ab'))),
    4,
    'mqtt.malformed_packet',
    'length',
  ],
  [
    '5.0 PUBLISH properties past the end',
    b.packet(3, 0, b.cat(b.str('t'), b.varint(9), [1])),
    5,
    'mqtt.malformed_packet',
    'length',
  ],
];

describe('parsePacket: error table', () => {
  it.each(ERROR_CASES)('%s', (_name, bytes, version, code, skip) => {
    const r = parsePacket(bytes, 0, L, version);
    expect(r.kind).toBe('bad');
    if (r.kind !== 'bad') return;
    expect(r.code).toBe(code);
    if (skip === 'lost') expect(r.skip).toBe(-1);
    else expect(r.skip).toBeGreaterThan(0);
  });

  type IssueCase = [name: string, bytes: Uint8Array, version: MqttVersion, issue: string];
  const ISSUES: IssueCase[] = [
    [
      'PUBLISH QoS 3 [MQTT-3.3.1-4]',
      b.packet(3, 6, b.cat(b.str('t'), b.u16(1))),
      4,
      'mqtt.invalid_qos_level',
    ],
    ['PUBLISH QoS 1 with packet id 0 [MQTT-2.3.1-1]', b.publish({ qos: 1, id: 0 }), 4, 'mqtt.missing_msg_id'],
    ['PUBLISH QoS 0 with DUP [MQTT-3.3.1-2]', b.publish({ dup: true }), 4, 'mqtt.invalid_flags'],
    [
      'SUBSCRIBE with flags 0000 [MQTT-3.8.1-1]',
      b.packet(8, 0, b.cat(b.u16(1), b.str('t'), [0])),
      4,
      'mqtt.invalid_flags',
    ],
    ['PINGREQ with flags [MQTT-2.2.2-2]', b.packet(12, 1, new Uint8Array(0)), 4, 'mqtt.invalid_flags'],
    ['CONNECT reserved flag [MQTT-3.1.2-3]', b.connect({ reservedBit: true }), 0, 'mqtt.invalid_flags'],
    [
      'CONNECT MQIsdp with level 4 [MQTT-3.1.2-1]',
      b.connect({ level: 4, name: 'MQIsdp' }),
      0,
      'mqtt.invalid_protocol',
    ],
    [
      'CONNECT will QoS 3 [MQTT-3.1.2-14]',
      b.connect({ will: { topic: 't', payload: '', qos: 3 } }),
      0,
      'mqtt.invalid_qos_level',
    ],
    ['SUBSCRIBE QoS 3', b.subscribe(1, [['t', 3]]), 4, 'mqtt.invalid_qos_level'],
    [
      '5.0 CONNACK with a PUBLISH-only property',
      b.connack({ v5: true, props: [[0x23, 1]] }),
      5,
      'mqtt.invalid_property',
    ],
  ];
  it.each(ISSUES)('non-fatal: %s', (_name, bytes, version, issue) => {
    expect(ok(bytes, version).issues).toContain(issue);
  });

  it('plausibleHeader tells incomplete (-2) from implausible (-1)', () => {
    expect(plausibleHeader(Uint8Array.from([0x30]), 0, L)).toBe(-2);
    expect(plausibleHeader(Uint8Array.from([0x00, 0x00]), 0, L)).toBe(-1);
    expect(plausibleHeader(Uint8Array.from([0x62, 0x02]), 0, L)).toBe(4);
    expect(plausibleHeader(Uint8Array.from([0x60, 0x02]), 0, L)).toBe(-1);
  });
});
