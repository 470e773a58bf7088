// HL7 v2 event variant, anomaly codes and the fields rules may match (DESIGN.md "Protocol event", hl7).
import { bool, ident, list, num, str } from '../schema.js';
import type { AnomalySpec, EventFields, ProtocolSchema } from '../types.js';
import type { Hl7Message, ParseNote } from './parse.js';

/** Every anomaly code the HL7 analyzer emits, with whether it counts as a parse error. */
export const ANOMALY_TABLE = {
  'hl7.unterminated_message': {
    malformed: true,
    doc: 'An MLLP block cut short by a new block or the end of the stream before its end byte.',
  },
  'hl7.garbage_between_frames': {
    malformed: true,
    doc: 'Bytes outside MLLP blocks (not an <VT>MSH/FHS/BHS block); CR/LF between blocks is tolerated silently.',
  },
  'hl7.bad_frame_end': {
    malformed: false,
    doc: '<FS> not followed by <CR> (Appendix C.4.3).',
  },
  'hl7.bad_msh': {
    malformed: true,
    doc: 'MSH/FHS/BHS with unusable encoding characters, or MSH-9/MSH-10 missing.',
  },
  'hl7.bad_segment': {
    malformed: true,
    doc: 'A segment id that is not 3 upper-case letters/digits, or segments before any MSH.',
  },
  'hl7.lf_segment_terminator': {
    malformed: false,
    doc: 'Segments terminated by LF or CRLF instead of CR (ch. 2.5.1).',
  },
  'hl7.limit_exceeded': {
    malformed: false,
    doc: 'A block over the size cap (skipped to its end), or more segments, device ids or field text than kept.',
  },
  'hl7.bad_batch': {
    malformed: true,
    doc: 'BHS without BTS, BTS outside a batch, or BTS-1 not equal to the messages seen.',
  },
  'hl7.multiple_messages_in_frame': {
    malformed: false,
    doc: 'Several MSH in one MLLP block outside a batch.',
  },
  'hl7.unmatched_ack': {
    malformed: false,
    doc: 'An ACK (MSA-2) that acknowledges no message seen on this flow.',
  },
  'hl7.outstanding_overflow': {
    malformed: false,
    doc: 'More messages awaiting their ACK than the cap; the oldest are forgotten.',
  },
  'hl7.message_lost_in_gap': {
    malformed: false,
    doc: 'A capture gap inside an MLLP block: the partial message is dropped.',
  },
} as const satisfies Record<string, AnomalySpec>;

export type Hl7AnomalyCode = keyof typeof ANOMALY_TABLE;
export const ANOMALY_CODES: readonly Hl7AnomalyCode[] = Object.keys(ANOMALY_TABLE) as Hl7AnomalyCode[];

/** The one HL7 event: metadata of a message (DESIGN.md names, plus rtt_ms, batch, ihe_transaction). */
export const hl7Schema: ProtocolSchema = {
  proto: 'hl7',
  title: 'HL7 v2 over MLLP',
  events: {
    message: {
      doc: 'one HL7 message (batched messages each get their own)',
      fields: {
        sending_app: ident('MSH-3 sending application'),
        sending_facility: ident('MSH-4 sending facility'),
        receiving_app: ident('MSH-5 receiving application'),
        receiving_facility: ident('MSH-6 receiving facility'),
        message_type: str('MSH-9, e.g. ADT^A01'),
        control_id: str('MSH-10 message control id'),
        processing_id: str('MSH-11 processing id (P, T, D)'),
        version: str('MSH-12 version id'),
        segments: list('segment ids in order (capped)'),
        ack_code: str('MSA-1 acknowledgement code'),
        ack_control_id: str('MSA-2 control id acknowledged'),
        size: num('message bytes'),
        has_phi: bool('patient segments (PID, NK1, ...) present'),
        device_ids: list('PRT-16 UDI and OBX-18 equipment ids: they name the device, not the patient'),
        rtt_ms: num('time from the message to its ACK, ms'),
        batch: bool('part of an FHS/BHS batch'),
        ihe_transaction: str('IHE transaction the message type belongs to, e.g. PCD-01'),
      },
    },
  },
  clinical: true,
  anomalies: ANOMALY_TABLE,
  identity: [
    { types: ['message'], field: 'sending_app', attr: 'hl7_sending_app', side: 'src' },
    { types: ['message'], field: 'sending_facility', attr: 'hl7_sending_facility', side: 'src' },
    { types: ['message'], field: 'receiving_app', attr: 'hl7_receiving_app', side: 'dst' },
    {
      types: ['message'],
      field: 'version',
      attr: 'hl7_version',
      side: 'src',
      tracked: true,
      // An engine answers each sender in that sender's version: only non-ACK messages say what a host speaks.
      when: (f) => typeof f.message_type === 'string' && !f.message_type.startsWith('ACK'),
    },
    { types: ['message'], field: 'device_ids', attr: 'hl7_device_id', side: 'src', max: 8 },
  ],
  anomalyFields: {
    bytes: num('bytes involved'),
    gap: num('bytes missing'),
    limit: num('the cap that was exceeded'),
    ack_control_id: str('MSA-2 control id no message on the flow had'),
    message_type: str('MSH-9 of the unmatched ACK'),
    before_first_message: bool('the garbage came before any MLLP block'),
  },
};

/** Which anomaly a parse note becomes. */
export const NOTE_ANOMALY: Readonly<Record<ParseNote, Hl7AnomalyCode>> = {
  bad_msh: 'hl7.bad_msh',
  bad_segment_id: 'hl7.bad_segment',
  missing_msh: 'hl7.bad_segment',
  lf_terminator: 'hl7.lf_segment_terminator',
  segments_truncated: 'hl7.limit_exceeded',
  device_ids_truncated: 'hl7.limit_exceeded',
  field_truncated: 'hl7.limit_exceeded',
  bad_batch: 'hl7.bad_batch',
  multiple_messages: 'hl7.multiple_messages_in_frame',
};

/** The event fields of one message: metadata only, empty values left out ("absent when not on the wire"). */
export function toMessageFields(
  m: Hl7Message,
  ihe: string | undefined,
  rttMs: number | undefined,
): EventFields {
  const f: EventFields = {};
  if (m.sendingApp) f.sending_app = m.sendingApp;
  if (m.sendingFacility) f.sending_facility = m.sendingFacility;
  if (m.receivingApp) f.receiving_app = m.receivingApp;
  if (m.receivingFacility) f.receiving_facility = m.receivingFacility;
  if (m.messageType) f.message_type = m.messageType;
  if (m.controlId) f.control_id = m.controlId;
  if (m.processingId) f.processing_id = m.processingId;
  if (m.version) f.version = m.version;
  // the message object is not kept by the parser: its arrays can be handed over without a copy
  f.segments = m.segments;
  if (m.ackCode) f.ack_code = m.ackCode;
  if (m.ackControlId) f.ack_control_id = m.ackControlId;
  f.size = m.size;
  f.has_phi = m.hasPhi;
  if (m.deviceIds.length > 0) f.device_ids = m.deviceIds;
  if (rttMs !== undefined) f.rtt_ms = rttMs;
  if (m.batch) f.batch = true;
  if (ihe !== undefined) f.ihe_transaction = ihe;
  return f;
}
