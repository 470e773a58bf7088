// DICOM session: association phases, DIMSE reassembly, caps, gaps and resynchronisation, split invariance (PS3.8 9, annex E; PS3.7 9-10).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  abort,
  associateAc,
  associateRj,
  associateRq,
  commandSet,
  concat,
  CT_STORAGE,
  DEFLATE,
  elemExplicit,
  elemImplicit,
  EXPLICIT,
  IMPLICIT,
  padded,
  pdata,
  pdu,
  pdv,
  releaseRp,
  releaseRq,
  STUDY_ROOT_FIND,
  STUDY_ROOT_MOVE,
  VERIFICATION,
} from './builders.js';
import { newSession, run, type Step } from './sink.js';

const echo: Step[] = [
  [0, associateRq({ called: 'STORESCP', calling: 'ECHOSCU' })],
  [1, associateAc({ called: 'STORESCP', calling: 'ECHOSCU' })],
  [
    0,
    pdata({ ctx: 1, ctl: 3, data: commandSet({ field: 0x30, messageId: 1, affectedClass: VERIFICATION }) }),
  ],
  [
    1,
    pdata({
      ctx: 1,
      ctl: 3,
      data: commandSet({ field: 0x8030, respondedTo: 1, status: 0, affectedClass: VERIFICATION }),
    }),
  ],
  [0, releaseRq()],
  [1, releaseRp()],
];

const identifier = concat(
  elemExplicit(0x00080052, 'CS', padded('STUDY')),
  elemExplicit(0x00100010, 'PN', padded('DOE^J*')),
  elemExplicit(0x00100020, 'LO', padded('12345678')),
  elemExplicit(0x0020000d, 'UI', new Uint8Array(0)),
);
const findCmd = commandSet({
  field: 0x20,
  messageId: 5,
  affectedClass: STUDY_ROOT_FIND,
  priority: 0,
  dataSet: true,
});

/** C-FIND with the command split over two PDVs and the identifier over two P-DATA PDUs. */
const find: Step[] = [
  [0, associateRq({ rq: [{ id: 1, abstract: STUDY_ROOT_FIND, ts: [EXPLICIT, IMPLICIT] }] })],
  [1, associateAc({ ac: [{ id: 1, result: 0, ts: EXPLICIT }] })],
  [
    0,
    pdata({ ctx: 1, ctl: 1, data: findCmd.subarray(0, 20) }, { ctx: 1, ctl: 3, data: findCmd.subarray(20) }),
  ],
  [
    0,
    concat(
      pdata({ ctx: 1, ctl: 0, data: identifier.subarray(0, 15) }),
      pdata({ ctx: 1, ctl: 2, data: identifier.subarray(15) }),
    ),
  ],
  [
    1,
    pdata(
      { ctx: 1, ctl: 3, data: commandSet({ field: 0x8020, respondedTo: 5, status: 0xff00, dataSet: true }) },
      { ctx: 1, ctl: 2, data: identifier },
    ),
  ],
  [1, pdata({ ctx: 1, ctl: 3, data: commandSet({ field: 0x8020, respondedTo: 5, status: 0 }) })],
  [0, releaseRq()],
  [1, releaseRp()],
];

function storeSteps(dataLen: number, pduMax: number): Step[] {
  const data = new Uint8Array(dataLen).map((_, i) => (i * 7) & 0xff);
  const pdus: Uint8Array[] = [];
  for (let o = 0; o < dataLen; o += pduMax) {
    const end = Math.min(dataLen, o + pduMax);
    pdus.push(pdata({ ctx: 3, ctl: end === dataLen ? 2 : 0, data: data.subarray(o, end) }));
  }
  return [
    [0, associateRq({ rq: [{ id: 3, abstract: CT_STORAGE, ts: [EXPLICIT] }] })],
    [1, associateAc({ ac: [{ id: 3, result: 0, ts: EXPLICIT }] })],
    [
      0,
      pdata({
        ctx: 3,
        ctl: 3,
        data: commandSet({
          field: 1,
          messageId: 2,
          affectedClass: CT_STORAGE,
          affectedInstance: '1.2.3.4',
          priority: 0,
          dataSet: true,
        }),
      }),
    ],
    [0, concat(...pdus)],
    [
      1,
      pdata({
        ctx: 3,
        ctl: 3,
        data: commandSet({
          field: 0x8001,
          respondedTo: 2,
          status: 0,
          affectedClass: CT_STORAGE,
          affectedInstance: '1.2.3.4',
        }),
      }),
    ],
    [0, abort(0, 0)],
  ];
}

describe('DicomSession: scenarios', () => {
  it('C-ECHO association with release', () => {
    const sink = run(echo);
    expect(sink.types()).toEqual([
      'associate_rq',
      'associate_ac',
      'dimse',
      'dimse',
      'release_rq',
      'release_rp',
    ]);
    expect(sink.confirmed).toBe(1);
    expect(sink.of('associate_rq')[0]!.fields).toMatchObject({
      calling_ae: 'ECHOSCU',
      called_ae: 'STORESCP',
      abstract_syntaxes: [VERIFICATION],
      transfer_syntaxes: [IMPLICIT],
      max_pdu_length: 16384,
      implementation_class_uid: '1.2.3.4',
      implementation_version: 'TEST_1',
    });
    expect(sink.of('associate_ac')[0]!.fields).toMatchObject({
      accepted_contexts: 1,
      rejected_contexts: 0,
      contexts: [{ id: 1, result: 0, abstract_syntax: VERIFICATION, transfer_syntax: IMPLICIT }],
    });
    expect(sink.of('dimse').map((e) => e.fields)).toEqual([
      {
        command: 'C-ECHO-RQ',
        command_field: 0x30,
        context_id: 1,
        abstract_syntax: VERIFICATION,
        transfer_syntax: IMPLICIT,
        message_id: 1,
        affected_sop_class: VERIFICATION,
        has_data_set: false,
      },
      {
        command: 'C-ECHO-RSP',
        command_field: 0x8030,
        context_id: 1,
        abstract_syntax: VERIFICATION,
        transfer_syntax: IMPLICIT,
        message_id_responded_to: 1,
        affected_sop_class: VERIFICATION,
        status: 0,
        has_data_set: false,
      },
    ]);
  });

  it('C-FIND: command and identifier reassembled across PDVs and PDUs; keys without values', () => {
    const sink = run(find);
    const [rq, pending, final] = sink.of('dimse');
    expect(rq!.fields).toMatchObject({
      command: 'C-FIND-RQ',
      message_id: 5,
      priority: 0,
      data_bytes: identifier.length,
      query_level: 'STUDY',
      query_keys: [
        { key: 'PatientName', wildcard: true },
        { key: 'PatientID', wildcard: false },
        { key: 'StudyInstanceUID', wildcard: true },
      ],
    });
    expect(pending!.fields).toMatchObject({
      command: 'C-FIND-RSP',
      status: 0xff00,
      data_bytes: identifier.length,
    });
    expect(pending!.fields.query_keys).toBeUndefined();
    expect(final!.fields).toMatchObject({ command: 'C-FIND-RSP', status: 0, has_data_set: false });
    expect(sink.anomalies()).toEqual([]);
    expect(JSON.stringify(sink.events)).not.toMatch(/DOE|12345678/);
  });

  it('C-MOVE request with destination; response with sub-operation counts', () => {
    const ident = concat(
      elemImplicit(0x00080052, padded('STUDY')),
      elemImplicit(0x0020000d, padded('1.2.3', 0)),
    );
    const sink = run([
      [0, associateRq({ rq: [{ id: 1, abstract: STUDY_ROOT_MOVE, ts: [IMPLICIT] }] })],
      [1, associateAc({ ac: [{ id: 1, result: 0, ts: IMPLICIT }] })],
      [
        0,
        pdata(
          {
            ctx: 1,
            ctl: 3,
            data: commandSet({
              field: 0x21,
              messageId: 1,
              affectedClass: STUDY_ROOT_MOVE,
              moveDestination: 'ARCHIVE',
              priority: 0,
              dataSet: true,
            }),
          },
          { ctx: 1, ctl: 2, data: ident },
        ),
      ],
      [
        1,
        pdata({
          ctx: 1,
          ctl: 3,
          data: commandSet({
            field: 0x8021,
            respondedTo: 1,
            status: 0xff00,
            remaining: 3,
            completed: 1,
            failed: 0,
            warning: 0,
          }),
        }),
      ],
    ]);
    const [rq, rsp] = sink.of('dimse');
    expect(rq!.fields).toMatchObject({
      command: 'C-MOVE-RQ',
      move_destination: 'ARCHIVE',
      query_level: 'STUDY',
      query_keys: [{ key: 'StudyInstanceUID', wildcard: false }],
    });
    expect(rsp!.fields).toMatchObject({
      command: 'C-MOVE-RSP',
      status: 0xff00,
      remaining: 3,
      completed: 1,
      failed: 0,
      warning: 0,
    });
  });

  it('C-STORE data set is counted, never buffered', () => {
    const steps = storeSteps(300_000, 16_000);
    const { s, sink } = newSession();
    let maxBuffered = 0;
    for (const [dir, b] of steps) {
      for (let o = 0; o < b.length; o += 1460) {
        s.onData(dir, b.subarray(o, o + 1460), 1);
        maxBuffered = Math.max(maxBuffered, s.bufferedBytes());
      }
    }
    expect(maxBuffered).toBeLessThan(2048);
    expect(sink.of('dimse')[0]!.fields).toMatchObject({
      command: 'C-STORE-RQ',
      affected_sop_instance: '1.2.3.4',
      data_bytes: 300_000,
    });
    expect(sink.types().slice(-1)).toEqual(['abort']);
  });

  it('N-ACTION-RQ and N-EVENT-REPORT-RQ: requested/affected instance, action and event type ids', () => {
    const nCmd = (els: Uint8Array[]): Uint8Array => {
      const body = concat(...els);
      return concat(elemImplicit(0, Uint8Array.of(body.length & 0xff, body.length >> 8, 0, 0)), body);
    };
    const commitment = '1.2.840.10008.1.20.1';
    const action = nCmd([
      elemImplicit(0x00000003, padded(commitment, 0)),
      elemImplicit(0x00000100, Uint8Array.of(0x30, 0x01)),
      elemImplicit(0x00000110, Uint8Array.of(7, 0)),
      elemImplicit(0x00000800, Uint8Array.of(0, 0)),
      elemImplicit(0x00001001, padded('1.2.840.10008.1.20.1.1', 0)),
      elemImplicit(0x00001008, Uint8Array.of(1, 0)),
    ]);
    const report = nCmd([
      elemImplicit(0x00000002, padded(commitment, 0)),
      elemImplicit(0x00000100, Uint8Array.of(0x00, 0x01)),
      elemImplicit(0x00000110, Uint8Array.of(8, 0)),
      elemImplicit(0x00000800, Uint8Array.of(0x01, 0x01)),
      elemImplicit(0x00001000, padded('1.2.840.10008.1.20.1.1', 0)),
      elemImplicit(0x00001002, Uint8Array.of(1, 0)),
    ]);
    const sink = run([
      [0, associateRq({ rq: [{ id: 1, abstract: commitment, ts: [IMPLICIT] }] })],
      [1, associateAc()],
      [0, pdata({ ctx: 1, ctl: 3, data: action }, { ctx: 1, ctl: 2, data: new Uint8Array(40) })],
      [1, pdata({ ctx: 1, ctl: 3, data: report })],
    ]);
    expect(sink.of('dimse').map((e) => e.fields)).toEqual([
      expect.objectContaining({
        command: 'N-ACTION-RQ',
        requested_sop_class: commitment,
        requested_sop_instance: '1.2.840.10008.1.20.1.1',
        action_type_id: 1,
        message_id: 7,
        data_bytes: 40,
      }),
      expect.objectContaining({
        command: 'N-EVENT-REPORT-RQ',
        affected_sop_class: commitment,
        event_type_id: 1,
        message_id: 8,
        has_data_set: false,
      }),
    ]);
  });

  it('A-ASSOCIATE-RJ', () => {
    const sink = run([
      [0, associateRq({ called: 'NOSUCHAE' })],
      [1, associateRj(1, 1, 7)],
    ]);
    expect(sink.of('associate_rj')[0]!.fields).toEqual({ result: 1, source: 1, reason: 7 });
  });

  it('user identity: type and passcode flag only', () => {
    const sink = run([
      [
        0,
        associateRq({
          userIdentity: { type: 2, primary: 'nurse7', secondary: 'pw123' },
          roles: [{ uid: CT_STORAGE, scu: 0, scp: 1 }],
          async: [1, 1],
        }),
      ],
    ]);
    const f = sink.of('associate_rq')[0]!.fields;
    expect(f).toMatchObject({
      user_identity_type: 2,
      user_identity_has_passcode: true,
      role_selections: [{ sop_class: CT_STORAGE, scu: false, scp: true }],
      async_ops_invoked: 1,
      async_ops_performed: 1,
    });
    expect(JSON.stringify(sink.events)).not.toMatch(/nurse7|pw123/);
  });

  it('deflate and big endian identifiers are flagged, not decoded', () => {
    for (const ts of [DEFLATE, '1.2.840.10008.1.2.2']) {
      const sink = run([
        [0, associateRq({ rq: [{ id: 1, abstract: STUDY_ROOT_FIND, ts: [ts] }] })],
        [1, associateAc({ ac: [{ id: 1, result: 0, ts }] })],
        [0, pdata({ ctx: 1, ctl: 3, data: findCmd }, { ctx: 1, ctl: 2, data: Uint8Array.of(1, 2, 3, 4) })],
      ]);
      expect(sink.of('dimse')[0]!.fields.identifier_undecoded).toBe(
        ts === DEFLATE ? 'deflate' : 'explicit_be',
      );
      expect(sink.anomalies()).toEqual([]);
    }
  });

  it('mid-stream pickup: identifier encoding is guessed, no RQ needed', () => {
    const sink = run([[0, pdata({ ctx: 1, ctl: 3, data: findCmd }, { ctx: 1, ctl: 2, data: identifier })]]);
    expect(sink.confirmed).toBe(1);
    expect(sink.of('dimse')[0]!.fields).toMatchObject({ query_level: 'STUDY' });
    expect(sink.anomalies()).toEqual([]);
  });
});

describe('DicomSession: anomalies', () => {
  const rq = associateRq();
  const ac = associateAc();
  const cases: {
    name: string;
    steps: Step[];
    limits?: Record<string, number>;
    anomalies: string[];
    violation?: boolean;
    after?: string[];
  }[] = [
    {
      name: 'unknown PDU type before confirmation',
      steps: [[0, pdu(9, new Uint8Array(4))]],
      anomalies: ['dicom.unknown_pdu_type'],
      violation: true,
    },
    {
      name: 'oversized first PDU',
      steps: [[0, rq]],
      limits: { maxPduLength: 64 },
      anomalies: ['dicom.pdu_too_large'],
      violation: true,
    },
    {
      name: 'unknown PDU type after confirmation: resynchronised on the next PDU',
      steps: [
        [0, rq],
        [1, ac],
        [0, concat(pdu(0x42, new Uint8Array(30)), releaseRq())],
        [1, releaseRp()],
      ],
      anomalies: ['dicom.unknown_pdu_type'],
      after: ['release_rq', 'release_rp'],
    },
    {
      name: 'oversized P-DATA after confirmation is skipped by length',
      steps: [
        [0, rq],
        [1, ac],
        [0, concat(pdata({ ctx: 1, ctl: 2, data: new Uint8Array(5000) }), releaseRq())],
      ],
      limits: { maxPdataLength: 1000 },
      anomalies: ['dicom.pdu_too_large'],
      after: ['release_rq'],
    },
    {
      name: 'P-DATA after a rejection',
      steps: [
        [0, rq],
        [1, associateRj()],
        [0, pdata({ ctx: 1, ctl: 3, data: commandSet({ field: 0x30, messageId: 1 }) })],
      ],
      anomalies: ['dicom.unexpected_pdu'],
    },
    {
      name: 'second A-ASSOCIATE-RQ on the same connection',
      steps: [
        [0, rq],
        [1, ac],
        [0, releaseRq()],
        [1, releaseRp()],
        [0, rq],
      ],
      anomalies: ['dicom.unexpected_pdu'],
    },
    {
      name: 'A-ASSOCIATE-AC from the client',
      steps: [
        [0, rq],
        [0, ac],
      ],
      anomalies: ['dicom.unexpected_pdu'],
    },
    {
      name: 'command on a context the AC rejected',
      steps: [
        [0, rq],
        [1, associateAc({ ac: [{ id: 1, result: 3 }] })],
        [0, pdata({ ctx: 1, ctl: 3, data: commandSet({ field: 0x30, messageId: 1 }) })],
      ],
      anomalies: ['dicom.unknown_presentation_context'],
    },
    {
      name: 'data set without a command',
      steps: [
        [0, rq],
        [1, ac],
        [0, pdata({ ctx: 1, ctl: 2, data: new Uint8Array(10) })],
      ],
      anomalies: ['dicom.unexpected_data_set'],
    },
    {
      name: 'malformed command set',
      steps: [
        [0, rq],
        [1, ac],
        [0, pdata({ ctx: 1, ctl: 3, data: Uint8Array.of(0, 0, 0x10, 1, 9, 0, 0, 0) })],
      ],
      anomalies: ['dicom.malformed_command'],
    },
    {
      name: 'command set over the cap',
      steps: [
        [0, rq],
        [1, ac],
        [
          0,
          pdata({ ctx: 1, ctl: 1, data: new Uint8Array(600) }, { ctx: 1, ctl: 3, data: new Uint8Array(600) }),
        ],
      ],
      limits: { maxCommandLength: 1000 },
      anomalies: ['dicom.command_too_large'],
    },
    {
      name: 'identifier over the cap',
      steps: [
        [0, rq],
        [1, ac],
        [0, pdata({ ctx: 1, ctl: 3, data: findCmd }, { ctx: 1, ctl: 2, data: new Uint8Array(3000) })],
      ],
      limits: { maxIdentifierLength: 1000 },
      anomalies: ['dicom.identifier_too_large'],
    },
    {
      name: 'malformed identifier',
      steps: [
        [0, rq],
        [1, associateAc({ ac: [{ id: 1, result: 0, ts: IMPLICIT }] })],
        [
          0,
          pdata(
            { ctx: 1, ctl: 3, data: findCmd },
            { ctx: 1, ctl: 2, data: Uint8Array.of(8, 0, 0x52, 0, 99, 0, 0, 0) },
          ),
        ],
      ],
      anomalies: ['dicom.malformed_identifier'],
    },
    {
      name: 'PDV longer than its PDU',
      steps: [
        [0, rq],
        [1, ac],
        [0, pdu(4, Uint8Array.of(0, 0, 0, 50, 1, 3, 0, 0))],
      ],
      anomalies: ['dicom.malformed_pdv'],
    },
    {
      name: 'protocol version without bit 0',
      steps: [[0, associateRq({ version: 2 })]],
      anomalies: ['dicom.invalid_protocol_version'],
    },
    {
      name: 'AE title with control bytes',
      steps: [
        [0, associateRq({ rawCalled: Uint8Array.of(0x41, 0x07, ...new Array<number>(14).fill(0x20)) })],
      ],
      anomalies: ['dicom.invalid_ae_title'],
    },
    {
      name: 'stream ends inside a PDU',
      steps: [
        [0, rq],
        [1, ac.subarray(0, 40)],
      ],
      anomalies: ['dicom.truncated_pdu'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const sink = run(c.steps, () => [], c.limits ?? {});
      expect(sink.anomalies()).toEqual(c.anomalies);
      expect(sink.violations.length > 0).toBe(c.violation ?? false);
      if (c.after) expect(sink.types().filter((t) => c.after!.includes(t))).toEqual(c.after);
    });
  }

  it('a data set interrupted by the next command reports the first command as incomplete', () => {
    const sink = run([
      [0, rq],
      [1, ac],
      [
        0,
        pdata(
          { ctx: 1, ctl: 3, data: findCmd },
          { ctx: 1, ctl: 0, data: new Uint8Array(8) },
          { ctx: 1, ctl: 3, data: commandSet({ field: 0x0fff, respondedTo: 5 }) },
        ),
      ],
    ]);
    expect(sink.types()).toEqual([
      'associate_rq',
      'associate_ac',
      'anomaly:dicom.unexpected_data_set',
      'dimse',
      'dimse',
    ]);
    expect(sink.of('dimse').map((e) => [e.fields.command, e.fields.incomplete])).toEqual([
      ['C-FIND-RQ', true],
      ['C-CANCEL-RQ', undefined],
    ]);
  });
});

describe('DicomSession: gaps', () => {
  it('a gap inside a P-DATA-TF skips the rest of that PDU only', () => {
    const steps = storeSteps(10_000, 4000);
    const { s, sink } = newSession();
    for (const [dir, b] of steps.slice(0, 3)) s.onData(dir, b, 1);
    const data = steps[3]![1];
    s.onData(0, data.subarray(0, 1000), 2);
    s.onGap(0, 500, 2);
    s.onData(0, data.subarray(1500), 3);
    s.onData(1, steps[4]![1], 4);
    s.onData(0, releaseRq(), 5);
    expect(sink.types()).toEqual([
      'associate_rq',
      'associate_ac',
      'anomaly:dicom.gap',
      'dimse',
      'dimse',
      'release_rq',
    ]);
    expect(sink.of('dimse')[0]!.fields).toMatchObject({ command: 'C-STORE-RQ', incomplete: true });
  });

  it('a gap across PDU boundaries resynchronises on the next plausible PDU', () => {
    const { s, sink } = newSession();
    s.onData(0, associateRq(), 1);
    s.onData(1, associateAc(), 1);
    const echoRq = pdata({ ctx: 1, ctl: 3, data: commandSet({ field: 0x30, messageId: 1 }) });
    s.onData(0, echoRq.subarray(0, 10), 2);
    s.onGap(0, echoRq.length, 2); // loses the rest of this PDU and the start of the next
    const next = pdata({ ctx: 1, ctl: 3, data: commandSet({ field: 0x30, messageId: 2 }) });
    const stream = concat(next.subarray(10), next, releaseRq());
    for (let o = 0; o < stream.length; o += 3) s.onData(0, stream.subarray(o, o + 3), 3);
    expect(sink.types()).toEqual([
      'associate_rq',
      'associate_ac',
      'anomaly:dicom.gap',
      'dimse',
      'release_rq',
    ]);
    expect(sink.of('dimse')[0]!.fields.message_id).toBe(2);
    expect(sink.malformed).toBe(0);
  });

  it('the tail of a command whose start fell into a gap is dropped without a parse error', () => {
    const { s, sink } = newSession();
    s.onData(0, associateRq(), 1);
    s.onData(1, associateAc(), 1);
    const cmd = commandSet({ field: 0x30, messageId: 4 });
    const first = pdata({ ctx: 1, ctl: 1, data: cmd.subarray(0, 30) });
    s.onData(0, first.subarray(0, 8), 2);
    s.onGap(0, first.length - 8, 2);
    s.onData(
      0,
      concat(
        pdata({ ctx: 1, ctl: 3, data: cmd.subarray(30) }),
        pdata({ ctx: 1, ctl: 3, data: commandSet({ field: 0x30, messageId: 5 }) }),
      ),
      3,
    );
    expect(sink.malformed).toBe(0);
    expect(sink.of('dimse').map((e) => e.fields.message_id)).toEqual([5]);
  });
});

describe('DicomSession: split invariance', () => {
  const baseline = (steps: Step[]): string => JSON.stringify(run(steps).events);

  it('echo and find: every single byte boundary of every message', () => {
    for (const steps of [echo, find]) {
      const want = baseline(steps);
      steps.forEach(([, b], i) => {
        for (let k = 1; k < b.length; k++) {
          expect(JSON.stringify(run(steps, (_len, j) => (j === i ? [k] : [])).events)).toBe(want);
        }
      });
    }
  });

  it('every message fed one byte at a time', () => {
    for (const steps of [echo, find]) {
      expect(JSON.stringify(run(steps, (len) => Array.from({ length: len }, (_, k) => k)).events)).toBe(
        baseline(steps),
      );
    }
  });

  it('C-STORE of 100 kB: random splits (seeded)', () => {
    const steps = storeSteps(100_000, 16_000);
    const want = baseline(steps);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 130_000 }), { maxLength: 40 }), (cuts) => {
        const sorted = [...new Set(cuts)].sort((a, b) => a - b);
        expect(JSON.stringify(run(steps, (len) => sorted.filter((c) => c < len)).events)).toBe(want);
      }),
      { seed: 42, numRuns: 60 },
    );
  });

  it('several PDUs in one segment equal one PDU per segment', () => {
    const merged: Step[] = [
      [0, concat(echo[0]![1])],
      [1, echo[1]![1]],
      [0, concat(echo[2]![1], echo[4]![1])],
      [1, concat(echo[3]![1], echo[5]![1])],
    ];
    const a = run(echo).events.filter((e) => e.dir === 0);
    const b = run(merged).events.filter((e) => e.dir === 0);
    expect(b).toEqual(a);
  });

  it('PDV header split from its data in another PDU is still one message', () => {
    const cmd = commandSet({ field: 0x30, messageId: 9 });
    const sink = run([
      [
        0,
        concat(
          pdu(4, pdv({ ctx: 1, ctl: 1, data: cmd.subarray(0, 3) })),
          pdu(4, pdv({ ctx: 1, ctl: 3, data: cmd.subarray(3) })),
        ),
      ],
    ]);
    expect(sink.of('dimse').map((e) => e.fields.message_id)).toEqual([9]);
  });
});
