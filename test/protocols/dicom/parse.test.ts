// Table-driven cases for the pure DICOM parsers (PS3.8 9.3 PDUs, PS3.7 E command sets, PS3.5 7 identifiers), with an error table beside them.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../../agent/protocols/dicom/constants.js';
import {
  parseCommandSet,
  parseIdentifier,
  parsePdu,
  guessEncoding,
} from '../../../agent/protocols/dicom/parse.js';
import { probeDicom } from '../../../agent/protocols/dicom/index.js';
import {
  abort,
  associateAc,
  associateRj,
  associateRq,
  commandSet,
  concat,
  CT_STORAGE,
  elemExplicit,
  elemImplicit,
  EXPLICIT,
  IMPLICIT,
  item,
  padded,
  pdata,
  pdu,
  releaseRp,
  releaseRq,
  text,
  VERIFICATION,
} from './builders.js';

const L = DEFAULT_LIMITS;
const ITEM_UNDEFINED = Uint8Array.of(0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff);
const ITEM_END = Uint8Array.of(0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0);
const SEQUENCE_END = Uint8Array.of(0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0);

/** `depth` sequences of undefined length nested in each other (implicit VR LE), closed properly. */
function nested(depth: number): Uint8Array {
  let inner = elemImplicit(0x00080060, text('CT'));
  for (let i = 0; i < depth; i++) {
    inner = concat(
      Uint8Array.of(0x40, 0x00, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff),
      ITEM_UNDEFINED,
      inner,
      ITEM_END,
      SEQUENCE_END,
    );
  }
  return inner;
}

describe('parsePdu: well-formed PDUs', () => {
  const cases: { name: string; bytes: Uint8Array; expect: Record<string, unknown> }[] = [
    {
      name: 'A-ASSOCIATE-RQ with two contexts and every user information item',
      bytes: associateRq({
        called: 'PACS_MAIN',
        calling: 'CT01',
        rq: [
          { id: 1, abstract: VERIFICATION, ts: [IMPLICIT] },
          { id: 3, abstract: CT_STORAGE, ts: [EXPLICIT, IMPLICIT] },
        ],
        maxLength: 32768,
        implUid: '1.2.826.0.1.3680043.2.1143.107.104.103.115.2.8.4',
        implVersion: 'GDCM 2.8.4',
        async: [2, 1],
        roles: [{ uid: CT_STORAGE, scu: 1, scp: 0 }],
        userIdentity: { type: 2, primary: 'alice', secondary: 'secret' },
      }),
      expect: {
        type: 1,
        calledAe: 'PACS_MAIN',
        callingAe: 'CT01',
        protocolVersion: 1,
        applicationContext: '1.2.840.10008.3.1.1.1',
        rqContexts: [
          { id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT] },
          { id: 3, abstractSyntax: CT_STORAGE, transferSyntaxes: [EXPLICIT, IMPLICIT] },
        ],
        userInfo: {
          maxLength: 32768,
          implementationClassUid: '1.2.826.0.1.3680043.2.1143.107.104.103.115.2.8.4',
          implementationVersion: 'GDCM 2.8.4',
          asyncInvoked: 2,
          asyncPerformed: 1,
          roles: [{ sopClass: CT_STORAGE, scu: 1, scp: 0 }],
          userIdentityType: 2,
          userIdentityHasPasscode: true,
          extendedNegotiations: 0,
          unknownSubItems: 0,
        },
      },
    },
    {
      name: 'A-ASSOCIATE-RQ with username-only identity (no passcode)',
      bytes: associateRq({ userIdentity: { type: 1, primary: 'bob', secondary: '' } }),
      expect: {
        type: 1,
        userInfo: expect.objectContaining({ userIdentityType: 1, userIdentityHasPasscode: false }),
      },
    },
    {
      name: 'A-ASSOCIATE-AC with an accepted and a rejected context, user identity response',
      bytes: associateAc({
        ac: [
          { id: 1, result: 0, ts: EXPLICIT },
          { id: 3, result: 3, ts: IMPLICIT },
        ],
        userIdentityAc: 'ticket',
      }),
      expect: {
        type: 2,
        acContexts: [
          { id: 1, result: 0, transferSyntax: EXPLICIT },
          { id: 3, result: 3, transferSyntax: IMPLICIT },
        ],
        userInfo: expect.objectContaining({ userIdentityServerResponse: true }),
      },
    },
    {
      name: 'A-ASSOCIATE-RJ',
      bytes: associateRj(2, 3, 2),
      expect: { type: 3, result: 2, source: 3, reason: 2 },
    },
    { name: 'A-RELEASE-RQ', bytes: releaseRq(), expect: { type: 5, length: 4 } },
    { name: 'A-RELEASE-RP', bytes: releaseRp(), expect: { type: 6, length: 4 } },
    { name: 'A-ABORT', bytes: abort(2, 6), expect: { type: 7, source: 2, reason: 6 } },
    {
      name: 'P-DATA-TF with two PDVs',
      bytes: pdata(
        { ctx: 1, ctl: 3, data: Uint8Array.of(1, 2) },
        { ctx: 1, ctl: 0, data: Uint8Array.of(3, 4, 5) },
      ),
      expect: {
        type: 4,
        pdvs: [
          { dataOffset: 12, dataLength: 2, contextId: 1, control: 3 },
          { dataOffset: 20, dataLength: 3, contextId: 1, control: 0 },
        ],
      },
    },
    {
      name: 'unknown items are counted, not fatal',
      bytes: pdu(1, concat(associateRq().subarray(6), item(0x77, Uint8Array.of(1, 2, 3)))),
      expect: { type: 1, unknownItems: 1 },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = parsePdu(c.bytes, 0, L);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.consumed).toBe(c.bytes.length);
      expect(r.msg).toMatchObject(c.expect);
    });
  }

  it('never reads the user identity fields into the message', () => {
    const r = parsePdu(
      associateRq({ userIdentity: { type: 2, primary: 'alice', secondary: 'hunter2' } }),
      0,
      L,
    );
    expect(JSON.stringify(r)).not.toMatch(/alice|hunter2/);
  });

  it('asks for the whole PDU when it is incomplete', () => {
    const b = associateRq();
    expect(parsePdu(b.subarray(0, 3), 0, L)).toEqual({ ok: false, need: true, bytes: 6 });
    expect(parsePdu(b.subarray(0, 20), 0, L)).toEqual({ ok: false, need: true, bytes: b.length });
  });
});

describe('parsePdu: error table', () => {
  const rq = associateRq();
  const cases: { name: string; bytes: Uint8Array; code: string; limits?: Partial<typeof L> }[] = [
    { name: 'PDU type 0', bytes: pdu(0, new Uint8Array(4)), code: 'dicom.unknown_pdu_type' },
    { name: 'PDU type 8', bytes: pdu(8, new Uint8Array(4)), code: 'dicom.unknown_pdu_type' },
    {
      name: 'non-P-DATA over the cap',
      bytes: rq,
      code: 'dicom.pdu_too_large',
      limits: { maxPduLength: 100 },
    },
    {
      name: 'P-DATA over its cap',
      bytes: pdata({ ctx: 1, ctl: 3, data: new Uint8Array(50) }),
      code: 'dicom.pdu_too_large',
      limits: { maxPdataLength: 20 },
    },
    {
      name: 'RQ shorter than its fixed part',
      bytes: pdu(1, new Uint8Array(60)),
      code: 'dicom.malformed_pdu',
    },
    {
      name: 'item overrunning the PDU',
      bytes: pdu(1, concat(rq.subarray(6, 74), Uint8Array.of(0x10, 0, 0, 50), new Uint8Array(4))),
      code: 'dicom.malformed_pdu',
    },
    {
      name: 'sub-item overrunning its presentation context',
      bytes: pdu(
        1,
        concat(
          rq.subarray(6, 74),
          item(0x20, concat(Uint8Array.of(1, 0, 0, 0), Uint8Array.of(0x30, 0, 0, 40))),
        ),
      ),
      code: 'dicom.malformed_pdu',
    },
    {
      name: 'max length sub-item of 3 bytes',
      bytes: pdu(1, concat(rq.subarray(6, 74), item(0x50, item(0x51, Uint8Array.of(1, 2, 3))))),
      code: 'dicom.malformed_pdu',
    },
    {
      name: 'user identity secondary length past the item',
      bytes: pdu(
        1,
        concat(rq.subarray(6, 74), item(0x50, item(0x58, Uint8Array.of(2, 0, 0, 1, 0x41, 0, 9)))),
      ),
      code: 'dicom.malformed_pdu',
    },
    { name: 'A-RELEASE-RQ of length 6', bytes: pdu(5, new Uint8Array(6)), code: 'dicom.malformed_pdu' },
    { name: 'A-ABORT of length 2', bytes: pdu(7, new Uint8Array(2)), code: 'dicom.malformed_pdu' },
    {
      name: 'P-DATA with PDV longer than the PDU',
      bytes: pdu(4, Uint8Array.of(0, 0, 0, 9, 1, 3, 0)),
      code: 'dicom.malformed_pdv',
    },
    {
      name: 'P-DATA with PDV length 1',
      bytes: pdu(4, Uint8Array.of(0, 0, 0, 1, 1)),
      code: 'dicom.malformed_pdv',
    },
    { name: 'empty P-DATA', bytes: pdu(4, new Uint8Array(0)), code: 'dicom.malformed_pdv' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = parsePdu(c.bytes, 0, { ...L, ...c.limits });
      expect(r).toMatchObject({ ok: false, bad: true, code: c.code });
    });
  }
});

describe('parseCommandSet', () => {
  const cases: { name: string; bytes: Uint8Array; expect: Record<string, unknown> }[] = [
    {
      name: 'C-ECHO-RQ',
      bytes: commandSet({ field: 0x30, messageId: 7, affectedClass: VERIFICATION }),
      expect: { commandField: 0x30, messageId: 7, affectedSopClass: VERIFICATION, dataSetType: 0x0101 },
    },
    {
      name: 'C-MOVE-RSP with sub-operation counts',
      bytes: commandSet({
        field: 0x8021,
        respondedTo: 3,
        status: 0xff00,
        remaining: 4,
        completed: 2,
        failed: 1,
        warning: 0,
      }),
      expect: {
        commandField: 0x8021,
        messageIdRespondedTo: 3,
        status: 0xff00,
        remaining: 4,
        completed: 2,
        failed: 1,
        warning: 0,
      },
    },
    {
      name: 'C-MOVE-RQ with destination and priority',
      bytes: commandSet({
        field: 0x21,
        messageId: 9,
        moveDestination: 'ARCHIVE',
        priority: 2,
        dataSet: true,
      }),
      expect: { commandField: 0x21, moveDestination: 'ARCHIVE', priority: 2, dataSetType: 0 },
    },
    {
      name: 'C-STORE-RQ trims the NUL padding of UIDs',
      bytes: commandSet({
        field: 1,
        messageId: 1,
        affectedClass: CT_STORAGE,
        affectedInstance: '1.2.3',
        dataSet: true,
      }),
      expect: { affectedSopClass: CT_STORAGE, affectedSopInstance: '1.2.3' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = parseCommandSet(c.bytes, 0, c.bytes.length);
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.msg).toMatchObject(c.expect);
    });
  }
  it('never reads the error comment', () => {
    const b = commandSet({
      field: 0x8001,
      respondedTo: 1,
      status: 0xa700,
      errorComment: 'Patient DOE^JOHN refused',
    });
    expect(JSON.stringify(parseCommandSet(b, 0, b.length))).not.toContain('DOE');
  });
  const errors: { name: string; bytes: Uint8Array }[] = [
    { name: 'no command field', bytes: elemImplicit(0x00000110, Uint8Array.of(1, 0)) },
    {
      name: 'element length past the end',
      bytes: concat(elemImplicit(0x00000100, Uint8Array.of(1, 0)), Uint8Array.of(0, 0, 0x10, 1, 50, 0, 0, 0)),
    },
    {
      name: 'truncated element header',
      bytes: concat(elemImplicit(0x00000100, Uint8Array.of(1, 0)), Uint8Array.of(0, 0, 0x10)),
    },
  ];
  for (const c of errors) {
    it(`error: ${c.name}`, () => {
      expect(parseCommandSet(c.bytes, 0, c.bytes.length)).toMatchObject({
        ok: false,
        code: 'dicom.malformed_command',
      });
    });
  }
});

describe('parseIdentifier', () => {
  const explicitStudy = concat(
    elemExplicit(0x00080020, 'DA', padded('20240101-')),
    elemExplicit(0x00080052, 'CS', padded('STUDY')),
    elemExplicit(0x00100010, 'PN', padded('DOE*')),
    elemExplicit(0x00100020, 'LO', new Uint8Array(0)),
    elemExplicit(0x0020000d, 'UI', new Uint8Array(0)),
    elemExplicit(0x00091010, 'LO', padded('X?')),
  );
  const implicitPatient = concat(
    elemImplicit(0x00080005, padded('ISO_IR 100')),
    elemImplicit(0x00080052, padded('PATIENT')),
    elemImplicit(0x00100010, padded('*')),
    elemImplicit(0x00100030, padded('19800101')),
    elemImplicit(0x00081110, new Uint8Array(0)),
  );
  // A sequence of undefined length with one item of undefined length, then a key after it.
  const undefinedSeq = concat(
    elemExplicit(0x00400100, 'SQ', new Uint8Array(0), true),
    Uint8Array.of(0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff),
    elemExplicit(0x00400001, 'AE', padded('CT1')),
    Uint8Array.of(0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0),
    Uint8Array.of(0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0),
    elemExplicit(0x00080060, 'CS', padded('CT')),
    elemExplicit(0x00081110, 'SQ', new Uint8Array(0)),
  );
  const cases: { name: string; bytes: Uint8Array; enc: 'implicit_le' | 'explicit_le'; expect: unknown }[] = [
    {
      name: 'explicit VR LE study query: ranges are not wildcards, * ? and empty are',
      bytes: explicitStudy,
      enc: 'explicit_le',
      expect: {
        queryLevel: 'STUDY',
        keys: [
          { key: 'StudyDate', wildcard: false },
          { key: 'PatientName', wildcard: true },
          { key: 'PatientID', wildcard: true },
          { key: 'StudyInstanceUID', wildcard: true },
          { key: '(0009,1010)', wildcard: true },
        ],
        droppedKeys: 0,
      },
    },
    {
      name: 'implicit VR LE patient query; character set is not a key; empty sequence is universal',
      bytes: implicitPatient,
      enc: 'implicit_le',
      expect: {
        queryLevel: 'PATIENT',
        keys: [
          { key: 'PatientName', wildcard: true },
          { key: 'PatientBirthDate', wildcard: false },
          { key: 'ReferencedStudySequence', wildcard: true },
        ],
        droppedKeys: 0,
      },
    },
    {
      name: 'sequence of undefined length is skipped as one key',
      bytes: undefinedSeq,
      enc: 'explicit_le',
      expect: {
        keys: [
          { key: 'ScheduledProcedureStepSequence', wildcard: false },
          { key: 'Modality', wildcard: false },
          { key: 'ReferencedStudySequence', wildcard: true },
        ],
        droppedKeys: 0,
      },
    },
    {
      name: 'a query level that is not a code string is dropped',
      bytes: elemExplicit(0x00080052, 'CS', padded('patient; drop')),
      enc: 'explicit_le',
      expect: { keys: [], droppedKeys: 0 },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = parseIdentifier(c.bytes, 0, c.bytes.length, c.enc, L);
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.msg).toEqual(c.expect);
    });
  }
  it('values never appear in the result', () => {
    const r = parseIdentifier(explicitStudy, 0, explicitStudy.length, 'explicit_le', L);
    expect(JSON.stringify(r)).not.toMatch(/DOE|2024/);
  });
  it('caps the number of keys listed', () => {
    const many = concat(...Array.from({ length: 10 }, (_, i) => elemImplicit(0x00100010 + i * 2, text('A'))));
    const r = parseIdentifier(many, 0, many.length, 'implicit_le', { ...L, maxListEntries: 4 });
    expect(r.ok && [r.msg.keys.length, r.msg.droppedKeys]).toEqual([4, 6]);
  });
  it('guesses explicit VR from the first element', () => {
    expect(guessEncoding(explicitStudy, 0, explicitStudy.length)).toBe('explicit_le');
    expect(guessEncoding(implicitPatient, 0, implicitPatient.length)).toBe('implicit_le');
  });
  const errors: { name: string; bytes: Uint8Array; enc: 'implicit_le' | 'explicit_le' }[] = [
    {
      name: 'value past the end',
      bytes: concat(Uint8Array.of(0x10, 0, 0x10, 0), Uint8Array.of(0x50, 0, 0, 0)),
      enc: 'implicit_le',
    },
    { name: 'truncated header', bytes: Uint8Array.of(0x10, 0, 0x10, 0, 0x50), enc: 'implicit_le' },
    {
      name: 'undefined-length sequence without delimiter',
      bytes: elemExplicit(0x00400100, 'SQ', new Uint8Array(0), true),
      enc: 'explicit_le',
    },
    {
      name: 'sequences nested deeper than the cap',
      bytes: nested(L.maxSequenceDepth + 1),
      enc: 'implicit_le',
    },
  ];
  for (const c of errors) {
    it(`error: ${c.name}`, () => {
      expect(parseIdentifier(c.bytes, 0, c.bytes.length, c.enc, L)).toMatchObject({
        ok: false,
        code: 'dicom.malformed_identifier',
      });
    });
  }
  it('skips sequences nested up to the cap', () => {
    const b = nested(L.maxSequenceDepth);
    expect(parseIdentifier(b, 0, b.length, 'implicit_le', L)).toMatchObject({
      ok: true,
      msg: { keys: [{ key: 'ScheduledProcedureStepSequence' }] },
    });
  });
});

describe('probeDicom', () => {
  const rq = associateRq({ called: 'PACS', calling: 'CT' });
  it('matches an A-ASSOCIATE-RQ from the client and an AC from the server', () => {
    expect(probeDicom(0, rq)).toBe('match');
    expect(probeDicom(1, associateAc())).toBe('match');
  });
  it('asks for more bytes until it can decide', () => {
    for (const n of [0, 1, 5, 9, 41]) expect(probeDicom(0, rq.subarray(0, n))).toBe('need_more');
    expect(probeDicom(0, rq.subarray(0, 42))).toBe('match');
  });
  const no: [string, Uint8Array, 0 | 1][] = [
    ['HTTP', new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.padEnd(64, ' ')), 0],
    ['MLLP', concat(Uint8Array.of(0x0b), new TextEncoder().encode('MSH|^~\\&|'.padEnd(60, 'A'))), 0],
    ['AC from the client', associateAc(), 0],
    ['P-DATA', pdata({ ctx: 1, ctl: 3, data: commandSet({ field: 0x30, messageId: 1 }) }), 0],
    ['wrong protocol version', associateRq({ version: 2 }), 0],
    ['length too small', pdu(1, new Uint8Array(20)), 0],
    [
      'AE title with a control byte',
      associateRq({ rawCalled: Uint8Array.of(0x41, 0x01, ...new Array<number>(14).fill(0x20)) }),
      0,
    ],
  ];
  for (const [name, b, dir] of no) it(`rejects ${name}`, () => expect(probeDicom(dir, b)).toBe('no'));
});
