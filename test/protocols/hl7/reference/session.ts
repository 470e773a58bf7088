// The HL7 session as it was before the one-pass rewrite (issue 12), kept unchanged as the oracle of oracle.test.ts.
import type { Analyzer, AnalyzerSink, Direction } from '../../../../agent/protocols/types.js';
import { BoundedMap } from '../../../../agent/wire/bounded-map.js';
import {
  CR,
  DEFAULT_LIMITS,
  IHE_BY_MESSAGE_TYPE,
  MLLP_END,
  type Hl7Limits,
} from '../../../../agent/protocols/hl7/constants.js';
import {
  ANOMALY_TABLE,
  NOTE_ANOMALY,
  toMessageFields,
  type Hl7AnomalyCode,
} from '../../../../agent/protocols/hl7/events.js';
import { parseBlock, parseFrame, type Hl7Message, type ParseNote } from './parse.js';

const EMPTY = new Uint8Array(0);
/** Acknowledged control ids remembered per flow for a second (application) ACK. */
const ACKED_MEMORY = 64;
/** Room beyond the largest block: <VT>, <FS>, <CR> and an opener's lookahead. */
const FRAME_OVERHEAD = 8;

class DirState {
  buf: Uint8Array = EMPTY;
  start = 0;
  end = 0;
  /** Where the <FS> search resumes, relative to `start`. */
  resume = 0;
  /** After a cut block: bytes up to the next opener belong to it and are dropped silently. */
  skipping = false;
  /** A block over the cap being skipped: what its first bytes said, emitted when its <FS> shows up. */
  oversize: Oversize | null = null;
  garbageBytes = 0;
  garbageNotBlank = false;
  sawBlock = false;

  buffered(): number {
    return this.end - this.start;
  }

  clear(): void {
    this.start = 0;
    this.end = 0;
    this.resume = 0;
  }
}

interface Oversize {
  /** Bytes of the block so far, from its <VT>. */
  bytes: number;
  /** Content bytes that were parsed (the prefix under the cap). */
  parsed: number;
  messages: Hl7Message[];
  notes: ParseNote[];
}

interface Outstanding {
  ts: number;
  ihe: string | undefined;
}

export interface Hl7SessionStats {
  messages: number;
  blocks: number;
  garbageBytes: number;
  cutBlocks: number;
  evictedOutstanding: number;
}

export class Hl7Session implements Analyzer {
  private readonly dirs: [DirState, DirState] = [new DirState(), new DirState()];
  private readonly limits: Hl7Limits;
  private readonly cap: number;
  private readonly outstanding: BoundedMap<string, Outstanding>;
  private readonly acked = new BoundedMap<string, Outstanding>(ACKED_MEMORY);
  private confirmed = false;
  private dead = false;
  private garbageBeforeConfirm = 0;
  private binaryBeforeConfirm = 0;
  private overflowReported = false;
  readonly stats: Hl7SessionStats = {
    messages: 0,
    blocks: 0,
    garbageBytes: 0,
    cutBlocks: 0,
    evictedOutstanding: 0,
  };

  constructor(
    private readonly sink: AnalyzerSink,
    limits: Partial<Hl7Limits> = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.cap = this.limits.maxMessageBytes + FRAME_OVERHEAD;
    this.outstanding = new BoundedMap(this.limits.maxOutstanding);
  }

  onData(dir: Direction, bytes: Uint8Array, ts: number): void {
    if (this.dead || bytes.length === 0) return;
    const d = this.dirs[dir];
    if (d.buffered() === 0) {
      // Fast path: parse straight from the caller's view, keep only an incomplete tail.
      d.clear();
      const used = this.consume(dir, d, bytes, 0, bytes.length, 0, ts);
      if (used < bytes.length && !this.dead) this.append(d, bytes, used, bytes.length);
      return;
    }
    let from = 0;
    while (from < bytes.length && !this.dead) {
      const take = Math.min(bytes.length - from, this.cap - d.buffered());
      this.append(d, bytes, from, from + take);
      from += take;
      const used = this.consume(dir, d, d.buf, d.start, d.end, d.resume, ts);
      d.start += used;
      if (d.start === d.end) d.clear();
      else if (take === 0 && used === 0) {
        // Unreachable with a cap above the largest block; kept so a logic error can never spin.
        d.clear();
        d.skipping = true;
      }
    }
  }

  onGap(dir: Direction, len: number, ts: number): void {
    if (this.dead) return;
    const d = this.dirs[dir];
    if (d.buffered() > 0 && !d.skipping) {
      this.anomaly(dir, ts, 'hl7.message_lost_in_gap', { bytes: d.buffered(), gap: len });
    }
    if (d.oversize) {
      this.anomaly(dir, ts, 'hl7.message_lost_in_gap', { bytes: d.oversize.bytes, gap: len });
      d.oversize = null;
    }
    this.flushGarbage(dir, d, ts);
    d.clear();
    d.skipping = true;
  }

  onEnd(dir: Direction, ts: number): void {
    if (this.dead) return;
    const d = this.dirs[dir];
    if (d.buffered() > 0) {
      // The stream may end right after <FS> with its <CR> never sent: close the block ourselves.
      if (d.buf[d.end - 1] === MLLP_END) {
        this.append(d, Uint8Array.of(CR), 0, 1);
        const used = this.consume(dir, d, d.buf, d.start, d.end, d.resume, ts);
        d.start += used;
      }
      if (d.buffered() > 0 && !d.skipping && !this.dead) {
        this.stats.cutBlocks++;
        this.anomaly(dir, ts, 'hl7.unterminated_message', { bytes: d.buffered() });
      }
    }
    this.abandonOversize(dir, d, ts);
    this.flushGarbage(dir, d, ts);
    d.clear();
  }

  bufferedBytes(): number {
    return this.dirs[0].buffered() + this.dirs[1].buffered();
  }

  /** Messages awaiting their ACK (for tests and metrics). */
  outstandingCount(): number {
    return this.outstanding.size;
  }

  /** Parses blocks in bytes[off, end); returns how many bytes were used (the rest is an incomplete block). */
  private consume(
    dir: Direction,
    d: DirState,
    bytes: Uint8Array,
    off: number,
    end: number,
    resumeRel: number,
    ts: number,
  ): number {
    let pos = off;
    let resume = resumeRel > 0 ? off + resumeRel : 0;
    while (pos < end && !this.dead) {
      const r = parseFrame(bytes, pos, this.limits, resume, end);
      resume = 0;
      if (r.kind === 'need') {
        d.resume = r.scanned > pos ? r.scanned - pos : 0;
        return pos - off;
      }
      if (r.kind === 'bad') {
        if (r.code === 'garbage') {
          const over = d.oversize;
          if (over) {
            // skipping the rest of an oversized block: its <FS> ends it
            const fs = indexOfIn(bytes, MLLP_END, pos, pos + r.consumed);
            if (fs < 0) {
              over.bytes += r.consumed;
              pos += r.consumed;
              continue;
            }
            over.bytes += fs - pos;
            this.finishOversize(dir, d, over, ts);
            d.skipping = false;
            pos = fs + 1;
            continue;
          }
          if (!d.skipping) {
            d.garbageBytes += r.consumed;
            if (!r.whitespace) d.garbageNotBlank = true;
            if (!this.confirmed && !r.whitespace) {
              // HL7 is text: the tail of a block (mid-stream pickup) may be long, binary bytes may not
              this.garbageBeforeConfirm += r.consumed;
              this.binaryBeforeConfirm += countBinary(bytes, pos, pos + r.consumed);
              if (
                this.binaryBeforeConfirm > this.limits.maxBinaryBeforeConfirm ||
                this.garbageBeforeConfirm > this.limits.maxMessageBytes + FRAME_OVERHEAD
              ) {
                this.dead = true;
                this.sink.violation('no MLLP block before binary data or more than a block of text');
                return end - off;
              }
            }
          }
        } else if (r.code === 'oversize') {
          this.flushGarbage(dir, d, ts);
          this.abandonOversize(dir, d, ts);
          const prefix = parseBlock(bytes, pos + 1, pos + r.consumed, this.limits);
          const last = prefix.messages.pop();
          if (last) {
            // a big batch: the complete messages go now, only the last (maybe partial) one waits for <FS>
            for (const m of prefix.messages) {
              d.sawBlock = true;
              this.handleMessage(dir, m, ts);
            }
            // a batch trailer or a whole last segment id is beyond the cut, not missing
            const notes = prefix.notes.filter((n) => n !== 'bad_batch' && n !== 'bad_segment_id');
            d.oversize = { bytes: r.consumed, parsed: r.consumed - 1, messages: [last], notes };
          } else {
            this.stats.cutBlocks++;
            this.anomaly(dir, ts, 'hl7.unterminated_message', { bytes: r.consumed });
          }
          d.skipping = true;
        } else {
          this.flushGarbage(dir, d, ts);
          this.abandonOversize(dir, d, ts);
          if (!d.skipping) {
            this.stats.cutBlocks++;
            this.anomaly(dir, ts, 'hl7.unterminated_message', { bytes: r.consumed });
          }
          d.skipping = true;
        }
        pos += r.consumed;
        continue;
      }
      this.flushGarbage(dir, d, ts);
      this.abandonOversize(dir, d, ts);
      d.skipping = false;
      d.sawBlock = true;
      this.stats.blocks++;
      if (!r.endCr) this.anomaly(dir, ts, 'hl7.bad_frame_end');
      this.handleBlock(dir, bytes, r.start, r.end, ts);
      pos += r.consumed;
    }
    d.resume = 0;
    return pos - off;
  }

  /** The oversized block ended: its messages (as far as the prefix told) with their full size. */
  private finishOversize(dir: Direction, d: DirState, over: Oversize, ts: number): void {
    d.oversize = null;
    d.sawBlock = true;
    this.stats.blocks++;
    const content = over.bytes - 1;
    this.anomaly(dir, ts, 'hl7.limit_exceeded', { bytes: content, limit: this.limits.maxMessageBytes });
    this.emitNotes(dir, over.notes, ts);
    const last = over.messages[over.messages.length - 1];
    if (last) last.size += content - over.parsed;
    for (const m of over.messages) this.handleMessage(dir, m, ts);
  }

  /** An oversized block was followed by a new block, a gap or the end before its <FS>. */
  private abandonOversize(dir: Direction, d: DirState, ts: number): void {
    if (!d.oversize) return;
    this.stats.cutBlocks++;
    this.anomaly(dir, ts, 'hl7.unterminated_message', { bytes: d.oversize.bytes });
    d.oversize = null;
  }

  private emitNotes(dir: Direction, notes: readonly ParseNote[], ts: number): void {
    if (notes.length === 0) return;
    // several notes can map to one code: one anomaly per code and block
    const codes = new Set<Hl7AnomalyCode>();
    for (const n of notes) codes.add(NOTE_ANOMALY[n]);
    for (const c of codes) this.anomaly(dir, ts, c);
  }

  private handleBlock(dir: Direction, bytes: Uint8Array, start: number, end: number, ts: number): void {
    const { messages, notes } = parseBlock(bytes, start, end, this.limits);
    this.emitNotes(dir, notes, ts);
    for (const m of messages) this.handleMessage(dir, m, ts);
  }

  private handleMessage(dir: Direction, m: Hl7Message, ts: number): void {
    this.stats.messages++;
    if (!this.confirmed) {
      this.confirmed = true;
      this.sink.confirm();
    }
    let ihe = transactionOf(m);
    let rtt: number | undefined;
    if (m.ackControlId !== '') {
      const key = pairKey(dir === 0 ? 1 : 0, m.ackControlId);
      let o = this.outstanding.get(key);
      if (o) {
        this.outstanding.delete(key);
        this.rememberAcked(key, o);
      } else {
        // an application ACK after the accept ACK (enhanced mode), or an RRG^O16 after ACK^O15
        o = this.acked.get(key);
      }
      if (o) {
        rtt = Math.round(ts - o.ts) / 1000;
        if (rtt < 0) rtt = 0;
        ihe ??= o.ihe;
      } else {
        const fields: Record<string, string> = { ack_control_id: m.ackControlId };
        if (m.messageType) fields.message_type = m.messageType;
        this.anomaly(dir, ts, 'hl7.unmatched_ack', fields);
      }
    } else if (m.controlId !== '' && expectsAck(m) && !m.messageType.startsWith('ACK')) {
      this.remember(dir, m.controlId, ts, ihe);
    }
    this.sink.event(dir, ts, 'message', toMessageFields(m, ihe, rtt));
  }

  private remember(dir: Direction, controlId: string, ts: number, ihe: string | undefined): void {
    const key = pairKey(dir, controlId);
    // A resent control id refreshes its place: the oldest is the one waiting longest.
    const evicted = this.outstanding.evicted;
    this.outstanding.touch(key, { ts, ihe });
    if (this.outstanding.evicted > evicted) {
      this.stats.evictedOutstanding++;
      if (!this.overflowReported) {
        this.overflowReported = true;
        this.anomaly(dir, ts, 'hl7.outstanding_overflow', { limit: this.limits.maxOutstanding });
      }
    }
  }

  /** Acknowledged messages stay findable for a second ACK, in a small map that forgets the oldest. */
  private rememberAcked(key: string, o: Outstanding): void {
    this.acked.set(key, o);
  }

  private flushGarbage(dir: Direction, d: DirState, ts: number): void {
    if (d.garbageBytes > 0 && d.garbageNotBlank) {
      this.stats.garbageBytes += d.garbageBytes;
      const fields: Record<string, number | boolean> = { bytes: d.garbageBytes };
      if (!d.sawBlock) fields.before_first_message = true;
      // before any block in this direction it is most likely a capture that began mid-message
      this.sink.anomaly(dir, ts, 'hl7.garbage_between_frames', d.sawBlock, fields);
    }
    d.garbageBytes = 0;
    d.garbageNotBlank = false;
  }

  private anomaly(
    dir: Direction,
    ts: number,
    code: Hl7AnomalyCode,
    fields?: Record<string, string | number | boolean>,
  ): void {
    this.sink.anomaly(dir, ts, code, ANOMALY_TABLE[code].malformed, fields);
  }

  /** Copies bytes[from, to) after the buffered data, growing the buffer up to the cap. */
  private append(d: DirState, bytes: Uint8Array, from: number, to: number): void {
    const have = d.buffered();
    const n = Math.min(to - from, this.cap - have);
    if (n <= 0) return;
    if (d.start > 0 && d.start + have + n > d.buf.length) {
      d.buf.copyWithin(0, d.start, d.end);
      d.start = 0;
      d.end = have;
    }
    if (d.end + n > d.buf.length) {
      let size = Math.max(4096, d.buf.length);
      while (size < d.end + n) size *= 2;
      const next = new Uint8Array(Math.min(size, this.cap));
      next.set(d.buf.subarray(d.start, d.end), 0);
      d.end -= d.start;
      d.start = 0;
      d.buf = next;
    }
    d.buf.set(bytes.subarray(from, from + n), d.end);
    d.end += n;
  }
}

function indexOfIn(bytes: Uint8Array, c: number, a: number, b: number): number {
  const i = bytes.indexOf(c, a);
  return i >= 0 && i < b ? i : -1;
}

/** Control bytes that never occur in HL7 text (everything below 0x20 but TAB, LF, VT, CR, FS; and DEL). */
function countBinary(bytes: Uint8Array, a: number, b: number): number {
  let n = 0;
  for (let i = a; i < b; i++) {
    const c = bytes[i] ?? 0;
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0b && c !== 0x0d && c !== 0x1c) || c === 0x7f) n++;
  }
  return n;
}

function pairKey(dir: Direction, controlId: string): string {
  return `${dir}\u0000${controlId}`;
}

/** IHE PCD transaction of a message by itself (IHE PCD TF-2); ACKs may inherit theirs when paired. */
export function transactionOf(m: Hl7Message): string | undefined {
  if (m.pcdProfile && (m.messageType.startsWith('ORU^R01') || m.messageType.startsWith('ACK')))
    return 'PCD-01';
  return IHE_BY_MESSAGE_TYPE.get(m.messageType);
}

/**
 * Whether the sender waits for an answer: original mode (MSH-15/16 empty) always; enhanced mode unless
 * both the accept (MSH-15) and application (MSH-16) acknowledgment types say NE (ch. 2.9.2, table 0155).
 */
function expectsAck(m: Hl7Message): boolean {
  return !(m.acceptAckType === 'NE' && (m.appAckType === 'NE' || m.appAckType === ''));
}
