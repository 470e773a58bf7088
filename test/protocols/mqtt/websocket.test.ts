// MQTT over WebSocket (MQTT 5.0 §6, RFC 6455): HTTP upgrade, masked client frames, control frames, frame splits, gaps, failures.
import { describe, expect, it } from 'vitest';
import type { Direction } from '../../../agent/protocols/types.js';
import { MqttSession } from '../../../agent/protocols/mqtt/session.js';
import * as b from './builders.js';
import { RecordingSink } from './helpers.js';

const enc = new TextEncoder();
const REQUEST = enc.encode(
  'GET /mqtt HTTP/1.1\r\nHost: broker.ward\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: mqtt\r\nSec-WebSocket-Version: 13\r\n\r\n',
);
const RESPONSE = enc.encode(
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n',
);

/** One WebSocket frame [RFC 6455 §5.2]; client frames are masked. */
function frame(payload: Uint8Array, o: { masked: boolean; opcode?: number; fin?: boolean }): Uint8Array {
  const n = payload.length;
  const len =
    n < 126
      ? [n]
      : n < 65536
        ? [126, n >> 8, n & 0xff]
        : [127, 0, 0, 0, 0, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  const head = [
    ((o.fin ?? true) ? 0x80 : 0) | (o.opcode ?? 2),
    (o.masked ? 0x80 : 0) | (len[0] ?? 0),
    ...len.slice(1),
  ];
  if (!o.masked) return b.cat(head, payload);
  const key = [0x37, 0xfa, 0x21, 0x3d];
  return b.cat(
    head,
    key,
    payload.map((x, i) => x ^ (key[i & 3] ?? 0)),
  );
}

function wsFlow(): Array<[Direction, Uint8Array]> {
  const bigPublish = b.publish({ topic: 'ward/3/ecg', qos: 1, id: 2, payload: new Uint8Array(70_000) });
  return [
    [0, REQUEST],
    [1, RESPONSE],
    [0, frame(b.connect({ clientId: 'browser-dash', username: 'viewer', password: 'pw' }), { masked: true })],
    [1, frame(b.connack(), { masked: false })],
    // Two MQTT packets in one frame, then one PUBLISH over three frames (64-bit and 16-bit lengths, continuation).
    [0, frame(b.cat(b.subscribe(1, [['ward/#', 0]]), b.pingreq()), { masked: true })],
    [1, frame(b.cat(b.suback(1, [0]), b.pingresp()), { masked: false })],
    [0, frame(bigPublish.subarray(0, 66_000), { masked: true, fin: false })],
    [0, frame(enc.encode('keepalive'), { masked: true, opcode: 9 })], // ping control frame between fragments
    [0, frame(bigPublish.subarray(66_000, 66_100), { masked: true, opcode: 0, fin: false })],
    [0, frame(bigPublish.subarray(66_100), { masked: true, opcode: 0 })],
    [1, frame(b.ack(4, 2), { masked: false })],
    [0, frame(b.disconnect(), { masked: true })],
    [0, frame(new Uint8Array([0x03, 0xe8]), { masked: true, opcode: 8 })],
  ];
}

function run(chunks: Array<[Direction, Uint8Array]>, split?: (len: number) => number[]): RecordingSink {
  const sink = new RecordingSink();
  const s = new MqttSession(sink);
  for (const [dir, data] of chunks) {
    let prev = 0;
    for (const at of [...(split ? split(data.length) : []), data.length]) {
      if (at > prev) s.onData(dir, data.subarray(prev, at), 0);
      prev = Math.max(prev, at);
    }
  }
  return sink;
}

/** The MQTT packets of wsFlow(), in the order the two directions interleave. */
const WS_FLOW_TYPES = [
  'connect',
  'connack',
  'subscribe',
  'pingreq',
  'suback',
  'pingresp',
  'publish',
  'puback',
  'disconnect',
];

describe('MQTT over WebSocket', () => {
  it('decodes MQTT inside WebSocket frames', () => {
    const sink = run(wsFlow());
    expect(sink.violations).toEqual([]);
    expect(sink.anomalies()).toEqual([]);
    expect(sink.events().map((e) => e.type)).toEqual(WS_FLOW_TYPES);
    expect(sink.events()[0]?.fields).toMatchObject({
      client_id: 'browser-dash',
      username: 'viewer',
      password_present: true,
    });
    expect(sink.events().find((e) => e.type === 'publish')?.fields).toMatchObject({
      topic: 'ward/3/ecg',
      payload_size: 70_000,
    });
  });

  it('gives the same events whatever the TCP segmentation', () => {
    const expected = JSON.stringify(run(wsFlow()).out);
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let i = 0; i < 20; i++) {
      expect(
        JSON.stringify(
          run(wsFlow(), (len) =>
            Array.from({ length: 6 }, () => Math.floor(rnd() * len)).sort((x, y) => x - y),
          ).out,
        ),
      ).toBe(expected);
    }
    // Every byte boundary of the small frames.
    const small = wsFlow().slice(0, 6);
    const exp = JSON.stringify(run(small).out);
    for (let at = 0; at < 200; at++)
      expect(JSON.stringify(run(small, (len) => [Math.min(at, len)]).out)).toBe(exp);
  });

  it('keeps its buffers small while a 70 kB PUBLISH streams through', () => {
    const sink = new RecordingSink();
    const s = new MqttSession(sink);
    let max = 0;
    for (const [dir, data] of wsFlow()) {
      for (let o = 0; o < data.length; o += 1460) {
        s.onData(dir, data.subarray(o, o + 1460), 0);
        max = Math.max(max, s.bufferedBytes());
      }
    }
    expect(max).toBeLessThan(300); // the HTTP head is the largest thing held
  });

  it('stays aligned across a gap inside a frame payload', () => {
    const sink = new RecordingSink();
    const s = new MqttSession(sink);
    const flow = wsFlow();
    for (const [dir, data] of flow.slice(0, 6)) s.onData(dir, data, 0);
    const pub = flow[6]?.[1] ?? new Uint8Array(0);
    s.onData(0, pub.subarray(0, 5000), 1);
    s.onGap(0, 30_000, 2);
    s.onData(0, pub.subarray(35_000), 3);
    for (const [dir, data] of flow.slice(7)) s.onData(dir, data, 4);
    expect(sink.anomalies()).toEqual([]);
    expect(sink.events().map((e) => e.type)).toEqual(WS_FLOW_TYPES);
  });

  it('gives the flow up when the upgrade is refused or the frames are not WebSocket', () => {
    const refused = run([
      [0, REQUEST],
      [1, enc.encode('HTTP/1.1 403 Forbidden\r\n\r\n')],
    ]);
    expect(refused.violations.length).toBe(1);
    const junk = run([
      [0, REQUEST],
      [1, RESPONSE],
      [0, frame(b.connect(), { masked: false })],
    ]);
    expect(junk.violations.length).toBe(1);
    expect(junk.events()).toEqual([]);
  });
});
