// DICOM event variants, anomaly codes and the fields rules may match (DESIGN.md "Protocol event", PS3.8 9.3, PS3.7 9/10).
import { bool, ident, list, num, str } from '../schema.js';
import type { AnomalySpec, EventTypeSpec, ProtocolSchema } from '../types.js';

/** Event `type` values (DESIGN.md). */
export const EVENT_TYPES = [
  'associate_rq',
  'associate_ac',
  'associate_rj',
  'release_rq',
  'release_rp',
  'abort',
  'dimse',
] as const;
export type DicomEventType = (typeof EVENT_TYPES)[number];

/** Every anomaly code the DICOM analyzer can emit; `malformed` says whether it counts as a parse error. */
export const ANOMALIES = {
  'dicom.pdu_too_large': {
    malformed: false,
    doc: "A PDU longer than the analyzer's cap (skipped by length, never buffered).",
  },
  'dicom.unknown_pdu_type': {
    malformed: true,
    doc: 'A PDU type outside 1-7 (PS3.8 9.3.1); the stream is resynchronised.',
  },
  'dicom.malformed_pdu': {
    malformed: true,
    doc: 'Item or field lengths inconsistent with the PDU length, or a wrong fixed PDU length.',
  },
  'dicom.malformed_pdv': {
    malformed: true,
    doc: 'A PDV whose length does not fit its P-DATA-TF PDU, or a P-DATA-TF without PDV.',
  },
  'dicom.malformed_command': {
    malformed: true,
    doc: 'A DIMSE command set that cannot be decoded (bad element lengths, no command field).',
  },
  'dicom.command_too_large': {
    malformed: false,
    doc: 'A command set longer than the cap (dropped).',
  },
  'dicom.malformed_identifier': {
    malformed: true,
    doc: 'A query identifier that cannot be decoded in its transfer syntax.',
  },
  'dicom.identifier_too_large': {
    malformed: false,
    doc: 'A query identifier longer than the cap (keys not decoded).',
  },
  'dicom.unexpected_pdu': {
    malformed: false,
    doc: "A PDU not allowed in the association's state (P-DATA before A-ASSOCIATE-AC, RQ from the server, ...).",
  },
  'dicom.unknown_presentation_context': {
    malformed: false,
    doc: 'A PDV on a presentation context the A-ASSOCIATE-AC did not accept.',
  },
  'dicom.unexpected_data_set': {
    malformed: false,
    doc: 'A data-set PDV with no command announcing it, or a command interrupted by another.',
  },
  'dicom.invalid_protocol_version': {
    malformed: true,
    doc: 'A-ASSOCIATE-RQ/AC protocol version without bit 0 set (PS3.8 9.3.2).',
  },
  'dicom.invalid_ae_title': {
    malformed: false,
    doc: 'Called or calling AE title with bytes outside printable ASCII (PS3.5 6.2 AE).',
  },
  'dicom.gap': {
    malformed: false,
    doc: 'Bytes lost to a capture gap; the analyzer dropped the partial message and resynchronised.',
  },
  'dicom.truncated_pdu': {
    malformed: false,
    doc: 'The direction ended in the middle of a PDU.',
  },
} as const satisfies Record<string, AnomalySpec>;

export type DicomAnomalyCode = keyof typeof ANOMALIES;
export const ANOMALY_CODES: readonly DicomAnomalyCode[] = Object.keys(ANOMALIES) as DicomAnomalyCode[];

const aeFields = {
  calling_ae: ident('calling AE title (trimmed)'),
  called_ae: ident('called AE title (trimmed)'),
  protocol_version: num('protocol version bits'),
  application_context: str('application context name UID'),
  abstract_syntaxes: list('SOP class UIDs proposed or accepted'),
  transfer_syntaxes: list('transfer syntax UIDs'),
  max_pdu_length: num('maximum PDU length the side receives'),
  implementation_class_uid: ident('implementation class UID (names the software)'),
  implementation_version: ident('implementation version name'),
  async_ops_invoked: num('asynchronous operations window: invoked'),
  async_ops_performed: num('asynchronous operations window: performed'),
  role_selections: list('SCP/SCU role selections', {
    sop_class: str('SOP class UID'),
    scu: bool('SCU role'),
    scp: bool('SCP role'),
  }),
};
const counts = {
  remaining: num('sub-operations remaining'),
  completed: num('sub-operations completed'),
  failed: num('sub-operations failed'),
  warning: num('sub-operations with a warning'),
};

/**
 * The DICOM events and their fields. All are metadata: AE titles, UIDs of SOP classes and instances, numbers and
 * attribute keywords; never attribute values of a data set.
 */
const events: Record<DicomEventType, EventTypeSpec> = {
  associate_rq: {
    doc: 'A-ASSOCIATE-RQ: a calling AE proposes an association',
    fields: {
      ...aeFields,
      context_count: num('presentation contexts proposed'),
      user_identity_type: num(
        'user identity negotiation type (1 user, 2 user+passcode, 3 Kerberos, 4 SAML, 5 JWT)',
      ),
      user_identity_has_passcode: bool('a passcode was sent (never kept)'),
    },
  },
  associate_ac: {
    doc: 'A-ASSOCIATE-AC: the called AE accepts',
    fields: {
      ...aeFields,
      accepted_contexts: num('presentation contexts accepted'),
      rejected_contexts: num('presentation contexts rejected'),
      contexts: list('accepted contexts', {
        id: num('presentation context id'),
        abstract_syntax: str('SOP class UID'),
        transfer_syntax: str('transfer syntax UID'),
        result: num('0 accepted, else the rejection reason'),
      }),
      user_identity_accepted: bool('the server answered the user identity'),
    },
  },
  associate_rj: {
    doc: 'A-ASSOCIATE-RJ: the association is refused',
    fields: {
      result: num('1 permanent, 2 transient'),
      source: num('who refused'),
      reason: num('reason code'),
    },
  },
  release_rq: { doc: 'A-RELEASE-RQ', fields: {} },
  release_rp: { doc: 'A-RELEASE-RP', fields: {} },
  abort: { doc: 'A-ABORT', fields: { source: num('0 user, 2 provider'), reason: num('reason code') } },
  dimse: {
    doc: 'one DIMSE message (command set, and whether a data set followed)',
    fields: {
      command: str('command name, e.g. C-STORE-RQ, C-FIND-RSP, N-ACTION-RQ'),
      command_field: num('command field value'),
      context_id: num('presentation context id'),
      abstract_syntax: str('SOP class UID of the context'),
      transfer_syntax: str('transfer syntax UID of the context'),
      message_id: num('message id'),
      message_id_responded_to: num('message id the response answers'),
      affected_sop_class: str('affected SOP class UID'),
      affected_sop_instance: str('affected SOP instance UID'),
      requested_sop_class: str('requested SOP class UID'),
      requested_sop_instance: str('requested SOP instance UID'),
      move_destination: ident('C-MOVE destination AE title'),
      move_originator_ae: ident('AE title that started the C-MOVE behind this C-STORE'),
      priority: num('0 medium, 1 high, 2 low'),
      status: num('response status'),
      has_data_set: bool('a data set follows'),
      event_type_id: num('N-EVENT-REPORT event type'),
      action_type_id: num('N-ACTION action type'),
      ...counts,
      query_level: str('Query/Retrieve level (PATIENT, STUDY, SERIES, IMAGE)'),
      query_keys: list('attribute keywords queried, never their values', {
        key: str('attribute keyword (or tag when the keyword is unknown)'),
        wildcard: bool('the value is a wildcard'),
      }),
      identifier_undecoded: bool('deflate or big-endian identifier: flagged, not decoded'),
      data_bytes: num('data set bytes'),
      incomplete: bool('the message was cut by a gap or the end of the stream'),
    },
  },
};

export const dicomSchema: ProtocolSchema = {
  proto: 'dicom',
  title: 'DICOM upper layer (PS3.8) and DIMSE (PS3.7)',
  clinical: true,
  events,
  anomalies: ANOMALIES,
  identity: [
    { types: ['associate_rq'], field: 'calling_ae', attr: 'dicom_ae', side: 'src' },
    { types: ['associate_rq'], field: 'called_ae', attr: 'dicom_ae', side: 'dst' },
    {
      types: ['associate_rq', 'associate_ac'],
      field: 'implementation_class_uid',
      attr: 'dicom_implementation_class_uid',
      side: 'src',
      tracked: true,
    },
    {
      types: ['associate_rq', 'associate_ac'],
      field: 'implementation_version',
      attr: 'dicom_implementation_version',
      side: 'src',
      tracked: true,
    },
  ],
  anomalyFields: {
    bytes: num('bytes lost'),
    pdu_type: num('PDU type'),
    length: num('declared length'),
    state: str('association state'),
    protocol_version: num('protocol version bits'),
    context_id: num('presentation context id'),
    reason: str('what was unexpected'),
  },
};
