// HL7 v2 / MLLP protocol constants: framing bytes, segment ids, limits (HL7 v2.x ch. 2, Appendix C MLLP, IHE PCD TF-2).

/** MLLP start block <VT> (HL7 v2.x Appendix C.4.3 "Block format"). */
export const MLLP_START = 0x0b;
/** MLLP end block <FS>, followed by <CR> (Appendix C.4.3). */
export const MLLP_END = 0x1c;
export const CR = 0x0d;
export const LF = 0x0a;
/** Default escape character when a message declares none (ch. 2.5.5.3). */
export const BACKSLASH = 0x5c;

/** IANA-registered port for HL7 over MLLP ("hl7", 2575/tcp); sites add their own (6661 is common). */
export const HL7_DEFAULT_PORTS: readonly number[] = [2575];

/** Segment ids that may open an MLLP block: a message (MSH), a file batch (FHS) or a batch (BHS) (ch. 2.10.3). */
export const FRAME_OPENERS: readonly string[] = ['MSH', 'FHS', 'BHS'];

/** Header segments whose field separator is the 4th byte and MSH-2-like encoding characters follow (ch. 2.14.9, 2.14.2, 2.14.4). */
export const HEADER_SEGMENTS: ReadonlySet<string> = new Set(['MSH', 'FHS', 'BHS']);

/**
 * Segments that carry patient-identifying or clinical data about a person (ch. 3 PID/PD1/NK1/PV1/PV2/MRG,
 * ch. 6 IN1-IN3/GT1/DG1/PR1/DRG/ACC/UB1/UB2, ch. 3 AL1/IAM, ch. 7 OBX/NTE are excluded: OBX is also used for
 * device observations without a patient, and a patient context always travels with PID).
 */
export const PHI_SEGMENTS: ReadonlySet<string> = new Set([
  'PID',
  'PD1',
  'NK1',
  'PV1',
  'PV2',
  'MRG',
  'IN1',
  'IN2',
  'IN3',
  'GT1',
  'DG1',
  'DRG',
  'PR1',
  'ACC',
  'UB1',
  'UB2',
  'AL1',
  'IAM',
]);

/** Field positions we read (1-based HL7 numbering; MSH-1 is the field separator itself). */
export const MSH = {
  sendingApp: 3, // MSH-3 Sending Application (HD)
  sendingFacility: 4, // MSH-4 Sending Facility (HD)
  receivingApp: 5, // MSH-5 Receiving Application (HD)
  receivingFacility: 6, // MSH-6 Receiving Facility (HD)
  messageType: 9, // MSH-9 Message Type (MSG: code ^ trigger ^ structure)
  controlId: 10, // MSH-10 Message Control ID (ST)
  processingId: 11, // MSH-11 Processing ID (PT: id ^ mode)
  version: 12, // MSH-12 Version ID (VID: version ^ ...)
  acceptAckType: 15, // MSH-15 Accept Acknowledgment Type (ID: AL, NE, ER, SU)
  appAckType: 16, // MSH-16 Application Acknowledgment Type (ID: AL, NE, ER, SU)
  profileId: 21, // MSH-21 Message Profile Identifier (EI, repeating), IHE PCD profile ids live here
} as const;

/** MSA-1 Acknowledgment Code, MSA-2 Message Control ID (ch. 2.14.8). */
export const MSA = { ackCode: 1, controlId: 2 } as const;
/** OBX-18 Equipment Instance Identifier (EI, repeating) (ch. 7.4.2.18). */
export const OBX_EQUIPMENT_ID = 18;
/** PRT-16 UDI Device Identifier (EI) (ch. 7.4.4.16, v2.8+). */
export const PRT_UDI = 16;
/** BTS-1 Batch Message Count, FTS-1 File Batch Count (ch. 2.14.3, 2.14.5). */
export const BTS_COUNT = 1;

/** MSA-1 codes (HL7 table 0008): original mode AA/AE/AR, enhanced mode CA/CE/CR. */
export const ACK_CODES: ReadonlySet<string> = new Set(['AA', 'AE', 'AR', 'CA', 'CE', 'CR']);

/**
 * IHE PCD transactions (IHE PCD TF-2): PCD-01 Communicate PCD Data (ORU^R01 from a device), PCD-03 Communicate
 * Infusion Order (RGV^O15, answered by RRG^O16), PCD-04 Report Alarm (ORU^R40), PCD-05 Report Alarm Status
 * (ORA^R41). ACKs take the transaction of the message they acknowledge, else of their trigger event.
 */
export const IHE_BY_MESSAGE_TYPE: ReadonlyMap<string, string> = new Map([
  ['RGV^O15', 'PCD-03'],
  ['RRG^O16', 'PCD-03'],
  ['ORU^R40', 'PCD-04'],
  ['ORA^R41', 'PCD-05'],
  ['ACK^O15', 'PCD-03'],
  ['ACK^R40', 'PCD-04'],
  ['ACK^R41', 'PCD-05'],
]);
/** MSH-21 profile id of PCD-01 messages (IHE PCD TF-2 B.1, "IHE_PCD_001"). */
export const IHE_PCD_01_PROFILE = 'IHE_PCD_001';

export interface Hl7Limits {
  /** Largest MLLP block kept; a block without an end byte is cut here (default 1 MiB). */
  maxMessageBytes: number;
  /** Segment ids listed per message; later ones are counted, not listed. */
  maxSegments: number;
  /** Device ids kept per message. */
  maxDeviceIds: number;
  /** Characters kept of one metadata value (application names, control ids...). */
  maxFieldChars: number;
  /** Messages awaiting their ACK per flow (oldest evicted beyond this). */
  maxOutstanding: number;
  /**
   * Control bytes (not TAB/CR/LF/VT/FS) before the first message after which the flow is declared "not
   * HL7". Text before the first block is tolerated up to one block's size: a capture may start mid-message.
   */
  maxBinaryBeforeConfirm: number;
}

export const DEFAULT_LIMITS: Readonly<Hl7Limits> = Object.freeze({
  maxMessageBytes: 1024 * 1024,
  maxSegments: 256,
  maxDeviceIds: 16,
  maxFieldChars: 256,
  maxOutstanding: 1024,
  maxBinaryBeforeConfirm: 16,
});
