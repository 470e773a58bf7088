// TLS analyzer throughput on the handshakes of fixtures/tls (TLS 1.2 with a two-certificate chain, TLS 1.3), each
// followed by 1 MiB of application data per direction, fed in 1460-byte segments; printed, never asserted.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { readCaptureFile } from '../agent/capture/file.js';
import { Decoder } from '../agent/decode/decoder.js';
import { createPacket, IpProto } from '../agent/decode/packet.js';
import { TlsSession } from '../agent/protocols/tls/session.js';
import { CertCache } from '../agent/protocols/tls/x509.js';
import { benchAnalyzer, cat, NULL_SINK, type BenchResult, type Flow } from './analyzer-harness.js';

/** The TCP payload of each direction of a one-connection capture, in order (loopback, no loss or reordering). */
async function streams(file: string): Promise<[Uint8Array, Uint8Array]> {
  const parts: [Uint8Array[], Uint8Array[]] = [[], []];
  const decoder = new Decoder();
  const pkt = createPacket();
  let clientPort = -1;
  await readCaptureFile(file, (frame) => {
    if (decoder.decode(frame, pkt) !== 'ok' || pkt.proto !== IpProto.TCP || pkt.payload.length === 0) return;
    if (clientPort < 0) clientPort = pkt.srcPort;
    parts[pkt.srcPort === clientPort ? 0 : 1].push(Uint8Array.from(pkt.payload));
  });
  return [cat(parts[0]), cat(parts[1])];
}

/** Application data records (type 23) of 16 KiB until `bytes`. */
function appData(bytes: number): Uint8Array {
  const rec = new Uint8Array(5 + 16384).fill(0xa5);
  rec.set([23, 3, 3, 0x40, 0x00]);
  return cat(Array.from({ length: Math.ceil(bytes / rec.length) }, () => rec));
}

export async function runTlsBench(
  fixtures: string,
  rounds: number,
): Promise<Array<{ name: string; cold: BenchResult; handshake: BenchResult; withData: BenchResult }>> {
  const out = [];
  for (const name of ['tls12-dicom.pcap', 'tls13-https.pcap']) {
    const [c, s] = await streams(path.join(fixtures, name));
    // Messages: the hellos and (1.2) the certificate event, what the analyzer reports per connection.
    const messages = name.startsWith('tls12') ? 3 : 2;
    const hs: Flow = { client: c, server: s, messages };
    const data = appData(1 << 20);
    const big: Flow = { client: cat([c, data]), server: cat([s, data]), messages };
    const ts = { client: 1, server: 2, end: 3 };
    // Cold: every connection parses its certificates; warm: the spec's cache already holds the chain (the usual case:
    // a server sends the same chain to every client).
    const shared = new CertCache();
    out.push({
      name,
      cold: benchAnalyzer(hs, () => new TlsSession(NULL_SINK), { rounds, warmup: 50, ts }),
      handshake: benchAnalyzer(hs, () => new TlsSession(NULL_SINK, {}, shared), { rounds, warmup: 50, ts }),
      withData: benchAnalyzer(big, () => new TlsSession(NULL_SINK, {}, shared), {
        rounds: Math.max(1, rounds / 50),
        warmup: 5,
        ts,
      }),
    });
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const fixtures = process.env.TLS_FIXTURES ?? path.resolve('fixtures/tls');
  for (const r of await runTlsBench(fixtures, 2000)) {
    console.log(
      `tls analyzer ${r.name}: ${Math.round(r.cold.messagesPerSecond).toLocaleString('en')} events/s certificates parsed each time, ${Math.round(r.handshake.messagesPerSecond).toLocaleString('en')} events/s from the cache (handshake alone); ${r.withData.mbPerSecond.toFixed(0)} MB/s with 1 MiB of application data each way`,
    );
  }
}
