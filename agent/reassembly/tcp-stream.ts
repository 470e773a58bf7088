// One direction of a TCP connection as an ordered byte stream (RFC 9293 sequence space, §3.4): order, overlaps, gaps, caps.
import type { StreamConsumer } from './types.js';

/** A byte budget shared by holders: per flow (both directions) or global (all flows). */
export interface HoldBudget {
  held: number;
  readonly cap: number;
}

/** Reassembly counters, shared by every stream of a flow table (or private to a test). */
export interface ReassemblyStats {
  gaps: number;
  gapBytes: number;
  /** Out-of-order bytes currently held (payload only), and the most ever held at once. */
  oooBytesHeld: number;
  oooBytesHeldPeak: number;
  /** Segments copied into the out-of-order store. */
  oooSegments: number;
  /** Bytes seen twice (retransmitted or overlapping), first copy kept. */
  overlaps: number;
  overlapBytes: number;
  /** Overlaps whose second copy differs from the first: a sign of evasion or corruption. */
  inconsistentOverlaps: number;
  /** Segments whose every byte was already delivered. */
  retransmissions: number;
  /** Times a cap forced delivery over a hole (the hole is reported as a gap). */
  flowCapHits: number;
  globalCapHits: number;
  /** Payload after this direction's FIN, dropped. */
  afterFinBytes: number;
  /** In-order bytes the consumer said it had no use for (StreamConsumer.skippable): counted, never handed over. */
  bypassedBytes: number;
}

export function createReassemblyStats(): ReassemblyStats {
  return {
    gaps: 0,
    gapBytes: 0,
    oooBytesHeld: 0,
    oooBytesHeldPeak: 0,
    oooSegments: 0,
    overlaps: 0,
    overlapBytes: 0,
    inconsistentOverlaps: 0,
    retransmissions: 0,
    flowCapHits: 0,
    globalCapHits: 0,
    afterFinBytes: 0,
    bypassedBytes: 0,
  };
}

/**
 * Memory charged per held segment beside its bytes, so that a flood of one-byte segments cannot hold
 * a million small objects under a byte cap.
 */
export const SEGMENT_OVERHEAD = 64;

const TWO_32 = 4294967296;
const SYN = 0x02;
const FIN = 0x01;

interface HeldSegment {
  off: number; // absolute stream offset (0 = first byte after the SYN, or the first byte seen)
  data: Uint8Array; // a private copy
}

// Pieces of a segment not covered by held data: [off, start, end) triples into the segment, reused.
const pieces: number[] = [];
/** Every stream's held list until it holds something: most never do, and that saves an array per direction. */
const NONE_HELD: readonly HeldSegment[] = [];

export class TcpStream {
  /** Sequence number of stream offset 0. */
  private baseSeq = 0;
  /** Absolute offset of the next byte to deliver. A double: streams beyond 4 GiB keep counting. */
  private nextOff = 0;
  private started = false;
  private finOff = -1;
  private ended = false;
  private held: HeldSegment[] = NONE_HELD as HeldSegment[];
  /** Bytes this direction charges to the budgets (payload + overhead per segment). */
  private charged = 0;
  /** Gaps reported in this direction (for the flow record). */
  gaps = 0;
  gapBytes = 0;
  /** True when the stream began without a SYN (mid-stream pickup). */
  midstream = false;

  constructor(
    private readonly dir: 0 | 1,
    private readonly consumer: StreamConsumer,
    private readonly flowBudget: HoldBudget,
    private readonly globalBudget: HoldBudget,
    private readonly stats: ReassemblyStats,
    /** Whether the consumer's skippable() is asked (FlowLimits.bypass). */
    private readonly bypass = true,
  ) {}

  /** Bytes delivered or skipped as gaps so far (the stream offset). */
  get offset(): number {
    return this.nextOff;
  }

  /** Bytes of out-of-order data held (payload only). */
  get heldBytes(): number {
    let n = 0;
    for (const h of this.held) n += h.data.length;
    return n;
  }

  /** Whether this direction has been closed (its FIN reached in order, or finish()). */
  get isEnded(): boolean {
    return this.ended;
  }

  /** Whether every byte up to this direction's FIN has been delivered or reported missing. */
  get isComplete(): boolean {
    return this.finOff >= 0 && this.nextOff >= this.finOff;
  }

  get finSeen(): boolean {
    return this.finOff >= 0;
  }

  /**
   * Whether `seq` lies within `window` bytes of the next expected sequence number (either side), or
   * the stream has not started: used to ignore RSTs that cannot belong to this connection.
   */
  isNear(seq: number, window: number): boolean {
    if (!this.started) return true;
    const nextSeq = (this.baseSeq + this.nextOff) % TWO_32;
    const d = ((seq >>> 0) - nextSeq) | 0;
    return d >= -window && d <= window;
  }

  /** One segment sent in this direction. `payload` is a view valid only during the call. */
  onSegment(seq: number, flags: number, payload: Uint8Array, ts: number): void {
    this.onSegmentAt(seq, flags, payload, 0, payload.length, ts);
  }

  /**
   * The same with the payload as its place, `buf[at, at + len)` (valid only during the call): the flow table
   * hands over the packet's bytes this way, and a view is made only for bytes that reach the consumer.
   */
  onSegmentAt(seq: number, flags: number, buf: Uint8Array, at: number, len: number, ts: number): void {
    if (this.ended) {
      if (len > 0) this.stats.afterFinBytes += len;
      return;
    }
    let s = seq >>> 0;
    if ((flags & SYN) !== 0) {
      if (this.started) {
        // A retransmitted SYN (or one after data started): it sits before offset 0, nothing to do.
        if (len === 0 && (flags & FIN) === 0) return;
      } else {
        this.started = true;
        this.baseSeq = (s + 1) >>> 0;
      }
      s = (s + 1) >>> 0; // the SYN occupies one sequence number; any payload (TFO) follows it
    }
    const hasFin = (flags & FIN) !== 0;
    if (len === 0 && !hasFin) return;
    if (!this.started) {
      this.started = true;
      this.midstream = true;
      this.baseSeq = s;
    }
    const nextSeq = (this.baseSeq + this.nextOff) % TWO_32;
    const off = this.nextOff + ((s - nextSeq) | 0);
    if (hasFin && this.finOff < 0) this.finOff = off + len;
    if (len > 0) {
      if (off === this.nextOff && this.held.length === 0 && this.finOff < 0) {
        // In order, nothing held, no FIN known: the common case, delivered from the packet's bytes.
        this.nextOff += len;
        this.handAt(buf, at, len, ts);
      } else this.placeSegment(off, at === 0 && len === buf.length ? buf : buf.subarray(at, at + len), ts);
    }
    this.checkFin(ts);
  }

  /**
   * The flow is over: report each remaining hole (and a missing tail before a known FIN) as a gap,
   * deliver what was held, then end the direction.
   */
  finish(ts: number): void {
    if (this.ended) return;
    while (this.held.length > 0) this.skipHole(ts);
    if (this.finOff > this.nextOff) this.reportGap(this.finOff - this.nextOff, ts);
    this.end(ts);
  }

  /** Drops held data without delivery (flow evicted by force); budgets are released. */
  release(): void {
    let payload = 0;
    for (const h of this.held) payload += h.data.length;
    this.held = NONE_HELD as HeldSegment[];
    this.charge(-this.charged, -payload);
  }

  private placeSegment(off: number, payload: Uint8Array, ts: number): void {
    let data = payload;
    let start = off;
    let end = off + data.length;
    if (this.finOff >= 0 && end > this.finOff) {
      // Bytes past the FIN are not part of the stream.
      const cut = end - Math.max(this.finOff, start);
      this.stats.afterFinBytes += cut;
      end -= cut;
      if (end <= start) return;
      data = data.subarray(0, end - start);
    }
    if (end <= this.nextOff) {
      this.stats.retransmissions++;
      this.stats.overlaps++;
      this.stats.overlapBytes += end - start;
      return;
    }
    if (start < this.nextOff) {
      // Partly old: the delivered copy won; the old bytes are gone so consistency cannot be checked.
      this.stats.overlaps++;
      this.stats.overlapBytes += this.nextOff - start;
      data = data.subarray(this.nextOff - start);
      start = this.nextOff;
    }
    if (this.held.length === 0) {
      if (start === this.nextOff) {
        this.deliver(data, ts);
        return;
      }
      this.insertHeld(start, data, ts);
      return;
    }
    this.placeAgainstHeld(start, data, ts);
  }

  /** Splits a segment around the held data (first copy wins), then delivers or holds each new piece. */
  private placeAgainstHeld(start: number, data: Uint8Array, ts: number): void {
    const end = start + data.length;
    const held = this.held;
    pieces.length = 0;
    let pos = start;
    let i = this.findFirstEndingAfter(start);
    while (pos < end) {
      const h = held[i];
      if (h === undefined || h.off >= end) {
        pieces.push(pos - start, end - start);
        break;
      }
      if (h.off > pos) pieces.push(pos - start, h.off - start);
      const cs = Math.max(pos, h.off);
      const ce = Math.min(end, h.off + h.data.length);
      this.compareOverlap(data, cs - start, h.data, cs - h.off, ce - cs);
      pos = ce;
      i++;
    }
    if (pieces.length === 0) this.stats.retransmissions++;
    const n = pieces.length;
    for (let k = 0; k < n; k += 2) {
      const a = pieces[k] ?? 0;
      const b = pieces[k + 1] ?? 0;
      const pieceOff = start + a;
      const view = data.subarray(a, b);
      if (pieceOff + view.length <= this.nextOff) continue;
      if (pieceOff === this.nextOff) this.deliver(view, ts);
      else this.insertHeld(pieceOff, view, ts);
    }
  }

  private compareOverlap(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, len: number): void {
    this.stats.overlaps++;
    this.stats.overlapBytes += len;
    for (let k = 0; k < len; k++) {
      if (a[aOff + k] !== b[bOff + k]) {
        this.stats.inconsistentOverlaps++;
        return;
      }
    }
  }

  /** Index of the first held segment that ends after `off` (held segments are sorted and disjoint). */
  private findFirstEndingAfter(off: number): number {
    const held = this.held;
    let lo = 0;
    let hi = held.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const h = held[mid];
      if (h !== undefined && h.off + h.data.length <= off) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Holds a copy of out-of-order data, making room under the caps by giving up the oldest hole. */
  private insertHeld(off: number, data: Uint8Array, ts: number): void {
    const need = data.length + SEGMENT_OVERHEAD;
    while (
      this.flowBudget.held + need > this.flowBudget.cap ||
      this.globalBudget.held + need > this.globalBudget.cap
    ) {
      if (this.flowBudget.held + need > this.flowBudget.cap) this.stats.flowCapHits++;
      else this.stats.globalCapHits++;
      const first = this.held[0];
      if (first === undefined || first.off > off) {
        // Nothing of ours held before this piece: jump over the hole to it and deliver it now.
        this.reportGap(off - this.nextOff, ts);
        this.deliver(data, ts);
        return;
      }
      this.skipHole(ts);
      if (off <= this.nextOff) {
        // Cannot happen for disjoint pieces, but never deliver twice.
        if (off + data.length > this.nextOff) this.deliver(data.subarray(this.nextOff - off), ts);
        return;
      }
      if (this.held.length === 0 && off === this.nextOff) {
        this.deliver(data, ts);
        return;
      }
    }
    const idx = this.findFirstEndingAfter(off);
    if (this.held === NONE_HELD) this.held = [];
    this.held.splice(idx, 0, { off, data: data.slice() });
    this.charge(need, data.length);
    this.stats.oooSegments++;
  }

  private charge(bytes: number, payload: number): void {
    this.charged += bytes;
    this.flowBudget.held += bytes;
    this.globalBudget.held += bytes;
    const st = this.stats;
    st.oooBytesHeld += payload;
    if (st.oooBytesHeld > st.oooBytesHeldPeak) st.oooBytesHeldPeak = st.oooBytesHeld;
  }

  /** Reports the hole before the first held segment as a gap and delivers what then follows in order. */
  private skipHole(ts: number): void {
    const first = this.held[0];
    if (first === undefined) return;
    if (first.off > this.nextOff) this.reportGap(first.off - this.nextOff, ts);
    this.drain(ts);
  }

  private reportGap(len: number, ts: number): void {
    if (len <= 0) return;
    this.gaps++;
    this.gapBytes += len;
    this.stats.gaps++;
    this.stats.gapBytes += len;
    this.nextOff += len;
    this.consumer.onGap(this.dir, len, ts);
  }

  private deliver(data: Uint8Array, ts: number): void {
    this.nextOff += data.length;
    this.hand(data, ts);
    if (this.held.length > 0) this.drain(ts);
  }

  /** In-order bytes to the consumer, less the head it has no use for (bypass: counted and dropped). */
  private hand(data: Uint8Array, ts: number): void {
    this.handAt(data, 0, data.length, ts);
  }

  /** hand() for bytes given by their place, `buf[at, at + len)`: a view is made only for what the consumer reads. */
  private handAt(buf: Uint8Array, at: number, len: number, ts: number): void {
    const c = this.consumer;
    if (this.bypass && c.onSkip !== undefined && c.skippable !== undefined) {
      const can = c.skippable(this.dir);
      if (can > 0) {
        const n = can >= len ? len : can;
        this.stats.bypassedBytes += n;
        c.onSkip(this.dir, n, ts);
        if (n === len) return;
        at += n;
        len -= n;
      }
    }
    c.onData(this.dir, at === 0 && len === buf.length ? buf : buf.subarray(at, at + len), ts);
  }

  /** Delivers held segments that are now in order. */
  private drain(ts: number): void {
    const held = this.held;
    let n = 0;
    while (n < held.length) {
      const h = held[n];
      if (h === undefined || h.off > this.nextOff) break;
      n++;
      const len = h.data.length;
      this.charge(-(len + SEGMENT_OVERHEAD), -len);
      const skip = this.nextOff - h.off;
      if (skip < len) {
        this.nextOff += len - skip;
        this.hand(skip > 0 ? h.data.subarray(skip) : h.data, ts);
      }
    }
    if (n > 0) held.splice(0, n);
  }

  private checkFin(ts: number): void {
    if (this.finOff >= 0 && this.nextOff >= this.finOff && !this.ended) this.end(ts);
  }

  private end(ts: number): void {
    this.ended = true;
    this.release();
    this.consumer.onEnd(this.dir, ts);
  }
}
