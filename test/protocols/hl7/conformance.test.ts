// Conformance: events of the real pipeline (replayFiles) vs tshark's HL7 dissector on the shared corpus and our own fixtures.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { replayFiles } from '../../../agent/pipeline.js';
import type { EventRecord } from '../../../agent/protocols/types.js';
import { FIXTURES, HAVE_SHARED, SHARED_CAPTURES } from '../../helpers/paths.js';
import { PHI_STRINGS } from './builders.js';

interface TsharkHl7 {
  frame: number;
  ts: string;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  segments: string[];
  field_separator: string;
  encoding_characters: string;
  sending_application: string;
  sending_facility: string;
  receiving_application: string;
  receiving_facility: string;
  message_code: string;
  trigger_event: string;
  control_id: string;
  processing_id: string;
  version: string;
}

interface Expected {
  tsMicros: number;
  src: string;
  sport: number;
  segments: string[];
  /** MANIFEST.md fields, as our event names them; only for the first message of a batch block. */
  fields?: Record<string, string>;
}

const BATCH_SEGMENTS = new Set(['FHS', 'BHS', 'BTS', 'FTS']);

function micros(ts: string): number {
  const [s, frac = ''] = ts.split('.');
  return Number(s) * 1e6 + Number(frac.padEnd(6, '0').slice(0, 6));
}

/** tshark gives raw field text: map the declared component separator to '^' as our events do. */
function normalise(raw: string, line: TsharkHl7): string {
  const comp = line.encoding_characters[0] ?? '^';
  return comp === '^' ? raw : raw.split(comp).join('^');
}
const first = (raw: string, line: TsharkHl7): string =>
  raw.split(line.encoding_characters[0] ?? '^')[0] ?? '';

/** One tshark line is one MLLP block; a batch block holds several messages (tshark reports the first MSH). */
function expand(line: TsharkHl7): Expected[] {
  const base = { tsMicros: micros(line.ts), src: line.src, sport: line.sport };
  const fields: Record<string, string> = {
    sending_app: normalise(line.sending_application, line),
    sending_facility: normalise(line.sending_facility, line),
    receiving_app: normalise(line.receiving_application, line),
    receiving_facility: normalise(line.receiving_facility, line),
    message_type: line.trigger_event ? `${line.message_code}^${line.trigger_event}` : line.message_code,
    control_id: line.control_id,
    processing_id: first(line.processing_id, line),
    version: first(line.version, line),
  };
  const out: Expected[] = [];
  for (const seg of line.segments) {
    if (BATCH_SEGMENTS.has(seg)) continue;
    if (seg === 'MSH' || out.length === 0) out.push({ ...base, segments: [] });
    out[out.length - 1]!.segments.push(seg);
  }
  if (out[0]) out[0].fields = fields;
  return out;
}

function readReference(file: string): Expected[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as TsharkHl7)
    .flatMap(expand);
}

async function replay(file: string): Promise<EventRecord[]> {
  const events: EventRecord[] = [];
  const summary = await replayFiles(
    [file],
    { extraPorts: { hl7: [6661] } },
    { onEvent: (e) => events.push(e) },
  );
  expect(summary.error).toBeNull();
  return events.filter((e) => e.proto === 'hl7');
}

function compare(events: EventRecord[], expected: Expected[]): void {
  const messages = events.filter((e) => e.type === 'message');
  expect(messages.length).toBe(expected.length);
  messages.forEach((ev, i) => {
    const want = expected[i]!;
    expect({ i, src: ev.src.ip, sport: ev.src.port, ts: ev.tsMicros, segments: ev.fields.segments }).toEqual({
      i,
      src: want.src,
      sport: want.sport,
      ts: want.tsMicros,
      segments: want.segments,
    });
    if (want.fields) {
      for (const [k, v] of Object.entries(want.fields)) expect([i, k, ev.fields[k] ?? '']).toEqual([i, k, v]);
    }
  });
}

const sharedDir = path.join(SHARED_CAPTURES, 'hl7');
const sharedFiles = HAVE_SHARED
  ? readdirSync(sharedDir)
      .filter((f) => f.endsWith('.pcap'))
      .sort()
  : [];

describe.skipIf(!HAVE_SHARED)('conformance: shared HL7 captures vs tshark', () => {
  it('has all five captures', () => {
    expect(sharedFiles).toHaveLength(5);
  });
  for (const f of sharedFiles) {
    it(f, async () => {
      const file = path.join(sharedDir, f);
      const events = await replay(file);
      compare(events, readReference(`${file}.tshark.jsonl`));
      expect(events.filter((e) => e.type === 'anomaly').map((e) => e.fields.code)).toEqual([]);
      // every capture is one message + its ACK: the ACK carries the round trip
      const acks = events.filter((e) => e.fields.ack_code === 'AA');
      expect(acks).toHaveLength(1);
      expect(acks[0]!.fields.rtt_ms).toBeGreaterThan(0);
    });
  }
  it('device ids of the tapirx UDI captures (OBX-18, PRT-16)', async () => {
    for (const f of ['tapirx-HL7-ADT-UDI-OBX.pcap', 'tapirx-HL7-ADT-UDI-PRT.pcap']) {
      const events = await replay(path.join(sharedDir, f));
      expect(events[0]!.fields.device_ids).toEqual(['Hospira Plum A+']);
    }
  });
});

const ownFiles = readdirSync(path.join(FIXTURES, 'hl7'))
  .filter((f) => f.endsWith('.pcap'))
  .sort();

describe('conformance: our MLLP fixtures vs tshark', () => {
  it('has the four recorded fixtures', () => {
    expect(ownFiles).toEqual([
      'hl7-batch-and-separators-6661.pcap',
      'hl7-coalesced-and-split-2575.pcap',
      'hl7-pcd-back-to-back-2575.pcap',
      'hl7-unregistered-port-7575.pcap',
    ]);
  });

  it('unregistered-port: found by the content probe, no port configured', async () => {
    const events = await replay(path.join(FIXTURES, 'hl7', 'hl7-unregistered-port-7575.pcap'));
    expect(events.map((e) => [e.dst.port, e.fields.message_type])).toEqual([
      [7575, 'ORU^R01'],
      [events[0]!.src.port, 'ACK^R01'],
      [7575, 'ADT^A01'],
      [events[0]!.src.port, 'ACK^A01'],
    ]);
  });
  for (const f of ownFiles) {
    it(f, async () => {
      const file = path.join(FIXTURES, 'hl7', f);
      const events = await replay(file);
      compare(events, readReference(`${file}.tshark.jsonl`));
      const text = JSON.stringify(events);
      for (const phi of PHI_STRINGS) expect(text).not.toContain(phi);
      // every message is acknowledged on these connections: all ACKs pair, none is left over
      const messages = events.filter((e) => e.type === 'message');
      const acks = messages.filter((e) => e.fields.ack_control_id !== undefined);
      expect(acks.length * 2).toBe(messages.length);
      for (const a of acks) expect(a.fields.rtt_ms).toBeGreaterThanOrEqual(0);
      expect(events.filter((e) => e.type === 'anomaly')).toEqual([]);
    });
  }

  it('pcd-back-to-back: IHE transactions, device ids and the NAK', async () => {
    const events = await replay(path.join(FIXTURES, 'hl7', 'hl7-pcd-back-to-back-2575.pcap'));
    expect(
      events.map((e) => [e.fields.message_type, e.fields.ihe_transaction ?? null, e.fields.ack_code ?? null]),
    ).toEqual([
      ['ADT^A01', null, null],
      ['ACK^A01', null, 'AA'],
      ['ORU^R01', 'PCD-01', null],
      ['ACK^R01', 'PCD-01', 'AA'],
      ['ORM^O01', null, null],
      ['ACK^O01', null, 'AE'],
      ['RGV^O15', 'PCD-03', null],
      ['ACK^O15', 'PCD-03', 'AA'],
    ]);
    expect(events[2]!.fields.device_ids).toEqual(['0123456789ABCDEF', 'PUMP-42']);
    expect(events[6]!.fields.device_ids).toEqual(['(01)00812345678901']);
  });

  it('batch-and-separators: batched messages flagged, MSH#@!$% decoded', async () => {
    const events = await replay(path.join(FIXTURES, 'hl7', 'hl7-batch-and-separators-6661.pcap'));
    expect(events.map((e) => [e.fields.message_type, e.fields.batch ?? false])).toEqual([
      ['ADT^A01', true],
      ['ORM^O01', true],
      ['ACK^A01', true],
      ['ACK^O01', true],
      ['ADT^A08', false],
      ['ACK^A08', false],
    ]);
  });

  // tshark takes seconds to start on a shared machine: the live re-check runs when asked (WARDWATCH_TSHARK=1)
  const haveTshark = (() => {
    if (process.env.WARDWATCH_TSHARK !== '1') return false;
    try {
      execFileSync('tshark', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  it.skipIf(!haveTshark)('the stored references still match what tshark says (frames with HL7)', () => {
    for (const f of ownFiles) {
      const file = path.join(FIXTURES, 'hl7', f);
      const out = execFileSync(
        'tshark',
        [
          '-n',
          '-r',
          file,
          '-d',
          'tcp.port==2575,hl7',
          '-d',
          'tcp.port==6661,hl7',
          '-d',
          'tcp.port==7575,hl7',
          '-Y',
          'hl7',
          '-T',
          'fields',
          '-e',
          'frame.number',
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
      );
      const frames = [
        ...new Set(
          out
            .split('\n')
            .filter((l) => l !== '')
            .map(Number),
        ),
      ];
      const ref = readFileSync(`${file}.tshark.jsonl`, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => (JSON.parse(l) as TsharkHl7).frame);
      expect(frames).toEqual([...new Set(ref)]);
    }
  });
  it('fixtures stay small', () => {
    for (const f of ownFiles)
      expect(readFileSync(path.join(FIXTURES, 'hl7', f)).length).toBeLessThan(200_000);
    expect(existsSync(path.join(FIXTURES, 'hl7', 'README.md'))).toBe(true);
  });
});
