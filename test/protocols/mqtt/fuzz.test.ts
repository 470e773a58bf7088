// Fuzz properties of the MQTT parser and session (fast-check, fixed seed, bounded runs), seeded from the committed corpus.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../../agent/capture/file.js';
import { Decoder } from '../../../agent/decode/decoder.js';
import { createPacket, IpProto } from '../../../agent/decode/packet.js';
import { FIXTURES } from '../../helpers/paths.js';
import { ANOMALY_CODES } from '../../../agent/protocols/mqtt/events.js';
import { DEFAULT_LIMITS, parsePacket } from '../../../agent/protocols/mqtt/parse.js';
import { MqttSession } from '../../../agent/protocols/mqtt/session.js';
import type { Direction } from '../../../agent/protocols/types.js';
import * as b from './builders.js';
import { RecordingSink } from './helpers.js';

const CORPUS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'corpus');
const RUNS = { seed: 42, numRuns: 200 };

/** The seed corpus: one file per direction stream, `c-` client, `s-` server; our own bytes only. Rewrite with WRITE_MQTT_CORPUS=1. */
function buildCorpus(): Record<string, Uint8Array> {
  const props5: b.Prop[] = [
    [0x11, 60],
    [0x21, 20],
    [0x26, ['site', 'ward-3']],
  ];
  return {
    'c-311-session.bin': b.cat(
      b.connect({
        clientId: 'pump-12',
        username: 'u',
        password: 'p',
        will: { topic: 'lwt', payload: 'x', retain: true },
      }),
      b.subscribe(1, [
        ['#', 0],
        ['$SYS/#', 1],
      ]),
      b.publish({ qos: 1, id: 2 }),
      b.publish({ qos: 2, id: 3, retain: true }),
      b.ack(6, 3),
      b.ack(4, 1),
      b.unsubscribe(4, ['#']),
      b.pingreq(),
      b.disconnect(),
    ),
    's-311-session.bin': b.cat(
      b.connack(),
      b.suback(1, [0, 1]),
      b.ack(4, 2),
      b.ack(5, 3),
      b.ack(7, 3),
      b.publish({ qos: 1, id: 1, topic: 'cmd' }),
      b.unsuback(4),
      b.pingresp(),
    ),
    'c-5-session.bin': b.cat(
      b.connect({ level: 5, props: props5, will: { topic: 'w', payload: 'x', props: [[0x18, 5]] } }),
      b.subscribe(1, [['a/+', 0x2e]], { v5: true, props: [[0x0b, 7]] }),
      b.publish({
        v5: true,
        qos: 2,
        id: 2,
        props: [
          [0x23, 3],
          [0x01, 1],
          [0x09, b.utf8('c')],
        ],
      }),
      b.publish({ v5: true, topic: '', props: [[0x23, 3]] }),
      b.ack(6, 2, { code: 0 }),
      b.auth(0x19, [[0x15, 'SCRAM']]),
      b.disconnect({ code: 4, props: [[0x11, 0]] }),
    ),
    's-5-session.bin': b.cat(
      b.connack({
        v5: true,
        props: [
          [0x12, 'auto-1'],
          [0x24, 1],
          [0x27, 65536],
        ],
      }),
      b.suback(1, [2], { v5: true }),
      b.ack(5, 2, { code: 0x10, props: [[0x1f, 'ok']] }),
      b.ack(7, 2),
      b.auth(0),
      b.unsuback(3, { v5: true, codes: [0x11] }),
    ),
    'c-31-session.bin': b.cat(
      b.connect({ level: 3, username: 'a' }),
      b.publish({ qos: 1, id: 1 }),
      b.disconnect(),
    ),
    'c-malformed.bin': b.cat(
      b.connect(),
      Uint8Array.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]),
      b.packet(0, 0, b.str('x')),
      b.packet(3, 6, b.cat(b.str('t'), b.u16(1))),
      b.pingreq(),
    ),
    'c-big-publish.bin': b.cat(
      b.connect(),
      b.publish({ topic: 'big', payload: new Uint8Array(3000).fill(0x41) }),
    ),
  };
}

function loadCorpus(): Array<[Direction, Uint8Array]> {
  if (process.env.WRITE_MQTT_CORPUS === '1') {
    mkdirSync(CORPUS, { recursive: true });
    for (const [name, bytes] of Object.entries(buildCorpus())) writeFileSync(path.join(CORPUS, name), bytes);
  }
  return readdirSync(CORPUS)
    .filter((f) => f.endsWith('.bin'))
    .sort()
    .map((f) => [f.startsWith('s-') ? 1 : 0, new Uint8Array(readFileSync(path.join(CORPUS, f)))]);
}

/** Real traffic seeds: each fixture capture's client and server bytes (loopback, no retransmissions). */
async function loadCaptureSeeds(): Promise<Array<[Direction, Uint8Array]>> {
  const dir = path.join(FIXTURES, 'mqtt');
  const seeds: Array<[Direction, Uint8Array]> = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.pcap'))) {
    // Per server port (1883 plain, 8080 WebSocket) and direction.
    const parts = new Map<string, Uint8Array[]>();
    const decoder = new Decoder();
    const pkt = createPacket();
    await readCaptureFile(path.join(dir, f), (frame) => {
      if (decoder.decode(frame, pkt) !== 'ok' || pkt.proto !== IpProto.TCP || pkt.payload.length === 0)
        return;
      const toServer = pkt.dstPort === 1883 || pkt.dstPort === 8080;
      const key = `${toServer ? pkt.dstPort : pkt.srcPort} ${toServer ? 0 : 1}`;
      parts.set(key, [...(parts.get(key) ?? []), pkt.payload.slice()]);
    });
    for (const [key, list] of [...parts].sort()) seeds.push([key.endsWith(' 0') ? 0 : 1, b.cat(...list)]);
  }
  return seeds;
}

describe('MQTT fuzz', () => {
  const corpus = loadCorpus();
  beforeAll(async () => {
    corpus.push(...(await loadCaptureSeeds()));
  });

  it('the committed corpus is what the builders make', () => {
    const built = buildCorpus();
    for (const f of readdirSync(CORPUS).filter((x) => x.endsWith('.bin'))) {
      expect(new Uint8Array(readFileSync(path.join(CORPUS, f))), f).toEqual(built[f]);
    }
    expect(loadCorpus().length).toBe(Object.keys(built).length);
    // Plus the fixture captures' client and server streams.
    expect(
      corpus.slice(Object.keys(built).length).filter(([, x]) => x.length > 0).length,
    ).toBeGreaterThanOrEqual(6);
  });

  it('parsePacket never throws and its results are consistent', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.constantFrom(0 as const, 3 as const, 4 as const, 5 as const),
        (bytes, version) => {
          const r = parsePacket(bytes, 0, DEFAULT_LIMITS, version);
          if (r.kind === 'need') expect(r.bytes).toBeGreaterThan(bytes.length);
          if (r.kind === 'ok') {
            expect(r.consumed).toBe(r.msg.headerLength + r.msg.remainingLength);
            if (r.msg.type !== 3) expect(r.consumed).toBeLessThanOrEqual(bytes.length);
          }
          if (r.kind === 'bad') expect(r.skip === -1 || r.skip >= 2).toBe(true);
        },
      ),
      RUNS,
    );
  });

  const mutation = fc.record({
    file: fc.nat(),
    edits: fc.array(
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete')),
      { maxLength: 8 },
    ),
    cuts: fc.array(fc.nat(), { maxLength: 12 }),
  });

  function mutate(src: Uint8Array, edits: Array<[number, number, string]>): Uint8Array {
    const out = Array.from(src);
    for (const [at, value, op] of edits) {
      const i = out.length === 0 ? 0 : at % out.length;
      if (op === 'set') out[i] = value;
      else if (op === 'insert') out.splice(i, 0, value);
      else out.splice(i, 1);
    }
    return Uint8Array.from(out);
  }

  it('the session never throws, keeps buffers under the cap and emits only listed anomaly codes (mutated corpus)', () => {
    const limits = { maxPacketSize: 2048 };
    const cap = 2 * (limits.maxPacketSize + 5);
    fc.assert(
      fc.property(mutation, fc.boolean(), ({ file, edits, cuts }, withGap) => {
        const [dir, src] = corpus[file % corpus.length] ?? [0, new Uint8Array(0)];
        const data = mutate(src, edits);
        const sink = new RecordingSink();
        const s = new MqttSession(sink, limits);
        const points = [...cuts.map((c) => (data.length ? c % data.length : 0)), data.length].sort(
          (x, y) => x - y,
        );
        let prev = 0;
        for (const p of points) {
          if (p > prev) s.onData(dir, data.subarray(prev, p), prev);
          if (withGap && p === points[0]) s.onGap(dir, 7, p);
          expect(s.bufferedBytes()).toBeLessThanOrEqual(cap);
          prev = p;
        }
        s.onData((1 - dir) as Direction, data, 0);
        s.onEnd(0, 0);
        s.onEnd(1, 0);
        expect(s.bufferedBytes()).toBe(0);
        for (const code of sink.anomalies()) expect(ANOMALY_CODES).toContain(code);
      }),
      RUNS,
    );
  });

  it('random splits of every corpus and capture stream give the events of the unsplit stream', () => {
    const run = (dir: Direction, data: Uint8Array, points: number[]): string => {
      const sink = new RecordingSink();
      const s = new MqttSession(sink);
      let prev = 0;
      for (const p of [...points, data.length]) {
        if (p > prev) s.onData(dir, data.subarray(prev, p), 0);
        prev = Math.max(prev, p);
      }
      return JSON.stringify(sink.out);
    };
    fc.assert(
      fc.property(fc.nat(), fc.array(fc.nat(), { maxLength: 20 }), (file, cuts) => {
        const [dir, data] = corpus[file % corpus.length] ?? [0, new Uint8Array(0)];
        const points = cuts.map((c) => (data.length ? c % data.length : 0)).sort((x, y) => x - y);
        const whole = run(dir, data, []);
        // Where a boundary is hunted for, the sync point may depend on where segments end (a candidate
        // ending exactly at the end of the data is accepted): invariance holds for framed streams only.
        fc.pre(!whole.includes('mqtt.resync'));
        expect(run(dir, data, points)).toBe(whole);
      }),
      RUNS,
    );
  });

  it('the session never throws on random bytes in both directions', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom<Direction>(0, 1), fc.uint8Array({ maxLength: 200 })), {
          maxLength: 10,
        }),
        (steps) => {
          const s = new MqttSession(new RecordingSink(), { maxPacketSize: 512 });
          for (const [dir, bytes] of steps) s.onData(dir, bytes, 0);
          expect(s.bufferedBytes()).toBeLessThanOrEqual(2 * 517);
        },
      ),
      RUNS,
    );
  });
});
