// Pure DICOM parsers: upper-layer PDUs and items (PS3.8 9.3, annex D), DIMSE command sets (PS3.7 E, implicit VR LE) and query identifiers (PS3.5 7, PS3.4 C.4).
import {
  ALL_VRS,
  ASSOCIATE_FIXED_LEN,
  CommandTag,
  type DicomLimits,
  ItemType,
  LONG_VRS,
  PDU_HEADER_LEN,
  PduType,
  QUERY_KEYWORDS,
  SHORT_PDU_BODY_LEN,
  TAG_ITEM,
  TAG_ITEM_DELIMITATION,
  TAG_QUERY_RETRIEVE_LEVEL,
  TAG_SEQUENCE_DELIMITATION,
  TAG_SPECIFIC_CHARACTER_SET,
  TS_DEFLATED_LE,
  TS_EXPLICIT_BE,
  TS_IMPLICIT_LE,
  UNDEFINED_LENGTH,
} from './constants.js';
import type { DicomAnomalyCode } from './events.js';
import { u16, u16le, u32, u32le } from '../../wire/bytes.js';

export type ParseResult<T> =
  | { ok: true; msg: T; consumed: number }
  /** `bytes`: total bytes needed from `offset` before the message can be parsed. */
  | { ok: false; need: true; bytes: number }
  | { ok: false; need: false; bad: true; code: DicomAnomalyCode };

export interface PresentationContextRq {
  id: number;
  abstractSyntax: string | null;
  transferSyntaxes: string[];
}

export interface PresentationContextAc {
  id: number;
  /** 0 acceptance, 1 user rejection, 2 no reason, 3 abstract syntax not supported, 4 transfer syntaxes not supported (PS3.8 9.3.3.2). */
  result: number;
  transferSyntax: string | null;
}

export interface RoleSelection {
  sopClass: string;
  scu: number;
  scp: number;
}

export interface UserInformation {
  maxLength?: number;
  implementationClassUid?: string;
  implementationVersion?: string;
  asyncInvoked?: number;
  asyncPerformed?: number;
  roles: RoleSelection[];
  /** User identity type (PS3.7 D.3.3.7): 1 username, 2 username+passcode, 3 Kerberos, 4 SAML, 5 JWT. */
  userIdentityType?: number;
  /** True when the secondary field (passcode) is non-empty; the field itself is never read. */
  userIdentityHasPasscode?: boolean;
  /** A-ASSOCIATE-AC carried a user identity server response (its content is never read). */
  userIdentityServerResponse?: boolean;
  extendedNegotiations: number;
  unknownSubItems: number;
}

export interface AssociatePdu {
  type: typeof PduType.ASSOCIATE_RQ | typeof PduType.ASSOCIATE_AC;
  length: number;
  protocolVersion: number;
  calledAe: string;
  callingAe: string;
  aeTitlesPrintable: boolean;
  applicationContext: string | null;
  rqContexts: PresentationContextRq[];
  acContexts: PresentationContextAc[];
  /** Presentation context items beyond `maxListEntries` (counted, not kept). */
  droppedContexts: number;
  userInfo: UserInformation;
  unknownItems: number;
}

export interface RejectPdu {
  type: typeof PduType.ASSOCIATE_RJ;
  length: number;
  result: number;
  source: number;
  reason: number;
}

export interface ReleasePdu {
  type: typeof PduType.RELEASE_RQ | typeof PduType.RELEASE_RP;
  length: number;
}

export interface AbortPdu {
  type: typeof PduType.ABORT;
  length: number;
  source: number;
  reason: number;
}

export interface Pdv {
  /** Offset of the PDV's data (after context id and message control header) in the parsed buffer. */
  dataOffset: number;
  dataLength: number;
  contextId: number;
  control: number;
}

export interface PdataPdu {
  type: typeof PduType.P_DATA_TF;
  length: number;
  pdvs: Pdv[];
}

export type Pdu = AssociatePdu | RejectPdu | ReleasePdu | AbortPdu | PdataPdu;

export interface PduHeader {
  type: number;
  length: number;
}

const bad = (code: DicomAnomalyCode): { ok: false; need: false; bad: true; code: DicomAnomalyCode } => ({
  ok: false,
  need: false,
  bad: true,
  code,
});

/** Longest string kept from the wire (a UID is at most 64 characters, PS3.5 9.1). */
const MAX_TEXT = 128;

/**
 * ASCII text of [start, end) with leading/trailing spaces and NULs trimmed, capped at MAX_TEXT
 * characters; bytes outside printable ASCII become '?'. Used for AE titles, UIDs and version names.
 */
export function readText(b: Uint8Array, start: number, end: number): string {
  let s = start;
  let e = Math.min(end, b.length);
  while (e > s && (b[e - 1] === 0 || b[e - 1] === 0x20)) e--;
  while (s < e && (b[s] === 0 || b[s] === 0x20)) s++;
  if (e - s > MAX_TEXT) e = s + MAX_TEXT;
  let out = '';
  for (let i = s; i < e; i++) {
    const c = b[i] ?? 0;
    out += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '?';
  }
  return out;
}

/** AE titles: 16 bytes of the default repertoire without control characters or backslash (PS3.5 6.2). */
export function isPrintableAe(b: Uint8Array, start: number): boolean {
  for (let i = start; i < start + 16; i++) {
    const c = b[i];
    if (c === undefined || c < 0x20 || c > 0x7e || c === 0x5c) return false;
  }
  return true;
}

export function parsePduHeader(b: Uint8Array, offset: number): PduHeader | null {
  if (b.length - offset < PDU_HEADER_LEN) return null;
  return { type: b[offset] ?? 0, length: u32(b, offset + 2) };
}

/**
 * One whole PDU at `offset` (header included). P-DATA-TF is returned with PDV offsets into `b`.
 * The session streams P-DATA-TF instead of calling this, so that PDVs are never buffered.
 */
export function parsePdu(b: Uint8Array, offset: number, limits: DicomLimits): ParseResult<Pdu> {
  const avail = b.length - offset;
  if (avail < PDU_HEADER_LEN) return { ok: false, need: true, bytes: PDU_HEADER_LEN };
  const type = b[offset] ?? 0;
  const length = u32(b, offset + 2);
  if (type < PduType.ASSOCIATE_RQ || type > PduType.ABORT) return bad('dicom.unknown_pdu_type');
  const cap = type === PduType.P_DATA_TF ? limits.maxPdataLength : limits.maxPduLength;
  if (length > cap) return bad('dicom.pdu_too_large');
  const total = PDU_HEADER_LEN + length;
  if (avail < total) return { ok: false, need: true, bytes: total };
  const body = offset + PDU_HEADER_LEN;
  const end = body + length;
  switch (type) {
    case PduType.ASSOCIATE_RQ:
    case PduType.ASSOCIATE_AC: {
      const msg = parseAssociateBody(b, body, end, type, limits);
      return msg ? { ok: true, msg, consumed: total } : bad('dicom.malformed_pdu');
    }
    case PduType.P_DATA_TF: {
      const pdvs = parsePdvs(b, body, end, limits);
      return pdvs ? { ok: true, msg: { type, length, pdvs }, consumed: total } : bad('dicom.malformed_pdv');
    }
    default: {
      const msg = parseShortBody(b, body, type, length);
      return msg ? { ok: true, msg, consumed: total } : bad('dicom.malformed_pdu');
    }
  }
}

/** A-ASSOCIATE-RJ, A-RELEASE-RQ/RP, A-ABORT: fixed 4-byte bodies (PS3.8 9.3.4, 9.3.6-9.3.8). */
export function parseShortBody(
  b: Uint8Array,
  body: number,
  type: number,
  length: number,
): RejectPdu | ReleasePdu | AbortPdu | null {
  if (length !== SHORT_PDU_BODY_LEN || b.length < body + SHORT_PDU_BODY_LEN) return null;
  switch (type) {
    case PduType.ASSOCIATE_RJ:
      return { type, length, result: b[body + 1] ?? 0, source: b[body + 2] ?? 0, reason: b[body + 3] ?? 0 };
    case PduType.RELEASE_RQ:
    case PduType.RELEASE_RP:
      return { type, length };
    case PduType.ABORT:
      return { type, length, source: b[body + 2] ?? 0, reason: b[body + 3] ?? 0 };
    default:
      return null;
  }
}

/** PDV items of a P-DATA-TF body [body, end): at least one, each of length >= 2 and inside the PDU (PS3.8 9.3.5). */
export function parsePdvs(b: Uint8Array, body: number, end: number, limits: DicomLimits): Pdv[] | null {
  const pdvs: Pdv[] = [];
  let p = body;
  while (p < end) {
    if (end - p < 6) return null;
    const len = u32(b, p);
    if (len < 2 || len > end - p - 4) return null;
    if (pdvs.length < limits.maxListEntries) {
      pdvs.push({ dataOffset: p + 6, dataLength: len - 2, contextId: b[p + 4] ?? 0, control: b[p + 5] ?? 0 });
    }
    p += 4 + len;
  }
  return pdvs.length > 0 ? pdvs : null;
}

/** A-ASSOCIATE-RQ/AC body [body, end) (PS3.8 9.3.2, 9.3.3); null when an item overruns its parent. */
export function parseAssociateBody(
  b: Uint8Array,
  body: number,
  end: number,
  type: typeof PduType.ASSOCIATE_RQ | typeof PduType.ASSOCIATE_AC,
  limits: DicomLimits,
): AssociatePdu | null {
  if (end - body < ASSOCIATE_FIXED_LEN || end > b.length) return null;
  const msg: AssociatePdu = {
    type,
    length: end - body,
    protocolVersion: u16(b, body),
    calledAe: readText(b, body + 4, body + 20),
    callingAe: readText(b, body + 20, body + 36),
    aeTitlesPrintable: isPrintableAe(b, body + 4) && isPrintableAe(b, body + 20),
    applicationContext: null,
    rqContexts: [],
    acContexts: [],
    droppedContexts: 0,
    userInfo: { roles: [], extendedNegotiations: 0, unknownSubItems: 0 },
    unknownItems: 0,
  };
  let p = body + ASSOCIATE_FIXED_LEN;
  while (p < end) {
    if (end - p < 4) return null;
    const itemType = b[p] ?? 0;
    const itemLen = u16(b, p + 2);
    const s = p + 4;
    const e = s + itemLen;
    if (e > end) return null;
    switch (itemType) {
      case ItemType.APPLICATION_CONTEXT:
        msg.applicationContext = readText(b, s, e);
        break;
      case ItemType.PRESENTATION_CONTEXT_RQ:
      case ItemType.PRESENTATION_CONTEXT_AC: {
        if (itemLen < 4) return null;
        const id = b[s] ?? 0;
        const result = b[s + 2] ?? 0;
        const rq: PresentationContextRq = { id, abstractSyntax: null, transferSyntaxes: [] };
        let ts: string | null = null;
        let q = s + 4;
        while (q < e) {
          if (e - q < 4) return null;
          const subType = b[q] ?? 0;
          const subLen = u16(b, q + 2);
          if (q + 4 + subLen > e) return null;
          if (subType === ItemType.ABSTRACT_SYNTAX) rq.abstractSyntax = readText(b, q + 4, q + 4 + subLen);
          else if (subType === ItemType.TRANSFER_SYNTAX) {
            const uid = readText(b, q + 4, q + 4 + subLen);
            ts = uid;
            if (rq.transferSyntaxes.length < limits.maxListEntries) rq.transferSyntaxes.push(uid);
          } else msg.unknownItems++;
          q += 4 + subLen;
        }
        if (msg.rqContexts.length + msg.acContexts.length >= limits.maxListEntries) msg.droppedContexts++;
        else if (itemType === ItemType.PRESENTATION_CONTEXT_RQ) msg.rqContexts.push(rq);
        else msg.acContexts.push({ id, result, transferSyntax: ts });
        break;
      }
      case ItemType.USER_INFORMATION:
        if (!parseUserInformation(b, s, e, msg.userInfo, limits)) return null;
        break;
      default:
        msg.unknownItems++;
    }
    p = e;
  }
  return msg;
}

/** User information sub-items (PS3.8 D.1, PS3.7 D.3.3). Passcodes and usernames are skipped by length, never read. */
function parseUserInformation(
  b: Uint8Array,
  s: number,
  e: number,
  ui: UserInformation,
  limits: DicomLimits,
): boolean {
  let q = s;
  while (q < e) {
    if (e - q < 4) return false;
    const subType = b[q] ?? 0;
    const subLen = u16(b, q + 2);
    const vs = q + 4;
    const ve = vs + subLen;
    if (ve > e) return false;
    switch (subType) {
      case ItemType.MAX_LENGTH:
        if (subLen !== 4) return false;
        ui.maxLength = u32(b, vs);
        break;
      case ItemType.IMPLEMENTATION_CLASS_UID:
        ui.implementationClassUid = readText(b, vs, ve);
        break;
      case ItemType.IMPLEMENTATION_VERSION_NAME:
        ui.implementationVersion = readText(b, vs, ve);
        break;
      case ItemType.ASYNC_OPERATIONS_WINDOW:
        if (subLen !== 4) return false;
        ui.asyncInvoked = u16(b, vs);
        ui.asyncPerformed = u16(b, vs + 2);
        break;
      case ItemType.ROLE_SELECTION: {
        if (subLen < 4) return false;
        const uidLen = u16(b, vs);
        if (2 + uidLen + 2 > subLen) return false;
        if (ui.roles.length < limits.maxListEntries) {
          ui.roles.push({
            sopClass: readText(b, vs + 2, vs + 2 + uidLen),
            scu: b[vs + 2 + uidLen] ?? 0,
            scp: b[vs + 3 + uidLen] ?? 0,
          });
        }
        break;
      }
      case ItemType.SOP_CLASS_EXTENDED_NEGOTIATION:
      case ItemType.SOP_CLASS_COMMON_EXTENDED_NEGOTIATION:
        ui.extendedNegotiations++;
        break;
      case ItemType.USER_IDENTITY_RQ: {
        // type (1), positive-response-requested (1), primary length (2), primary, secondary length (2), secondary.
        if (subLen < 6) return false;
        const primaryLen = u16(b, vs + 2);
        const secLenAt = vs + 4 + primaryLen;
        if (secLenAt + 2 > ve) return false;
        const secondaryLen = u16(b, secLenAt);
        if (secLenAt + 2 + secondaryLen > ve) return false;
        ui.userIdentityType = b[vs] ?? 0;
        ui.userIdentityHasPasscode = secondaryLen > 0;
        break;
      }
      case ItemType.USER_IDENTITY_AC:
        if (subLen < 2 || 2 + u16(b, vs) > subLen) return false;
        ui.userIdentityServerResponse = true;
        break;
      default:
        ui.unknownSubItems++;
    }
    q = ve;
  }
  return true;
}

// ------------------------------------------------------------------ DIMSE command set

export interface CommandSet {
  commandField: number;
  messageId?: number;
  messageIdRespondedTo?: number;
  affectedSopClass?: string;
  requestedSopClass?: string;
  affectedSopInstance?: string;
  requestedSopInstance?: string;
  moveDestination?: string;
  moveOriginatorAe?: string;
  priority?: number;
  dataSetType?: number;
  status?: number;
  eventTypeId?: number;
  actionTypeId?: number;
  remaining?: number;
  completed?: number;
  failed?: number;
  warning?: number;
}

/**
 * A command set [start, end) in implicit VR little endian (PS3.7 6.3.1, E.1). Elements outside
 * group 0000 are ignored; free-text elements (ErrorComment) are never read.
 */
export function parseCommandSet(b: Uint8Array, start: number, end: number): ParseResult<CommandSet> {
  if (end > b.length) return bad('dicom.malformed_command');
  let commandField = -1;
  const cs: Omit<CommandSet, 'commandField'> = {};
  let p = start;
  while (p < end) {
    if (end - p < 8) return bad('dicom.malformed_command');
    const group = u16le(b, p);
    const tag = ((group << 16) | u16le(b, p + 2)) >>> 0;
    const len = u32le(b, p + 4);
    const vs = p + 8;
    if (len > end - vs) return bad('dicom.malformed_command');
    const ve = vs + len;
    const us = len >= 2 ? u16le(b, vs) : -1;
    if (group === 0) {
      switch (tag) {
        case CommandTag.COMMAND_FIELD:
          commandField = us;
          break;
        case CommandTag.MESSAGE_ID:
          if (us >= 0) cs.messageId = us;
          break;
        case CommandTag.MESSAGE_ID_RESPONDED_TO:
          if (us >= 0) cs.messageIdRespondedTo = us;
          break;
        case CommandTag.AFFECTED_SOP_CLASS_UID:
          cs.affectedSopClass = readText(b, vs, ve);
          break;
        case CommandTag.REQUESTED_SOP_CLASS_UID:
          cs.requestedSopClass = readText(b, vs, ve);
          break;
        case CommandTag.AFFECTED_SOP_INSTANCE_UID:
          cs.affectedSopInstance = readText(b, vs, ve);
          break;
        case CommandTag.REQUESTED_SOP_INSTANCE_UID:
          cs.requestedSopInstance = readText(b, vs, ve);
          break;
        case CommandTag.MOVE_DESTINATION:
          cs.moveDestination = readText(b, vs, ve);
          break;
        case CommandTag.MOVE_ORIGINATOR_AE:
          cs.moveOriginatorAe = readText(b, vs, ve);
          break;
        case CommandTag.PRIORITY:
          if (us >= 0) cs.priority = us;
          break;
        case CommandTag.DATA_SET_TYPE:
          if (us >= 0) cs.dataSetType = us;
          break;
        case CommandTag.STATUS:
          if (us >= 0) cs.status = us;
          break;
        case CommandTag.EVENT_TYPE_ID:
          if (us >= 0) cs.eventTypeId = us;
          break;
        case CommandTag.ACTION_TYPE_ID:
          if (us >= 0) cs.actionTypeId = us;
          break;
        case CommandTag.REMAINING_SUBOPERATIONS:
          if (us >= 0) cs.remaining = us;
          break;
        case CommandTag.COMPLETED_SUBOPERATIONS:
          if (us >= 0) cs.completed = us;
          break;
        case CommandTag.FAILED_SUBOPERATIONS:
          if (us >= 0) cs.failed = us;
          break;
        case CommandTag.WARNING_SUBOPERATIONS:
          if (us >= 0) cs.warning = us;
          break;
        default:
      }
    }
    p = ve;
  }
  if (commandField < 0) return bad('dicom.malformed_command');
  return { ok: true, msg: { commandField, ...cs }, consumed: end - start };
}

// ------------------------------------------------------------------ query identifiers

export type DataSetEncoding = 'implicit_le' | 'explicit_le' | 'deflate' | 'explicit_be';

/** How a data set in transfer syntax `ts` is encoded (PS3.5 A.1-A.5); compressed pixel syntaxes use explicit VR LE. */
export function encodingOf(ts: string): DataSetEncoding {
  if (ts === TS_IMPLICIT_LE) return 'implicit_le';
  if (ts === TS_DEFLATED_LE) return 'deflate';
  if (ts === TS_EXPLICIT_BE) return 'explicit_be';
  return 'explicit_le';
}

/** Guess implicit or explicit VR LE from the first element when no A-ASSOCIATE-AC was seen. */
export function guessEncoding(b: Uint8Array, start: number, end: number): DataSetEncoding {
  if (end - start < 6) return 'implicit_le';
  const vr = String.fromCharCode(b[start + 4] ?? 0, b[start + 5] ?? 0);
  return ALL_VRS.has(vr) ? 'explicit_le' : 'implicit_le';
}

export interface QueryKey {
  key: string;
  wildcard: boolean;
}

export interface Identifier {
  /** QueryRetrieveLevel (0008,0052): a code string such as PATIENT or STUDY; absent when not a valid CS. */
  queryLevel?: string;
  keys: QueryKey[];
  /** Elements beyond `maxListEntries` (counted, not listed). */
  droppedKeys: number;
}

interface ElementHeader {
  tag: number;
  vr: string;
  length: number;
  valueStart: number;
}

/** Element header at p, or null when it does not fit. Item and delimitation tags carry no VR (PS3.5 7.5). */
function readElementHeader(b: Uint8Array, p: number, end: number, explicit: boolean): ElementHeader | null {
  if (end - p < 8) return null;
  const tag = ((u16le(b, p) << 16) | u16le(b, p + 2)) >>> 0;
  if (!explicit || tag >>> 16 === 0xfffe) return { tag, vr: '', length: u32le(b, p + 4), valueStart: p + 8 };
  const vr = String.fromCharCode(b[p + 4] ?? 0, b[p + 5] ?? 0);
  if (LONG_VRS.has(vr)) {
    if (end - p < 12) return null;
    return { tag, vr, length: u32le(b, p + 8), valueStart: p + 12 };
  }
  return { tag, vr, length: u16le(b, p + 6), valueStart: p + 8 };
}

/**
 * Skip a sequence of undefined length whose items start at p; returns the offset after its
 * delimitation item, or -1 when malformed or nested deeper than `depth` allows.
 * Inside an explicit-VR UN of undefined length the content is implicit VR (PS3.5 6.2.2 note).
 */
function skipUndefinedSequence(
  b: Uint8Array,
  p: number,
  end: number,
  explicit: boolean,
  depth: number,
): number {
  if (depth <= 0) return -1;
  while (p < end) {
    const h = readElementHeader(b, p, end, false);
    if (!h) return -1;
    if (h.tag === TAG_SEQUENCE_DELIMITATION) return h.valueStart;
    if (h.tag !== TAG_ITEM) return -1;
    if (h.length !== UNDEFINED_LENGTH) {
      if (h.length > end - h.valueStart) return -1;
      p = h.valueStart + h.length;
      continue;
    }
    p = h.valueStart;
    for (;;) {
      const e = readElementHeader(b, p, end, explicit);
      if (!e) return -1;
      if (e.tag === TAG_ITEM_DELIMITATION) {
        p = e.valueStart;
        break;
      }
      if (e.length === UNDEFINED_LENGTH) {
        p = skipUndefinedSequence(b, e.valueStart, end, explicit && e.vr !== 'UN', depth - 1);
        if (p < 0) return -1;
      } else {
        if (e.length > end - e.valueStart) return -1;
        p = e.valueStart + e.length;
      }
    }
  }
  return -1;
}

/** True when a value (trailing spaces/NULs ignored) is empty, or contains `*` or `?` (PS3.4 C.2.2.2). */
function isWildcardValue(b: Uint8Array, s: number, e: number): boolean {
  while (e > s && (b[e - 1] === 0x20 || b[e - 1] === 0)) e--;
  if (e === s) return true;
  for (let i = s; i < e; i++) if (b[i] === 0x2a || b[i] === 0x3f) return true;
  return false;
}

const CODE_STRING = /^[A-Z0-9 _]{1,16}$/;

function keywordOf(tag: number): string {
  const k = QUERY_KEYWORDS.get(tag);
  if (k !== undefined) return k;
  const g = (tag >>> 16).toString(16).toUpperCase().padStart(4, '0');
  const el = (tag & 0xffff).toString(16).toUpperCase().padStart(4, '0');
  return `(${g},${el})`;
}

/**
 * Top-level attributes of a C-FIND/C-MOVE/C-GET identifier [start, end): keywords and wildcard
 * flags only. Values are looked at for wildcard characters and never copied, except the
 * QueryRetrieveLevel code string.
 */
export function parseIdentifier(
  b: Uint8Array,
  start: number,
  end: number,
  encoding: 'implicit_le' | 'explicit_le',
  limits: DicomLimits,
): ParseResult<Identifier> {
  if (end > b.length) return bad('dicom.malformed_identifier');
  const explicit = encoding === 'explicit_le';
  const out: Identifier = { keys: [], droppedKeys: 0 };
  let p = start;
  while (p < end) {
    const h = readElementHeader(b, p, end, explicit);
    if (!h) return bad('dicom.malformed_identifier');
    let next: number;
    let wildcard: boolean;
    if (h.length === UNDEFINED_LENGTH) {
      next = skipUndefinedSequence(b, h.valueStart, end, explicit && h.vr !== 'UN', limits.maxSequenceDepth);
      if (next < 0) return bad('dicom.malformed_identifier');
      // An empty sequence (delimiter right away) asks for universal matching.
      wildcard = next - h.valueStart === 8;
    } else {
      if (h.length > end - h.valueStart) return bad('dicom.malformed_identifier');
      next = h.valueStart + h.length;
      const isSequence =
        h.vr === 'SQ' || (h.vr === '' && (QUERY_KEYWORDS.get(h.tag) ?? '').endsWith('Sequence'));
      wildcard = isSequence ? h.length === 0 : isWildcardValue(b, h.valueStart, next);
    }
    if (h.tag === TAG_QUERY_RETRIEVE_LEVEL) {
      const level = readText(b, h.valueStart, next);
      if (CODE_STRING.test(level)) out.queryLevel = level;
    } else if (h.tag !== TAG_SPECIFIC_CHARACTER_SET && (h.tag & 0xffff) !== 0) {
      if (out.keys.length < limits.maxListEntries) out.keys.push({ key: keywordOf(h.tag), wildcard });
      else out.droppedKeys++;
    }
    p = next;
  }
  return { ok: true, msg: out, consumed: end - start };
}
