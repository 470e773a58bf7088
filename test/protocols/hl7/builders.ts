// Byte builders for HL7 v2 messages, MLLP blocks and batches (HL7 v2.x ch. 2, Appendix C), with obviously fake patient data.

export const VT = '\x0b';
export const FS = '\x1c';
export const CR = '\r';

/** Invented patient values: a test asserts none of them ever reaches an event. */
export const FAKE_PATIENT = {
  name: 'DOE^JANE^Q',
  id: 'PAT-0000-FAKE',
  dob: '19000101',
  address: '1 NOWHERE ST^^FAKETOWN^ZZ^00000',
  value: '98.7654321',
  nextOfKin: 'DOE^JOHN',
} as const;
export const PHI_STRINGS: readonly string[] = [
  'DOE',
  'JANE',
  FAKE_PATIENT.id,
  FAKE_PATIENT.dob,
  'NOWHERE',
  'FAKETOWN',
  FAKE_PATIENT.value,
  'JOHN',
];

export interface MshOptions {
  field?: string;
  enc?: string;
  sendingApp?: string;
  sendingFacility?: string;
  receivingApp?: string;
  receivingFacility?: string;
  type?: string;
  controlId?: string;
  processingId?: string;
  version?: string;
  acceptAck?: string;
  appAck?: string;
  profile?: string;
  header?: 'MSH' | 'FHS' | 'BHS';
}

/** An MSH (or FHS/BHS) segment; components of `type` use '^' and are rewritten to the declared separator. */
export function msh(o: MshOptions = {}): string {
  const f = o.field ?? '|';
  const enc = o.enc ?? '^~\\&';
  const comp = enc[0] ?? '^';
  const fields = [
    enc,
    o.sendingApp ?? 'MONITOR',
    o.sendingFacility ?? 'ICU',
    o.receivingApp ?? 'GATEWAY',
    o.receivingFacility ?? 'HOSP',
    '20260101120000',
    '',
    (o.type ?? 'ADT^A01').replaceAll('^', comp),
    o.controlId ?? 'MSG00001',
    o.processingId ?? 'P',
    o.version ?? '2.6',
  ];
  if (o.acceptAck !== undefined || o.appAck !== undefined || o.profile !== undefined) {
    fields.push('', '', o.acceptAck ?? '', o.appAck ?? '', '', '', '', '', o.profile ?? '');
  }
  return (o.header ?? 'MSH') + f + fields.join(f);
}

export const SEG = {
  evn: 'EVN|A01|20260101120000',
  pid: `PID|1||${FAKE_PATIENT.id}^^^HOSP^MR||${FAKE_PATIENT.name}||${FAKE_PATIENT.dob}|F|||${FAKE_PATIENT.address}`,
  nk1: `NK1|1|${FAKE_PATIENT.nextOfKin}|SPO`,
  pv1: 'PV1|1|I|ICU^BED1',
  obr: 'OBR|1|||69837-0^MDC_OBS^LN',
  orc: 'ORC|NW|ORD1',
  /** OBX with an observation value and, in OBX-18, the device (EUI-64 style id, then a second repetition). */
  obxDevice: `OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|${FAKE_PATIENT.value}|262688^MDC_DIM_PERCENT^MDC|||||R|||20260101120000||||0123456789ABCDEF^EUI-64~PUMP-42^LOCAL`,
  obxPlain: `OBX|1|NM|8867-4^Heart rate^LN||${FAKE_PATIENT.value}|/min|||||F`,
  /** PRT with a UDI in PRT-16. */
  prtUdi: 'PRT|1|UC||OP^Operator||||||||||||(01)00812345678901^GS1',
  rxg: 'RXG|1|1|20260101120000|0338-0049^Heparin^NDC|10',
} as const;

/** Segments joined with CR (the HL7 segment terminator, ch. 2.5.1). */
export function message(...segments: string[]): string {
  return segments.map((s) => s + CR).join('');
}

export function ack(o: {
  controlId: string;
  ackOf: string;
  code?: string;
  type?: string;
  field?: string;
  enc?: string;
}): string {
  const f = o.field ?? '|';
  return message(
    msh({
      field: f,
      ...(o.enc !== undefined ? { enc: o.enc } : {}),
      sendingApp: 'GATEWAY',
      sendingFacility: 'HOSP',
      receivingApp: 'MONITOR',
      receivingFacility: 'ICU',
      type: o.type ?? 'ACK',
      controlId: o.controlId,
    }),
    ['MSA', o.code ?? 'AA', o.ackOf].join(f),
  );
}

export function adt(controlId = 'MSG00001'): string {
  return message(msh({ type: 'ADT^A01', controlId }), SEG.evn, SEG.pid, SEG.nk1, SEG.pv1);
}

/** IHE PCD-01 style ORU^R01 with the device in OBX-18. */
export function oruPcd01(controlId = 'ORU00001'): string {
  return message(
    msh({
      type: 'ORU^R01^ORU_R01',
      controlId,
      acceptAck: 'NE',
      profile: 'IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO',
    }),
    SEG.pid,
    SEG.pv1,
    SEG.obr,
    SEG.obxDevice,
  );
}

export function orm(controlId = 'ORM00001'): string {
  return message(msh({ type: 'ORM^O01', controlId }), SEG.pid, SEG.pv1, SEG.orc, SEG.obr);
}

/** IHE PCD-03 infusion order. */
export function rgv(controlId = 'RGV00001'): string {
  return message(msh({ type: 'RGV^O15^RGV_O15', controlId }), SEG.pid, SEG.orc, SEG.rxg, SEG.prtUdi);
}

export function mllp(content: string | Uint8Array): Uint8Array {
  const body = typeof content === 'string' ? Buffer.from(content, 'latin1') : content;
  const out = new Uint8Array(body.length + 3);
  out[0] = 0x0b;
  out.set(body, 1);
  out[body.length + 1] = 0x1c;
  out[body.length + 2] = 0x0d;
  return out;
}

export function concat(...parts: (Uint8Array | string)[]): Uint8Array {
  const bufs = parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p));
  const total = bufs.reduce((n, b) => n + b.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const b of bufs) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

/** A batch: BHS, the messages, BTS with the count (optionally wrapped in FHS/FTS). */
export function batch(messages: string[], o: { file?: boolean; count?: number } = {}): string {
  const parts: string[] = [];
  if (o.file) parts.push(msh({ header: 'FHS', controlId: 'FILE1', type: '' }) + CR);
  parts.push(msh({ header: 'BHS', controlId: 'BATCH1', type: '' }) + CR);
  parts.push(...messages);
  parts.push(`BTS|${o.count ?? messages.length}` + CR);
  if (o.file) parts.push('FTS|1' + CR);
  return parts.join('');
}

export { RecordingSink, type Recorded } from '../../helpers/sink.js';
