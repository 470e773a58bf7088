// Fuzz properties of the TLS parsers and session (fast-check, fixed seed, bounded runs): never throw, stay under the
// caps, and give the same events however a valid stream is cut. Seeds are our fixtures' streams and built hellos.
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../../agent/capture/file.js';
import { Decoder } from '../../../agent/decode/decoder.js';
import { createPacket, IpProto } from '../../../agent/decode/packet.js';
import { ANOMALIES } from '../../../agent/protocols/tls/events.js';
import { ja3, ja4 } from '../../../agent/protocols/tls/fingerprint.js';
import {
  DEFAULT_LIMITS,
  parseCertificateList,
  parseClientHello,
  parseServerHello,
} from '../../../agent/protocols/tls/parse.js';
import { TlsSession } from '../../../agent/protocols/tls/session.js';
import { describeCertificate } from '../../../agent/protocols/tls/x509.js';
import type { Direction } from '../../../agent/protocols/types.js';
import { RecordingSink } from '../../helpers/sink.js';
import { FIXTURES } from '../../helpers/paths.js';
import * as b from './builders.js';

const RUNS = { seed: 15, numRuns: 300 };
/** The most a session may hold: one handshake message per direction at the cap. */
const CAP = 2 * DEFAULT_LIMITS.maxHandshakeBytes;

/** The TCP payload of each direction of the first flow in a fixture, in order (loopback, no loss). */
async function streams(file: string): Promise<[Uint8Array, Uint8Array]> {
  const parts: [number[], number[]] = [[], []];
  const decoder = new Decoder();
  const pkt = createPacket();
  let clientPort = -1;
  await readCaptureFile(file, (frame) => {
    if (decoder.decode(frame, pkt) !== 'ok' || pkt.proto !== IpProto.TCP || pkt.payload.length === 0) return;
    if (clientPort < 0) clientPort = pkt.srcPort;
    const dir = pkt.srcPort === clientPort ? 0 : 1;
    parts[dir].push(...pkt.payload);
  });
  return [Uint8Array.from(parts[0]), Uint8Array.from(parts[1])];
}

function feed(pieces: Array<[Direction, Uint8Array]>): { sink: RecordingSink; peak: number; s: TlsSession } {
  const sink = new RecordingSink();
  const s = new TlsSession(sink);
  let peak = 0;
  pieces.forEach(([dir, bytes], i) => {
    s.onData(dir, bytes, i);
    peak = Math.max(peak, s.bufferedBytes());
  });
  s.onEnd(0, pieces.length);
  s.onEnd(1, pieces.length);
  return { sink, peak, s };
}

/** The handshake of a fixture as pieces in wire order: client flight, server flight, rest. */
function flights(c: Uint8Array, s: Uint8Array, cuts: number[]): Array<[Direction, Uint8Array]> {
  const cutAll = (dir: Direction, bytes: Uint8Array): Array<[Direction, Uint8Array]> => {
    const points = [...new Set(cuts.map((x) => x % (bytes.length + 1)))].sort((x, y) => x - y);
    const out: Array<[Direction, Uint8Array]> = [];
    let prev = 0;
    for (const p of [...points, bytes.length]) {
      if (p > prev) out.push([dir, bytes.subarray(prev, p)]);
      prev = Math.max(prev, p);
    }
    return out;
  };
  return [...cutAll(0, c), ...cutAll(1, s)];
}

describe('TLS parsers never throw', () => {
  it('on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const ch = parseClientHello(bytes);
        if (ch.ok) {
          expect(ja4(ch.value).ja4).toMatch(/^t..[di]\d{4}.._[0-9a-f]{12}_[0-9a-f]{12}$/);
          expect(typeof ja3(ch.value).ja3).toBe('string');
        }
        parseServerHello(bytes);
        const certs = parseCertificateList(bytes, 4);
        if (certs.ok) expect(certs.value.certs.length).toBeLessThanOrEqual(4);
        describeCertificate(bytes, { maxCertBytes: 512, maxFieldChars: 16, maxSanNames: 2 });
      }),
      RUNS,
    );
  });

  it('on valid hellos with one byte changed or the end cut', () => {
    const hello = b.clientHelloBody({
      ciphers: [0x0a0a, 0x1301, 0xc02b],
      extensions: [
        b.sniExt('a.example'),
        b.alpnExt([b.ascii('h2')]),
        b.versionsExt([0x0304]),
        b.sigAlgsExt([0x0403]),
      ],
    });
    fc.assert(
      fc.property(
        fc.nat(hello.length - 1),
        fc.integer({ min: 0, max: 255 }),
        fc.nat(hello.length),
        (at, v, cut) => {
          const bytes = Uint8Array.from(hello.slice(0, cut));
          if (at < bytes.length) bytes[at] = v;
          const r = parseClientHello(bytes);
          if (r.ok) expect(r.value.cipherSuites.length).toBeLessThanOrEqual(bytes.length / 2);
        },
      ),
      RUNS,
    );
  });
});

describe('TLS session', () => {
  it('never throws, stays under its cap and reports only known codes on hostile bytes', () => {
    const seed = b.hsRecord(
      b.handshake(1, b.clientHelloBody({ extensions: [b.sniExt('x'), b.versionsExt([0x0304])] })),
    );
    const piece = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.constant(Uint8Array.from(seed)),
      // Record headers that promise large handshake messages, then little.
      fc
        .integer({ min: 0, max: 0xffffff })
        .map((len) =>
          Uint8Array.from([0x16, 3, 3, 0x40, 0x00, 11, (len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff]),
        ),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom<Direction>(0, 1), piece), { maxLength: 30 }),
        (pieces) => {
          const { sink, peak, s } = feed(pieces);
          expect(peak).toBeLessThanOrEqual(CAP);
          expect(s.bufferedBytes()).toBe(0);
          for (const code of sink.anomalies()) expect(Object.keys(ANOMALIES)).toContain(code);
          expect(sink.anomalies().length).toBeLessThanOrEqual(DEFAULT_LIMITS.maxAnomalies);
        },
      ),
      RUNS,
    );
  });

  it('gives the same events however the fixtures streams are cut', async () => {
    const files = [
      'tls12-dicom.pcap',
      'tls12-mutual-mqtt.pcap',
      'tls13-https.pcap',
      'mqtt-mosquitto-tls12.pcap',
    ];
    for (const f of files) {
      const [c, s] = await streams(path.join(FIXTURES, 'tls', f));
      const whole = feed([
        [0, c],
        [1, s],
      ]).sink.events();
      expect(whole.length, f).toBeGreaterThanOrEqual(2);
      const strip = (e: { type: string; fields: unknown }): unknown => [e.type, e.fields];
      fc.assert(
        fc.property(fc.array(fc.nat(20000), { maxLength: 40 }), (cuts) => {
          const { sink } = feed(flights(c, s, cuts));
          expect(sink.events().map(strip)).toEqual(whole.map(strip));
          expect(sink.anomalies()).toEqual([]);
        }),
        { seed: 15, numRuns: 60 },
      );
    }
  });
});
