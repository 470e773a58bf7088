// TCP stream reassembly: order, retransmissions, overlaps (first copy wins), gaps, caps, sequence wrap-around.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  SEGMENT_OVERHEAD,
  TcpStream,
  createReassemblyStats,
  type HoldBudget,
} from '../../agent/reassembly/tcp-stream.js';
import type { StreamConsumer } from '../../agent/reassembly/types.js';
import { F, Recorder } from './helpers.js';

const TWO_32 = 4294967296;

function setup(flowCap = 1 << 20, globalCap = 64 << 20) {
  const rec = new Recorder();
  const flow: HoldBudget = { held: 0, cap: flowCap };
  const global: HoldBudget = { held: 0, cap: globalCap };
  const stats = createReassemblyStats();
  const s = new TcpStream(0, rec, flow, global, stats);
  return { rec, flow, global, stats, s };
}

function bytes(from: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (from + i * 7) & 255;
  return b;
}

/** Sends `data[a, b)` as one segment at stream offset a (ISN given). */
function seg(s: TcpStream, isn: number, data: Uint8Array, a: number, b: number, flags: number = F.ACK): void {
  s.onSegment((isn + 1 + a) % TWO_32, flags, data.subarray(a, b), 1);
}

describe('TcpStream', () => {
  it('delivers in-order data as views, without copying', () => {
    const { s, stats } = setup();
    const data = bytes(0, 100);
    const seen: Uint8Array[] = [];
    const rec2 = {
      onData: (_d: 0 | 1, b: Uint8Array) => seen.push(b),
      onGap: () => undefined,
      onEnd: () => undefined,
    };
    const s2 = new TcpStream(0, rec2, { held: 0, cap: 1000 }, { held: 0, cap: 1000 }, stats);
    s2.onSegment(999, F.SYN, new Uint8Array(0), 0);
    s2.onSegment(1000, F.ACK, data, 1);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.buffer).toBe(data.buffer);
    expect(s.offset).toBe(0);
  });

  it('reorders out-of-order segments and counts what it held', () => {
    const { s, rec, stats, flow, global } = setup();
    const data = bytes(1, 300);
    s.onSegment(0, F.SYN, new Uint8Array(0), 0);
    seg(s, 0, data, 200, 300);
    seg(s, 0, data, 100, 200);
    expect(rec.flat(0)).toEqual([]);
    expect(stats.oooBytesHeld).toBe(200);
    expect(flow.held).toBe(200 + 2 * SEGMENT_OVERHEAD);
    seg(s, 0, data, 0, 100);
    expect(rec.flat(0)).toEqual(Array.from(data));
    expect(stats.oooBytesHeld).toBe(0);
    expect(stats.oooBytesHeldPeak).toBe(200);
    expect(flow.held).toBe(0);
    expect(global.held).toBe(0);
  });

  it('drops retransmissions and counts them', () => {
    const { s, rec, stats } = setup();
    const data = bytes(2, 100);
    s.onSegment(41, F.SYN, new Uint8Array(0), 0);
    seg(s, 41, data, 0, 50);
    seg(s, 41, data, 0, 50);
    seg(s, 41, data, 10, 40);
    seg(s, 41, data, 50, 100);
    expect(rec.flat(0)).toEqual(Array.from(data));
    expect(stats.retransmissions).toBe(2);
    expect(stats.inconsistentOverlaps).toBe(0);
  });

  it('keeps the first copy of an overlap and counts inconsistent ones', () => {
    const { s, rec, stats } = setup();
    const data = bytes(3, 100);
    const evil = data.slice();
    evil.fill(0xee, 30, 70);
    s.onSegment(7, F.SYN, new Uint8Array(0), 0);
    seg(s, 7, data, 20, 60); // held first
    seg(s, 7, evil, 10, 80); // overlaps it with other bytes
    seg(s, 7, data, 0, 10);
    seg(s, 7, data, 80, 100);
    const out = rec.flat(0);
    expect(out.slice(20, 60)).toEqual(Array.from(data.subarray(20, 60))); // first copy won
    expect(out.slice(60, 70)).toEqual(Array.from(evil.subarray(60, 70))); // only copy of 60..70
    expect(stats.inconsistentOverlaps).toBe(1);
    expect(stats.overlaps).toBeGreaterThanOrEqual(1);
  });

  it('counts a consistent overlap without calling it inconsistent', () => {
    const { s, rec, stats } = setup();
    const data = bytes(4, 100);
    s.onSegment(7, F.SYN, new Uint8Array(0), 0);
    seg(s, 7, data, 40, 60);
    seg(s, 7, data, 30, 70);
    seg(s, 7, data, 0, 30);
    seg(s, 7, data, 70, 100);
    expect(rec.flat(0)).toEqual(Array.from(data));
    expect(stats.overlaps).toBe(1);
    expect(stats.overlapBytes).toBe(20);
    expect(stats.inconsistentOverlaps).toBe(0);
  });

  it('lets held data win over a later in-order segment that overlaps it', () => {
    const { s, rec, stats } = setup();
    const data = bytes(5, 100);
    const other = data.slice();
    other.fill(0x11, 50, 60);
    s.onSegment(7, F.SYN, new Uint8Array(0), 0);
    seg(s, 7, data, 50, 60);
    seg(s, 7, other, 0, 100);
    expect(rec.flat(0)).toEqual(Array.from(data));
    expect(stats.inconsistentOverlaps).toBe(1);
  });

  it('reports a hole at the end of the flow as a gap, then delivers after it', () => {
    const { s, rec, stats } = setup();
    const data = bytes(6, 100);
    s.onSegment(0, F.SYN, new Uint8Array(0), 0);
    seg(s, 0, data, 0, 30);
    seg(s, 0, data, 50, 100);
    s.finish(5);
    expect(rec.out[0]).toEqual([
      { kind: 'data', bytes: Array.from(data.subarray(0, 30)) },
      { kind: 'gap', len: 20 },
      { kind: 'data', bytes: Array.from(data.subarray(50, 100)) },
      { kind: 'end' },
    ]);
    expect(stats.gaps).toBe(1);
    expect(stats.gapBytes).toBe(20);
    expect(s.gaps).toBe(1);
  });

  it('reports a missing tail before a FIN as a gap', () => {
    const { s, rec } = setup();
    const data = bytes(7, 100);
    s.onSegment(0, F.SYN, new Uint8Array(0), 0);
    seg(s, 0, data, 0, 40);
    s.onSegment(1 + 100, F.FIN | F.ACK, new Uint8Array(0), 2);
    expect(s.isComplete).toBe(false);
    s.finish(3);
    expect(rec.gapTotal(0)).toBe(60);
    expect(rec.ended(0)).toBe(1);
  });

  it('ends the direction once the FIN is reached in order, even when the FIN came first', () => {
    const { s, rec } = setup();
    const data = bytes(8, 20);
    s.onSegment(0, F.SYN, new Uint8Array(0), 0);
    s.onSegment(1 + 10, F.FIN | F.ACK, data.subarray(10, 20), 1);
    expect(rec.ended(0)).toBe(0);
    seg(s, 0, data, 0, 10);
    expect(rec.flat(0)).toEqual(Array.from(data));
    expect(rec.ended(0)).toBe(1);
    expect(s.isComplete).toBe(true);
    s.finish(2);
    expect(rec.ended(0)).toBe(1);
  });

  it('handles sequence wrap-around at 2^32', () => {
    const { s, rec, stats } = setup();
    const data = bytes(9, 400);
    const isn = TWO_32 - 150;
    s.onSegment(isn, F.SYN, new Uint8Array(0), 0);
    // Segments straddle the wrap; send out of order.
    seg(s, isn, data, 200, 400);
    seg(s, isn, data, 100, 200);
    seg(s, isn, data, 0, 100);
    seg(s, isn, data, 120, 160); // a retransmission across the wrap
    expect(rec.flat(0)).toEqual(Array.from(data));
    expect(stats.gaps).toBe(0);
    expect(stats.retransmissions).toBe(1);
  });

  it('picks up mid-stream from the first data segment', () => {
    const { s, rec } = setup();
    const data = bytes(10, 50);
    s.onSegment(123456, F.ACK, data.subarray(0, 25), 0);
    s.onSegment(123456 + 25, F.ACK | F.PSH, data.subarray(25), 0);
    expect(s.midstream).toBe(true);
    expect(rec.flat(0)).toEqual(Array.from(data));
    expect(rec.gapTotal(0)).toBe(0);
  });

  it('gives up the oldest hole when the per-flow cap is hit, reporting it as a gap', () => {
    const cap = 2 * (100 + SEGMENT_OVERHEAD);
    const { s, rec, stats, flow } = setup(cap);
    const data = bytes(11, 1000);
    s.onSegment(0, F.SYN, new Uint8Array(0), 0);
    seg(s, 0, data, 100, 200);
    seg(s, 0, data, 300, 400);
    expect(flow.held).toBeLessThanOrEqual(cap);
    seg(s, 0, data, 500, 600); // no room: the hole 0..100 is given up
    expect(flow.held).toBeLessThanOrEqual(cap);
    expect(stats.flowCapHits).toBeGreaterThan(0);
    expect(rec.out[0][0]).toEqual({ kind: 'gap', len: 100 });
    s.finish(9);
    expect(rec.gapTotal(0)).toBe(100 + 100 + 100);
    const flat = rec.flat(0);
    expect(flat.slice(100, 200)).toEqual(Array.from(data.subarray(100, 200)));
    expect(flat.slice(500, 600)).toEqual(Array.from(data.subarray(500, 600)));
    expect(flow.held).toBe(0);
  });

  it('jumps to a segment it cannot hold under the global cap, reporting the hole', () => {
    const { s, rec, stats, global } = setup(1 << 20, 50);
    const data = bytes(12, 300);
    s.onSegment(0, F.SYN, new Uint8Array(0), 0);
    seg(s, 0, data, 100, 300);
    expect(stats.globalCapHits).toBe(1);
    expect(rec.out[0]).toEqual([
      { kind: 'gap', len: 100 },
      { kind: 'data', bytes: Array.from(data.subarray(100, 300)) },
    ]);
    expect(global.held).toBe(0);
  });

  it('gives the same bytes for the same stream split at every byte', () => {
    const data = bytes(13, 64);
    const whole = setup();
    whole.s.onSegment(500, F.SYN, new Uint8Array(0), 0);
    seg(whole.s, 500, data, 0, 64, F.ACK | F.FIN);
    for (let cut = 1; cut < 64; cut++) {
      const split = setup();
      split.s.onSegment(500, F.SYN, new Uint8Array(0), 0);
      seg(split.s, 500, data, 0, cut);
      seg(split.s, 500, data, cut, 64, F.ACK | F.FIN);
      expect(split.rec.out).toEqual(whole.rec.out);
      // And the two halves reversed.
      const rev = setup();
      rev.s.onSegment(500, F.SYN, new Uint8Array(0), 0);
      seg(rev.s, 500, data, cut, 64, F.ACK | F.FIN);
      seg(rev.s, 500, data, 0, cut);
      expect(rev.rec.out).toEqual(whole.rec.out);
    }
  });

  it('drops bytes past the FIN', () => {
    const { s, rec, stats } = setup();
    const data = bytes(14, 20);
    s.onSegment(0, F.SYN, new Uint8Array(0), 0);
    seg(s, 0, data, 0, 10, F.ACK | F.FIN);
    seg(s, 0, data, 10, 20);
    expect(rec.flat(0)).toEqual(Array.from(data.subarray(0, 10)));
    expect(stats.afterFinBytes).toBe(10);
  });
});

// Random streams cut into random segments, some dropped, sent in random order with duplicates.
const scenario = fc
  .record({
    len: fc.integer({ min: 1, max: 3000 }),
    isn: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0xfffff000, max: 0xffffffff })),
    cuts: fc.array(fc.integer({ min: 1, max: 2999 }), { maxLength: 40 }),
    order: fc.array(fc.nat(), { maxLength: 80 }),
    drops: fc.array(fc.nat(), { maxLength: 5 }),
    dups: fc.array(fc.record({ a: fc.nat(), b: fc.nat(), corrupt: fc.boolean() }), { maxLength: 6 }),
    flowCap: fc.integer({ min: 0, max: 4000 }),
    globalCap: fc.integer({ min: 0, max: 6000 }),
  })
  .map((s) => ({ ...s, cuts: [...new Set(s.cuts.filter((c) => c < s.len))].sort((a, b) => a - b) }));

describe('TcpStream properties', () => {
  it('delivers the exact stream, or the stream with gaps whose total equals the missing bytes, under the caps', () => {
    fc.assert(
      fc.property(scenario, (sc) => {
        const data = bytes(sc.len, sc.len);
        const bounds = [0, ...sc.cuts, sc.len];
        const segs: { a: number; b: number; payload: Uint8Array }[] = [];
        for (let i = 0; i + 1 < bounds.length; i++) {
          const a = bounds[i] ?? 0;
          const b = bounds[i + 1] ?? 0;
          segs.push({ a, b, payload: data.subarray(a, b) });
        }
        const dropped = new Set(sc.drops.map((d) => d % segs.length));
        if (dropped.size === segs.length) dropped.delete(0);
        const received = new Uint8Array(sc.len); // 1 where a byte is sent at least once (first copy correct)
        const send = segs.filter((_, i) => !dropped.has(i));
        for (const sg of send) received.fill(1, sg.a, sg.b);
        // Duplicates: retransmissions of sent ranges, correct or corrupted, only after their original.
        const extra: { a: number; b: number; payload: Uint8Array; after: number }[] = [];
        for (const d of sc.dups) {
          if (send.length === 0) break;
          const k = d.a % send.length;
          const o = send[k];
          if (o === undefined) continue;
          const payload = d.corrupt ? o.payload.map((x) => x ^ 0xff) : o.payload;
          extra.push({ a: o.a, b: o.b, payload, after: k });
        }
        // Shuffle sent segments with the order array (a stable permutation from the random keys).
        const keyed = send.map((sg, i) => ({ sg, key: sc.order[i] ?? i }));
        keyed.sort((x, y) => x.key - y.key);
        const sequence: { a: number; payload: Uint8Array }[] = [];
        for (const { sg } of keyed) {
          sequence.push({ a: sg.a, payload: sg.payload });
          const originalIndex = send.indexOf(sg);
          for (const e of extra) if (e.after === originalIndex) sequence.push({ a: e.a, payload: e.payload });
        }

        const { s, rec, flow, global, stats } = setup(sc.flowCap, sc.globalCap);
        s.onSegment(sc.isn, F.SYN, new Uint8Array(0), 0);
        for (const x of sequence) {
          s.onSegment((sc.isn + 1 + x.a) % TWO_32, F.ACK, x.payload, 1);
          if (flow.held > sc.flowCap || global.held > sc.globalCap) return false;
        }
        s.onSegment((sc.isn + 1 + sc.len) % TWO_32, F.ACK | F.FIN, new Uint8Array(0), 2);
        s.finish(3);
        if (flow.held !== 0 || global.held !== 0 || stats.oooBytesHeld !== 0) return false;

        const out = rec.flat(0);
        expect(out.length).toBe(sc.len);
        expect(rec.ended(0)).toBe(1);
        // Duplicates always follow their original, so a corrupted copy never wins: every delivered
        // byte is the right one, every byte never sent lies in a gap, and without a cap hit the gaps
        // are exactly the missing bytes.
        const capHit = stats.flowCapHits + stats.globalCapHits > 0;
        let missing = 0;
        for (let i = 0; i < sc.len; i++) {
          if (received[i] === 0) {
            missing++;
            if (out[i] !== -1) return false;
          } else if (out[i] !== data[i] && (out[i] !== -1 || !capHit)) return false;
        }
        if (!capHit && rec.gapTotal(0) !== missing) return false;
        if (stats.inconsistentOverlaps > 0 && sc.dups.every((d) => !d.corrupt)) return false;
        return true;
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('never holds more than the caps on random segments with random sequence numbers', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ seq: fc.integer({ min: 0, max: 0xffffffff }), len: fc.integer({ min: 0, max: 600 }) }),
          {
            maxLength: 60,
          },
        ),
        fc.integer({ min: 0, max: 3000 }),
        (list, cap) => {
          const { s, flow, global } = setup(cap, cap * 2);
          for (const x of list) {
            s.onSegment(x.seq, F.ACK, new Uint8Array(x.len), 0);
            if (flow.held > cap || global.held > cap * 2) return false;
          }
          s.finish(1);
          return flow.held === 0 && global.held === 0;
        },
      ),
      { seed: 42, numRuns: 200 },
    );
  });

  describe('bypass (StreamConsumer.skippable / onSkip)', () => {
    /**
     * Reads `read` bytes, then steps over `skip`, again and again, as an analyzer reads a header and steps over a
     * body. Bytes it steps over inside onData it drops itself; skippable() offers the rest of a step to the stream.
     */
    class Stepper {
      readonly seen: [number, number][] = []; // [offset, byte] of every byte read
      pos = 0;
      left: number;
      skipping = false;
      skipped = 0;
      dataCalls = 0;
      gaps = 0;
      constructor(
        private readonly read: number,
        private readonly skip: number,
        private readonly withBypass: boolean,
      ) {
        this.left = read;
      }
      private advance(n: number): void {
        this.pos += n;
        this.left -= n;
        if (this.left === 0) {
          this.skipping = !this.skipping && this.skip > 0;
          this.left = this.skipping ? this.skip : this.read;
        }
      }
      onData(_d: 0 | 1, b: Uint8Array): void {
        this.dataCalls++;
        for (const x of b) {
          if (!this.skipping) this.seen.push([this.pos, x]);
          this.advance(1);
        }
      }
      onGap(_d: 0 | 1, len: number): void {
        this.gaps += len;
        this.pos += len;
      }
      onEnd(): void {}
      skippable(): number {
        return this.withBypass && this.skipping ? this.left : 0;
      }
      onSkip(_d: 0 | 1, len: number): void {
        if (!this.skipping || len > this.left) throw new Error(`skipped ${len} of ${this.left}`);
        this.skipped += len;
        this.advance(len);
      }
    }

    it('hands over the same bytes at the same offsets, counting what it skipped', () => {
      fc.assert(
        fc.property(
          fc.record({
            len: fc.integer({ min: 1, max: 6000 }),
            cuts: fc.array(fc.integer({ min: 1, max: 5999 }), { maxLength: 40 }),
            order: fc.array(fc.integer(), { maxLength: 41 }),
            read: fc.integer({ min: 1, max: 60 }),
            skip: fc.integer({ min: 0, max: 3000 }),
            drop: fc.option(fc.nat(), { nil: undefined }),
          }),
          (sc) => {
            const data = bytes(3, sc.len);
            const bounds = [...new Set([0, ...sc.cuts.filter((c) => c < sc.len), sc.len])].sort(
              (a, b) => a - b,
            );
            const segs: [number, number][] = [];
            for (let i = 0; i + 1 < bounds.length; i++) segs.push([bounds[i] ?? 0, bounds[i + 1] ?? 0]);
            // One segment may be lost (never the only one): a gap the bypass must not hide.
            const lost = sc.drop !== undefined && segs.length > 1 ? sc.drop % segs.length : -1;
            const sent = segs
              .filter((_, i) => i !== lost)
              .map((sg, i) => ({ sg, key: sc.order[i] ?? i }))
              .sort((x, y) => x.key - y.key);
            const run = (withBypass: boolean) => {
              const c = new Stepper(sc.read, sc.skip, withBypass);
              const stats = createReassemblyStats();
              const st = new TcpStream(0, c, { held: 0, cap: 1 << 20 }, { held: 0, cap: 1 << 20 }, stats);
              st.onSegment(99, F.SYN, new Uint8Array(0), 0);
              for (const { sg } of sent) st.onSegment(100 + sg[0], F.ACK, data.subarray(sg[0], sg[1]), 1);
              st.onSegment(100 + sc.len, F.ACK | F.FIN, new Uint8Array(0), 2);
              st.finish(3);
              return { c, stats };
            };
            const plain = run(false);
            const bypass = run(true);
            expect(bypass.c.seen).toEqual(plain.c.seen);
            expect(bypass.c.gaps).toBe(plain.c.gaps);
            expect(bypass.stats.gapBytes).toBe(plain.stats.gapBytes);
            expect(bypass.c.pos).toBe(sc.len);
            expect(bypass.stats.bypassedBytes).toBe(bypass.c.skipped);
            expect(plain.stats.bypassedBytes).toBe(0);
            expect(bypass.c.dataCalls).toBeLessThanOrEqual(plain.c.dataCalls);
          },
        ),
        { seed: 12, numRuns: 300 },
      );
    });

    it('skips whole segments inside a long body without an onData call', () => {
      const c = new Stepper(10, 5000, true);
      const stats = createReassemblyStats();
      const st = new TcpStream(0, c, { held: 0, cap: 1 << 20 }, { held: 0, cap: 1 << 20 }, stats);
      const data = bytes(0, 10 + 1460 * 3);
      st.onSegment(0, F.SYN, new Uint8Array(0), 0);
      for (let a = 0; a < data.length; a += 1460)
        st.onSegment(1 + a, F.ACK, data.subarray(a, Math.min(a + 1460, data.length)), 1);
      // The first segment holds the 10 read bytes (one onData for all of it); the next three are skipped unseen.
      expect(c.dataCalls).toBe(1);
      expect(stats.bypassedBytes).toBe(10 + 1460 * 3 - 1460);
      expect(c.seen.map(([o]) => o)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });
  });

  it('takes a payload by its place in a larger buffer (onSegmentAt) exactly as the same bytes given as a view', () => {
    const op = fc.record({
      a: fc.nat({ max: 400 }),
      len: fc.nat({ max: 120 }),
      fin: fc.boolean(),
      pad: fc.nat({ max: 16 }),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.array(op, { maxLength: 40 }),
        fc.array(fc.nat({ max: 60 }), { maxLength: 12 }),
        (isn, ops, skips) => {
          const data = bytes(3, 600);
          const run = (byPlace: boolean): unknown => {
            const rec = new Recorder();
            // A consumer that skips (bypass) the amounts it is given in turn: partial and whole segments.
            let k = 0;
            const skipped: number[] = [];
            const consumer: StreamConsumer = {
              onData: (d, b) => rec.onData(d, b),
              onGap: (d, n) => rec.onGap(d, n),
              onEnd: (d) => rec.onEnd(d),
              skippable: () => (skips.length === 0 ? 0 : (skips[k++ % skips.length] ?? 0)),
              onSkip: (_d, n) => skipped.push(n),
            };
            const stats = createReassemblyStats();
            const s = new TcpStream(0, consumer, { held: 0, cap: 300 }, { held: 0, cap: 1 << 20 }, stats);
            s.onSegment(isn, F.SYN, new Uint8Array(0), 0);
            for (const o of ops) {
              const piece = data.subarray(o.a, Math.min(o.a + o.len, data.length));
              const seq = (isn + 1 + o.a) % TWO_32;
              const flags = o.fin ? F.ACK | F.FIN : F.ACK;
              if (!byPlace) s.onSegment(seq, flags, piece, 1);
              else {
                const buf = new Uint8Array(o.pad + piece.length + o.pad).fill(0xee);
                buf.set(piece, o.pad);
                s.onSegmentAt(seq, flags, buf, o.pad, piece.length, 1);
              }
            }
            s.finish(2);
            return { out: rec.out, calls: rec.calls, skipped, stats, offset: s.offset };
          };
          expect(run(true)).toEqual(run(false));
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });
});
