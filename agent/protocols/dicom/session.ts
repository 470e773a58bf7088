// Per-flow DICOM analyzer: PDU framing and association phases (PS3.8 9.2-9.3), PDV reassembly into DIMSE messages (PS3.8 annex E, PS3.7 6.3, 9, 10).
import {
  COMMAND_NAMES,
  DATA_SET_ABSENT,
  DEFAULT_LIMITS,
  type DicomLimits,
  IDENTIFIER_COMMANDS,
  MCH_COMMAND,
  MCH_LAST,
  PDU_HEADER_LEN,
  PDV_HEADER_LEN,
  PduType,
} from './constants.js';
import { ANOMALIES, type DicomAnomalyCode } from './events.js';
import {
  type AssociatePdu,
  type CommandSet,
  encodingOf,
  guessEncoding,
  type Pdu,
  parseCommandSet,
  parseIdentifier,
  parsePdu,
} from './parse.js';
import type { Analyzer, AnalyzerSink, Direction, EventFields, FieldValue } from '../types.js';
import { u32 } from '../../wire/bytes.js';

const HDR = 0; // collecting a PDU header
const BODY = 1; // buffering a non-P-DATA PDU (bounded by maxPduLength)
const PDV_HDR = 2; // inside a P-DATA-TF, collecting a PDV header
const PDV_DATA = 3; // inside a PDV: streamed to the DIMSE assembler, never buffered as a PDU
const SKIP = 4; // skipping a PDU (or its rest) by length
const LOST = 5; // after a gap or garbage: scanning for a plausible PDU header
type Phase = typeof HDR | typeof BODY | typeof PDV_HDR | typeof PDV_DATA | typeof SKIP | typeof LOST;

const NO = 0;
const YES = 1;
const UNSURE = 2;
type Verdict = typeof NO | typeof YES | typeof UNSURE;

/** Bytes needed to judge a candidate PDU start while resynchronising (PDU header + first PDV header). */
const PROBE_WINDOW = 12;
/** Buffers shrink back to this after holding a large message, so idle flows stay small. */
const SMALL_BUFFER = 4096;

/** Append-only byte buffer with a hard cap; grows by doubling, shrinks on reset. */
class GrowBuf {
  buf: Uint8Array;
  len = 0;
  constructor(
    private readonly initial: number,
    readonly cap: number,
  ) {
    this.buf = new Uint8Array(initial);
  }
  /** False (and nothing copied) when the cap would be exceeded. */
  append(src: Uint8Array, s: number, e: number): boolean {
    const n = e - s;
    if (this.len + n > this.cap) return false;
    if (this.len + n > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < this.len + n) size *= 2;
      const next = new Uint8Array(Math.min(size, this.cap));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
    }
    this.buf.set(src.subarray(s, e), this.len);
    this.len += n;
    return true;
  }
  reset(): void {
    this.len = 0;
    if (this.buf.length > SMALL_BUFFER) this.buf = new Uint8Array(this.initial);
  }
  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

/** A command whose data set is still arriving. */
interface Pending {
  ctx: number;
  fields: EventFields;
  identifier: boolean;
  dataBytes: number;
}

class DirState {
  phase: Phase = HDR;
  readonly hdr = new Uint8Array(PDU_HEADER_LEN);
  hdrLen = 0;
  pduType = 0;
  /** P-DATA-TF body bytes not yet consumed (PDV headers included). */
  pduRemaining = 0;
  readonly body: GrowBuf;
  bodyNeed = 0;
  pdvCtx = 0;
  pdvCtl = 0;
  pdvRemaining = 0;
  skipRemaining = 0;
  readonly tail = new Uint8Array(PROBE_WINDOW);
  tailLen = 0;
  readonly cmd: GrowBuf;
  cmdCtx = -1;
  cmdOverflow = false;
  pending: Pending | null = null;
  readonly ident: GrowBuf;
  identOverflow = false;
  /** Data fragments with no command announcing them are counted and ignored until their last fragment. */
  orphanData = false;
  /** Set after a gap: the next fragments may continue a message whose start was lost. */
  afterGap = false;
  ended = false;
  constructor(limits: DicomLimits) {
    this.body = new GrowBuf(256, PDU_HEADER_LEN + limits.maxPduLength);
    this.cmd = new GrowBuf(256, limits.maxCommandLength);
    this.ident = new GrowBuf(256, limits.maxIdentifierLength);
  }
}

type AssocState = 'none' | 'requested' | 'established' | 'rejected' | 'releasing' | 'closed' | 'aborted';

export interface DicomSessionStats {
  pdus: number;
  dimse: number;
  anomalies: number;
  skippedBytes: number;
}

export class DicomSession implements Analyzer {
  private readonly dirs: [DirState, DirState];
  private confirmed = false;
  private violated = false;
  private assoc: AssocState = 'none';
  private unexpectedReported = false;
  /** Presentation context id → abstract syntax (A-ASSOCIATE-RQ) and accepted transfer syntax (AC). */
  private readonly ctxAbstract: (string | undefined)[] = new Array<string | undefined>(256);
  private readonly ctxTransfer: (string | undefined)[] = new Array<string | undefined>(256);
  private readonly ctxResult = new Int16Array(256).fill(-1);
  private sawAc = false;
  readonly stats: DicomSessionStats = { pdus: 0, dimse: 0, anomalies: 0, skippedBytes: 0 };

  constructor(
    private readonly sink: AnalyzerSink,
    private readonly limits: DicomLimits = DEFAULT_LIMITS,
  ) {
    this.dirs = [new DirState(limits), new DirState(limits)];
  }

  bufferedBytes(): number {
    let n = 0;
    for (const d of this.dirs) n += d.body.len + d.cmd.len + d.ident.len + d.hdrLen + d.tailLen;
    return n;
  }

  onData(dir: Direction, bytes: Uint8Array, ts: number): void {
    if (this.violated) return;
    this.feed(dir, this.dirs[dir], bytes, ts);
  }

  /**
   * Bypass: the rest of a PDU being stepped over, or of a data-set PDV that is only counted (C-STORE pixel data;
   * not an identifier being read); nothing at all once the stream is not DICOM.
   */
  skippable(dir: Direction): number {
    if (this.violated) return Infinity;
    const st = this.dirs[dir];
    if (st.phase === SKIP) return st.skipRemaining;
    if (st.phase !== PDV_DATA || (st.pdvCtl & MCH_COMMAND) !== 0) return 0;
    const pend = st.pending;
    if (pend && pend.ctx === st.pdvCtx && pend.identifier && !st.identOverflow) return 0;
    return st.pdvRemaining;
  }

  /** What feed() does for bytes of a SKIP or a counted PDV_DATA stretch, without the bytes. */
  onSkip(dir: Direction, len: number, ts: number): void {
    if (this.violated || len <= 0) return;
    const st = this.dirs[dir];
    if (st.phase === SKIP) {
      st.skipRemaining -= len;
      this.stats.skippedBytes += len;
      if (st.skipRemaining === 0) st.phase = HDR;
      return;
    }
    if (st.phase !== PDV_DATA) return;
    const pend = st.pending;
    if (pend && pend.ctx === st.pdvCtx) pend.dataBytes += len;
    st.pdvRemaining -= len;
    st.pduRemaining -= len;
    if (st.pdvRemaining === 0) this.onPdvEnd(dir, st, ts);
  }

  onGap(dir: Direction, len: number, ts: number): void {
    if (this.violated) return;
    const st = this.dirs[dir];
    this.anomaly(dir, ts, 'dicom.gap', { bytes: len });
    this.flushPending(dir, st, ts);
    this.dropMessage(st);
    st.afterGap = true;
    let remaining = -1; // bytes left in the current PDU, when known
    if (st.phase === BODY) remaining = st.bodyNeed - st.body.len;
    else if (st.phase === PDV_HDR || st.phase === PDV_DATA) remaining = st.pduRemaining;
    else if (st.phase === SKIP) remaining = st.skipRemaining;
    st.body.reset();
    st.hdrLen = 0;
    if (remaining > len) {
      st.phase = SKIP;
      st.skipRemaining = remaining - len;
    } else if (remaining === len) st.phase = HDR;
    else {
      st.phase = LOST;
      st.tailLen = 0;
    }
  }

  onEnd(dir: Direction, ts: number): void {
    const st = this.dirs[dir];
    if (this.violated || st.ended) return;
    st.ended = true;
    const midPdu =
      (st.phase === HDR && st.hdrLen > 0) ||
      st.phase === BODY ||
      st.phase === PDV_HDR ||
      st.phase === PDV_DATA ||
      st.phase === SKIP;
    if (midPdu) this.anomaly(dir, ts, 'dicom.truncated_pdu');
    this.flushPending(dir, st, ts);
    this.dropMessage(st);
    st.body.reset();
    st.hdrLen = 0;
    st.tailLen = 0;
    st.phase = HDR;
  }

  // ---------------------------------------------------------------- framing

  private feed(dir: Direction, st: DirState, b: Uint8Array, ts: number): void {
    const n = b.length;
    let p = 0;
    while (p < n && !this.violated) {
      switch (st.phase) {
        case HDR: {
          const k = Math.min(PDU_HEADER_LEN - st.hdrLen, n - p);
          st.hdr.set(b.subarray(p, p + k), st.hdrLen);
          st.hdrLen += k;
          p += k;
          if (st.hdrLen === PDU_HEADER_LEN) this.onHeader(dir, st, ts);
          break;
        }
        case BODY: {
          const k = Math.min(st.bodyNeed - st.body.len, n - p);
          st.body.append(b, p, p + k);
          p += k;
          if (st.body.len === st.bodyNeed) this.onWholePdu(dir, st, ts);
          break;
        }
        case PDV_HDR: {
          const k = Math.min(PDV_HEADER_LEN - st.hdrLen, n - p);
          st.hdr.set(b.subarray(p, p + k), st.hdrLen);
          st.hdrLen += k;
          st.pduRemaining -= k;
          p += k;
          if (st.hdrLen === PDV_HEADER_LEN) this.onPdvHeader(dir, st, ts);
          break;
        }
        case PDV_DATA: {
          const k = Math.min(st.pdvRemaining, n - p);
          this.onPdvChunk(dir, st, b, p, p + k, ts);
          p += k;
          st.pdvRemaining -= k;
          st.pduRemaining -= k;
          if (st.pdvRemaining === 0) this.onPdvEnd(dir, st, ts);
          break;
        }
        case SKIP: {
          const k = Math.min(st.skipRemaining, n - p);
          p += k;
          st.skipRemaining -= k;
          this.stats.skippedBytes += k;
          if (st.skipRemaining === 0) st.phase = HDR;
          break;
        }
        case LOST:
          p = this.resync(dir, st, b, p, ts);
          break;
      }
    }
  }

  private onHeader(dir: Direction, st: DirState, ts: number): void {
    const type = st.hdr[0] ?? 0;
    const length = u32(st.hdr, 2);
    st.hdrLen = 0;
    st.pduType = type;
    if (type < PduType.ASSOCIATE_RQ || type > PduType.ABORT) {
      this.anomaly(dir, ts, 'dicom.unknown_pdu_type', { pdu_type: type });
      if (!this.confirmed) return this.violate('unknown PDU type');
      st.phase = LOST;
      st.tailLen = 0;
      return;
    }
    this.stats.pdus++;
    if (type === PduType.P_DATA_TF) {
      if (length > this.limits.maxPdataLength) return this.tooLarge(dir, st, type, length, ts);
      if (length === 0) {
        this.anomaly(dir, ts, 'dicom.malformed_pdv', { pdu_type: type });
        st.phase = HDR;
        return;
      }
      this.checkDataAllowed(dir, ts);
      st.pduRemaining = length;
      st.phase = PDV_HDR;
      return;
    }
    if (length > this.limits.maxPduLength) return this.tooLarge(dir, st, type, length, ts);
    st.body.reset();
    st.body.append(st.hdr, 0, PDU_HEADER_LEN);
    st.bodyNeed = PDU_HEADER_LEN + length;
    st.phase = BODY;
    if (length === 0) this.onWholePdu(dir, st, ts);
  }

  private tooLarge(dir: Direction, st: DirState, type: number, length: number, ts: number): void {
    this.anomaly(dir, ts, 'dicom.pdu_too_large', { pdu_type: type, length });
    if (!this.confirmed) return this.violate('PDU length over the cap');
    st.phase = SKIP;
    st.skipRemaining = length;
    if (type === PduType.P_DATA_TF) {
      this.flushPending(dir, st, ts);
      this.dropMessage(st);
    }
  }

  private onWholePdu(dir: Direction, st: DirState, ts: number): void {
    const r = parsePdu(st.body.view(), 0, this.limits);
    st.body.reset();
    st.phase = HDR;
    if (!r.ok) {
      const code: DicomAnomalyCode = r.need ? 'dicom.malformed_pdu' : r.code;
      this.anomaly(dir, ts, code, { pdu_type: st.pduType });
      if (!this.confirmed) this.violate('malformed first PDU');
      return;
    }
    this.confirm();
    this.onPdu(dir, r.msg, ts);
  }

  private onPdvHeader(dir: Direction, st: DirState, ts: number): void {
    st.hdrLen = 0;
    const len = u32(st.hdr, 0);
    if (len < 2 || len - 2 > st.pduRemaining) {
      this.anomaly(dir, ts, 'dicom.malformed_pdv', { length: len });
      if (!this.confirmed) return this.violate('malformed PDV');
      this.dropMessage(st);
      st.skipRemaining = st.pduRemaining;
      st.phase = st.pduRemaining > 0 ? SKIP : HDR;
      return;
    }
    this.confirm();
    st.pdvCtx = st.hdr[4] ?? 0;
    st.pdvCtl = st.hdr[5] ?? 0;
    st.pdvRemaining = len - 2;
    st.phase = PDV_DATA;
    this.onPdvStart(dir, st, ts);
    if (st.pdvRemaining === 0) this.onPdvEnd(dir, st, ts);
  }

  /** After a PDV: the next PDV of the same PDU, or the next PDU. */
  private nextAfterPdv(dir: Direction, st: DirState, ts: number): void {
    if (st.pduRemaining === 0) {
      st.phase = HDR;
    } else if (st.pduRemaining < PDV_HEADER_LEN) {
      this.anomaly(dir, ts, 'dicom.malformed_pdv', { length: st.pduRemaining });
      this.dropMessage(st);
      st.skipRemaining = st.pduRemaining;
      st.phase = SKIP;
    } else st.phase = PDV_HDR;
  }

  /**
   * Scan for a plausible PDU start without buffering more than PROBE_WINDOW - 1 bytes: candidates
   * that straddle chunks are judged on the tail plus the new chunk's first bytes.
   */
  private resync(dir: Direction, st: DirState, b: Uint8Array, p: number, ts: number): number {
    const n = b.length;
    if (st.tailLen > 0) {
      const take = Math.min(PROBE_WINDOW - 1, n - p);
      const joined = new Uint8Array(st.tailLen + take);
      joined.set(st.tail.subarray(0, st.tailLen));
      joined.set(b.subarray(p, p + take), st.tailLen);
      const tailLen = st.tailLen;
      st.tailLen = 0;
      for (let i = 0; i < tailLen; i++) {
        const verdict = this.judgePduStart(joined, i);
        if (verdict === NO) continue;
        if (verdict === UNSURE) {
          // Only when the whole (short) chunk is in `joined`: keep what cannot be judged yet.
          st.tail.set(joined.subarray(i));
          st.tailLen = joined.length - i;
          return n;
        }
        st.phase = HDR;
        this.feed(dir, st, joined.slice(i, tailLen), ts);
        return p;
      }
    }
    for (let i = p; i < n; i++) {
      const verdict = this.judgePduStart(b, i);
      if (verdict === NO) continue;
      this.stats.skippedBytes += i - p;
      if (verdict === YES) {
        st.phase = HDR;
        return i;
      }
      st.tail.set(b.subarray(i, n));
      st.tailLen = n - i;
      return n;
    }
    this.stats.skippedBytes += n - p;
    return n;
  }

  /** Strict PDU-start test at i (PS3.8 9.3 fixed fields); UNSURE while fewer bytes than needed are at hand. */
  private judgePduStart(b: Uint8Array, i: number): Verdict {
    const avail = b.length - i;
    const type = b[i] ?? 0;
    if (type < PduType.ASSOCIATE_RQ || type > PduType.ABORT) return NO;
    if (avail < 2) return UNSURE;
    if (b[i + 1] !== 0) return NO;
    const need = type === PduType.P_DATA_TF ? PROBE_WINDOW : 10;
    if (avail < need) return UNSURE;
    const len = u32(b, i + 2);
    let ok: boolean;
    switch (type) {
      case PduType.P_DATA_TF: {
        const pdv = u32(b, i + 6);
        const ctl = b[i + 11] ?? 0xff;
        ok =
          len >= 6 &&
          len <= this.limits.maxPdataLength &&
          pdv >= 2 &&
          pdv + 4 <= len &&
          ((b[i + 10] ?? 0) & 1) === 1 &&
          ctl <= 3;
        break;
      }
      case PduType.ASSOCIATE_RQ:
      case PduType.ASSOCIATE_AC:
        ok =
          len >= 68 &&
          len <= this.limits.maxPduLength &&
          b[i + 6] === 0 &&
          b[i + 7] === 1 &&
          b[i + 8] === 0 &&
          b[i + 9] === 0;
        break;
      case PduType.ASSOCIATE_RJ:
        ok =
          len === 4 &&
          b[i + 6] === 0 &&
          (b[i + 7] === 1 || b[i + 7] === 2) &&
          (b[i + 8] ?? 0) >= 1 &&
          (b[i + 8] ?? 0) <= 3;
        break;
      case PduType.RELEASE_RQ:
      case PduType.RELEASE_RP:
        ok = len === 4 && b[i + 6] === 0 && b[i + 7] === 0 && b[i + 8] === 0 && b[i + 9] === 0;
        break;
      default:
        ok = len === 4 && b[i + 6] === 0 && b[i + 7] === 0 && (b[i + 8] ?? 9) <= 2 && (b[i + 9] ?? 9) <= 6;
    }
    return ok ? YES : NO;
  }

  // ---------------------------------------------------------------- association

  private onPdu(dir: Direction, pdu: Pdu, ts: number): void {
    switch (pdu.type) {
      case PduType.ASSOCIATE_RQ:
        // One association per transport connection (PS3.8 9.1): a second RQ is out of place too.
        if (dir === 1 || this.assoc !== 'none') this.unexpected(dir, ts, pdu.type);
        this.setAssoc('requested');
        this.ctxAbstract.fill(undefined);
        this.ctxTransfer.fill(undefined);
        this.ctxResult.fill(-1);
        this.sawAc = false;
        for (const c of pdu.rqContexts)
          if (c.abstractSyntax !== null) this.ctxAbstract[c.id] = c.abstractSyntax;
        this.checkAssociate(dir, pdu, ts);
        this.sink.event(dir, ts, 'associate_rq', this.rqFields(pdu));
        return;
      case PduType.ASSOCIATE_AC:
        if (dir === 0 || (this.assoc !== 'requested' && this.assoc !== 'none'))
          this.unexpected(dir, ts, pdu.type);
        this.setAssoc('established');
        this.sawAc = true;
        for (const c of pdu.acContexts) {
          this.ctxResult[c.id] = c.result;
          if (c.result === 0 && c.transferSyntax !== null) this.ctxTransfer[c.id] = c.transferSyntax;
        }
        this.checkAssociate(dir, pdu, ts);
        this.sink.event(dir, ts, 'associate_ac', this.acFields(pdu));
        return;
      case PduType.ASSOCIATE_RJ:
        if (dir === 0 || (this.assoc !== 'requested' && this.assoc !== 'none'))
          this.unexpected(dir, ts, pdu.type);
        this.setAssoc('rejected');
        this.sink.event(dir, ts, 'associate_rj', {
          result: pdu.result,
          source: pdu.source,
          reason: pdu.reason,
        });
        return;
      case PduType.RELEASE_RQ:
        if (
          this.assoc === 'requested' ||
          this.assoc === 'rejected' ||
          this.assoc === 'closed' ||
          this.assoc === 'aborted'
        ) {
          this.unexpected(dir, ts, pdu.type);
        }
        this.flushBoth(ts);
        this.setAssoc('releasing');
        this.sink.event(dir, ts, 'release_rq', {});
        return;
      case PduType.RELEASE_RP:
        if (this.assoc !== 'releasing' && this.assoc !== 'none') this.unexpected(dir, ts, pdu.type);
        this.setAssoc('closed');
        this.sink.event(dir, ts, 'release_rp', {});
        return;
      case PduType.ABORT:
        this.flushBoth(ts);
        this.setAssoc('aborted');
        this.sink.event(dir, ts, 'abort', { source: pdu.source, reason: pdu.reason });
        return;
      case PduType.P_DATA_TF:
        // Only reached through parsePdu users; the session streams P-DATA-TF.
        return;
    }
  }

  private setAssoc(s: AssocState): void {
    if (s !== this.assoc) this.unexpectedReported = false;
    this.assoc = s;
  }

  private unexpected(dir: Direction, ts: number, pduType: number): void {
    if (this.unexpectedReported) return;
    this.unexpectedReported = true;
    this.anomaly(dir, ts, 'dicom.unexpected_pdu', { pdu_type: pduType, state: this.assoc });
  }

  private checkDataAllowed(dir: Direction, ts: number): void {
    if (
      this.assoc === 'requested' ||
      this.assoc === 'rejected' ||
      this.assoc === 'closed' ||
      this.assoc === 'aborted'
    ) {
      this.unexpected(dir, ts, PduType.P_DATA_TF);
    }
  }

  private checkAssociate(dir: Direction, pdu: AssociatePdu, ts: number): void {
    if ((pdu.protocolVersion & 1) === 0)
      this.anomaly(dir, ts, 'dicom.invalid_protocol_version', { protocol_version: pdu.protocolVersion });
    if (!pdu.aeTitlesPrintable) this.anomaly(dir, ts, 'dicom.invalid_ae_title');
  }

  private rqFields(pdu: AssociatePdu): EventFields {
    const abstract = new Set<string>();
    const transfer = new Set<string>();
    for (const c of pdu.rqContexts) {
      if (c.abstractSyntax !== null) abstract.add(c.abstractSyntax);
      for (const t of c.transferSyntaxes) transfer.add(t);
    }
    const f: EventFields = {
      calling_ae: pdu.callingAe,
      called_ae: pdu.calledAe,
      protocol_version: pdu.protocolVersion,
    };
    if (pdu.applicationContext !== null) f.application_context = pdu.applicationContext;
    f.abstract_syntaxes = [...abstract];
    f.transfer_syntaxes = [...transfer].slice(0, this.limits.maxListEntries);
    f.context_count = pdu.rqContexts.length + pdu.droppedContexts;
    this.userInfoFields(pdu, f);
    const ui = pdu.userInfo;
    if (ui.userIdentityType !== undefined) f.user_identity_type = ui.userIdentityType;
    if (ui.userIdentityHasPasscode !== undefined) f.user_identity_has_passcode = ui.userIdentityHasPasscode;
    return f;
  }

  private acFields(pdu: AssociatePdu): EventFields {
    let accepted = 0;
    const contexts: FieldValue[] = [];
    const abstract = new Set<string>();
    const transfer = new Set<string>();
    for (const c of pdu.acContexts) {
      const entry: { [k: string]: FieldValue } = { id: c.id, result: c.result };
      const as = this.ctxAbstract[c.id];
      if (as !== undefined) entry.abstract_syntax = as;
      if (c.result === 0) {
        accepted++;
        if (c.transferSyntax !== null) {
          entry.transfer_syntax = c.transferSyntax;
          transfer.add(c.transferSyntax);
        }
        if (as !== undefined) abstract.add(as);
      }
      contexts.push(entry);
    }
    const f: EventFields = {
      calling_ae: pdu.callingAe,
      called_ae: pdu.calledAe,
      protocol_version: pdu.protocolVersion,
    };
    if (pdu.applicationContext !== null) f.application_context = pdu.applicationContext;
    f.accepted_contexts = accepted;
    f.rejected_contexts = pdu.acContexts.length + pdu.droppedContexts - accepted;
    f.contexts = contexts;
    if (abstract.size > 0) f.abstract_syntaxes = [...abstract];
    f.transfer_syntaxes = [...transfer];
    this.userInfoFields(pdu, f);
    if (pdu.userInfo.userIdentityServerResponse) f.user_identity_accepted = true;
    return f;
  }

  private userInfoFields(pdu: AssociatePdu, f: EventFields): void {
    const ui = pdu.userInfo;
    if (ui.maxLength !== undefined) f.max_pdu_length = ui.maxLength;
    if (ui.implementationClassUid !== undefined) f.implementation_class_uid = ui.implementationClassUid;
    if (ui.implementationVersion !== undefined) f.implementation_version = ui.implementationVersion;
    if (ui.asyncInvoked !== undefined) f.async_ops_invoked = ui.asyncInvoked;
    if (ui.asyncPerformed !== undefined) f.async_ops_performed = ui.asyncPerformed;
    if (ui.roles.length > 0)
      f.role_selections = ui.roles.map((r) => ({
        sop_class: r.sopClass,
        scu: r.scu === 1,
        scp: r.scp === 1,
      }));
  }

  // ---------------------------------------------------------------- DIMSE

  private onPdvStart(dir: Direction, st: DirState, ts: number): void {
    const ctx = st.pdvCtx;
    if ((st.pdvCtl & MCH_COMMAND) !== 0) {
      if (st.pending) {
        if (!st.afterGap)
          this.anomaly(dir, ts, 'dicom.unexpected_data_set', {
            context_id: ctx,
            reason: 'command before data set',
          });
        this.flushPending(dir, st, ts);
      }
      if (st.cmdCtx >= 0 && st.cmdCtx !== ctx) {
        this.anomaly(dir, ts, 'dicom.unexpected_data_set', {
          context_id: ctx,
          reason: 'interleaved commands',
        });
        st.cmd.reset();
        st.cmdOverflow = false;
      }
      if (st.cmd.len === 0 && !st.cmdOverflow && this.sawAc && this.ctxResult[ctx] !== 0) {
        this.anomaly(dir, ts, 'dicom.unknown_presentation_context', { context_id: ctx });
      }
      st.cmdCtx = ctx;
      st.orphanData = false;
      return;
    }
    if (st.pending && st.pending.ctx === ctx) return;
    if (!st.orphanData) {
      if (!st.afterGap)
        this.anomaly(dir, ts, 'dicom.unexpected_data_set', { context_id: ctx, reason: 'no command' });
      st.orphanData = true;
    }
  }

  private onPdvChunk(_dir: Direction, st: DirState, b: Uint8Array, s: number, e: number, _ts: number): void {
    if (s === e) return;
    if ((st.pdvCtl & MCH_COMMAND) !== 0) {
      if (st.cmdOverflow) return;
      if (!st.cmd.append(b, s, e)) {
        st.cmdOverflow = true;
        st.cmd.reset();
        this.anomaly(_dir, _ts, 'dicom.command_too_large', { context_id: st.pdvCtx });
      }
      return;
    }
    const pend = st.pending;
    if (!pend || pend.ctx !== st.pdvCtx) return;
    pend.dataBytes += e - s;
    if (pend.identifier && !st.identOverflow && !st.ident.append(b, s, e)) {
      st.identOverflow = true;
      st.ident.reset();
    }
  }

  private onPdvEnd(dir: Direction, st: DirState, ts: number): void {
    const last = (st.pdvCtl & MCH_LAST) !== 0;
    if ((st.pdvCtl & MCH_COMMAND) !== 0) {
      if (last) this.onCommandEnd(dir, st, ts);
    } else if (last) {
      if (st.pending && st.pending.ctx === st.pdvCtx) this.onDataSetEnd(dir, st, ts);
      else st.orphanData = false;
    }
    this.nextAfterPdv(dir, st, ts);
  }

  private onCommandEnd(dir: Direction, st: DirState, ts: number): void {
    const ctx = st.cmdCtx;
    const afterGap = st.afterGap;
    st.cmdCtx = -1;
    st.afterGap = false;
    if (st.cmdOverflow) {
      st.cmdOverflow = false;
      return;
    }
    const r = parseCommandSet(st.cmd.buf, 0, st.cmd.len);
    st.cmd.reset();
    if (!r.ok) {
      // Right after a gap this is most likely the tail of a command whose first fragment was lost.
      if (!afterGap) this.anomaly(dir, ts, r.need ? 'dicom.malformed_command' : r.code, { context_id: ctx });
      return;
    }
    const cs = r.msg;
    const fields = this.commandFields(ctx, cs);
    const hasData = cs.dataSetType !== undefined && cs.dataSetType !== DATA_SET_ABSENT;
    if (!hasData) {
      this.emitDimse(dir, ts, fields);
      return;
    }
    st.pending = { ctx, fields, identifier: IDENTIFIER_COMMANDS.has(cs.commandField), dataBytes: 0 };
    st.ident.reset();
    st.identOverflow = false;
  }

  private commandFields(ctx: number, cs: CommandSet): EventFields {
    const f: EventFields = {
      command: COMMAND_NAMES[cs.commandField] ?? 'UNKNOWN',
      command_field: cs.commandField,
      context_id: ctx,
    };
    const as = this.ctxAbstract[ctx];
    if (as !== undefined) f.abstract_syntax = as;
    const ts = this.ctxTransfer[ctx];
    if (ts !== undefined) f.transfer_syntax = ts;
    if (cs.messageId !== undefined) f.message_id = cs.messageId;
    if (cs.messageIdRespondedTo !== undefined) f.message_id_responded_to = cs.messageIdRespondedTo;
    if (cs.affectedSopClass !== undefined) f.affected_sop_class = cs.affectedSopClass;
    if (cs.affectedSopInstance !== undefined) f.affected_sop_instance = cs.affectedSopInstance;
    if (cs.requestedSopClass !== undefined) f.requested_sop_class = cs.requestedSopClass;
    if (cs.requestedSopInstance !== undefined) f.requested_sop_instance = cs.requestedSopInstance;
    if (cs.moveDestination !== undefined) f.move_destination = cs.moveDestination;
    if (cs.moveOriginatorAe !== undefined) f.move_originator_ae = cs.moveOriginatorAe;
    if (cs.priority !== undefined) f.priority = cs.priority;
    if (cs.status !== undefined) f.status = cs.status;
    if (cs.eventTypeId !== undefined) f.event_type_id = cs.eventTypeId;
    if (cs.actionTypeId !== undefined) f.action_type_id = cs.actionTypeId;
    if (cs.remaining !== undefined) f.remaining = cs.remaining;
    if (cs.completed !== undefined) f.completed = cs.completed;
    if (cs.failed !== undefined) f.failed = cs.failed;
    if (cs.warning !== undefined) f.warning = cs.warning;
    f.has_data_set = cs.dataSetType !== undefined && cs.dataSetType !== DATA_SET_ABSENT;
    return f;
  }

  private onDataSetEnd(dir: Direction, st: DirState, ts: number): void {
    const pend = st.pending;
    if (!pend) return;
    st.pending = null;
    const f = pend.fields;
    f.data_bytes = pend.dataBytes;
    if (pend.identifier) this.decodeIdentifier(dir, st, pend, ts);
    st.ident.reset();
    this.emitDimse(dir, ts, f);
  }

  private decodeIdentifier(dir: Direction, st: DirState, pend: Pending, ts: number): void {
    const f = pend.fields;
    if (st.identOverflow) {
      st.identOverflow = false;
      f.identifier_undecoded = 'too_large';
      this.anomaly(dir, ts, 'dicom.identifier_too_large', { context_id: pend.ctx, length: pend.dataBytes });
      return;
    }
    const tsUid = this.ctxTransfer[pend.ctx];
    const buf = st.ident.view();
    const enc = tsUid !== undefined ? encodingOf(tsUid) : guessEncoding(buf, 0, buf.length);
    if (enc === 'deflate' || enc === 'explicit_be') {
      f.identifier_undecoded = enc;
      return;
    }
    const r = parseIdentifier(buf, 0, buf.length, enc, this.limits);
    if (!r.ok) {
      f.identifier_undecoded = 'malformed';
      this.anomaly(dir, ts, 'dicom.malformed_identifier', { context_id: pend.ctx });
      return;
    }
    if (r.msg.queryLevel !== undefined) f.query_level = r.msg.queryLevel;
    f.query_keys = r.msg.keys.map((k) => ({ key: k.key, wildcard: k.wildcard }));
  }

  /** A command whose data set never completed (gap, abort, end of stream) is still reported, marked incomplete. */
  private flushPending(dir: Direction, st: DirState, ts: number): void {
    const pend = st.pending;
    if (!pend) return;
    st.pending = null;
    st.ident.reset();
    st.identOverflow = false;
    pend.fields.data_bytes = pend.dataBytes;
    pend.fields.incomplete = true;
    this.emitDimse(dir, ts, pend.fields);
  }

  private flushBoth(ts: number): void {
    this.flushPending(0, this.dirs[0], ts);
    this.flushPending(1, this.dirs[1], ts);
  }

  /** Forget a partially reassembled command or data set (after a gap or a malformed PDV). */
  private dropMessage(st: DirState): void {
    st.cmd.reset();
    st.cmdCtx = -1;
    st.cmdOverflow = false;
    st.ident.reset();
    st.identOverflow = false;
    st.orphanData = false;
    if (st.pending) st.pending = null;
  }

  private emitDimse(dir: Direction, ts: number, fields: EventFields): void {
    this.stats.dimse++;
    this.sink.event(dir, ts, 'dimse', fields);
  }

  // ---------------------------------------------------------------- sink helpers

  private confirm(): void {
    if (this.confirmed) return;
    this.confirmed = true;
    this.sink.confirm();
  }

  private violate(reason: string): void {
    this.violated = true;
    this.sink.violation(reason);
  }

  private anomaly(dir: Direction, ts: number, code: DicomAnomalyCode, fields?: EventFields): void {
    this.stats.anomalies++;
    if (fields) this.sink.anomaly(dir, ts, code, ANOMALIES[code].malformed, fields);
    else this.sink.anomaly(dir, ts, code, ANOMALIES[code].malformed);
  }
}
