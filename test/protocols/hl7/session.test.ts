// Session behaviour: events per message, ACK pairing and RTT, resync after garbage/gaps, caps, batches, IHE PCD, no patient data.
import { describe, expect, it } from 'vitest';
import { ANOMALY_CODES, hl7Spec } from '../../../agent/protocols/hl7/index.js';
import { Hl7Session } from '../../../agent/protocols/hl7/session.js';
import type { Direction } from '../../../agent/protocols/types.js';
import {
  ack,
  adt,
  batch,
  concat,
  message,
  mllp,
  msh,
  oruPcd01,
  orm,
  PHI_STRINGS,
  RecordingSink,
  rgv,
  SEG,
} from './builders.js';

function run(
  steps: [Direction, Uint8Array | string, number?][],
  limits = {},
): { sink: RecordingSink; s: Hl7Session } {
  const sink = new RecordingSink();
  const s = new Hl7Session(sink, limits);
  for (const [dir, data, ts] of steps) {
    s.onData(dir, typeof data === 'string' ? Buffer.from(data, 'latin1') : data, ts ?? 1_000_000);
  }
  return { sink, s };
}

describe('Hl7Session: events', () => {
  it('one message event per message with the docs/events.md fields, and confirm()', () => {
    const { sink, s } = run([[0, mllp(adt('C1'))]]);
    expect(sink.confirmed).toBe(1);
    expect(sink.events()).toHaveLength(1);
    const e = sink.events()[0]!;
    expect(e.type).toBe('message');
    expect(e.fields).toEqual({
      sending_app: 'MONITOR',
      sending_facility: 'ICU',
      receiving_app: 'GATEWAY',
      receiving_facility: 'HOSP',
      message_type: 'ADT^A01',
      control_id: 'C1',
      processing_id: 'P',
      version: '2.6',
      segments: ['MSH', 'EVN', 'PID', 'NK1', 'PV1'],
      size: adt('C1').length,
      has_phi: true,
    });
    expect(s.bufferedBytes()).toBe(0);
  });

  it('pairs ACK (MSA-2) with the message (MSH-10) and gives rtt_ms', () => {
    const { sink, s } = run([
      [0, mllp(adt('C1')), 1_000_000],
      [1, mllp(ack({ controlId: 'A1', ackOf: 'C1' })), 1_012_345],
    ]);
    const [, a] = sink.events();
    expect(a!.fields).toMatchObject({
      message_type: 'ACK',
      ack_code: 'AA',
      ack_control_id: 'C1',
      rtt_ms: 12.345,
    });
    expect(sink.anomalies()).toEqual([]);
    expect(s.outstandingCount()).toBe(0);
  });

  it('an ACK that matches nothing is an anomaly (and an ACK in the same direction does not pair)', () => {
    const { sink } = run([
      [0, mllp(adt('C1'))],
      [0, mllp(ack({ controlId: 'A1', ackOf: 'C1' }))],
      [1, mllp(ack({ controlId: 'A2', ackOf: 'NOPE' }))],
    ]);
    expect(sink.anomalies()).toEqual(['hl7.unmatched_ack', 'hl7.unmatched_ack']);
    expect(sink.out.find((r) => r.kind === 'anomaly')!.malformed).toBe(false);
  });

  it('NAK: MSA-1 AE is reported as ack_code', () => {
    const { sink } = run([
      [0, mllp(orm('O1'))],
      [1, mllp(ack({ controlId: 'N1', ackOf: 'O1', code: 'AE' }))],
    ]);
    expect(sink.events()[1]!.fields).toMatchObject({ ack_code: 'AE', ack_control_id: 'O1' });
  });

  it('IHE PCD: PCD-01 ORU^R01 from a device with device_ids, PCD-03 RGV^O15 and its ACK', () => {
    const { sink } = run([
      [0, mllp(oruPcd01('U1'))],
      [0, mllp(rgv('R1'))],
      [1, mllp(ack({ controlId: 'A1', ackOf: 'R1', type: 'ACK^O15^ACK' }))],
      [0, mllp(message(msh({ type: 'ORU^R01', controlId: 'U2' }), SEG.obxDevice))],
      [1, mllp(ack({ controlId: 'A2', ackOf: 'U2' }))],
      [0, mllp(message(msh({ type: 'ORU^R01', controlId: 'U3' }), SEG.obxPlain))],
    ]);
    const ev = sink
      .events()
      .map((e) => [e.fields.message_type, e.fields.ihe_transaction, e.fields.device_ids]);
    expect(ev).toEqual([
      ['ORU^R01', 'PCD-01', ['0123456789ABCDEF', 'PUMP-42']],
      ['RGV^O15', 'PCD-03', ['(01)00812345678901']],
      ['ACK^O15', 'PCD-03', undefined],
      ['ORU^R01', 'PCD-01', ['0123456789ABCDEF', 'PUMP-42']],
      ['ACK', 'PCD-01', undefined],
      ['ORU^R01', undefined, undefined],
    ]);
  });

  it('enhanced mode: MSH-15 NE with MSH-16 AL waits for the application ACK', () => {
    const m = message(
      msh({ type: 'ORU^R01', controlId: 'E1', acceptAck: 'NE', appAck: 'AL' }),
      SEG.obxDevice,
    );
    const { sink, s } = run([
      [0, mllp(m), 1_000_000],
      [1, mllp(ack({ controlId: 'A1', ackOf: 'E1' })), 1_005_000],
    ]);
    expect(s.outstandingCount()).toBe(0);
    expect(sink.events()[1]!.fields).toMatchObject({ rtt_ms: 5, ihe_transaction: 'PCD-01' });
    expect(sink.anomalies()).toEqual([]);
  });

  it('a second ACK for the same message (accept then application ACK) pairs too', () => {
    const { sink } = run([
      [0, mllp(rgv('R1')), 1_000_000],
      [1, mllp(ack({ controlId: 'A1', ackOf: 'R1', code: 'CA', type: 'ACK^O15^ACK' })), 1_001_000],
      [1, mllp(ack({ controlId: 'A2', ackOf: 'R1', type: 'RRG^O16^RRG_O16' })), 1_003_000],
    ]);
    expect(
      sink.events().map((e) => [e.fields.message_type, e.fields.rtt_ms, e.fields.ihe_transaction]),
    ).toEqual([
      ['RGV^O15', undefined, 'PCD-03'],
      ['ACK^O15', 1, 'PCD-03'],
      ['RRG^O16', 3, 'PCD-03'],
    ]);
    expect(sink.anomalies()).toEqual([]);
  });

  it('MSH-15 NE (never acknowledge) messages are not kept waiting', () => {
    const { s } = run([[0, mllp(oruPcd01('U1'))]]);
    expect(s.outstandingCount()).toBe(0);
  });

  it('batch: each message is an event with batch: true; batched ACKs pair', () => {
    const { sink } = run([
      [0, mllp(batch([adt('B1'), orm('B2')], { file: true }))],
      [1, mllp(batch([ack({ controlId: 'K1', ackOf: 'B1' }), ack({ controlId: 'K2', ackOf: 'B2' })]))],
    ]);
    const ev = sink.events();
    expect(ev.map((e) => [e.fields.control_id, e.fields.batch, e.fields.rtt_ms])).toEqual([
      ['B1', true, undefined],
      ['B2', true, undefined],
      ['K1', true, 0],
      ['K2', true, 0],
    ]);
    expect(sink.anomalies()).toEqual([]);
  });

  it('non-standard separators (MSH#@!$%) work end to end', () => {
    const m = message(
      msh({ field: '#', enc: '@!$%', type: 'ADT^A08', controlId: 'X1' }),
      'PID#1##ID1',
      'PV1#1#I',
    );
    const a = ack({ field: '#', enc: '@!$%', controlId: 'X2', ackOf: 'X1' });
    const { sink } = run([
      [0, mllp(m)],
      [1, mllp(a)],
    ]);
    expect(sink.events().map((e) => e.fields.message_type)).toEqual(['ADT^A08', 'ACK']);
    expect(sink.events()[1]!.fields.rtt_ms).toBe(0);
  });

  it('several blocks in one chunk and CR/LF between blocks', () => {
    const { sink } = run([[0, concat(mllp(adt('1')), '\r\n', mllp(orm('2')), mllp(rgv('3')))]]);
    expect(sink.events().map((e) => e.fields.control_id)).toEqual(['1', '2', '3']);
    expect(sink.anomalies()).toEqual([]);
  });
});

describe('Hl7Session: anomalies and resynchronisation', () => {
  it('garbage between frames is counted once per run, then the next block parses', () => {
    const { sink } = run([[0, concat(mllp(adt('1')), 'GARBAGE\x0bXYZ', mllp(adt('2')))]]);
    expect(sink.events().map((e) => e.fields.control_id)).toEqual(['1', '2']);
    const g = sink.out.filter((r) => r.type === 'hl7.garbage_between_frames');
    expect(g).toHaveLength(1);
    expect(g[0]!.fields).toEqual({ bytes: 11 });
    expect(g[0]!.malformed).toBe(true);
  });

  it('a block cut by a new block start is unterminated; the new one parses', () => {
    const first = mllp(adt('1'));
    const { sink } = run([[0, concat(first.subarray(0, first.length - 2), mllp(adt('2')))]]);
    expect(sink.anomalies()).toEqual(['hl7.unterminated_message']);
    expect(sink.events().map((e) => e.fields.control_id)).toEqual(['2']);
  });

  it('a block without an end byte is cut at the size cap, never buffered beyond it', () => {
    const sink = new RecordingSink();
    const s = new Hl7Session(sink, { maxMessageBytes: 1000 });
    s.onData(0, Buffer.from('\x0bMSH|^~\\&|' + 'x'.repeat(300), 'latin1'), 1);
    let maxBuffered = s.bufferedBytes();
    for (let i = 0; i < 20; i++) {
      s.onData(0, Buffer.from('y'.repeat(300), 'latin1'), 1);
      maxBuffered = Math.max(maxBuffered, s.bufferedBytes());
    }
    expect(maxBuffered).toBeLessThanOrEqual(1008);
    s.onData(0, mllp(adt('after')), 2);
    expect(sink.anomalies()).toEqual(['hl7.unterminated_message']);
    expect(sink.events().map((e) => e.fields.control_id)).toEqual(['after']);
  });

  it('a block over the cap that does end: its event from the first bytes, full size, limit_exceeded; its ACK pairs', () => {
    const big = message(
      msh({ type: 'MDM^T02', controlId: 'BIG1' }),
      SEG.pid,
      `OBX|1|ED|PDF||^AP^PDF^Base64^${'QUJD'.repeat(2000)}`,
    );
    const sink = new RecordingSink();
    const s = new Hl7Session(sink, { maxMessageBytes: 1000 });
    const b = mllp(big);
    let maxBuffered = 0;
    for (let o = 0; o < b.length; o += 700) {
      s.onData(0, b.subarray(o, o + 700), 1_000_000);
      maxBuffered = Math.max(maxBuffered, s.bufferedBytes());
    }
    s.onData(1, mllp(ack({ controlId: 'A1', ackOf: 'BIG1' })), 1_002_000);
    expect(maxBuffered).toBeLessThanOrEqual(1008);
    expect(sink.anomalies()).toEqual(['hl7.limit_exceeded']);
    expect(sink.out[0]!.fields).toEqual({ bytes: big.length, limit: 1000 });
    expect(
      sink.events().map((e) => [e.fields.message_type, e.fields.size, e.fields.segments, e.fields.rtt_ms]),
    ).toEqual([
      ['MDM^T02', big.length, ['MSH', 'PID', 'OBX'], undefined],
      ['ACK', ack({ controlId: 'A1', ackOf: 'BIG1' }).length, ['MSH', 'MSA'], 2],
    ]);
  });

  it('a batch over the cap: complete messages at once, the last when the block ends', () => {
    const msgs = Array.from({ length: 30 }, (_, i) => adt(`B${i}`));
    const b = mllp(batch(msgs));
    const sink = new RecordingSink();
    const s = new Hl7Session(sink, { maxMessageBytes: 2000 });
    s.onData(0, b.subarray(0, 2100), 1);
    const early = sink.events().length;
    expect(early).toBeGreaterThan(1);
    s.onData(0, b.subarray(2100), 2);
    const ev = sink.events();
    expect(ev).toHaveLength(early + 1);
    expect(ev.every((e) => e.fields.batch === true)).toBe(true);
    expect(sink.anomalies()).toEqual(['hl7.limit_exceeded']);
    expect(s.bufferedBytes()).toBe(0);
  });

  it('a block over the cap cut by a gap is lost in the gap', () => {
    const sink = new RecordingSink();
    const s = new Hl7Session(sink, { maxMessageBytes: 1000 });
    s.onData(0, Buffer.from('\x0bMSH|^~\\&|A|B|C|D|1||ADT^A01|X|P|2.5\r' + 'Z'.repeat(2000), 'latin1'), 1);
    s.onGap(0, 500, 2);
    s.onData(0, concat('rest\x1c\r', mllp(adt('2'))), 3);
    expect(sink.anomalies()).toEqual(['hl7.message_lost_in_gap']);
    expect(sink.events().map((e) => e.fields.control_id)).toEqual(['2']);
  });

  it('a gap drops the partial message and resynchronises on the next block', () => {
    const sink = new RecordingSink();
    const s = new Hl7Session(sink);
    const a = mllp(adt('1'));
    s.onData(0, a.subarray(0, 40), 1);
    s.onGap(0, 100, 2);
    s.onData(0, concat('tail of something lost\x1c\r', mllp(adt('2'))), 3);
    expect(sink.anomalies()).toEqual(['hl7.message_lost_in_gap']);
    expect(sink.events().map((e) => e.fields.control_id)).toEqual(['2']);
    expect(s.bufferedBytes()).toBe(0);
  });

  it('end of stream: a block missing only its final CR is accepted; a partial one is unterminated', () => {
    const sink = new RecordingSink();
    const s = new Hl7Session(sink);
    const a = mllp(adt('1'));
    s.onData(0, a.subarray(0, a.length - 1), 1);
    s.onEnd(0, 2);
    s.onData(1, mllp(adt('2')).subarray(0, 30), 3);
    s.onEnd(1, 4);
    expect(sink.events().map((e) => e.fields.control_id)).toEqual(['1']);
    expect(sink.anomalies()).toEqual(['hl7.unterminated_message']);
    expect(s.bufferedBytes()).toBe(0);
  });

  it('<FS> without <CR> is tolerated and noted', () => {
    const { sink } = run([[0, concat('\x0b', adt('1'), '\x1c', mllp(adt('2')))]]);
    expect(sink.events()).toHaveLength(2);
    expect(sink.anomalies()).toEqual(['hl7.bad_frame_end']);
  });

  it('LF segment terminators are tolerated and noted', () => {
    const { sink } = run([[0, mllp(adt('1').replaceAll('\r', '\n'))]]);
    expect(sink.events()[0]!.fields.segments).toEqual(['MSH', 'EVN', 'PID', 'NK1', 'PV1']);
    expect(sink.anomalies()).toEqual(['hl7.lf_segment_terminator']);
  });

  it('outstanding messages are capped: oldest evicted, one anomaly', () => {
    const blocks = Array.from({ length: 10 }, (_, i) => mllp(adt(`M${i}`)));
    const { sink, s } = run([[0, concat(...blocks)]], { maxOutstanding: 4 });
    expect(s.outstandingCount()).toBe(4);
    expect(sink.anomalies()).toEqual(['hl7.outstanding_overflow']);
    s.onData(1, mllp(ack({ controlId: 'A', ackOf: 'M9' })), 2_000_000);
    s.onData(1, mllp(ack({ controlId: 'B', ackOf: 'M0' })), 2_000_000);
    expect(sink.anomalies()).toEqual(['hl7.outstanding_overflow', 'hl7.unmatched_ack']);
  });

  it('a capture that starts mid-message: the text tail is counted (not as a parse error), then blocks parse', () => {
    const sink = new RecordingSink();
    const s = new Hl7Session(sink);
    const tail = 'OBX|1|NM|X||1|\r'.repeat(600) + '\x1c\r';
    s.onData(0, Buffer.from(tail, 'latin1'), 1);
    s.onData(0, mllp(adt('1')), 2);
    expect(sink.violations).toEqual([]);
    expect(sink.events().map((e) => e.fields.control_id)).toEqual(['1']);
    const g = sink.out.find((r) => r.type === 'hl7.garbage_between_frames')!;
    expect(g.fields).toEqual({ bytes: tail.length, before_first_message: true });
    expect(g.malformed).toBe(false);
  });

  it('a binary stream is a violation', () => {
    const sink = new RecordingSink();
    const s = new Hl7Session(sink);
    // a TLS ClientHello-like record
    s.onData(
      0,
      Uint8Array.from([
        0x16,
        0x03,
        0x01,
        0x02,
        0x00,
        0x01,
        0x00,
        0x01,
        0xfc,
        0x03,
        0x03,
        ...new Array<number>(40).fill(0),
      ]),
      1,
    );
    expect(sink.violations).toHaveLength(1);
    expect(sink.confirmed).toBe(0);
    s.onData(0, mllp(adt()), 2);
    expect(sink.events()).toHaveLength(0);
  });

  it('a bad MSH yields an anomaly and no event', () => {
    const { sink } = run([[0, mllp('MSH|^^\\&|A|B\r')]]);
    expect(sink.events()).toHaveLength(0);
    expect(sink.anomalies()).toEqual(['hl7.bad_msh']);
  });
});

describe('hl7Spec', () => {
  const b = (s: string) => Buffer.from(s, 'latin1');
  const cases: [string, string][] = [
    ['\x0bMSH|^~\\&|', 'match'],
    ['\x0bFHS|^~\\&|', 'match'],
    ['\x0bBHS|^~\\&|', 'match'],
    ['\x0bMS', 'need_more'],
    ['', 'need_more'],
    ['\x0bPID|', 'no'],
    ['GET / HTTP/1.1', 'no'],
    ['end of a block\x1c\r\x0bMSH|^~', 'match'],
    ['\x10\x00\x00\x0c\x00\x04MQTT', 'no'],
  ];
  for (const [input, want] of cases) {
    it(`probe ${JSON.stringify(input)} -> ${want}`, () => {
      expect(hl7Spec.probe(0, b(input))).toBe(want);
    });
  }
  it('declares port 2575 and every anomaly code', () => {
    expect(hl7Spec.defaultPorts).toEqual([2575]);
    expect(Object.keys(hl7Spec.schema.anomalies)).toEqual(ANOMALY_CODES);
    expect(new Set(ANOMALY_CODES).size).toBe(ANOMALY_CODES.length);
    for (const c of ANOMALY_CODES) expect(c).toMatch(/^hl7\.[a-z_]+$/);
  });
});

describe('patient data never leaves the analyzer', () => {
  it('no event or anomaly carries a fake patient value', () => {
    const { sink } = run([
      [
        0,
        concat(mllp(adt('1')), mllp(oruPcd01('2')), mllp(orm('3')), mllp(rgv('4')), mllp(batch([adt('5')]))),
      ],
      [1, mllp(ack({ controlId: 'A', ackOf: '1' }))],
    ]);
    expect(sink.events()).toHaveLength(6);
    const text = JSON.stringify(sink.out);
    for (const phi of PHI_STRINGS) expect(text).not.toContain(phi);
    const allowed = new Set([
      'sending_app',
      'sending_facility',
      'receiving_app',
      'receiving_facility',
      'message_type',
      'control_id',
      'processing_id',
      'version',
      'segments',
      'ack_code',
      'ack_control_id',
      'size',
      'has_phi',
      'device_ids',
      'rtt_ms',
      'batch',
      'ihe_transaction',
    ]);
    for (const e of sink.events()) for (const k of Object.keys(e.fields)) expect(allowed).toContain(k);
  });
});
