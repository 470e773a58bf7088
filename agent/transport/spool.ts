// On-disk spool of finding batches (DESIGN.md "Agent ⇄ collector"): append-only segments, fsync per batch,
// byte cap with counted oldest-first dropping, cumulative acks, torn-tail repair after a crash.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Finding } from '../wire/finding.js';

export interface SpoolOptions {
  dir: string;
  /** Total bytes of segments kept on disk; oldest batches are dropped (and counted) beyond it. */
  maxBytes?: number;
  /** A segment is closed and a new one started once it reaches this size. */
  segmentBytes?: number;
  logger?: Logger;
}

/** Where one batch sits on disk. The index is all the spool keeps in memory; bodies stay on disk. */
interface BatchRef {
  seq: number;
  count: number;
  offset: number;
  length: number;
}

interface Segment {
  file: string;
  bytes: number;
  batches: BatchRef[];
}

export interface SpoolStats {
  /** Bytes of segment files on disk. */
  bytes: number;
  /** Findings written and not yet acked. */
  pending: number;
  pendingBatches: number;
  /** Findings dropped unacked because of the byte cap (oldest first). */
  dropped: number;
  /** Torn or corrupt lines cut off at open. */
  repaired: number;
  lastSeq: number;
  ackedSeq: number;
}

const SEGMENT_RE = /^seg-(\d{16})\.jsonl$/;
const ACK_FILE = 'acked';

function segmentName(firstSeq: number): string {
  return `seg-${String(firstSeq).padStart(16, '0')}.jsonl`;
}

/** The spool line is exactly the wire message, so a resend is the stored text as is. */
export function encodeBatch(seq: number, findings: readonly Finding[]): string {
  return `${JSON.stringify({ type: 'findings', seq, findings })}\n`;
}

export class Spool {
  readonly dir: string;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly logger: Logger | undefined;
  private segments: Segment[] = [];
  private active: fsp.FileHandle | null = null;
  private activeSeg: Segment | null = null;
  private nextSeq = 1;
  private acked = 0;
  private totalBytes = 0;
  private droppedFindings = 0;
  private repairedLines = 0;
  /** Serialises appends, acks and reads so a read never races a truncation or deletion. */
  private chain: Promise<unknown> = Promise.resolve();
  private ackWrite: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(opts: SpoolOptions) {
    this.dir = opts.dir;
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.segmentBytes = Math.max(
      4096,
      Math.min(opts.segmentBytes ?? 4 * 1024 * 1024, Math.floor(this.maxBytes / 4)),
    );
    this.logger = opts.logger;
  }

  /** Opens (or creates) a spool directory, repairing a torn last line and indexing unacked batches. */
  static async open(opts: SpoolOptions): Promise<Spool> {
    const s = new Spool(opts);
    await s.load();
    return s;
  }

  private async load(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
    try {
      const n = Number((await fsp.readFile(path.join(this.dir, ACK_FILE), 'utf8')).trim());
      if (Number.isSafeInteger(n) && n >= 0) this.acked = n;
    } catch {
      // no ack file yet: nothing acked
    }
    const names = (await fsp.readdir(this.dir)).filter((n) => SEGMENT_RE.test(n)).sort();
    let maxSeq = this.acked;
    for (const name of names) {
      const file = path.join(this.dir, name);
      const seg = await this.scanSegment(file);
      for (const b of seg.batches) maxSeq = Math.max(maxSeq, b.seq);
      const live = seg.batches.filter((b) => b.seq > this.acked);
      if (live.length === 0) {
        await fsp.rm(file, { force: true });
        continue;
      }
      seg.batches = live;
      this.segments.push(seg);
      this.totalBytes += seg.bytes;
    }
    this.nextSeq = maxSeq + 1;
  }

  /** Reads a segment line by line; the first line that does not parse ends it and the file is cut there. */
  private async scanSegment(file: string): Promise<Segment> {
    const buf = await fsp.readFile(file);
    const batches: BatchRef[] = [];
    let pos = 0;
    let good = 0;
    while (pos < buf.length) {
      const nl = buf.indexOf(0x0a, pos);
      if (nl < 0) break;
      const ref = parseLine(buf.subarray(pos, nl));
      if (!ref) break;
      batches.push({ seq: ref.seq, count: ref.count, offset: pos, length: nl + 1 - pos });
      pos = nl + 1;
      good = pos;
    }
    if (good < buf.length) {
      this.repairedLines++;
      this.logger?.warn({ file, at: good, cut: buf.length - good }, 'spool: torn or corrupt tail truncated');
      await fsp.truncate(file, good);
    }
    return { file, bytes: good, batches };
  }

  private enqueue<T>(f: () => Promise<T>): Promise<T> {
    const p = this.chain.then(f, f);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Appends one batch, fsyncs it and resolves with its sequence number. */
  append(findings: readonly Finding[]): Promise<number> {
    return this.enqueue(async () => {
      if (this.closed) throw new Error('spool closed');
      const seq = this.nextSeq++;
      const line = Buffer.from(encodeBatch(seq, findings));
      if (!this.active || !this.activeSeg || this.activeSeg.bytes >= this.segmentBytes) await this.roll(seq);
      const seg = this.activeSeg as Segment;
      const fh = this.active as fsp.FileHandle;
      await fh.write(line, 0, line.length, seg.bytes);
      await fh.datasync();
      seg.batches.push({ seq, count: findings.length, offset: seg.bytes, length: line.length });
      seg.bytes += line.length;
      this.totalBytes += line.length;
      await this.enforceCap();
      return seq;
    });
  }

  private async roll(firstSeq: number): Promise<void> {
    await this.active?.close();
    const file = path.join(this.dir, segmentName(firstSeq));
    this.active = await fsp.open(file, 'a+');
    const st = await this.active.stat();
    if (st.size === 0) await syncDir(this.dir);
    this.activeSeg = { file, bytes: st.size, batches: [] };
    this.segments.push(this.activeSeg);
    this.totalBytes += st.size;
  }

  /** Oldest-first dropping: whole segments, then (if the active one alone is over) its unsent head. */
  private async enforceCap(): Promise<void> {
    while (this.totalBytes > this.maxBytes && this.segments.length > 1) {
      const seg = this.segments.shift() as Segment;
      const lost = seg.batches.filter((b) => b.seq > this.acked);
      const n = lost.reduce((a, b) => a + b.count, 0);
      this.totalBytes -= seg.bytes;
      await fsp.rm(seg.file, { force: true });
      if (n > 0) {
        this.droppedFindings += n;
        const last = lost[lost.length - 1];
        // Skipping the ack past them keeps the sender from waiting for batches that no longer exist.
        if (last) this.acked = Math.max(this.acked, last.seq);
        await this.writeAck();
        this.logger?.warn(
          { findings: n, batches: lost.length, totalDropped: this.droppedFindings },
          'spool: over its byte cap, oldest unacked findings dropped',
        );
      }
    }
  }

  /** Cumulative ack: every batch up to `seq` is stored by the collector. */
  ack(seq: number): Promise<void> {
    if (seq <= this.acked) return Promise.resolve();
    this.acked = Math.min(seq, this.nextSeq - 1);
    return this.enqueue(async () => {
      const keep: Segment[] = [];
      for (const seg of this.segments) {
        seg.batches = seg.batches.filter((b) => b.seq > this.acked);
        if (seg.batches.length === 0 && seg !== this.activeSeg) {
          this.totalBytes -= seg.bytes;
          await fsp.rm(seg.file, { force: true });
        } else keep.push(seg);
      }
      this.segments = keep;
      // A fully acked active segment is restarted so the disk does not grow without bound.
      if (
        this.activeSeg &&
        this.activeSeg.batches.length === 0 &&
        this.activeSeg.bytes >= this.segmentBytes
      ) {
        await this.active?.close();
        this.active = null;
        this.totalBytes -= this.activeSeg.bytes;
        await fsp.rm(this.activeSeg.file, { force: true });
        this.segments = this.segments.filter((s) => s !== this.activeSeg);
        this.activeSeg = null;
      }
      await this.writeAck();
    });
  }

  private writeAck(): Promise<void> {
    const value = this.acked;
    this.ackWrite = this.ackWrite.then(async () => {
      const tmp = path.join(this.dir, `${ACK_FILE}.tmp`);
      await fsp.writeFile(tmp, `${value}\n`);
      await fsp.rename(tmp, path.join(this.dir, ACK_FILE));
    });
    return this.ackWrite;
  }

  /** Unacked batches with seq > `after`, in order, as wire text; at most `maxBytes` (at least one). */
  readAfter(after: number, maxBytes: number): Promise<Array<{ seq: number; text: string }>> {
    return this.enqueue(async () => {
      const out: Array<{ seq: number; text: string }> = [];
      let used = 0;
      for (const seg of this.segments) {
        const refs = seg.batches.filter((b) => b.seq > after && b.seq > this.acked);
        if (refs.length === 0) continue;
        const fh = seg === this.activeSeg && this.active ? this.active : await fsp.open(seg.file, 'r');
        try {
          for (const r of refs) {
            if (out.length > 0 && used + r.length > maxBytes) return out;
            const buf = Buffer.allocUnsafe(r.length);
            await fh.read(buf, 0, r.length, r.offset);
            out.push({ seq: r.seq, text: buf.toString('utf8', 0, r.length - 1) });
            used += r.length;
          }
        } finally {
          if (fh !== this.active) await fh.close();
        }
      }
      return out;
    });
  }

  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  get ackedSeq(): number {
    return this.acked;
  }

  stats(): SpoolStats {
    let pending = 0;
    let pendingBatches = 0;
    for (const seg of this.segments) {
      for (const b of seg.batches) {
        if (b.seq > this.acked) {
          pending += b.count;
          pendingBatches++;
        }
      }
    }
    return {
      bytes: this.totalBytes,
      pending,
      pendingBatches,
      dropped: this.droppedFindings,
      repaired: this.repairedLines,
      lastSeq: this.lastSeq,
      ackedSeq: this.acked,
    };
  }

  async close(): Promise<void> {
    await this.enqueue(async () => {
      this.closed = true;
      await this.active?.close();
      this.active = null;
    });
    await this.ackWrite;
  }
}

/** A new file's directory entry is durable only once the directory itself is synced. */
async function syncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | null = null;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the data itself is still synced per batch.
  } finally {
    await fh?.close();
  }
}

function parseLine(line: Buffer): { seq: number; count: number } | null {
  try {
    const v = JSON.parse(line.toString('utf8')) as { type?: unknown; seq?: unknown; findings?: unknown };
    if (v.type !== 'findings' || typeof v.seq !== 'number' || !Number.isSafeInteger(v.seq) || v.seq < 1)
      return null;
    if (!Array.isArray(v.findings)) return null;
    return { seq: v.seq, count: v.findings.length };
  } catch {
    return null;
  }
}
