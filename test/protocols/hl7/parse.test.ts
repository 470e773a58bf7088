// Table-driven tests of the pure MLLP framer and HL7 block parser, with an error table beside them.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../../agent/protocols/hl7/constants.js';
import { decodeText, parseBlock, parseFrame, readEncoding } from '../../../agent/protocols/hl7/parse.js';
import { ack, adt, batch, concat, message, mllp, msh, oruPcd01, rgv, SEG } from './builders.js';

const L = DEFAULT_LIMITS;
const bytes = (s: string): Uint8Array => Buffer.from(s, 'latin1');

describe('parseFrame: well-formed blocks', () => {
  const cases: {
    name: string;
    input: Uint8Array;
    start: number;
    end: number;
    consumed: number;
    endCr: boolean;
  }[] = [
    { name: 'one block', input: mllp('MSH|^~\\&|A\r'), start: 1, end: 12, consumed: 14, endCr: true },
    {
      name: 'block followed by another',
      input: concat(mllp('MSH|x\r'), mllp('MSH|y\r')),
      start: 1,
      end: 7,
      consumed: 9,
      endCr: true,
    },
    { name: 'FHS opener', input: mllp('FHS|^~\\&\r'), start: 1, end: 10, consumed: 12, endCr: true },
    { name: 'BHS opener', input: mllp('BHS|^~\\&\r'), start: 1, end: 10, consumed: 12, endCr: true },
    {
      name: '<FS> without <CR> before the next block',
      input: bytes('\x0bMSH|a\x1c\x0bMSH|b\x1c\r'),
      start: 1,
      end: 6,
      consumed: 7,
      endCr: false,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = parseFrame(c.input, 0, L);
      expect(r).toEqual({ kind: 'ok', start: c.start, end: c.end, consumed: c.consumed, endCr: c.endCr });
    });
  }
});

describe('parseFrame: error and incomplete table', () => {
  const cases: { name: string; input: Uint8Array; limit?: number; expect: Record<string, unknown> }[] = [
    { name: 'empty input', input: bytes(''), expect: { kind: 'need', bytes: 4 } },
    { name: 'only <VT>', input: bytes('\x0b'), expect: { kind: 'need', bytes: 3 } },
    { name: '<VT>MS', input: bytes('\x0bMS'), expect: { kind: 'need', bytes: 1 } },
    { name: 'no end yet', input: bytes('\x0bMSH|abc'), expect: { kind: 'need', bytes: 1, scanned: 8 } },
    {
      name: '<FS> is the last byte',
      input: bytes('\x0bMSH|abc\x1c'),
      expect: { kind: 'need', bytes: 1, scanned: 8 },
    },
    {
      name: 'garbage then block',
      input: bytes('hello\x0bMSH|a\x1c\r'),
      expect: { kind: 'bad', code: 'garbage', consumed: 5, whitespace: false },
    },
    {
      name: 'CR/LF between blocks is blank',
      input: bytes('\r\n\x0bMSH|a\x1c\r'),
      expect: { kind: 'bad', code: 'garbage', consumed: 2, whitespace: true },
    },
    {
      name: '<VT> not followed by an opener',
      input: bytes('\x0bXYZ|a\x1c\r'),
      expect: { kind: 'bad', code: 'garbage', consumed: 8, whitespace: false },
    },
    {
      name: 'garbage up to a partial opener',
      input: bytes('zz\x0bM'),
      expect: { kind: 'bad', code: 'garbage', consumed: 2 },
    },
    {
      name: 'new block before <FS>',
      input: bytes('\x0bMSH|a\r\x0bMSH|b\x1c\r'),
      expect: { kind: 'bad', code: 'unterminated', consumed: 7 },
    },
    {
      name: 'over the size cap',
      input: bytes('\x0bMSH|' + 'x'.repeat(40)),
      limit: 16,
      expect: { kind: 'bad', code: 'oversize', consumed: 18 },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = parseFrame(c.input, 0, { maxMessageBytes: c.limit ?? L.maxMessageBytes });
      expect(r).toMatchObject(c.expect);
    });
  }

  it('a block exactly at the cap is accepted, one byte more is cut', () => {
    const content = 'MSH|' + 'x'.repeat(12); // 16 bytes
    expect(parseFrame(mllp(content), 0, { maxMessageBytes: 16 })).toMatchObject({ kind: 'ok', end: 17 });
    expect(parseFrame(mllp(content + 'y'), 0, { maxMessageBytes: 16 })).toMatchObject({
      kind: 'bad',
      code: 'oversize',
    });
  });

  it('resume skips bytes already searched and gives the same block', () => {
    const b = mllp(adt());
    const r = parseFrame(b.subarray(0, 50), 0, L);
    expect(r.kind).toBe('need');
    const scanned = r.kind === 'need' ? r.scanned : 0;
    expect(parseFrame(b, 0, L, scanned)).toEqual(parseFrame(b, 0, L));
  });
});

describe('readEncoding', () => {
  const cases: { seg: string; ok: boolean; field?: number; component?: number }[] = [
    { seg: 'MSH|^~\\&|A', ok: true, field: 0x7c, component: 0x5e },
    { seg: 'MSH#@!$%#A', ok: true, field: 0x23, component: 0x40 },
    { seg: 'MSH|^', ok: true, field: 0x7c, component: 0x5e },
    { seg: 'MSHA^~\\&', ok: false },
    { seg: 'MSH|^^\\&|', ok: false },
    { seg: 'MSH', ok: false },
  ];
  for (const c of cases) {
    it(JSON.stringify(c.seg), () => {
      const b = bytes(c.seg);
      const enc = readEncoding(b, 0, b.length);
      if (!c.ok) expect(enc).toBeNull();
      else expect(enc).toMatchObject({ field: c.field, component: c.component });
    });
  }
});

describe('decodeText: escape sequences (ch. 2.7)', () => {
  const std = readEncoding(bytes('MSH|^~\\&'), 0, 8)!;
  const odd = readEncoding(bytes('MSH#@!$%'), 0, 8)!;
  const cases: { raw: string; enc: typeof std; want: string }[] = [
    { raw: 'A\\F\\B', enc: std, want: 'A|B' },
    { raw: 'A\\S\\B\\T\\C\\R\\D\\E\\E', enc: std, want: 'A^B&C~D\\E' },
    { raw: 'X\\X41424344\\Y', enc: std, want: 'XABCDY' },
    { raw: 'X\\X4\\Y', enc: std, want: 'X\\X4\\Y' },
    { raw: 'bold\\H\\on\\N\\', enc: std, want: 'boldon' },
    { raw: 'APP^1.2.3^ISO', enc: std, want: 'APP^1.2.3^ISO' },
    { raw: 'trailing\\', enc: std, want: 'trailing\\' },
    { raw: 'APP@1.2.3@ISO', enc: odd, want: 'APP^1.2.3^ISO' },
    { raw: 'A$F$B$S$C', enc: odd, want: 'A|B^C' },
    { raw: 'caf\xc3\xa9', enc: std, want: 'café' },
  ];
  for (const c of cases) {
    it(JSON.stringify(c.raw), () => {
      const b = bytes(c.raw);
      expect(decodeText(b, 0, b.length, c.enc, 256)).toEqual({ text: c.want, truncated: false });
    });
  }
  it('truncates at maxChars', () => {
    const b = bytes('x'.repeat(100));
    expect(decodeText(b, 0, b.length, std, 10)).toEqual({ text: 'x'.repeat(10), truncated: true });
  });
});

describe('parseBlock: messages', () => {
  const parse = (s: string) => {
    const b = bytes(s);
    return parseBlock(b, 0, b.length, L);
  };

  it('ADT^A01: MSH fields, segments, PHI flag', () => {
    const r = parse(adt('C1'));
    expect(r.notes).toEqual([]);
    expect(r.messages).toHaveLength(1);
    expect(r.messages[0]).toMatchObject({
      sendingApp: 'MONITOR',
      sendingFacility: 'ICU',
      receivingApp: 'GATEWAY',
      receivingFacility: 'HOSP',
      messageType: 'ADT^A01',
      controlId: 'C1',
      processingId: 'P',
      version: '2.6',
      segments: ['MSH', 'EVN', 'PID', 'NK1', 'PV1'],
      hasPhi: true,
      deviceIds: [],
      batch: false,
      size: adt('C1').length,
    });
  });

  it('ORU^R01 PCD-01: first two components of MSH-9, OBX-18 identifiers, profile', () => {
    const m = parse(oruPcd01()).messages[0]!;
    expect(m.messageType).toBe('ORU^R01');
    expect(m.deviceIds).toEqual(['0123456789ABCDEF', 'PUMP-42']);
    expect(m.pcdProfile).toBe(true);
    expect(m.acceptAckType).toBe('NE');
  });

  it('RGV^O15 with PRT-16 UDI', () => {
    const m = parse(rgv()).messages[0]!;
    expect(m.messageType).toBe('RGV^O15');
    expect(m.deviceIds).toEqual(['(01)00812345678901']);
  });

  it('ACK: MSA-1 and MSA-2', () => {
    const m = parse(ack({ controlId: 'A1', ackOf: 'C1', code: 'AE' })).messages[0]!;
    expect(m).toMatchObject({ messageType: 'ACK', ackCode: 'AE', ackControlId: 'C1', hasPhi: false });
  });

  it('non-standard separators MSH#@!$%', () => {
    const s = message(
      msh({ field: '#', enc: '@!$%', type: 'ADT^A04', sendingApp: 'APP$S$X', controlId: 'Z9' }),
      'PV1#1#I',
    );
    const m = parse(s).messages[0]!;
    expect(m).toMatchObject({
      messageType: 'ADT^A04',
      sendingApp: 'APP^X',
      controlId: 'Z9',
      segments: ['MSH', 'PV1'],
    });
  });

  it('escape sequences in metadata fields are decoded', () => {
    const m = parse(
      message(msh({ sendingApp: 'PUMP\\T\\GW', sendingFacility: 'WARD\\F\\3', controlId: 'ID\\X2D\\7' })),
    ).messages[0]!;
    expect(m).toMatchObject({ sendingApp: 'PUMP&GW', sendingFacility: 'WARD|3', controlId: 'ID-7' });
  });

  it('LF and CRLF terminators are tolerated and noted', () => {
    expect(parse(adt().replaceAll('\r', '\n'))).toMatchObject({
      notes: ['lf_terminator'],
      messages: [{ segments: ['MSH', 'EVN', 'PID', 'NK1', 'PV1'] }],
    });
    expect(parse(adt().replaceAll('\r', '\r\n'))).toMatchObject({
      notes: ['lf_terminator'],
      messages: [{ segments: ['MSH', 'EVN', 'PID', 'NK1', 'PV1'] }],
    });
  });

  it('batch: each message marked, BTS count checked', () => {
    const r = parse(batch([adt('B1'), orm('B2')], { file: true }));
    expect(r.notes).toEqual([]);
    expect(r.messages.map((m) => [m.controlId, m.batch, m.segments[0]])).toEqual([
      ['B1', true, 'MSH'],
      ['B2', true, 'MSH'],
    ]);
    expect(r.messages[0]!.segments).not.toContain('BHS');
  });

  it('a segment cap keeps the count', () => {
    const s = message(msh(), ...Array.from({ length: 10 }, () => SEG.obxPlain));
    const b = bytes(s);
    const r = parseBlock(b, 0, b.length, { ...L, maxSegments: 4 });
    expect(r.messages[0]).toMatchObject({ segmentCount: 11, segments: ['MSH', 'OBX', 'OBX', 'OBX'] });
    expect(r.notes).toContain('segments_truncated');
  });
});

function orm(id: string): string {
  return message(msh({ type: 'ORM^O01', controlId: id }), SEG.orc);
}

describe('parseBlock: error table', () => {
  const cases: { name: string; input: string; notes: string[]; messages: number }[] = [
    { name: 'MSH with alphanumeric field separator', input: 'MSHA^~\\&A\r', notes: ['bad_msh'], messages: 0 },
    {
      name: 'MSH with duplicate encoding characters',
      input: 'MSH|^^\\&|A|B\r',
      notes: ['bad_msh'],
      messages: 0,
    },
    { name: 'MSH without MSH-9/MSH-10', input: 'MSH|^~\\&|A|B\r', notes: ['bad_msh'], messages: 1 },
    { name: 'segments before MSH', input: 'PID|1\r', notes: ['missing_msh'], messages: 0 },
    { name: 'lower-case segment id', input: adt() + 'pid|1\r', notes: ['bad_segment_id'], messages: 1 },
    { name: 'BTS count mismatch', input: batch([adt('1')], { count: 3 }), notes: ['bad_batch'], messages: 1 },
    {
      name: 'BHS without BTS',
      input: msh({ header: 'BHS', type: '' }) + '\r' + adt(),
      notes: ['bad_batch'],
      messages: 1,
    },
    {
      name: 'two MSH outside a batch',
      input: adt('1') + adt('2'),
      notes: ['multiple_messages'],
      messages: 2,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const b = bytes(c.input);
      const r = parseBlock(b, 0, b.length, L);
      expect(r.notes.sort()).toEqual(c.notes.sort());
      expect(r.messages).toHaveLength(c.messages);
    });
  }
});
