// MQTT analyzer throughput on a synthetic 3.1.1 + 5.0 flow fed in 1460-byte segments, optionally against mqtt-packet; printed, never asserted.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { MqttSession } from '../agent/protocols/mqtt/session.js';
import {
  NULL_SINK,
  benchAnalyzer,
  cat,
  segments,
  time,
  type BenchResult,
  type Flow,
} from './analyzer-harness.js';

const enc = new TextEncoder();

function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

const str = (s: string): Uint8Array => {
  const b = enc.encode(s);
  return cat([Uint8Array.from([b.length >> 8, b.length & 0xff]), b]);
};
const packet = (first: number, body: Uint8Array): Uint8Array =>
  cat([Uint8Array.from([first, ...varint(body.length)]), body]);
const u16 = (n: number): Uint8Array => Uint8Array.from([n >> 8, n & 0xff]);

/** One connection: CONNECT/CONNACK, SUBSCRIBE, then `n` PUBLISH (QoS 0/1 mix, 40-600 byte payloads) with PUBACKs and pings. */
export function buildFlow(n: number, v5: boolean): Flow {
  const client: Uint8Array[] = [];
  const server: Uint8Array[] = [];
  const props = v5 ? Uint8Array.from([0]) : new Uint8Array(0);
  client.push(
    packet(
      0x10,
      cat([
        str('MQTT'),
        Uint8Array.from([v5 ? 5 : 4, 0xc2, 0, 30]),
        props,
        str('monitor-0042'),
        str('station'),
        str('pw'),
      ]),
    ),
  );
  server.push(packet(0x20, cat([Uint8Array.from([0, 0]), props])));
  client.push(packet(0x82, cat([u16(1), props, str('ward/+/cmd'), Uint8Array.from([1])])));
  server.push(packet(0x90, cat([u16(1), props, Uint8Array.from([1])])));
  let messages = 4;
  for (let i = 0; i < n; i++) {
    const qos = i % 3 === 0 ? 1 : 0;
    const payload = new Uint8Array(40 + ((i * 37) % 560)).fill(0x30 + (i % 10));
    const pprops = v5 ? Uint8Array.from([3, 0x23, 0, 1 + (i % 8)]) : new Uint8Array(0);
    client.push(
      packet(
        0x30 | (qos << 1),
        cat([
          str(`ward/3/bed/${i % 24}/vitals`),
          qos ? u16((i % 65535) + 1) : new Uint8Array(0),
          pprops,
          payload,
        ]),
      ),
    );
    messages++;
    if (qos) {
      server.push(packet(0x40, u16((i % 65535) + 1)));
      messages++;
    }
    if (i % 50 === 0) {
      client.push(Uint8Array.from([0xc0, 0]));
      server.push(Uint8Array.from([0xd0, 0]));
      messages += 2;
    }
  }
  return { client: cat(client), server: cat(server), messages };
}

export function runMqttBench(rounds = 50, perFlow = 2000, v5 = false): BenchResult {
  return benchAnalyzer(buildFlow(perFlow, v5), () => new MqttSession(NULL_SINK), {
    rounds,
    warmup: 5,
    ts: { client: 1, server: 2, end: 3 },
  });
}

interface MqttPacketParser {
  on(ev: string, fn: (x: unknown) => void): void;
  parse(buf: Buffer): number;
}

/** mqtt-packet (not a dependency): set MQTT_PACKET_DIR to a folder whose node_modules holds it. */
function loadMqttPacket(): ((opts: { protocolVersion: number }) => MqttPacketParser) | null {
  const dir = process.env.MQTT_PACKET_DIR;
  if (!dir) return null;
  try {
    const mod = createRequire(`${dir}/package.json`)('mqtt-packet') as {
      parser: (o: { protocolVersion: number }) => MqttPacketParser;
    };
    return mod.parser;
  } catch {
    return null;
  }
}

function runMqttPacket(
  make: (o: { protocolVersion: number }) => MqttPacketParser,
  rounds: number,
  perFlow: number,
  v5: boolean,
): number {
  const { client, server, messages } = buildFlow(perFlow, v5);
  const cb = Buffer.from(client);
  const sb = Buffer.from(server);
  const sec = time(rounds, 5, () => {
    for (const b of [cb, sb]) {
      const p = make({ protocolVersion: v5 ? 5 : 4 });
      p.on('packet', () => {});
      p.on('error', () => {});
      segments(b, (seg) => p.parse(seg));
    }
  });
  return (messages * rounds) / sec;
}

/** How mqtt-packet treats hostile framing a passive sniffer meets: a 5-byte length and a 200 MB declared PUBLISH. */
function probeMqttPacket(make: (o: { protocolVersion: number }) => MqttPacketParser): string {
  const out: string[] = [];
  const p = make({ protocolVersion: 4 });
  let errors = 0;
  p.on('error', () => errors++);
  p.parse(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 1, 0x41]));
  out.push(`5-byte length: ${errors ? 'error event' : 'accepted'}`);
  const q = make({ protocolVersion: 4 });
  let packets = 0;
  q.on('packet', () => packets++);
  q.on('error', () => {});
  const head = Buffer.from([0x30, ...varint(200_000_000), 0, 1, 0x41]);
  q.parse(head);
  const mb0 = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < 200; i++) q.parse(Buffer.alloc(64 * 1024));
  const grew = (process.memoryUsage().arrayBuffers - mb0) / 1e6;
  out.push(
    `200 MB declared PUBLISH: ${packets} packets after 12.5 MB fed, ~${grew.toFixed(0)} MB held waiting for the rest`,
  );
  return out.join('; ');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const v5 of [false, true]) {
    const r = runMqttBench(50, 2000, v5);
    console.log(
      `mqtt analyzer (${v5 ? '5.0' : '3.1.1'}): ${Math.round(r.messagesPerSecond).toLocaleString('en')} messages/s, ${r.mbPerSecond.toFixed(0)} MB/s (1460-byte segments, packet-id tracking on)`,
    );
  }
  const mp = loadMqttPacket();
  if (mp) {
    for (const v5 of [false, true]) {
      console.log(
        `mqtt-packet parser (${v5 ? '5.0' : '3.1.1'}): ${Math.round(runMqttPacket(mp, 50, 2000, v5)).toLocaleString('en')} messages/s (same stream, payloads copied into packets)`,
      );
    }
    console.log(`mqtt-packet on hostile framing: ${probeMqttPacket(mp)}`);
  } else {
    console.log(
      'mqtt-packet comparison skipped (set MQTT_PACKET_DIR to a folder with node_modules/mqtt-packet)',
    );
  }
}
