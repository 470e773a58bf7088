// HL7 v2 event variant, anomaly codes and the fields rules may match (DESIGN.md "Protocol event", hl7).
import type { EventFields } from '../types.js';
import type { Hl7Message, ParseNote } from './parse.js';

/** The one event type: one per HL7 message (batched messages each get their own). */
export const HL7_EVENT_TYPES = ['message'] as const;

/** Every anomaly code the HL7 analyzer emits, with whether it counts as a parse error. */
export const ANOMALY_TABLE = {
  /** An MLLP block cut short by a new block or the end of the stream before its end byte. */
  'hl7.unterminated_message': { malformed: true },
  /** Bytes outside MLLP blocks (not an <VT>MSH/FHS/BHS block); CR/LF between blocks is tolerated silently. */
  'hl7.garbage_between_frames': { malformed: true },
  /** <FS> not followed by <CR> (Appendix C.4.3). */
  'hl7.bad_frame_end': { malformed: false },
  /** MSH/FHS/BHS with unusable encoding characters, or MSH-9/MSH-10 missing. */
  'hl7.bad_msh': { malformed: true },
  /** A segment id that is not 3 upper-case letters/digits, or segments before any MSH. */
  'hl7.bad_segment': { malformed: true },
  /** Segments terminated by LF or CRLF instead of CR (ch. 2.5.1). */
  'hl7.lf_segment_terminator': { malformed: false },
  /** A block over the size cap (skipped to its end), or more segments, device ids or field text than kept. */
  'hl7.limit_exceeded': { malformed: false },
  /** BHS without BTS, BTS outside a batch, or BTS-1 not equal to the messages seen. */
  'hl7.bad_batch': { malformed: true },
  /** Several MSH in one MLLP block outside a batch. */
  'hl7.multiple_messages_in_frame': { malformed: false },
  /** An ACK (MSA-2) that acknowledges no message seen on this flow. */
  'hl7.unmatched_ack': { malformed: false },
  /** More messages awaiting their ACK than the cap; the oldest are forgotten. */
  'hl7.outstanding_overflow': { malformed: false },
  /** A capture gap inside an MLLP block: the partial message is dropped. */
  'hl7.message_lost_in_gap': { malformed: false },
} as const satisfies Record<string, { malformed: boolean }>;

export type Hl7AnomalyCode = keyof typeof ANOMALY_TABLE;
export const ANOMALY_CODES: readonly Hl7AnomalyCode[] = Object.keys(ANOMALY_TABLE) as Hl7AnomalyCode[];

/** Fields of a "message" event that rules may match (DESIGN.md names, plus rtt_ms, batch, ihe_transaction). */
export const RULE_FIELDS = [
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
] as const;

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
