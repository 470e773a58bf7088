// HL7/MLLP analyzer throughput on a synthetic flow (ADT, PCD-01 ORU with 12 OBX, ORM, RGV and their ACKs) fed in 1460-byte segments; printed, never asserted.
import { pathToFileURL } from 'node:url';
import { Hl7Session } from '../agent/protocols/hl7/session.js';
import { NULL_SINK, benchAnalyzer, cat, type BenchResult, type Flow } from './analyzer-harness.js';

const enc = new TextEncoder();

function block(segments: string[]): Uint8Array {
  const body = enc.encode(segments.map((s) => `${s}\r`).join(''));
  const out = new Uint8Array(body.length + 3);
  out[0] = 0x0b;
  out.set(body, 1);
  out[body.length + 1] = 0x1c;
  out[body.length + 2] = 0x0d;
  return out;
}

const PID = 'PID|1||PAT-0000-FAKE^^^HOSP^MR||DOE^JANE^Q||19000101|F|||1 NOWHERE ST^^FAKETOWN^ZZ^00000';
const msh = (type: string, id: string, extra = ''): string =>
  `MSH|^~\\&|MONITOR|ICU|GATEWAY|HOSP|20260101120000||${type}|${id}|P|2.6${extra}`;

/** Client and server streams of one connection with `n` messages (cycling 4 kinds) and their ACKs. */
export function buildFlow(n: number): Flow {
  const client: Uint8Array[] = [];
  const server: Uint8Array[] = [];
  const obx = Array.from(
    { length: 12 },
    (_, i) =>
      `OBX|${i + 1}|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.${i}|97|262688^MDC_DIM_PERCENT^MDC|||||R|||20260101120000||||0123456789ABCDEF^EUI-64`,
  );
  for (let i = 0; i < n; i++) {
    const id = `M${i}`;
    const kind = i % 4;
    if (kind === 0)
      client.push(block([msh('ADT^A01', id), 'EVN|A01|20260101120000', PID, 'PV1|1|I|ICU^BED1']));
    else if (kind === 1)
      client.push(block([msh('ORU^R01^ORU_R01', id, '|||AL||||||IHE_PCD_001'), PID, 'OBR|1', ...obx]));
    else if (kind === 2) client.push(block([msh('ORM^O01', id), PID, 'ORC|NW|1', 'OBR|1']));
    else
      client.push(
        block([msh('RGV^O15', id), PID, 'ORC|NW|1', 'RXG|1|1', 'PRT|1|UC||||||||||||||(01)00812345678901']),
      );
    server.push(
      block([`MSH|^~\\&|GATEWAY|HOSP|MONITOR|ICU|20260101120001||ACK|A${i}|P|2.6`, `MSA|AA|${id}`]),
    );
  }
  return { client: cat(client), server: cat(server), messages: 2 * n };
}

export function runHl7Bench(rounds = 100, perFlow = 400): BenchResult {
  return benchAnalyzer(buildFlow(perFlow), () => new Hl7Session(NULL_SINK), {
    rounds,
    warmup: 10,
    ts: { client: 1, server: 2, end: 3 },
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = runHl7Bench();
  console.log(
    `hl7 analyzer: ${Math.round(r.messagesPerSecond).toLocaleString('en')} messages/s, ${r.mbPerSecond.toFixed(0)} MB/s (1460-byte segments, ACK pairing on)`,
  );
}
