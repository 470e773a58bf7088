// MQTT session tests: events and fields, the CONNECT/CONNACK and packet-id state machine, caps, gaps and split invariance.
import { describe, expect, it } from 'vitest';
import type { Direction } from '../../../agent/protocols/types.js';
import { MqttSession } from '../../../agent/protocols/mqtt/session.js';
import { ANOMALY_CODES, mqttSpec, probeMqtt } from '../../../agent/protocols/mqtt/index.js';
import type { MqttLimits } from '../../../agent/protocols/mqtt/parse.js';
import * as b from './builders.js';
import { RecordingSink, runChunks, runSteps, type Recorded, type Step } from './helpers.js';

const C: Direction = 0;
const S: Direction = 1;

/** A 3.1.1 session exercising every exchange. */
function session311(): Array<[Direction, Uint8Array]> {
  return [
    [
      C,
      b.connect({
        clientId: 'infusion-pump-12',
        username: 'pump',
        password: 'pw-not-logged',
        will: { topic: 'ward/3/lwt', payload: 'offline', retain: true },
        keepAlive: 30,
      }),
    ],
    [S, b.connack({ code: 0 })],
    [
      C,
      b.subscribe(1, [
        ['#', 0],
        ['$SYS/#', 1],
      ]),
    ],
    [S, b.suback(1, [0, 1])],
    [C, b.publish({ topic: 'ward/3/pump/12/rate', qos: 1, id: 2, payload: 'MRN-123456 rate=5ml/h' })],
    [S, b.ack(4, 2)],
    [C, b.publish({ topic: 'ward/3/pump/12/alarm', qos: 2, id: 3, retain: true, payload: 'occlusion' })],
    [S, b.ack(5, 3)],
    [C, b.ack(6, 3)],
    [S, b.ack(7, 3)],
    [S, b.publish({ topic: 'ward/3/cmd', qos: 1, id: 1, payload: 'stop' })],
    [C, b.ack(4, 1)],
    [C, b.unsubscribe(4, ['#'])],
    [S, b.unsuback(4)],
    [C, b.pingreq()],
    [S, b.pingresp()],
    [C, b.disconnect()],
  ];
}

function session5(): Array<[Direction, Uint8Array]> {
  return [
    [
      C,
      b.connect({
        level: 5,
        clientId: '',
        username: 'monitor',
        password: 'x',
        props: [
          [0x11, 60],
          [0x22, 10],
        ],
      }),
    ],
    [
      S,
      b.connack({
        v5: true,
        code: 0,
        props: [
          [0x12, 'auto-ABC'],
          [0x22, 10],
        ],
      }),
    ],
    [C, b.subscribe(1, [['ward/+/vitals', 0x01]], { v5: true, props: [[0x0b, 5]] })],
    [S, b.suback(1, [1], { v5: true })],
    [
      C,
      b.publish({
        v5: true,
        topic: 'ward/3/vitals',
        qos: 1,
        id: 2,
        props: [
          [0x23, 7],
          [0x01, 1],
        ],
        payload: 'hr=72',
      }),
    ],
    [S, b.ack(4, 2, { code: 0x10, props: [[0x1f, 'no matching subscribers']] })],
    // Topic alias 7 now stands for ward/3/vitals [MQTT 5.0 §3.3.2.3.4].
    [C, b.publish({ v5: true, topic: '', props: [[0x23, 7]], payload: 'hr=73' })],
    [C, b.auth(0x19, [[0x15, 'SCRAM-SHA-1']])],
    [S, b.auth(0x00, [[0x15, 'SCRAM-SHA-1']])],
    [C, b.unsubscribe(3, ['ward/+/vitals'], { v5: true })],
    [S, b.unsuback(3, { v5: true, codes: [0x11] })],
    [C, b.disconnect({ code: 4 })],
  ];
}

const events = (r: Recorded[]): Array<[Direction, string, Record<string, unknown>]> =>
  r.filter((x) => x.kind === 'event').map((x) => [x.dir, x.type, x.fields]);

describe('MqttSession events', () => {
  it('emits the docs/events.md fields for a 3.1.1 session, without anomalies', () => {
    const sink = runChunks(session311());
    expect(sink.anomalies()).toEqual([]);
    expect(sink.confirmed).toBe(1);
    const ev = events(sink.out);
    expect(ev.map((e) => e[1])).toEqual([
      'connect',
      'connack',
      'subscribe',
      'suback',
      'publish',
      'puback',
      'publish',
      'pubrec',
      'pubrel',
      'pubcomp',
      'publish',
      'puback',
      'unsubscribe',
      'unsuback',
      'pingreq',
      'pingresp',
      'disconnect',
    ]);
    expect(ev[0]).toEqual([
      C,
      'connect',
      {
        type: 'connect',
        version: 4,
        client_id: 'infusion-pump-12',
        username: 'pump',
        password_present: true,
        clean_session: true,
        keep_alive: 30,
        will_topic: 'ward/3/lwt',
        will_retain: true,
      },
    ]);
    expect(ev[1]?.[2]).toEqual({ type: 'connack', version: 4, session_present: false, return_code: 0 });
    expect(ev[2]?.[2]).toEqual({
      type: 'subscribe',
      version: 4,
      packet_id: 1,
      topic_filters: [
        { filter: '#', qos: 0 },
        { filter: '$SYS/#', qos: 1 },
      ],
    });
    expect(ev[3]?.[2]).toEqual({ type: 'suback', version: 4, packet_id: 1, return_codes: [0, 1] });
    expect(ev[4]?.[2]).toEqual({
      type: 'publish',
      version: 4,
      topic: 'ward/3/pump/12/rate',
      qos: 1,
      retain: false,
      dup: false,
      packet_id: 2,
      payload_size: 21,
    });
    expect(ev[12]?.[2]).toEqual({
      type: 'unsubscribe',
      version: 4,
      packet_id: 4,
      topic_filters: [{ filter: '#' }],
    });
    // Patient data and secrets never leave the analyzer.
    expect(JSON.stringify(sink.out)).not.toMatch(/MRN-123456|pw-not-logged|offline|occlusion/);
  });

  it('emits 5.0 reason codes, the assigned client id and resolves topic aliases', () => {
    const sink = runChunks(session5());
    expect(sink.anomalies()).toEqual([]);
    const ev = events(sink.out);
    expect(ev[1]?.[2]).toEqual({
      type: 'connack',
      version: 5,
      session_present: false,
      reason_code: 0,
      client_id: 'auto-ABC',
    });
    expect(ev[3]?.[2]).toEqual({ type: 'suback', version: 5, packet_id: 1, reason_codes: [1] });
    expect(ev[5]?.[2]).toEqual({ type: 'puback', version: 5, packet_id: 2, reason_code: 0x10 });
    expect(ev[6]?.[2]).toMatchObject({ type: 'publish', topic: 'ward/3/vitals', payload_size: 5 });
    expect(ev[7]?.[2]).toEqual({ type: 'auth', version: 5, reason_code: 0x19 });
    expect(ev[10]?.[2]).toEqual({ type: 'unsuback', version: 5, packet_id: 3, reason_codes: [0x11] });
    expect(ev[11]?.[2]).toEqual({ type: 'disconnect', version: 5, reason_code: 4 });
  });

  it('learns 3.1 from an MQIsdp CONNECT', () => {
    const sink = runChunks([
      [C, b.connect({ level: 3 })],
      [S, b.connack()],
      [C, b.publish()],
    ]);
    expect(sink.events().map((e) => e.fields.version)).toEqual([3, 3, 3]);
  });
});

type AnomalyCase = [name: string, chunks: Array<[Direction, Uint8Array]>, expected: string[]];

const ANOMALY_CASES: AnomalyCase[] = [
  [
    'mid-session pickup: missing_connect once, then no state anomalies',
    [
      [C, b.pingreq()],
      [S, b.pingresp()],
      [S, b.ack(4, 9)],
      [C, b.publish({ qos: 1, id: 3 })],
    ],
    ['mqtt.missing_connect'],
  ],
  [
    'second CONNECT [MQTT-3.1.0-2]',
    [
      [C, b.connect()],
      [S, b.connack()],
      [C, b.connect()],
    ],
    ['mqtt.double_connect'],
  ],
  [
    'PUBLISH after a refused CONNACK',
    [
      [C, b.connect()],
      [S, b.connack({ code: 5 })],
      [C, b.publish()],
    ],
    ['mqtt.unintroduced_message'],
  ],
  [
    'pipelined SUBSCRIBE before a refusal',
    [
      [C, b.connect()],
      [C, b.subscribe(1, [['a', 0]])],
      [S, b.connack({ code: 4 })],
    ],
    ['mqtt.unintroduced_message'],
  ],
  [
    'pipelined PUBLISH before an accepting CONNACK is fine [MQTT-3.1.4-5]',
    [
      [C, b.connect()],
      [C, b.publish()],
      [S, b.connack()],
    ],
    [],
  ],
  [
    'server PUBLISH before CONNACK [MQTT-3.2.0-1]',
    [
      [C, b.connect()],
      [S, b.publish()],
    ],
    ['mqtt.unintroduced_message'],
  ],
  [
    'PUBLISH and no CONNACK until the end',
    [
      [C, b.connect()],
      [C, b.publish()],
      [C, b.publish()],
    ],
    ['mqtt.unintroduced_message'],
  ],
  [
    'PUBACK without PUBLISH',
    [
      [C, b.connect()],
      [S, b.connack()],
      [S, b.ack(4, 5)],
    ],
    ['mqtt.missing_publish'],
  ],
  [
    'PUBCOMP before PUBREC',
    [
      [C, b.connect()],
      [S, b.connack()],
      [C, b.publish({ qos: 2, id: 5 })],
      [S, b.ack(7, 5)],
    ],
    ['mqtt.missing_publish'],
  ],
  [
    'SUBACK without SUBSCRIBE',
    [
      [C, b.connect()],
      [S, b.connack()],
      [S, b.suback(3, [0])],
    ],
    ['mqtt.missing_subscribe'],
  ],
  [
    'UNSUBACK without UNSUBSCRIBE',
    [
      [C, b.connect()],
      [S, b.connack()],
      [S, b.unsuback(3)],
    ],
    ['mqtt.missing_unsubscribe'],
  ],
  [
    'PUBLISH QoS 3',
    [
      [C, b.connect()],
      [S, b.connack()],
      [C, b.packet(3, 6, b.cat(b.str('t'), b.u16(1)))],
    ],
    ['mqtt.invalid_qos_level'],
  ],
  [
    'packet type 0 is skipped by length',
    [
      [C, b.connect()],
      [S, b.connack()],
      [C, b.packet(0, 0, b.str('junk'))],
      [C, b.pingreq()],
    ],
    ['mqtt.unassigned_msg_type'],
  ],
  [
    'CONNACK from the client',
    [
      [C, b.connect()],
      [C, b.connack()],
      [S, b.connack()],
    ],
    ['mqtt.wrong_direction'],
  ],
  [
    'reserved flags on SUBSCRIBE',
    [
      [C, b.connect()],
      [S, b.connack()],
      [C, b.packet(8, 0, b.cat(b.u16(1), b.str('t'), [0]))],
      [S, b.suback(1, [0])],
    ],
    ['mqtt.invalid_flags'],
  ],
  [
    'CONNECT naming MQIsdp with level 4',
    [
      [C, b.connect({ name: 'MQIsdp', level: 4 })],
      [S, b.connack()],
    ],
    ['mqtt.invalid_protocol'],
  ],
  [
    'CONNECT with protocol level 9 is skipped',
    [
      [C, b.connect()],
      [S, b.connack()],
      [C, b.connect().map((x, i) => (i === 8 ? 9 : x))],
      [C, b.pingreq()],
    ],
    ['mqtt.invalid_protocol'],
  ],
  [
    '5.0 PUBACK with a CONNECT-only property',
    [
      [C, b.connect({ level: 5 })],
      [S, b.connack({ v5: true })],
      [C, b.publish({ v5: true, qos: 1, id: 1 })],
      [S, b.ack(4, 1, { code: 0, props: [[0x17, 1]] })],
    ],
    ['mqtt.invalid_property'],
  ],
  [
    'QoS 1 PUBLISH with packet id 0',
    [
      [C, b.connect()],
      [S, b.connack()],
      [C, b.publish({ qos: 1, id: 0 })],
      [S, b.ack(4, 0)],
    ],
    ['mqtt.missing_msg_id'],
  ],
  [
    'malformed CONNECT is still a CONNECT',
    [
      [C, b.packet(1, 0, b.cat(b.str('MQTT'), [5, 2], b.u16(60), b.varint(100), b.str('id')))],
      [S, b.connack({ v5: true })],
    ],
    ['mqtt.malformed_packet'],
  ],
];

describe('MqttSession anomalies (Suricata mqtt.rs events and ours)', () => {
  it.each(ANOMALY_CASES)('%s', (_name, chunks, expected) => {
    expect(runChunks(chunks).anomalies()).toEqual(expected);
  });

  it('every anomaly code is reachable and listed in the spec', () => {
    const seen = new Set<string>();
    for (const [, chunks] of ANOMALY_CASES) for (const c of runChunks(chunks).anomalies()) seen.add(c);
    const extra: Array<[Array<[Direction, Uint8Array]>, Partial<MqttLimits>]> = [
      [
        [
          [C, b.connect()],
          [S, b.connack()],
          ...Array.from({ length: 3 }, (_, i): [Direction, Uint8Array] => [
            C,
            b.publish({ qos: 1, id: i + 1 }),
          ]),
        ],
        { maxInflight: 2 },
      ],
      [
        [
          [C, b.connect()],
          [S, b.connack()],
          [C, b.publish({ payload: new Uint8Array(300) })],
        ],
        { maxPacketSize: 100 },
      ],
      [
        [
          [C, b.connect()],
          [S, b.connack()],
          [C, b.cat([0x30, 0xff, 0xff, 0xff, 0xff, 0x01], [1, 2, 3], b.pingreq())],
        ],
        {},
      ],
      [
        [
          [C, b.connect()],
          [S, b.connack()],
          [
            C,
            b.subscribe(1, [
              ['a', 0],
              ['b', 0],
            ]),
          ],
        ],
        { maxTopicFilters: 1 },
      ],
    ];
    for (const [chunks, limits] of extra) for (const c of runChunks(chunks, limits).anomalies()) seen.add(c);
    expect([...seen].sort()).toEqual([...ANOMALY_CODES].sort());
    expect(Object.keys(mqttSpec.schema.anomalies)).toEqual(ANOMALY_CODES);
  });

  it('reports the version of a malformed 5.0 CONNECT on later packets', () => {
    const sink = runChunks([
      [C, b.packet(1, 0, b.cat(b.str('MQTT'), [5, 2], b.u16(60), b.varint(100), b.str('id')))],
      [S, b.connack({ v5: true })],
      [C, b.publish({ v5: true })],
    ]);
    expect(sink.events().map((e) => [e.type, e.fields.version])).toEqual([
      ['connack', 5],
      ['publish', 5],
    ]);
  });

  it('caps outstanding packet ids and says so once', () => {
    const chunks: Array<[Direction, Uint8Array]> = [
      [C, b.connect()],
      [S, b.connack()],
    ];
    for (let id = 1; id <= 20; id++) chunks.push([C, b.publish({ qos: 1, id })]);
    chunks.push([S, b.ack(4, 1)]); // evicted: now unknown
    chunks.push([S, b.ack(4, 20)]);
    const sink = runChunks(chunks, { maxInflight: 8 });
    expect(sink.anomalies()).toEqual(['mqtt.too_many_transactions', 'mqtt.missing_publish']);
  });
});

describe('MqttSession limits', () => {
  it('skips a packet over the size cap by length, never buffering it', () => {
    const sink = new RecordingSink();
    const s = new MqttSession(sink, { maxPacketSize: 4096 });
    s.onData(C, b.connect(), 1);
    s.onData(S, b.connack(), 2);
    const big = b.subscribe(7, [['x'.repeat(60_000), 0]]);
    let maxBuffered = 0;
    for (let i = 0; i < big.length; i += 1000) {
      s.onData(C, big.subarray(i, i + 1000), 3);
      maxBuffered = Math.max(maxBuffered, s.bufferedBytes());
    }
    s.onData(C, b.pingreq(), 4);
    expect(maxBuffered).toBeLessThan(16);
    expect(sink.anomalies()).toEqual(['mqtt.packet_too_large']);
    expect(sink.out.find((r) => r.kind === 'anomaly')?.fields).toMatchObject({ packet_type: 'subscribe' });
    expect(sink.events().map((e) => e.type)).toEqual(['connect', 'connack', 'pingreq']);
    expect(s.stats.bytesSkipped).toBeGreaterThan(59_000);
  });

  it('streams a 1 MB PUBLISH payload without buffering it', () => {
    const sink = new RecordingSink();
    const s = new MqttSession(sink);
    s.onData(C, b.connect(), 1);
    const big = b.publish({ topic: 'imaging/frame', payload: new Uint8Array(1_000_000) });
    let maxBuffered = 0;
    for (let i = 0; i < big.length; i += 1460) {
      s.onData(C, big.subarray(i, i + 1460), 2);
      maxBuffered = Math.max(maxBuffered, s.bufferedBytes());
    }
    expect(maxBuffered).toBeLessThan(64);
    expect(sink.events().at(-1)?.fields).toMatchObject({ topic: 'imaging/frame', payload_size: 1_000_000 });
  });

  it('does not flood: a run of bad packets turns into a hunt, and anomaly events are capped per flow', () => {
    const zeros = runChunks([
      [C, b.connect()],
      [S, b.connack()],
      [C, b.cat(new Uint8Array(10_000), b.publish({ topic: 'after/zeros' }), b.pingreq())],
    ]);
    expect(zeros.anomalies()).toEqual([
      'mqtt.unassigned_msg_type',
      'mqtt.unassigned_msg_type',
      'mqtt.unassigned_msg_type',
      'mqtt.resync',
    ]);
    expect(zeros.events().map((e) => e.fields.topic ?? e.type)).toEqual([
      'connect',
      'connack',
      'after/zeros',
      'pingreq',
    ]);
    const chunks: Array<[Direction, Uint8Array]> = [
      [C, b.connect()],
      [S, b.connack()],
    ];
    for (let i = 0; i < 50; i++) chunks.push([S, b.ack(4, 1000 + i)]);
    const { sink, session } = runSteps(
      chunks.map(([dir, data], i) => ({ dir, ts: i, data })),
      { maxAnomalies: 10 },
    );
    expect(sink.anomalies().length).toBe(10);
    expect(session.stats.anomaliesSuppressed).toBe(40);
  });

  it('lists at most maxTopicFilters filters', () => {
    const filters: Array<[string, number]> = Array.from({ length: 10 }, (_, i) => [`t/${i}`, 0]);
    const sink = runChunks(
      [
        [C, b.connect()],
        [S, b.connack()],
        [C, b.subscribe(1, filters)],
      ],
      { maxTopicFilters: 3 },
    );
    expect(sink.anomalies()).toEqual(['mqtt.too_many_topic_filters']);
    expect((sink.events().at(-1)?.fields.topic_filters as unknown[]).length).toBe(3);
  });
});

describe('MqttSession gaps and resynchronisation', () => {
  const pre: Step[] = [
    { dir: C, ts: 1, data: b.connect() },
    { dir: S, ts: 2, data: b.connack() },
  ];

  it('stays aligned when a gap falls inside a PUBLISH payload', () => {
    const big = b.publish({ topic: 't', payload: new Uint8Array(5000) });
    const { sink, session } = runSteps([
      ...pre,
      { dir: C, ts: 3, data: big.subarray(0, 1000) },
      { dir: C, ts: 4, gap: 2000 },
      { dir: C, ts: 5, data: big.subarray(3000) },
      { dir: C, ts: 6, data: b.pingreq() },
    ]);
    expect(sink.anomalies()).toEqual([]);
    expect(sink.events().map((e) => e.type)).toEqual(['connect', 'connack', 'publish', 'pingreq']);
    expect(session.stats.gaps).toBe(1);
  });

  it('drops a partial packet cut by a gap and skips the rest by its length', () => {
    const sub = b.subscribe(1, [['a'.repeat(300), 0]]);
    const { sink, session } = runSteps([
      ...pre,
      { dir: C, ts: 3, data: sub.subarray(0, 100) },
      { dir: C, ts: 4, gap: 100 },
      { dir: C, ts: 5, data: sub.subarray(200) },
      { dir: C, ts: 6, data: b.pingreq() },
    ]);
    expect(sink.events().map((e) => e.type)).toEqual(['connect', 'connack', 'pingreq']);
    expect(sink.anomalies()).toEqual([]);
    expect(session.stats.messagesLost).toBe(1);
  });

  it('hunts for the next packet after a gap across boundaries', () => {
    const tail = b.cat(
      b.publish({ topic: 'x', payload: 'abcdef' }).subarray(3),
      b.publish({ topic: 'ward/after', payload: 'z' }),
      b.pingreq(),
    );
    const { sink } = runSteps([...pre, { dir: C, ts: 3, gap: 5000 }, { dir: C, ts: 4, data: tail }]);
    expect(sink.anomalies()).toEqual(['mqtt.resync']);
    expect(sink.events().map((e) => e.fields.topic ?? e.type)).toEqual([
      'connect',
      'connack',
      'ward/after',
      'pingreq',
    ]);
  });

  it('resynchronises after a 5-byte remaining length', () => {
    const { sink } = runSteps([
      ...pre,
      {
        dir: C,
        ts: 3,
        data: b.cat([0x30, 0xff, 0xff, 0xff, 0xff, 0x01], b.pingreq(), b.publish({ topic: 'ok' })),
      },
    ]);
    expect(sink.anomalies()[0]).toBe('mqtt.malformed_length');
    expect(sink.events().at(-1)?.fields.topic).toBe('ok');
  });
});

describe('MqttSession detection', () => {
  it('reports a violation for non-MQTT bytes on port 1883, once', () => {
    const sink = new RecordingSink();
    const s = new MqttSession(sink);
    const http = new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(300));
    for (let i = 0; i < http.length; i += 500) s.onData(C, http.subarray(i, i + 500), 1);
    expect(sink.violations.length).toBe(1);
    expect(sink.confirmed).toBe(0);
    expect(sink.out).toEqual([]);
    expect(s.bufferedBytes()).toBe(0);
  });

  it('picks a mid-packet start up at the next packet boundary', () => {
    const pub = b.publish({ topic: 'x', payload: 'abcdef' });
    const sink = runChunks([
      [C, b.cat(pub.subarray(4), b.publish({ topic: 'ward/1' }), b.pingreq())],
      [S, b.pingresp()],
    ]);
    expect(sink.violations).toEqual([]);
    expect(sink.events().map((e) => e.type)).toEqual(['publish', 'pingreq', 'pingresp']);
  });

  it('probe: CONNECT with MQTT or MQIsdp from the client', () => {
    expect(probeMqtt(0, b.connect())).toBe('match');
    expect(probeMqtt(0, b.connect({ level: 3 }))).toBe('match');
    expect(probeMqtt(0, b.connect({ level: 5 }).subarray(0, 5))).toBe('need_more');
    expect(probeMqtt(0, new TextEncoder().encode('GET / HTTP/1.1'))).toBe('need_more');
    expect(probeMqtt(0, new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toBe('no');
    expect(
      probeMqtt(
        0,
        new TextEncoder().encode(
          'GET /mqtt HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n',
        ),
      ),
    ).toBe('match');
    expect(probeMqtt(0, b.connect({ name: 'MQTX' }))).toBe('no');
    expect(probeMqtt(1, b.connack())).toBe('need_more');
    expect(mqttSpec.defaultPorts).toEqual([1883]);
  });
});

/** Feeds each direction's bytes cut at the given points, interleaving directions in the original order. */
function feedSplit(
  chunks: Array<[Direction, Uint8Array]>,
  cut: (i: number, len: number) => number[],
): Recorded[] {
  const sink = new RecordingSink();
  const s = new MqttSession(sink);
  chunks.forEach(([dir, data], i) => {
    let prev = 0;
    for (const at of [...cut(i, data.length), data.length]) {
      if (at > prev) s.onData(dir, data.subarray(prev, at), i);
      prev = Math.max(prev, at);
    }
  });
  return sink.out;
}

describe('split invariance', () => {
  for (const [name, build] of [
    ['3.1.1', session311],
    ['5.0', session5],
  ] as const) {
    it(`${name}: each direction cut at every byte boundary gives identical events`, () => {
      const chunks = build();
      // Whole direction streams (several messages per segment), client first, then server.
      const streams: [Uint8Array, Uint8Array] = [
        b.cat(...chunks.filter(([d]) => d === C).map(([, x]) => x)),
        b.cat(...chunks.filter(([d]) => d === S).map(([, x]) => x)),
      ];
      const norm = (r: Recorded[]): string => JSON.stringify(r.map((x) => [x.dir, x.kind, x.type, x.fields]));
      const run = (cutDir: Direction, at: number): string => {
        const sink = new RecordingSink();
        const s = new MqttSession(sink);
        for (const dir of [C, S] as const) {
          const data = streams[dir];
          if (dir === cutDir) {
            s.onData(dir, data.subarray(0, at), 0);
            s.onData(dir, data.subarray(at), 0);
          } else s.onData(dir, data, 0);
        }
        return norm(sink.out);
      };
      const expected = run(C, 0);
      expect(expected).toContain('"connect"');
      for (const dir of [C, S] as const) {
        for (let at = 0; at <= streams[dir].length; at++) expect(run(dir, at)).toBe(expected);
      }
    });
  }

  it('random splits of large messages give identical events', () => {
    const chunks: Array<[Direction, Uint8Array]> = [
      [C, b.connect({ level: 5 })],
      [S, b.connack({ v5: true })],
      [
        C,
        b.publish({
          v5: true,
          topic: 'big/1',
          props: [[0x26, ['k', 'v'.repeat(3000)]]],
          payload: new Uint8Array(40_000),
        }),
      ],
      [
        C,
        b.subscribe(
          2,
          Array.from({ length: 50 }, (_, i): [string, number] => [`ward/${i}/#`, 1]),
          { v5: true },
        ),
      ],
      [
        S,
        b.suback(
          2,
          Array.from({ length: 50 }, () => 1),
          { v5: true },
        ),
      ],
    ];
    const expected = feedSplit(chunks, () => []);
    let seed = 42;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let run = 0; run < 30; run++) {
      const got = feedSplit(chunks, (_i, len) =>
        Array.from({ length: 1 + Math.floor(rnd() * 20) }, () => Math.floor(rnd() * len)).sort(
          (x, y) => x - y,
        ),
      );
      expect(got).toEqual(expected);
    }
  });
});
