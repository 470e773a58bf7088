// DICOM protocol constants: upper-layer PDU and item types (PS3.8 9.3), DIMSE command elements (PS3.7 E.1), transfer syntaxes (PS3.5 10), query keywords (PS3.6 6).

/** PDU types, PS3.8 table 9-11. */
export const PduType = {
  ASSOCIATE_RQ: 0x01,
  ASSOCIATE_AC: 0x02,
  ASSOCIATE_RJ: 0x03,
  P_DATA_TF: 0x04,
  RELEASE_RQ: 0x05,
  RELEASE_RP: 0x06,
  ABORT: 0x07,
} as const;

export const PDU_NAMES: Readonly<Record<number, string>> = {
  1: 'A-ASSOCIATE-RQ',
  2: 'A-ASSOCIATE-AC',
  3: 'A-ASSOCIATE-RJ',
  4: 'P-DATA-TF',
  5: 'A-RELEASE-RQ',
  6: 'A-RELEASE-RP',
  7: 'A-ABORT',
};

/** PDU header: type (1), reserved (1), length (4, big endian), PS3.8 9.3.1. */
export const PDU_HEADER_LEN = 6;
/** A-ASSOCIATE-RQ/AC fixed part after the header: version, reserved, called AE, calling AE, 32 reserved (PS3.8 9.3.2). */
export const ASSOCIATE_FIXED_LEN = 68;
/** A-ASSOCIATE-RJ, A-RELEASE-RQ/RP and A-ABORT bodies are exactly 4 bytes (PS3.8 9.3.4, 9.3.6-9.3.8). */
export const SHORT_PDU_BODY_LEN = 4;
/** PDV item header: item length (4) then presentation context id (1) and message control header (1), PS3.8 9.3.5.1. */
export const PDV_HEADER_LEN = 6;

/** Item types inside A-ASSOCIATE-RQ/AC, PS3.8 9.3.2.x and annex D. */
export const ItemType = {
  APPLICATION_CONTEXT: 0x10,
  PRESENTATION_CONTEXT_RQ: 0x20,
  PRESENTATION_CONTEXT_AC: 0x21,
  ABSTRACT_SYNTAX: 0x30,
  TRANSFER_SYNTAX: 0x40,
  USER_INFORMATION: 0x50,
  MAX_LENGTH: 0x51,
  IMPLEMENTATION_CLASS_UID: 0x52,
  ASYNC_OPERATIONS_WINDOW: 0x53,
  ROLE_SELECTION: 0x54,
  IMPLEMENTATION_VERSION_NAME: 0x55,
  SOP_CLASS_EXTENDED_NEGOTIATION: 0x56,
  SOP_CLASS_COMMON_EXTENDED_NEGOTIATION: 0x57,
  USER_IDENTITY_RQ: 0x58,
  USER_IDENTITY_AC: 0x59,
} as const;

/** Message control header bits of a PDV, PS3.8 annex E.2. */
export const MCH_COMMAND = 0x01;
export const MCH_LAST = 0x02;

/** Command set elements (group 0000), PS3.7 table E.1-1. Keys are (group << 16 | element). */
export const CommandTag = {
  GROUP_LENGTH: 0x00000000,
  AFFECTED_SOP_CLASS_UID: 0x00000002,
  REQUESTED_SOP_CLASS_UID: 0x00000003,
  COMMAND_FIELD: 0x00000100,
  MESSAGE_ID: 0x00000110,
  MESSAGE_ID_RESPONDED_TO: 0x00000120,
  MOVE_DESTINATION: 0x00000600,
  PRIORITY: 0x00000700,
  DATA_SET_TYPE: 0x00000800,
  STATUS: 0x00000900,
  AFFECTED_SOP_INSTANCE_UID: 0x00001000,
  REQUESTED_SOP_INSTANCE_UID: 0x00001001,
  EVENT_TYPE_ID: 0x00001002,
  ACTION_TYPE_ID: 0x00001008,
  REMAINING_SUBOPERATIONS: 0x00001020,
  COMPLETED_SUBOPERATIONS: 0x00001021,
  FAILED_SUBOPERATIONS: 0x00001022,
  WARNING_SUBOPERATIONS: 0x00001023,
  MOVE_ORIGINATOR_AE: 0x00001030,
  MOVE_ORIGINATOR_MESSAGE_ID: 0x00001031,
} as const;

/** CommandDataSetType value meaning "no data set follows", PS3.7 E.1-1. */
export const DATA_SET_ABSENT = 0x0101;

/** Command field values, PS3.7 section 9.3 and 10.3 (annex E). */
export const COMMAND_NAMES: Readonly<Record<number, string>> = {
  0x0001: 'C-STORE-RQ',
  0x8001: 'C-STORE-RSP',
  0x0010: 'C-GET-RQ',
  0x8010: 'C-GET-RSP',
  0x0020: 'C-FIND-RQ',
  0x8020: 'C-FIND-RSP',
  0x0021: 'C-MOVE-RQ',
  0x8021: 'C-MOVE-RSP',
  0x0030: 'C-ECHO-RQ',
  0x8030: 'C-ECHO-RSP',
  0x0100: 'N-EVENT-REPORT-RQ',
  0x8100: 'N-EVENT-REPORT-RSP',
  0x0110: 'N-GET-RQ',
  0x8110: 'N-GET-RSP',
  0x0120: 'N-SET-RQ',
  0x8120: 'N-SET-RSP',
  0x0130: 'N-ACTION-RQ',
  0x8130: 'N-ACTION-RSP',
  0x0140: 'N-CREATE-RQ',
  0x8140: 'N-CREATE-RSP',
  0x0150: 'N-DELETE-RQ',
  0x8150: 'N-DELETE-RSP',
  0x0fff: 'C-CANCEL-RQ',
};

export const CMD_C_STORE_RQ = 0x0001;
/** Requests whose data set is a query/retrieve identifier (PS3.4 C.4), decoded into keywords. */
export const IDENTIFIER_COMMANDS: ReadonlySet<number> = new Set([0x0020, 0x0021, 0x0010]);

/** Transfer syntaxes (PS3.5 10 and annex A). */
export const TS_IMPLICIT_LE = '1.2.840.10008.1.2';
export const TS_EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const TS_DEFLATED_LE = '1.2.840.10008.1.2.1.99';
export const TS_EXPLICIT_BE = '1.2.840.10008.1.2.2';

/** Explicit VRs whose length field is 4 bytes after 2 reserved bytes (PS3.5 7.1.2, table 7.1-1). */
export const LONG_VRS: ReadonlySet<string> = new Set([
  'OB',
  'OD',
  'OF',
  'OL',
  'OV',
  'OW',
  'SQ',
  'SV',
  'UC',
  'UN',
  'UR',
  'UT',
  'UV',
]);
/** Every VR of PS3.5 6.2 (to tell explicit from implicit VR when no A-ASSOCIATE-AC was seen). */
export const ALL_VRS: ReadonlySet<string> = new Set([
  'AE',
  'AS',
  'AT',
  'CS',
  'DA',
  'DS',
  'DT',
  'FL',
  'FD',
  'IS',
  'LO',
  'LT',
  'OB',
  'OD',
  'OF',
  'OL',
  'OV',
  'OW',
  'PN',
  'SH',
  'SL',
  'SQ',
  'SS',
  'ST',
  'SV',
  'TM',
  'UC',
  'UI',
  'UL',
  'UN',
  'UR',
  'US',
  'UT',
  'UV',
]);

/** Undefined length (PS3.5 7.1.2) and the item / delimitation tags (PS3.5 7.5). */
export const UNDEFINED_LENGTH = 0xffffffff;
export const TAG_ITEM = 0xfffee000;
export const TAG_ITEM_DELIMITATION = 0xfffee00d;
export const TAG_SEQUENCE_DELIMITATION = 0xfffee0dd;

/** QueryRetrieveLevel (0008,0052) and SpecificCharacterSet (0008,0005): not query keys. */
export const TAG_QUERY_RETRIEVE_LEVEL = 0x00080052;
export const TAG_SPECIFIC_CHARACTER_SET = 0x00080005;

/** Keywords of attributes commonly used as query keys (PS3.6 table 6-1; PS3.4 C.6 and K.6). */
export const QUERY_KEYWORDS: ReadonlyMap<number, string> = new Map([
  [0x00080016, 'SOPClassUID'],
  [0x00080018, 'SOPInstanceUID'],
  [0x00080020, 'StudyDate'],
  [0x00080021, 'SeriesDate'],
  [0x00080022, 'AcquisitionDate'],
  [0x00080023, 'ContentDate'],
  [0x00080030, 'StudyTime'],
  [0x00080031, 'SeriesTime'],
  [0x00080033, 'ContentTime'],
  [0x00080050, 'AccessionNumber'],
  [0x00080054, 'RetrieveAETitle'],
  [0x00080056, 'InstanceAvailability'],
  [0x00080060, 'Modality'],
  [0x00080061, 'ModalitiesInStudy'],
  [0x00080062, 'SOPClassesInStudy'],
  [0x00080070, 'Manufacturer'],
  [0x00080080, 'InstitutionName'],
  [0x00080090, 'ReferringPhysicianName'],
  [0x00081010, 'StationName'],
  [0x00081030, 'StudyDescription'],
  [0x0008103e, 'SeriesDescription'],
  [0x00081040, 'InstitutionalDepartmentName'],
  [0x00081048, 'PhysiciansOfRecord'],
  [0x00081060, 'NameOfPhysiciansReadingStudy'],
  [0x00081070, 'OperatorsName'],
  [0x00081090, 'ManufacturerModelName'],
  [0x00081110, 'ReferencedStudySequence'],
  [0x00081120, 'ReferencedPatientSequence'],
  [0x00100010, 'PatientName'],
  [0x00100020, 'PatientID'],
  [0x00100021, 'IssuerOfPatientID'],
  [0x00100030, 'PatientBirthDate'],
  [0x00100032, 'PatientBirthTime'],
  [0x00100040, 'PatientSex'],
  [0x00101000, 'OtherPatientIDs'],
  [0x00101001, 'OtherPatientNames'],
  [0x00101010, 'PatientAge'],
  [0x00101020, 'PatientSize'],
  [0x00101030, 'PatientWeight'],
  [0x00102160, 'EthnicGroup'],
  [0x00102180, 'Occupation'],
  [0x001021b0, 'AdditionalPatientHistory'],
  [0x00104000, 'PatientComments'],
  [0x00180015, 'BodyPartExamined'],
  [0x00181030, 'ProtocolName'],
  [0x0020000d, 'StudyInstanceUID'],
  [0x0020000e, 'SeriesInstanceUID'],
  [0x00200010, 'StudyID'],
  [0x00200011, 'SeriesNumber'],
  [0x00200013, 'InstanceNumber'],
  [0x00201200, 'NumberOfPatientRelatedStudies'],
  [0x00201202, 'NumberOfPatientRelatedSeries'],
  [0x00201204, 'NumberOfPatientRelatedInstances'],
  [0x00201206, 'NumberOfStudyRelatedSeries'],
  [0x00201208, 'NumberOfStudyRelatedInstances'],
  [0x00201209, 'NumberOfSeriesRelatedInstances'],
  [0x00321032, 'RequestingPhysician'],
  [0x00321060, 'RequestedProcedureDescription'],
  [0x00380010, 'AdmissionID'],
  [0x00400001, 'ScheduledStationAETitle'],
  [0x00400002, 'ScheduledProcedureStepStartDate'],
  [0x00400003, 'ScheduledProcedureStepStartTime'],
  [0x00400006, 'ScheduledPerformingPhysicianName'],
  [0x00400007, 'ScheduledProcedureStepDescription'],
  [0x00400009, 'ScheduledProcedureStepID'],
  [0x00400010, 'ScheduledStationName'],
  [0x00400100, 'ScheduledProcedureStepSequence'],
  [0x00400244, 'PerformedProcedureStepStartDate'],
  [0x00400253, 'PerformedProcedureStepID'],
  [0x00401001, 'RequestedProcedureID'],
]);

/** Default ports: 104 (PS3.15 well-known) and 11112 (IANA dicom registered). */
export const DEFAULT_PORTS: readonly number[] = [104, 11112];

/** Hard limits of the analyzer; every buffer is bounded by one of these. */
export interface DicomLimits {
  /** Largest non-P-DATA PDU buffered whole (A-ASSOCIATE-RQ with 128 contexts is ~20 KiB). */
  maxPduLength: number;
  /** Largest P-DATA-TF PDU accepted; PDVs are streamed, never buffered, but a bigger one is skipped. */
  maxPdataLength: number;
  /** Largest DIMSE command set reassembled from PDVs. */
  maxCommandLength: number;
  /** Largest C-FIND/C-MOVE/C-GET identifier reassembled for keyword decoding. */
  maxIdentifierLength: number;
  /** Most elements listed in `query_keys`, and most entries of per-context lists in events. */
  maxListEntries: number;
  /** Nesting depth of sequences skipped in an identifier. */
  maxSequenceDepth: number;
}

export const DEFAULT_LIMITS: DicomLimits = {
  maxPduLength: 1 << 20,
  maxPdataLength: 64 << 20,
  maxCommandLength: 64 << 10,
  maxIdentifierLength: 64 << 10,
  maxListEntries: 256,
  maxSequenceDepth: 8,
};
