// DICOM event variants, anomaly codes and the fields rules may match (DESIGN.md "Protocol event", PS3.8 9.3, PS3.7 9/10).

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
  /** A PDU longer than the analyzer's cap (skipped by length, never buffered). */
  'dicom.pdu_too_large': { malformed: false },
  /** A PDU type outside 1-7 (PS3.8 9.3.1); the stream is resynchronised. */
  'dicom.unknown_pdu_type': { malformed: true },
  /** Item or field lengths inconsistent with the PDU length, or a wrong fixed PDU length. */
  'dicom.malformed_pdu': { malformed: true },
  /** A PDV whose length does not fit its P-DATA-TF PDU, or a P-DATA-TF without PDV. */
  'dicom.malformed_pdv': { malformed: true },
  /** A DIMSE command set that cannot be decoded (bad element lengths, no command field). */
  'dicom.malformed_command': { malformed: true },
  /** A command set longer than the cap (dropped). */
  'dicom.command_too_large': { malformed: false },
  /** A query identifier that cannot be decoded in its transfer syntax. */
  'dicom.malformed_identifier': { malformed: true },
  /** A query identifier longer than the cap (keys not decoded). */
  'dicom.identifier_too_large': { malformed: false },
  /** A PDU not allowed in the association's state (P-DATA before A-ASSOCIATE-AC, RQ from the server, ...). */
  'dicom.unexpected_pdu': { malformed: false },
  /** A PDV on a presentation context the A-ASSOCIATE-AC did not accept. */
  'dicom.unknown_presentation_context': { malformed: false },
  /** A data-set PDV with no command announcing it, or a command interrupted by another. */
  'dicom.unexpected_data_set': { malformed: false },
  /** A-ASSOCIATE-RQ/AC protocol version without bit 0 set (PS3.8 9.3.2). */
  'dicom.invalid_protocol_version': { malformed: true },
  /** Called or calling AE title with bytes outside printable ASCII (PS3.5 6.2 AE). */
  'dicom.invalid_ae_title': { malformed: false },
  /** Bytes lost to a capture gap; the analyzer dropped the partial message and resynchronised. */
  'dicom.gap': { malformed: false },
  /** The direction ended in the middle of a PDU. */
  'dicom.truncated_pdu': { malformed: false },
} as const satisfies Record<string, { malformed: boolean }>;

export type DicomAnomalyCode = keyof typeof ANOMALIES;
export const ANOMALY_CODES: readonly DicomAnomalyCode[] = Object.keys(ANOMALIES) as DicomAnomalyCode[];

/**
 * Fields rules may match, per event type. All are metadata: AE titles, UIDs of SOP classes and
 * instances, numbers and attribute keywords; never attribute values of a data set.
 */
export const EVENT_FIELDS: Readonly<Record<DicomEventType, readonly string[]>> = {
  associate_rq: [
    'calling_ae',
    'called_ae',
    'protocol_version',
    'application_context',
    'abstract_syntaxes',
    'transfer_syntaxes',
    'context_count',
    'max_pdu_length',
    'implementation_class_uid',
    'implementation_version',
    'async_ops_invoked',
    'async_ops_performed',
    'role_selections',
    'user_identity_type',
    'user_identity_has_passcode',
  ],
  associate_ac: [
    'calling_ae',
    'called_ae',
    'protocol_version',
    'application_context',
    'accepted_contexts',
    'rejected_contexts',
    'contexts',
    'abstract_syntaxes',
    'transfer_syntaxes',
    'max_pdu_length',
    'implementation_class_uid',
    'implementation_version',
    'async_ops_invoked',
    'async_ops_performed',
    'role_selections',
    'user_identity_accepted',
  ],
  associate_rj: ['result', 'source', 'reason'],
  release_rq: [],
  release_rp: [],
  abort: ['source', 'reason'],
  dimse: [
    'command',
    'command_field',
    'context_id',
    'abstract_syntax',
    'transfer_syntax',
    'message_id',
    'message_id_responded_to',
    'affected_sop_class',
    'affected_sop_instance',
    'requested_sop_class',
    'requested_sop_instance',
    'move_destination',
    'move_originator_ae',
    'priority',
    'status',
    'has_data_set',
    'event_type_id',
    'action_type_id',
    'remaining',
    'completed',
    'failed',
    'warning',
    'query_level',
    'query_keys',
    'identifier_undecoded',
    'data_bytes',
    'incomplete',
  ],
};
