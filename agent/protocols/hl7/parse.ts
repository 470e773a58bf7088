// Pure HL7 v2 / MLLP parsing: MLLP block framing (HL7 v2.x Appendix C.4.3) and message metadata (ch. 2.5-2.10, 2.14).
import {
  ACK_CODES,
  BACKSLASH,
  BTS_COUNT,
  CR,
  IHE_PCD_01_PROFILE,
  LF,
  MLLP_END,
  MLLP_START,
  MSA,
  MSH,
  OBX_EQUIPMENT_ID,
  PHI_SEGMENTS,
  PRT_UDI,
  DEFAULT_LIMITS,
  type Hl7Limits,
} from './constants.js';
import { AsciiIntern, hashStep, latin1 } from '../intern.js';
import { indexOfByte } from '../scan.js';
import { SharedLists, StretchMemo } from './memo.js';

// ------------------------------------------------------------------------------------------------ framing

/** A complete block: content is bytes[start, end) (between <VT> and <FS>). */
export interface FrameOk {
  kind: 'ok';
  start: number;
  end: number;
  consumed: number;
  /** False when <FS> was not followed by <CR> (tolerated, counted). */
  endCr: boolean;
}
/** More bytes are needed; `scanned` is where the next search for <FS> may resume. */
export interface FrameNeed {
  kind: 'need';
  bytes: number;
  scanned: number;
}
/**
 * `garbage`: bytes before the next possible block start (`whitespace` when they are only CR/LF);
 * `unterminated`: a block cut short by a new block start; `oversize`: no <FS> within the cap (the block may
 * still end later: the caller skips to its end and reads what the first `consumed` bytes told).
 */
export interface FrameBad {
  kind: 'bad';
  code: 'garbage' | 'unterminated' | 'oversize';
  consumed: number;
  whitespace: boolean;
}
export type FrameResult = FrameOk | FrameNeed | FrameBad;

const OPENER_M = 0x4d; // "MSH"
const OPENER_F = 0x46; // "FHS"
const OPENER_B = 0x42; // "BHS"
const CH_S = 0x53;
const CH_H = 0x48;

/**
 * Whether bytes[i..] can open a block: <VT> then MSH, FHS or BHS. 'partial' when the bytes run out before
 * that can be told.
 */
export function matchOpener(
  bytes: Uint8Array,
  i: number,
  end: number = bytes.length,
): 'yes' | 'no' | 'partial' {
  if (i >= end) return 'partial';
  if (bytes[i] !== MLLP_START) return 'no';
  const c0 = bytes[i + 1];
  if (i + 1 >= end) return 'partial';
  if (c0 !== OPENER_M && c0 !== OPENER_F && c0 !== OPENER_B) return 'no';
  // MSH, or FHS/BHS
  const second = c0 === OPENER_M ? CH_S : CH_H;
  const third = c0 === OPENER_M ? CH_H : CH_S;
  if (i + 2 >= end) return 'partial';
  if (bytes[i + 2] !== second) return 'no';
  if (i + 3 >= end) return 'partial';
  return bytes[i + 3] === third ? 'yes' : 'no';
}

/** First index >= from where a block may start (opener or a partial one at the end), or `end`. */
function findNextOpener(bytes: Uint8Array, from: number, end: number): number {
  let i = from;
  while (i < end) {
    const j = indexOfByte(bytes, MLLP_START, i);
    if (j < 0 || j >= end) return end;
    if (matchOpener(bytes, j, end) !== 'no') return j;
    i = j + 1;
  }
  return end;
}

function isWhitespaceRun(bytes: Uint8Array, a: number, b: number): boolean {
  for (let i = a; i < b; i++) {
    const c = bytes[i];
    if (c !== CR && c !== LF && c !== 0x20) return false;
  }
  return true;
}

/**
 * Finds the MLLP block at `offset` in bytes[0, end). Never throws, never copies: the result indexes `bytes`.
 * `resume` (from a previous `need`) skips the part already searched for <FS>.
 */
export function parseFrame(
  bytes: Uint8Array,
  offset: number,
  limits: Pick<Hl7Limits, 'maxMessageBytes'>,
  resume = 0,
  end: number = bytes.length,
): FrameResult {
  const open = matchOpener(bytes, offset, end);
  if (open === 'partial') return { kind: 'need', bytes: 4 - (end - offset), scanned: offset };
  if (open === 'no') {
    const next = findNextOpener(bytes, offset + 1, end);
    return {
      kind: 'bad',
      code: 'garbage',
      consumed: next - offset,
      whitespace: isWhitespaceRun(bytes, offset, next),
    };
  }
  // Content may be at most maxMessageBytes; <FS> may sit right after it.
  const limit = Math.min(end, offset + 2 + limits.maxMessageBytes);
  const from = Math.max(offset + 4, resume);
  if (from < limit) {
    const fs = indexOfByte(bytes, MLLP_END, from);
    const stop = fs < 0 || fs >= limit ? limit : fs;
    // <VT> is not allowed inside a block (Appendix C.4.3): a new opener there means the previous block lost its end.
    const vt = findNextOpener(bytes, from, stop);
    if (vt < stop) {
      if (matchOpener(bytes, vt, end) === 'partial') return { kind: 'need', bytes: 1, scanned: vt };
      return { kind: 'bad', code: 'unterminated', consumed: vt - offset, whitespace: false };
    }
    if (stop < limit) {
      if (fs + 1 >= end) return { kind: 'need', bytes: 1, scanned: fs };
      const endCr = bytes[fs + 1] === CR;
      return { kind: 'ok', start: offset + 1, end: fs, consumed: fs + (endCr ? 2 : 1) - offset, endCr };
    }
  }
  if (end >= offset + 2 + limits.maxMessageBytes) {
    return { kind: 'bad', code: 'oversize', consumed: limit - offset, whitespace: false };
  }
  return { kind: 'need', bytes: 1, scanned: end };
}

// ------------------------------------------------------------------------------------------------ messages

/** Separators a header declares (MSH-1, MSH-2; ch. 2.5.4). */
export interface Encoding {
  field: number;
  component: number;
  repetition: number;
  escape: number;
  subcomponent: number;
}

/** Metadata of one HL7 message: never a patient value. */
export interface Hl7Message {
  sendingApp: string;
  sendingFacility: string;
  receivingApp: string;
  receivingFacility: string;
  messageType: string;
  controlId: string;
  processingId: string;
  version: string;
  acceptAckType: string;
  appAckType: string;
  segments: string[];
  segmentCount: number;
  ackCode: string;
  ackControlId: string;
  size: number;
  hasPhi: boolean;
  deviceIds: string[];
  /** MSH-21 names the IHE PCD-01 profile. */
  pcdProfile: boolean;
  batch: boolean;
}

/** Irregularities seen while parsing a block; the session turns them into anomalies. */
export type ParseNote =
  | 'bad_msh'
  | 'bad_segment_id'
  | 'lf_terminator'
  | 'segments_truncated'
  | 'device_ids_truncated'
  | 'field_truncated'
  | 'bad_batch'
  | 'multiple_messages'
  | 'missing_msh';

export interface BlockResult {
  messages: Hl7Message[];
  notes: ParseNote[];
}

const TEXT = new TextDecoder('utf-8', { fatal: false });

function isUpper(c: number): boolean {
  return c >= 0x41 && c <= 0x5a;
}
function isAlnum(c: number): boolean {
  return isUpper(c) || (c >= 0x30 && c <= 0x39);
}

/** Reads the separators of a header segment at s (bytes[s..s+2] is MSH/FHS/BHS); null when they are unusable. */
export function readEncoding(bytes: Uint8Array, s: number, e: number): Encoding | null {
  if (s + 3 >= e) return null;
  const field = bytes[s + 3] ?? 0;
  if (isAlnum(field) || field === CR || field === LF || field < 0x20 || field > 0x7e) return null;
  // MSH-2: up to four characters before the next field separator; absent ones take the standard ones
  let comp = 0x5e;
  let rep = 0x7e;
  let esc = BACKSLASH;
  let sub = 0x26;
  for (let i = s + 4, k = 0; i < e && k < 4; i++, k++) {
    const c = bytes[i] ?? 0;
    if (c === field) break;
    if (k === 0) comp = c;
    else if (k === 1) rep = c;
    else if (k === 2) esc = c;
    else sub = c;
  }
  if (!usableSeparators(field, comp, rep, esc, sub)) return null;
  const last = lastEncoding;
  if (
    last !== null &&
    last.field === field &&
    last.component === comp &&
    last.repetition === rep &&
    last.escape === esc &&
    last.subcomponent === sub
  )
    return last;
  lastEncoding = Object.freeze({ field, component: comp, repetition: rep, escape: esc, subcomponent: sub });
  return lastEncoding;
}

/** The last separators read, frozen and handed out again while headers repeat them (nearly always). */
let lastEncoding: Readonly<Encoding> | null = null;

/** Printable, not alphanumeric, all different (ch. 2.5.4). */
function usableSeparators(f: number, c: number, r: number, e: number, s: number): boolean {
  if (!usableSeparator(f) || !usableSeparator(c) || !usableSeparator(r) || !usableSeparator(e)) return false;
  if (!usableSeparator(s)) return false;
  return (
    f !== c && f !== r && f !== e && f !== s && c !== r && c !== e && c !== s && r !== e && r !== s && e !== s
  );
}

function usableSeparator(x: number): boolean {
  return !isAlnum(x) && x >= 0x20 && x <= 0x7e;
}

/**
 * Bounds [a, b) of field n of the segment bytes[s, e), HL7 numbering: for header segments field 1 is the
 * separator itself and field 2 starts after it; for others field n follows the n-th separator.
 */
function fieldBounds(
  bytes: Uint8Array,
  s: number,
  e: number,
  sep: number,
  n: number,
  header: boolean,
): [number, number] | null {
  let want = header ? n - 1 : n;
  if (want < 1) return null;
  let i = s + 3;
  if (i >= e || bytes[i] !== sep) return null;
  i++;
  while (want > 1) {
    const j = indexInRange(bytes, sep, i, e);
    if (j < 0) return null;
    i = j + 1;
    want--;
  }
  const j = indexInRange(bytes, sep, i, e);
  return [i, j < 0 ? e : j];
}

function indexInRange(bytes: Uint8Array, c: number, a: number, b: number): number {
  for (let i = a; i < b; i++) if (bytes[i] === c) return i;
  return -1;
}

/** Hex digit value or -1. */
function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Text of bytes[a, b) with HL7 escape sequences decoded (ch. 2.7: \F\ \S\ \T\ \R\ \E\ \Xhh..\; formatting
 * and charset escapes are dropped). Separators are mapped to the standard ones: a component separator to
 * '^', a subcomponent separator to '&', so that values compare across senders. Bounded by `maxChars`.
 */
export function decodeText(
  bytes: Uint8Array,
  a: number,
  b: number,
  enc: Encoding,
  maxChars: number,
): { text: string; truncated: boolean } {
  const text = decodeField(bytes, a, b, enc, maxChars);
  return { text, truncated: lastTruncated };
}

/** Whether the last decodeField call cut its text (a flag instead of a result object per field). */
let lastTruncated = false;

/** decodeText without the result object: returns the text and sets `lastTruncated`. */
function decodeField(
  bytes: Uint8Array,
  a: number,
  b: number,
  enc: Encoding,
  maxChars: number,
  reuse = true,
): string {
  const plain = plainText(bytes, a, Math.min(b, a + maxChars * 4), enc, reuse);
  if (plain !== null) {
    lastTruncated = b > a + maxChars * 4 || plain.length > maxChars;
    return plain.length > maxChars ? plain.slice(0, maxChars) : plain;
  }
  const out: number[] = [];
  const cap = maxChars * 4;
  // escapes only shrink text: more input than this cannot fit in maxChars anyway
  const stop = Math.min(b, a + maxChars * 8);
  let truncated = stop < b;
  let i = a;
  while (i < stop) {
    if (out.length >= cap) {
      truncated = true;
      break;
    }
    const c = bytes[i] ?? 0;
    if (c === enc.escape) {
      const close = indexInRange(bytes, enc.escape, i + 1, stop);
      if (close > i + 1) {
        const kind = bytes[i + 1] ?? 0;
        const one = close === i + 2;
        if (one && kind === 0x46)
          out.push(0x7c); // \F\
        else if (one && kind === 0x53)
          out.push(0x5e); // \S\
        else if (one && kind === 0x54)
          out.push(0x26); // \T\
        else if (one && kind === 0x52)
          out.push(0x7e); // \R\
        else if (one && kind === 0x45)
          out.push(0x5c); // \E\
        else if (kind === 0x58) {
          // \Xhhhh\: raw bytes; an odd or non-hex body is kept literally
          let ok = (close - i - 2) % 2 === 0;
          for (let k = i + 2; ok && k < close; k++) ok = hexVal(bytes[k] ?? 0) >= 0;
          if (ok)
            for (let k = i + 2; k < close; k += 2)
              out.push(hexVal(bytes[k] ?? 0) * 16 + hexVal(bytes[k + 1] ?? 0));
          else for (let k = i; k <= close; k++) out.push(bytes[k] ?? 0);
        }
        // \H\ \N\ \.br\ \Cxxyy\ \Mxxyyzz\ \Zxx\: formatting/charset escapes carry no metadata text
        i = close + 1;
        continue;
      }
      out.push(c);
      i++;
      continue;
    }
    if (c === enc.component) out.push(0x5e);
    else if (c === enc.subcomponent) out.push(0x26);
    else out.push(c);
    i++;
  }
  let text = TEXT.decode(Uint8Array.from(out));
  if (text.length > maxChars) {
    text = text.slice(0, maxChars);
    truncated = true;
  }
  lastTruncated = truncated;
  return text;
}

/**
 * The common case without an escape and with standard separators in the text: the bytes as they are
 * (ASCII as latin1 straight from the bytes, anything else through UTF-8). Null when decodeText must work harder.
 */
function plainText(bytes: Uint8Array, a: number, b: number, enc: Encoding, reuse: boolean): string | null {
  let ascii = true;
  let hash = b - a;
  for (let i = a; i < b; i++) {
    const c = bytes[i] ?? 0;
    if (c === enc.escape) return null;
    if (c === enc.component && c !== 0x5e) return null;
    if (c === enc.subcomponent && c !== 0x26) return null;
    if (c >= 0x80) ascii = false;
    hash = hashStep(hash, c);
  }
  if (b <= a) return '';
  if (!ascii) return TEXT.decode(bytes.subarray(a, b));
  if (!reuse || b - a > FIELD_TEXTS.maxBytes) return latin1(bytes, a, b);
  return FIELD_TEXTS.text(bytes, a, b, hash);
}

/** MSH-3..6 and MSH-11..16 of every HL7 connection (see memo.ts). */
const STRETCHES = new StretchMemo();

/** Segment lists of every HL7 connection (see memo.ts). */
const SEGMENT_LISTS = new SharedLists();

/** Field texts of every HL7 connection (see intern.ts). */
const FIELD_TEXTS = new AsciiIntern();

/** First repetition of a field: bytes up to the repetition separator. */
function firstRepetition(bytes: Uint8Array, a: number, b: number, enc: Encoding): number {
  const r = indexInRange(bytes, enc.repetition, a, b);
  return r < 0 ? b : r;
}

/** Bounds of component k (1-based) within bytes[a, b). */
function componentBounds(
  bytes: Uint8Array,
  a: number,
  b: number,
  sep: number,
  k: number,
): [number, number] | null {
  let i = a;
  for (let n = 1; n < k; n++) {
    const j = indexInRange(bytes, sep, i, b);
    if (j < 0) return null;
    i = j + 1;
  }
  const j = indexInRange(bytes, sep, i, b);
  return [i, j < 0 ? b : j];
}

function newMessage(batch: boolean): Hl7Message {
  return {
    sendingApp: '',
    sendingFacility: '',
    receivingApp: '',
    receivingFacility: '',
    messageType: '',
    controlId: '',
    processingId: '',
    version: '',
    acceptAckType: '',
    appAckType: '',
    segments: NO_SEGMENTS,
    segmentCount: 0,
    ackCode: '',
    ackControlId: '',
    size: 0,
    hasPhi: false,
    deviceIds: NO_DEVICE_IDS,
    pcdProfile: false,
    batch,
  };
}

/**
 * The device ids of a message without any (most: ADT, ACK, ORM), shared instead of an array per message. Frozen: a
 * push into it would throw (caught as an analyzer error) rather than leak ids between messages.
 */
const NO_DEVICE_IDS = Object.freeze([]) as unknown as string[];
/** A message's segment list until it is finished (then one of SEGMENT_LISTS), frozen likewise. */
const NO_SEGMENTS = Object.freeze([]) as unknown as string[];
/** The notes of a block without any (nearly all), shared and frozen likewise. */
const NO_NOTES = Object.freeze([]) as unknown as ParseNote[];

/** Segment ids as 24-bit numbers, so that the per-segment dispatch compares integers, not strings. */
const segCode = (id: string): number => (id.charCodeAt(0) << 16) | (id.charCodeAt(1) << 8) | id.charCodeAt(2);
const ID_MSH = segCode('MSH');
const ID_FHS = segCode('FHS');
const ID_BHS = segCode('BHS');
const ID_BTS = segCode('BTS');
const ID_FTS = segCode('FTS');
const ID_MSA = segCode('MSA');
const ID_OBX = segCode('OBX');
const ID_PRT = segCode('PRT');
const PHI_CODES: ReadonlySet<number> = new Set([...PHI_SEGMENTS].map(segCode));

/** Segment id strings by code, so that each message's segment list shares them (capped). */
const SEGMENT_IDS = new Map<number, string>();
const MAX_SEGMENT_IDS = 1024;

function segmentId(code: number): string {
  let id = SEGMENT_IDS.get(code);
  if (id === undefined) {
    id = String.fromCharCode(code >> 16, (code >> 8) & 0xff, code & 0xff);
    if (SEGMENT_IDS.size < MAX_SEGMENT_IDS) SEGMENT_IDS.set(code, id);
  }
  return id;
}

/**
 * Parses the content of one MLLP block bytes[start, end): one message, or a batch (FHS/BHS ... BTS/FTS) of
 * messages. Reads only MSH, MSA, OBX-18, PRT-16 and the batch trailers; every other segment contributes its id.
 * Pure, never throws; all output is bounded by `limits`.
 */
export function parseBlock(bytes: Uint8Array, start: number, end: number, limits: Hl7Limits): BlockResult {
  // a view ending with the block bounds every search to it, however much follows in the buffer
  const stop = Math.min(end, bytes.length);
  return PARSER.run(bytes.subarray(0, stop), limits, start, stop);
}

const EMPTY_VIEW = new Uint8Array(0);
const DEFAULT_PARSE_LIMITS: Hl7Limits = { ...DEFAULT_LIMITS };

/** Field separators remembered per segment: enough for MSH-21, OBX-18, PRT-16. */
const MAX_CACHED_SEPARATORS = 32;
const SEPARATORS = new Int32Array(MAX_CACHED_SEPARATORS);

/**
 * One block's parse state, in one object reused for every block (parsing is synchronous and never re-entered): no
 * parser, note set or view allocated per block. Nothing at or after `end` is read but the bytes of a short segment
 * id (as zeros), so that no view of the block is needed either.
 */
class BlockParser {
  /** Notes in the order they were first seen (the session reports them in that order); at most one of each. */
  private notes: ParseNote[] = NO_NOTES;
  private messages: Hl7Message[] = [];
  private view: Uint8Array = new Uint8Array(0);
  private limits: Hl7Limits = DEFAULT_PARSE_LIMITS;
  private end = 0;
  private msg: Hl7Message | null = null;
  private enc: Encoding | null = null;
  private msgStart = 0;
  private hasObx18 = false;
  private hasPrt16 = false;
  private batchEnc: Encoding | null = null;
  private inBatch = false;
  private batchCount = 0;
  private batchOpened = false;
  /** Bounds of the last field/component found (scratch, to avoid a tuple per lookup). */
  private a = 0;
  private b = 0;
  /** Field separator positions of the segment at sepSegment (scratch for field(), shared: parsing is synchronous). */
  private readonly seps = SEPARATORS;
  private sepSegment = -1;
  private sepChar = -1;
  private sepCount = 0;
  private sepDone = true;
  /** The last segment id looked up (kept across blocks: a pure function of the code). */
  private lastCode = -1;
  private lastId = '';
  private lastPhi = false;
  /** Bounds of the header stretch last looked up (-1: absent), and whether a text was cut since `cut` was reset. */
  private stretchStart = -1;
  private stretchEnd = 0;
  private cut = false;
  /** The current message's segment ids (scratch, up to maxSegments) and their hash, for SEGMENT_LISTS at finish. */
  private readonly segIds: string[] = [];
  private segLen = 0;
  private segHash = 0;

  private note(n: ParseNote): void {
    if (this.notes === NO_NOTES) this.notes = [n];
    else if (!this.notes.includes(n)) this.notes.push(n);
  }

  run(view: Uint8Array, limits: Hl7Limits, start: number, end: number): BlockResult {
    this.view = view;
    this.limits = limits;
    this.end = end;
    this.notes = NO_NOTES;
    this.messages = [];
    this.msg = null;
    this.enc = null;
    this.msgStart = 0;
    this.hasObx18 = false;
    this.hasPrt16 = false;
    this.batchEnc = null;
    this.inBatch = false;
    this.batchCount = 0;
    this.batchOpened = false;
    this.sepSegment = -1;
    this.sepChar = -1;
    let nextCr = -2;
    let nextLf = -2;
    let s = start;
    while (s < end) {
      if (nextCr !== -1 && nextCr < s) {
        nextCr = indexOfByte(view, CR, s);
        if (nextCr >= end) nextCr = -1;
      }
      if (nextLf !== -1 && nextLf < s) {
        nextLf = indexOfByte(view, LF, s);
        if (nextLf >= end) nextLf = -1;
      }
      let e: number;
      let next: number;
      if (nextCr >= 0 && (nextLf < 0 || nextCr < nextLf)) {
        e = nextCr;
        next = e + 1;
        if (next < end && view[next] === LF) {
          this.note('lf_terminator');
          next++;
        }
      } else if (nextLf >= 0) {
        e = nextLf;
        next = e + 1;
        this.note('lf_terminator');
      } else {
        e = end;
        next = end;
      }
      if (e > s) this.segment(s, e);
      s = next;
    }
    this.finish(end);
    if (this.inBatch) this.note('bad_batch');
    // the block's bytes (maybe a large session buffer) are not kept alive by the parser
    this.view = EMPTY_VIEW;
    return { messages: this.messages, notes: this.notes };
  }

  private finish(segEnd: number): void {
    const m = this.msg;
    if (!m) return;
    m.size = segEnd - this.msgStart;
    if (m.messageType.startsWith('ORU^R01') && (this.hasObx18 || this.hasPrt16)) m.pcdProfile = true;
    m.segments = SEGMENT_LISTS.list(this.segIds, this.segLen, this.segHash) as string[];
    this.messages.push(m);
    this.msg = null;
  }

  private segment(segStart: number, segEnd: number): void {
    const view = this.view;
    const end = this.end;
    const c0 = view[segStart] ?? 0;
    const c1 = segStart + 1 < end ? (view[segStart + 1] ?? 0) : 0;
    const c2 = segStart + 2 < end ? (view[segStart + 2] ?? 0) : 0;
    const code = (c0 << 16) | (c1 << 8) | c2;
    const validId =
      segEnd - segStart >= 3 &&
      isUpper(c0) &&
      isAlnum(c1) &&
      isAlnum(c2) &&
      (segEnd - segStart === 3 || !isAlnum(view[segStart + 3] ?? 0));
    if (!validId) {
      this.note(code === ID_MSH || code === ID_FHS || code === ID_BHS ? 'bad_msh' : 'bad_segment_id');
      return;
    }
    if (code === ID_FHS || code === ID_BHS) {
      this.finish(segStart);
      const enc = readEncoding(view, segStart, segEnd);
      if (!enc) this.note('bad_msh');
      else this.batchEnc = enc;
      if (code === ID_BHS) {
        this.inBatch = true;
        this.batchCount = 0;
      }
      this.batchOpened = true;
      return;
    }
    if (code === ID_BTS || code === ID_FTS) {
      this.finish(segStart);
      if (code === ID_BTS) {
        const enc = this.batchEnc;
        if (!this.inBatch || !enc) this.note('bad_batch');
        else {
          const declared = this.field(segStart, segEnd, enc, BTS_COUNT, false)
            ? decodeField(view, this.a, this.b, enc, 12)
            : '';
          if (declared !== '' && Number(declared) !== this.batchCount) this.note('bad_batch');
        }
        this.inBatch = false;
      }
      return;
    }
    if (code === ID_MSH) {
      const enc = readEncoding(view, segStart, segEnd);
      if (this.msg && !this.batchOpened) this.note('multiple_messages');
      this.finish(segStart);
      if (!enc) {
        this.note('bad_msh');
        return;
      }
      if (this.inBatch) this.batchCount++;
      this.msg = newMessage(this.batchOpened);
      this.enc = enc;
      this.msgStart = segStart;
      this.hasObx18 = false;
      this.hasPrt16 = false;
      this.segLen = 0;
      this.segHash = 0;
      this.readMsh(this.msg, enc, segStart, segEnd);
      this.pushSegment(this.msg, 'MSH', ID_MSH);
      return;
    }
    const m = this.msg;
    const enc = this.enc;
    if (!m || !enc) {
      this.note('missing_msh');
      return;
    }
    if (code !== this.lastCode) {
      // runs of one segment (OBX, OBX, ...) look their id up once
      this.lastCode = code;
      this.lastId = segmentId(code);
      this.lastPhi = PHI_CODES.has(code);
    }
    this.pushSegment(m, this.lastId, code);
    if (this.lastPhi) m.hasPhi = true;
    if (code === ID_MSA) this.readMsa(m, enc, segStart, segEnd);
    else if (code === ID_OBX) {
      if (this.readDeviceIds(m, enc, segStart, segEnd, OBX_EQUIPMENT_ID)) this.hasObx18 = true;
    } else if (code === ID_PRT) {
      if (this.readDeviceIds(m, enc, segStart, segEnd, PRT_UDI)) this.hasPrt16 = true;
    }
  }

  private pushSegment(m: Hl7Message, id: string, code: number): void {
    m.segmentCount++;
    if (this.segLen < this.limits.maxSegments) {
      this.segIds[this.segLen++] = id;
      this.segHash = hashStep(this.segHash, code);
    } else this.note('segments_truncated');
  }

  private text(enc: Encoding, a: number, z: number, reuse = true): string {
    const text = decodeField(this.view, a, z, enc, this.limits.maxFieldChars, reuse);
    if (lastTruncated) {
      this.cut = true;
      this.note('field_truncated');
    }
    return text;
  }

  /**
   * The memo's texts for the header stretch from field `first` to the end of field `last` (both present), adding
   * the note their decoding added; null on a miss, with the stretch's bounds kept for remember().
   */
  private stretch(
    enc: Encoding,
    s0: number,
    e0: number,
    first: number,
    last: number,
  ): readonly string[] | null {
    this.stretchStart = -1;
    if (!this.field(s0, e0, enc, last, true)) return null;
    const b = this.b;
    this.field(s0, e0, enc, first, true);
    this.stretchStart = this.a;
    this.stretchEnd = b;
    const hit = STRETCHES.get(this.view, this.a, b, enc, this.limits.maxFieldChars);
    if (!hit) return null;
    if (hit.cut) this.note('field_truncated');
    return hit.texts;
  }

  private remember(enc: Encoding, a: number, texts: string[]): void {
    if (a < 0) return;
    STRETCHES.set(this.view, a, this.stretchEnd, enc, this.limits.maxFieldChars, { texts, cut: this.cut });
  }

  /**
   * Sets this.a/this.b to field n of the segment; false when absent. Same bounds as fieldBounds, but the
   * separator positions of the segment are found once for all its fields (up to MAX_CACHED_SEPARATORS).
   */
  private field(s0: number, e0: number, enc: Encoding, n: number, header: boolean): boolean {
    const want = header ? n - 1 : n;
    if (want < 1) return false;
    if (want >= MAX_CACHED_SEPARATORS) {
      const f = fieldBounds(this.view, s0, e0, enc.field, n, header);
      if (!f) return false;
      this.a = f[0];
      this.b = f[1];
      return true;
    }
    const seps = this.seps;
    if (s0 !== this.sepSegment || enc.field !== this.sepChar) {
      this.sepSegment = s0;
      this.sepChar = enc.field;
      const first = s0 + 3;
      if (first < e0 && this.view[first] === enc.field) {
        seps[0] = first;
        this.sepCount = 1;
        this.sepDone = false;
      } else {
        this.sepCount = 0;
        this.sepDone = true;
      }
    }
    // separator k (1-based) opens field k; field `want` ends at separator want + 1 or the segment end
    if (this.sepCount <= want && !this.sepDone) {
      // one flat loop with locals: this scan over OBX-1..18 is most of what an ORU costs
      const view = this.view;
      const sep = enc.field;
      let n = this.sepCount;
      for (let i = (seps[n - 1] ?? 0) + 1; i < e0; i++) {
        if (view[i] === sep) {
          seps[n++] = i;
          if (n > want) break;
        }
      }
      if (n <= want) this.sepDone = true;
      this.sepCount = n;
    }
    if (this.sepCount < want) return false;
    this.a = (seps[want - 1] ?? 0) + 1;
    this.b = this.sepCount > want ? (seps[want] ?? e0) : e0;
    return true;
  }

  /** Whole first repetition, components joined with '^' (HD, ST). */
  /** `reuse` false for values that differ in every message (control ids): no use keeping them for reuse. */
  private whole(enc: Encoding, s0: number, e0: number, n: number, header: boolean, reuse = true): string {
    if (!this.field(s0, e0, enc, n, header)) return '';
    return this.text(enc, this.a, firstRepetition(this.view, this.a, this.b, enc), reuse);
  }

  /** First `count` components of the first repetition, joined with '^', empty trailing ones dropped. */
  private components(
    enc: Encoding,
    s0: number,
    e0: number,
    n: number,
    count: number,
    header: boolean,
  ): string {
    if (!this.field(s0, e0, enc, n, header)) return '';
    const a = this.a;
    const r = firstRepetition(this.view, a, this.b, enc);
    if (count === 1) {
      const c = indexInRange(this.view, enc.component, a, r);
      return this.text(enc, a, c < 0 ? r : c);
    }
    if (count === 2) {
      const whole = this.twoComponents(enc, a, r);
      if (whole !== null) return whole;
    }
    const parts: string[] = [];
    for (let k = 1; k <= count; k++) {
      const c = componentBounds(this.view, a, r, enc.component, k);
      if (!c) break;
      parts.push(this.text(enc, c[0], c[1]));
    }
    while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
    return parts.join('^');
  }

  /**
   * Components 1 and 2 of bytes[a, r) as one text, when that equals decoding them apart and joining them with '^':
   * printable ASCII without the escape character, '^' as the component separator, short enough that neither is cut.
   * Null otherwise. One interned string (e.g. "ORU^R01") instead of two parts, an array and a join per message.
   */
  private twoComponents(enc: Encoding, a: number, r: number): string | null {
    const view = this.view;
    const comp = enc.component;
    if (comp !== 0x5e) return null;
    let z = r;
    let seen = 0;
    for (let i = a; i < r; i++) {
      const c = view[i] ?? 0;
      if (c === comp && ++seen === 2) {
        z = i;
        break;
      }
      if (c < 0x20 || c > 0x7e || c === enc.escape) return null;
    }
    if (z - a > this.limits.maxFieldChars) return null;
    // empty trailing components are dropped
    while (z > a && view[z - 1] === comp) z--;
    return decodeField(view, a, z, enc, this.limits.maxFieldChars);
  }

  private readMsh(m: Hl7Message, enc: Encoding, s0: number, e0: number): void {
    // MSH-3..6 and MSH-11..16 from the memo when their bytes were seen before (notes as decoding would add them)
    const parties = this.stretch(enc, s0, e0, MSH.sendingApp, MSH.receivingFacility);
    if (parties) {
      m.sendingApp = parties[0] ?? '';
      m.sendingFacility = parties[1] ?? '';
      m.receivingApp = parties[2] ?? '';
      m.receivingFacility = parties[3] ?? '';
    } else {
      const a = this.stretchStart;
      this.cut = false;
      m.sendingApp = this.whole(enc, s0, e0, MSH.sendingApp, true);
      m.sendingFacility = this.whole(enc, s0, e0, MSH.sendingFacility, true);
      m.receivingApp = this.whole(enc, s0, e0, MSH.receivingApp, true);
      m.receivingFacility = this.whole(enc, s0, e0, MSH.receivingFacility, true);
      this.remember(enc, a, [m.sendingApp, m.sendingFacility, m.receivingApp, m.receivingFacility]);
    }
    m.messageType = this.components(enc, s0, e0, MSH.messageType, 2, true);
    m.controlId = this.whole(enc, s0, e0, MSH.controlId, true, false);
    const modes = this.stretch(enc, s0, e0, MSH.processingId, MSH.appAckType);
    if (modes) {
      m.processingId = modes[0] ?? '';
      m.version = modes[1] ?? '';
      m.acceptAckType = modes[2] ?? '';
      m.appAckType = modes[3] ?? '';
    } else {
      const a = this.stretchStart;
      this.cut = false;
      m.processingId = this.components(enc, s0, e0, MSH.processingId, 1, true);
      m.version = this.components(enc, s0, e0, MSH.version, 1, true);
      m.acceptAckType = this.components(enc, s0, e0, MSH.acceptAckType, 1, true);
      m.appAckType = this.components(enc, s0, e0, MSH.appAckType, 1, true);
      this.remember(enc, a, [m.processingId, m.version, m.acceptAckType, m.appAckType]);
    }
    if (m.messageType === '' || m.controlId === '') this.note('bad_msh');
    if (this.field(s0, e0, enc, MSH.profileId, true)) {
      // every repetition's first component (EI entity identifier)
      const end = this.b;
      let a = this.a;
      for (;;) {
        const r = indexInRange(this.view, enc.repetition, a, end);
        const z = r < 0 ? end : r;
        const c = indexInRange(this.view, enc.component, a, z);
        if (this.text(enc, a, c < 0 ? z : c) === IHE_PCD_01_PROFILE) m.pcdProfile = true;
        if (r < 0) break;
        a = r + 1;
      }
    }
  }

  private readMsa(m: Hl7Message, enc: Encoding, s0: number, e0: number): void {
    if (m.ackCode !== '' || m.ackControlId !== '') return;
    const code = this.components(enc, s0, e0, MSA.ackCode, 1, false);
    m.ackCode = ACK_CODES.has(code) ? code : code.slice(0, 8);
    m.ackControlId = this.whole(enc, s0, e0, MSA.controlId, false, false);
  }

  /**
   * Whether bytes[a, z) spell an id already in `ids` and would decode to exactly that text: printable ASCII without
   * spaces or the escape character (no decoding, nothing to trim), within maxFieldChars (not cut, no note).
   */
  private listedVerbatim(ids: readonly string[], enc: Encoding, a: number, z: number): boolean {
    const len = z - a;
    if (len <= 0 || len > this.limits.maxFieldChars) return false;
    const view = this.view;
    // indexed: a for-of here left an iterator (and its results) per OBX to the collector
    for (let j = 0; j < ids.length; j++) {
      const id = ids[j] ?? '';
      if (id.length !== len) continue;
      let k = 0;
      while (k < len) {
        const c = view[a + k] ?? 0;
        if (c !== id.charCodeAt(k) || c <= 0x20 || c > 0x7e || c === enc.escape) break;
        k++;
      }
      if (k === len) return true;
    }
    return false;
  }

  /** Adds the identifier (first component) of each repetition of field n; true when one was present. */
  private readDeviceIds(m: Hl7Message, enc: Encoding, s0: number, e0: number, n: number): boolean {
    if (!this.field(s0, e0, enc, n, false) || this.b <= this.a) return false;
    const end = this.b;
    let found = false;
    let a = this.a;
    const view = this.view;
    const rep = enc.repetition;
    const comp = enc.component;
    const subSep = enc.subcomponent;
    for (;;) {
      // one pass per repetition: its end, its first component's end and that component's first subcomponent's end
      let r = -1;
      let c = -1;
      let sub = -1;
      for (let i = a; i < end; i++) {
        const ch = view[i];
        if (ch === rep) {
          r = i;
          break;
        }
        if (c < 0) {
          if (ch === comp) c = i;
          else if (sub < 0 && ch === subSep) sub = i;
        }
      }
      const z = r < 0 ? end : r;
      const ce = c < 0 ? z : c;
      if (ce > a) {
        const idEnd = sub < 0 ? ce : sub;
        if (this.listedVerbatim(m.deviceIds, enc, a, idEnd)) {
          // every OBX of a PCD-01 message names the same device: nothing to decode, nothing changes
          found = true;
        } else {
          const id = this.text(enc, a, idEnd).trim();
          if (id !== '') {
            found = true;
            const ids = m.deviceIds;
            if (!ids.includes(id)) {
              if (ids.length < this.limits.maxDeviceIds) {
                if (ids === NO_DEVICE_IDS) m.deviceIds = [id];
                else ids.push(id);
              } else this.note('device_ids_truncated');
            }
          }
        }
      }
      if (r < 0) break;
      a = r + 1;
    }
    return found;
  }
}

const PARSER = new BlockParser();
