// On-disk spool of finding batches (DESIGN.md "Agent ⇄ collector"), a write-ahead log: append-only segments of
// framed records (magic, length, seq, count, CRC32), fsync per batch, cumulative acks, a torn or corrupt tail cut
// (and kept aside) at open, a byte cap with a chosen policy when full, a quarantine for batches that must never be
// sent again, and no exception out of a full, read-only or vanished disk: every outcome is a value and a counter.
import { constants as FS, promises as fsp } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from 'pino';
import type { Finding } from '../wire/finding.js';

/** What happens when a new batch does not fit under the cap (or the disk is full). */
export type SpoolFullPolicy = 'drop-oldest' | 'stop-reading';
export const SPOOL_FULL_POLICIES: readonly SpoolFullPolicy[] = ['drop-oldest', 'stop-reading'];

/** Why a batch was moved to the quarantine (bounded: part of file names and log lines). */
export type QuarantineReason = 'corrupt' | 'invalid' | 'oversize' | 'refused';

export interface SpoolOptions {
  dir: string;
  /** Total bytes of segments kept on disk. */
  maxBytes?: number;
  /** What append does when a batch does not fit: drop the oldest unacked batches, or refuse (the caller waits). */
  whenFull?: SpoolFullPolicy;
  /** A segment is closed and a new one started once it reaches this size. */
  segmentBytes?: number;
  /** Bytes of quarantined batches kept for inspection; beyond it they are counted and logged, not kept. */
  quarantineMaxBytes?: number;
  logger?: Logger;
}

/** Where one batch sits on disk. The index is all the spool keeps in memory; bodies stay on disk. */
interface BatchRef {
  seq: number;
  count: number;
  /** Offset of the record header in its segment. */
  offset: number;
  /** Whole record: header and payload. */
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
  /** Findings written and not yet acked (quarantined ones excluded). */
  pending: number;
  pendingBatches: number;
  /** Findings dropped unacked because the spool was full (cap or disk), oldest first. */
  dropped: number;
  droppedBatches: number;
  /** Torn or corrupt tails cut off at open. */
  repaired: number;
  /** Findings moved to the quarantine (never delivered). */
  quarantined: number;
  quarantinedBatches: number;
  /** The last write error that is not "full" (EROFS, EACCES, EIO...), until a write succeeds again. */
  failing: string | null;
  lastSeq: number;
  ackedSeq: number;
}

/** The result of an append: the seq stored, or why nothing was stored (the caller still holds the batch). */
export type AppendResult =
  { ok: true; seq: number } | { ok: false; why: 'full' } | { ok: false; why: 'error'; code: string };

/** The spool directory cannot be used: the agent says so on one line and exits 2. */
export class SpoolUnusableError extends Error {
  override name = 'SpoolUnusableError';
  constructor(
    readonly dir: string,
    readonly code: string,
  ) {
    super(`${dir}: spool directory not writable (${code}${ERRNO_TEXT[code] ?? ''})`);
  }
}

const ERRNO_TEXT: Record<string, string> = {
  EROFS: ': read-only file system',
  EACCES: ': permission denied',
  EPERM: ': operation not permitted',
  ENOSPC: ': no space left on the device',
  ENOTDIR: ': a path component is not a directory',
  EEXIST: ': exists and is not a directory',
  EDQUOT: ': disk quota exceeded',
  EIO: ': input/output error',
  ENOENT: ': it or a parent cannot be created',
};

// Record header: magic "WWR1", payload length, seq (u64), findings count, CRC32 of everything after the magic
// except the CRC itself (length, seq, count, payload). A torn write fails the length or CRC check.
const MAGIC = 0x31525757;
export const RECORD_HEADER_BYTES = 24;
/** A length beyond this is garbage, not a record (the transport caps messages far below). */
const MAX_RECORD_PAYLOAD = 64 * 1024 * 1024;

const SEGMENT_RE = /^seg-(\d{16})\.wal$/;
/** Segments of the line-per-batch spool before the WAL (0.1.0): read once, converted, removed. */
const LEGACY_RE = /^seg-(\d{16})\.jsonl$/;
const QUARANTINE_RE = /^seq-(\d{16})-[a-z]+\.bin$/;
const ACK_FILE = 'acked';
const QUARANTINE_DIR = 'quarantine';
const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

function segmentName(firstSeq: number): string {
  return `seg-${String(firstSeq).padStart(16, '0')}.wal`;
}

/** The wire message a batch is sent as; the spool stores exactly this text, so a resend is the stored bytes. */
export function encodeBatch(seq: number, findings: readonly Finding[]): string {
  return encodeBatchJson(
    seq,
    findings.map((f) => JSON.stringify(f)),
  );
}

/** The same from findings already serialised one by one (the transport measures them to cap messages). */
export function encodeBatchJson(seq: number, findingsJson: readonly string[]): string {
  return `{"type":"findings","seq":${seq},"findings":[${findingsJson.join(',')}]}`;
}

function frame(seq: number, count: number, payload: Buffer): Buffer {
  const rec = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  rec.writeUInt32LE(MAGIC, 0);
  rec.writeUInt32LE(payload.length, 4);
  rec.writeBigUInt64LE(BigInt(seq), 8);
  rec.writeUInt32LE(count, 16);
  payload.copy(rec, RECORD_HEADER_BYTES);
  rec.writeUInt32LE(recordCrc(rec), 20);
  return rec;
}

function recordCrc(rec: Buffer): number {
  return crc32(rec.subarray(RECORD_HEADER_BYTES), crc32(rec.subarray(4, 20)));
}

function errCode(e: unknown): string {
  const c = (e as NodeJS.ErrnoException | null)?.code;
  return typeof c === 'string' ? c : 'EUNKNOWN';
}

export class Spool {
  readonly dir: string;
  readonly whenFull: SpoolFullPolicy;
  private readonly maxBytes: number;
  private segmentBytes: number;
  private readonly quarantineMax: number;
  private readonly logger: Logger | undefined;
  private segments: Segment[] = [];
  private active: fsp.FileHandle | null = null;
  private activeSeg: Segment | null = null;
  private nextSeq = 1;
  private acked = 0;
  /** Seqs above the ack that are no longer in the spool (quarantined): the ack steps over them. */
  private readonly gone = new Set<number>();
  private totalBytes = 0;
  private quarantineBytes = 0;
  private droppedFindings = 0;
  private droppedBatches = 0;
  private quarantinedFindings = 0;
  private quarantinedBatches = 0;
  private repairedTails = 0;
  private failing: string | null = null;
  /** The ack value on disk, and whether writing it last failed (logged once per failure streak). */
  private ackOnDisk = 0;
  private ackFailing = false;
  /** Serialises appends, acks and reads so a read never races a truncation or deletion. */
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(opts: SpoolOptions) {
    this.dir = opts.dir;
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.whenFull = opts.whenFull ?? 'drop-oldest';
    this.segmentBytes = Math.max(
      4096,
      Math.min(opts.segmentBytes ?? 4 * 1024 * 1024, Math.floor(this.maxBytes / 4)),
    );
    this.quarantineMax = opts.quarantineMaxBytes ?? Math.max(1024 * 1024, Math.floor(this.maxBytes / 4));
    this.logger = opts.logger;
  }

  /**
   * Opens (or creates) a spool directory: checks that it can be written (SpoolUnusableError if not), cuts torn
   * tails, converts a pre-WAL spool, and indexes unacked batches.
   */
  static async open(opts: SpoolOptions): Promise<Spool> {
    const s = new Spool(opts);
    await s.probe();
    await s.load();
    return s;
  }

  /**
   * Creates, writes, syncs and removes a file: mkdir alone succeeds on a read-only mount that already has the
   * directory. A full disk is not refused: what the spool holds can still be delivered, which frees it.
   */
  private async probe(): Promise<void> {
    const probe = path.join(this.dir, `.probe-${process.pid}`);
    try {
      await fsp.mkdir(this.dir, { recursive: true });
      const fh = await fsp.open(probe, 'w');
      try {
        await fh.write('ok\n');
        await fh.datasync();
      } finally {
        await fh.close();
      }
      // Not recursive: Node's recursive mkdir reports ENOENT for an existing parent on a read-only mount.
      await fsp.mkdir(path.join(this.dir, QUARANTINE_DIR)).catch((e: unknown) => {
        if (errCode(e) !== 'EEXIST') throw e;
      });
    } catch (e) {
      const code = errCode(e);
      await fsp.rm(probe, { force: true }).catch(() => undefined);
      if (!FULL_CODES.has(code)) throw new SpoolUnusableError(this.dir, code);
      this.logger?.warn({ dir: this.dir, code }, 'spool: disk full at start; delivering what it holds');
    }
    await fsp.rm(probe, { force: true }).catch(() => undefined);
    // On a filesystem smaller than the cap the disk fills first, and what the full policy can drop is whole
    // segments: keep them to an eighth of the filesystem so a full disk never costs the whole spool at once.
    const fs = await fsp.statfs(this.dir).catch(() => null);
    const disk = fs ? fs.blocks * fs.bsize : 0;
    if (disk > 0 && disk < this.maxBytes) {
      this.segmentBytes = Math.max(4096, Math.min(this.segmentBytes, Math.floor(disk / 8)));
      this.logger?.warn(
        { dir: this.dir, filesystemBytes: disk, capBytes: this.maxBytes },
        'spool: the filesystem is smaller than the spool cap; the disk will be full first',
      );
    }
  }

  private async load(): Promise<void> {
    try {
      const n = Number((await fsp.readFile(path.join(this.dir, ACK_FILE), 'utf8')).trim());
      if (Number.isSafeInteger(n) && n >= 0) this.acked = n;
    } catch {
      // no ack file yet: nothing acked
    }
    this.ackOnDisk = this.acked;
    const qdir = path.join(this.dir, QUARANTINE_DIR);
    for (const name of await fsp.readdir(qdir).catch(() => [] as string[])) {
      const m = QUARANTINE_RE.exec(name);
      if (m) this.gone.add(Number(m[1]));
      const st = await fsp.stat(path.join(qdir, name)).catch(() => null);
      this.quarantineBytes += st?.size ?? 0;
    }
    const names = await fsp.readdir(this.dir);
    let maxSeq = this.acked;
    for (const name of names.filter((n) => SEGMENT_RE.test(n)).sort()) {
      const file = path.join(this.dir, name);
      const seg = await this.scanSegment(file);
      for (const b of seg.batches) maxSeq = Math.max(maxSeq, b.seq);
      const live = seg.batches.filter((b) => b.seq > this.acked && !this.gone.has(b.seq));
      if (live.length === 0) {
        await fsp.rm(file, { force: true }).catch(() => undefined);
        continue;
      }
      seg.batches = live;
      this.segments.push(seg);
      this.totalBytes += seg.bytes;
    }
    for (const s of this.gone) maxSeq = Math.max(maxSeq, s);
    this.nextSeq = maxSeq + 1;
    this.stepOverGone();
    await this.convertLegacy(names.filter((n) => LEGACY_RE.test(n)).sort());
  }

  /**
   * Reads a segment record by record; the first record whose magic, length or CRC is wrong ends it. The bytes from
   * there on are kept in the quarantine (bounded) and cut from the segment, so the next append starts clean.
   */
  private async scanSegment(file: string): Promise<Segment> {
    const buf = await fsp.readFile(file);
    const batches: BatchRef[] = [];
    let pos = 0;
    while (pos < buf.length) {
      const ref = recordAt(buf, pos);
      if (ref) {
        batches.push(ref);
        pos += ref.length;
        continue;
      }
      // A bad record with good ones after it (bit rot, not a crash): skip to the next record that checks out.
      const next = nextRecord(buf, pos + 1);
      const end = next ?? buf.length;
      this.repairedTails++;
      const kept = await this.keepAside(`torn-${path.basename(file)}-${pos}.bin`, buf.subarray(pos, end));
      this.logger?.warn(
        { file, at: pos, cut: end - pos, keptIn: kept, repaired: this.repairedTails },
        next === null ? 'spool: torn or corrupt tail cut off' : 'spool: corrupt record skipped',
      );
      if (next === null) {
        await fsp.truncate(file, pos);
        break;
      }
      pos = next;
    }
    return { file, bytes: Math.min(pos, buf.length), batches };
  }

  /** Converts the line-per-batch segments of 0.1.0: each valid line becomes a record; the rest is set aside. */
  private async convertLegacy(names: string[]): Promise<void> {
    for (const name of names) {
      const file = path.join(this.dir, name);
      const buf = await fsp.readFile(file);
      let pos = 0;
      while (pos < buf.length) {
        const nl = buf.indexOf(0x0a, pos);
        const line = buf.subarray(pos, nl < 0 ? buf.length : nl);
        pos = nl < 0 ? buf.length : nl + 1;
        const v = parseLegacyLine(line);
        if (!v) {
          this.repairedTails++;
          await this.keepAside(`torn-${name}-${pos}.bin`, line);
          continue;
        }
        if (v.seq <= this.acked || this.gone.has(v.seq)) continue;
        const r = await this.writeRecord(v.seq, v.count, line);
        if (!r.ok) throw new SpoolUnusableError(this.dir, r.why === 'error' ? r.code : 'ENOSPC');
        this.nextSeq = Math.max(this.nextSeq, v.seq + 1);
      }
      await fsp.rm(file, { force: true });
      this.logger?.info({ file }, 'spool: converted a pre-WAL segment');
    }
  }

  private enqueue<T>(f: () => Promise<T>): Promise<T> {
    const p = this.chain.then(f, f);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Appends one batch and fsyncs it. Never rejects: a full or broken disk is an AppendResult. */
  append(findings: readonly Finding[]): Promise<AppendResult> {
    return this.appendJson(findings.map((f) => JSON.stringify(f)));
  }

  /** The same with findings already serialised (the transport sizes batches by these). */
  appendJson(findingsJson: readonly string[]): Promise<AppendResult> {
    return this.enqueue(async () => {
      if (this.closed) return { ok: false, why: 'error', code: 'ECLOSED' } as const;
      const seq = this.nextSeq;
      const payload = Buffer.from(encodeBatchJson(seq, findingsJson));
      const r = await this.writeRecord(seq, findingsJson.length, payload);
      if (r.ok) this.nextSeq = seq + 1;
      return r;
    });
  }

  /** Writes one record under the cap, applying the full policy; the caller has the chain. */
  private async writeRecord(seq: number, count: number, payload: Buffer): Promise<AppendResult> {
    const rec = frame(seq, count, payload);
    for (;;) {
      if (this.totalBytes + rec.length > this.maxBytes) {
        if (this.whenFull === 'stop-reading' || !(await this.dropOldest('cap')))
          return { ok: false, why: 'full' };
        continue;
      }
      try {
        await this.writeAtEnd(seq, count, rec);
        if (this.failing) {
          this.logger?.info({ dir: this.dir, was: this.failing }, 'spool: writable again');
          this.failing = null;
        }
        return { ok: true, seq };
      } catch (e) {
        const code = errCode(e);
        if (FULL_CODES.has(code)) {
          // The disk filled before the cap: the same policy as the cap, with what the disk allows.
          if (this.whenFull === 'stop-reading' || !(await this.dropOldest(code)))
            return { ok: false, why: 'full' };
          continue;
        }
        if (this.failing !== code) this.logger?.error({ dir: this.dir, code }, 'spool: write failed');
        this.failing = code;
        // The handle may be the cause (a file removed under us, a remount): the next append reopens.
        await this.closeActive();
        return { ok: false, why: 'error', code };
      }
    }
  }

  /** Writes a whole record at the end of the active segment; on any failure the segment is cut back. */
  private async writeAtEnd(seq: number, count: number, rec: Buffer): Promise<void> {
    if (!this.active || !this.activeSeg || this.activeSeg.bytes >= this.segmentBytes) await this.roll(seq);
    const seg = this.activeSeg as Segment;
    const fh = this.active as fsp.FileHandle;
    try {
      // A short write (a disk filling up) is not an error from write(): keep going until done or refused.
      let done = 0;
      while (done < rec.length) {
        const { bytesWritten } = await fh.write(rec, done, rec.length - done, seg.bytes + done);
        if (bytesWritten <= 0) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
        done += bytesWritten;
      }
      await fh.datasync();
    } catch (e) {
      // Positional writes: even if this cut fails, the next record overwrites the partial one, and a restart's
      // CRC check cuts it anyway. Never is a partial record indexed.
      await fh.truncate(seg.bytes).catch(() => undefined);
      throw e;
    }
    seg.batches.push({ seq, count, offset: seg.bytes, length: rec.length });
    seg.bytes += rec.length;
    this.totalBytes += rec.length;
  }

  private async roll(firstSeq: number): Promise<void> {
    await this.closeActive();
    const file = path.join(this.dir, segmentName(firstSeq));
    // Not O_APPEND: Linux ignores the position of a write on an append-mode file, and writes here are positional.
    const fh = await fsp.open(file, FS.O_RDWR | FS.O_CREAT, 0o640);
    let size: number;
    try {
      size = (await fh.stat()).size;
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e;
    }
    this.active = fh;
    if (size === 0) await syncDir(this.dir);
    this.activeSeg = { file, bytes: size, batches: [] };
    this.segments.push(this.activeSeg);
    this.totalBytes += size;
  }

  private async closeActive(): Promise<void> {
    const fh = this.active;
    this.active = null;
    // A segment that was never written to is removed rather than left empty.
    const seg = this.activeSeg;
    this.activeSeg = null;
    await fh?.close().catch(() => undefined);
    if (seg && seg.bytes === 0 && seg.batches.length === 0) {
      this.segments = this.segments.filter((s) => s !== seg);
      await fsp.rm(seg.file, { force: true }).catch(() => undefined);
    }
  }

  /**
   * Drops the oldest segment, counting its unacked findings; the active one only when it is the last. Returns
   * false when there is nothing left to drop (the new batch alone does not fit).
   */
  private async dropOldest(why: string): Promise<boolean> {
    const seg = this.segments[0];
    if (!seg) return false;
    if (seg === this.activeSeg) {
      if (seg.bytes === 0) return false;
      await this.closeActive();
    }
    this.segments.shift();
    const lost = seg.batches.filter((b) => b.seq > this.acked && !this.gone.has(b.seq));
    const n = lost.reduce((a, b) => a + b.count, 0);
    this.totalBytes -= seg.bytes;
    await fsp.rm(seg.file, { force: true }).catch((e: unknown) => {
      this.logger?.error({ file: seg.file, code: errCode(e) }, 'spool: cannot remove a dropped segment');
    });
    const last = seg.batches[seg.batches.length - 1];
    // Skipping the ack past them keeps the sender from waiting for batches that no longer exist.
    if (last && last.seq > this.acked) {
      this.acked = last.seq;
      this.stepOverGone();
    }
    if (n > 0) {
      this.droppedFindings += n;
      this.droppedBatches += lost.length;
      this.logger?.warn(
        { findings: n, batches: lost.length, why, totalDropped: this.droppedFindings },
        'spool: full, oldest unacked findings dropped',
      );
    }
    await this.persistAck();
    return true;
  }

  /** Cumulative ack: every batch up to `seq` is stored by the collector. Never rejects. */
  ack(seq: number): Promise<void> {
    if (seq <= this.acked) return Promise.resolve();
    this.acked = Math.min(seq, this.nextSeq - 1);
    this.stepOverGone();
    return this.enqueue(() => this.collect());
  }

  /** Removes fully acked segments and writes the ack. */
  private async collect(): Promise<void> {
    const keep: Segment[] = [];
    for (const seg of this.segments) {
      seg.batches = seg.batches.filter((b) => b.seq > this.acked && !this.gone.has(b.seq));
      if (seg.batches.length === 0 && seg !== this.activeSeg) {
        this.totalBytes -= seg.bytes;
        await fsp.rm(seg.file, { force: true }).catch(() => undefined);
      } else keep.push(seg);
    }
    this.segments = keep;
    // A fully acked active segment is restarted so the disk does not grow without bound.
    const act = this.activeSeg;
    if (act && act.batches.length === 0 && act.bytes >= this.segmentBytes) {
      await this.closeActive();
      this.totalBytes -= act.bytes;
      this.segments = this.segments.filter((s) => s !== act);
      await fsp.rm(act.file, { force: true }).catch(() => undefined);
    }
    for (const s of this.gone) if (s <= this.acked) this.gone.delete(s);
    await this.persistAck();
  }

  private stepOverGone(): void {
    while (this.gone.has(this.acked + 1) && this.acked + 1 < this.nextSeq) this.acked++;
  }

  /**
   * Writes the ack file; on failure (a full disk has no room for the temporary file) overwrites it in place, which
   * needs no new block. If both fail the spool runs on: a restart then resends a few batches, which the collector
   * drops as duplicates.
   */
  private async persistAck(): Promise<void> {
    const value = this.acked;
    if (value === this.ackOnDisk) return;
    const file = path.join(this.dir, ACK_FILE);
    const text = `${String(value).padStart(20, ' ')}\n`;
    try {
      const tmp = `${file}.tmp`;
      await fsp.writeFile(tmp, text);
      await fsp.rename(tmp, file);
    } catch (first) {
      try {
        const fh = await fsp.open(file, FS.O_WRONLY | FS.O_CREAT, 0o640);
        try {
          await fh.write(text, 0, 'utf8');
          await fh.truncate(Buffer.byteLength(text));
        } finally {
          await fh.close();
        }
      } catch {
        if (!this.ackFailing)
          this.logger?.warn({ dir: this.dir, code: errCode(first) }, 'spool: cannot write the ack file');
        this.ackFailing = true;
        return;
      }
    }
    this.ackFailing = false;
    this.ackOnDisk = value;
  }

  /**
   * Takes a batch out of the spool for good and keeps its bytes in the quarantine directory (bounded): the
   * collector refused it or it fails its own checks, and resending it would block every batch behind it.
   */
  quarantine(seq: number, reason: QuarantineReason): Promise<void> {
    return this.enqueue(async () => {
      const found = this.find(seq);
      if (!found || this.gone.has(seq) || seq <= this.acked) return;
      const body = await this.readRecord(found.seg, found.ref).catch(() => null);
      const kept = body
        ? await this.keepAside(`seq-${String(seq).padStart(16, '0')}-${reason}.bin`, body.payload)
        : null;
      this.gone.add(seq);
      found.seg.batches = found.seg.batches.filter((b) => b !== found.ref);
      this.quarantinedFindings += found.ref.count;
      this.quarantinedBatches++;
      this.logger?.warn(
        { seq, findings: found.ref.count, reason, keptIn: kept, totalQuarantined: this.quarantinedFindings },
        'spool: batch quarantined, later batches go on',
      );
      // Kept or not, the seq must stay out after a restart: the ack stepping over it (if it is next) does that;
      // otherwise the quarantine file does, and without it the collector refuses it again.
      this.stepOverGone();
      await this.collect();
    });
  }

  /** Writes `data` to the quarantine directory within its byte budget; returns the file name, or null. */
  private async keepAside(name: string, data: Buffer): Promise<string | null> {
    if (this.quarantineBytes + data.length > this.quarantineMax) {
      this.logger?.warn({ name, bytes: data.length }, 'spool: quarantine full, bytes not kept');
      // A quarantined seq still leaves an empty file, so a restart does not send it again.
      if (!name.startsWith('seq-')) return null;
      data = Buffer.alloc(0);
    }
    const file = path.join(this.dir, QUARANTINE_DIR, name);
    try {
      await fsp.mkdir(path.dirname(file), { recursive: true });
      await fsp.writeFile(file, data);
      this.quarantineBytes += data.length;
      return `${QUARANTINE_DIR}/${name}`;
    } catch (e) {
      await fsp.rm(file, { force: true }).catch(() => undefined);
      this.logger?.warn({ name, code: errCode(e) }, 'spool: cannot keep bytes in the quarantine');
      return null;
    }
  }

  private find(seq: number): { seg: Segment; ref: BatchRef } | null {
    for (const seg of this.segments) {
      const ref = seg.batches.find((b) => b.seq === seq);
      if (ref) return { seg, ref };
    }
    return null;
  }

  /** Reads one record back and checks it again (a disk can rot after the write). */
  private async readRecord(seg: Segment, r: BatchRef): Promise<{ payload: Buffer; intact: boolean }> {
    const fh = seg === this.activeSeg && this.active ? this.active : await fsp.open(seg.file, 'r');
    try {
      const rec = Buffer.allocUnsafe(r.length);
      const { bytesRead } = await fh.read(rec, 0, r.length, r.offset);
      const intact =
        bytesRead === r.length &&
        rec.readUInt32LE(0) === MAGIC &&
        rec.readUInt32LE(4) === r.length - RECORD_HEADER_BYTES &&
        rec.readUInt32LE(20) === recordCrc(rec);
      return { payload: rec.subarray(RECORD_HEADER_BYTES, bytesRead), intact };
    } finally {
      if (fh !== this.active) await fh.close();
    }
  }

  /**
   * Unacked batches with seq > `after`, in order, as wire text; at most `maxBytes` (at least one). A record that
   * fails its CRC on the way back is returned with `intact: false` so the caller quarantines it, never sends it.
   */
  readAfter(
    after: number,
    maxBytes: number,
  ): Promise<Array<{ seq: number; count: number; text: string; intact: boolean }>> {
    return this.enqueue(async () => {
      const out: Array<{ seq: number; count: number; text: string; intact: boolean }> = [];
      let used = 0;
      for (const seg of this.segments) {
        for (const r of seg.batches) {
          if (r.seq <= after || r.seq <= this.acked || this.gone.has(r.seq)) continue;
          if (out.length > 0 && used + r.length > maxBytes) return out;
          const { payload, intact } = await this.readRecord(seg, r);
          out.push({ seq: r.seq, count: r.count, text: payload.toString('utf8'), intact });
          used += r.length;
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
        if (b.seq > this.acked && !this.gone.has(b.seq)) {
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
      droppedBatches: this.droppedBatches,
      repaired: this.repairedTails,
      quarantined: this.quarantinedFindings,
      quarantinedBatches: this.quarantinedBatches,
      failing: this.failing,
      lastSeq: this.lastSeq,
      ackedSeq: this.acked,
    };
  }

  async close(): Promise<void> {
    await this.enqueue(async () => {
      this.closed = true;
      await this.closeActive();
      await this.persistAck();
    });
  }
}

/** The record at `pos` if its magic, length and CRC check out. */
function recordAt(buf: Buffer, pos: number): BatchRef | null {
  if (pos + RECORD_HEADER_BYTES > buf.length || buf.readUInt32LE(pos) !== MAGIC) return null;
  const len = buf.readUInt32LE(pos + 4);
  if (len > MAX_RECORD_PAYLOAD || pos + RECORD_HEADER_BYTES + len > buf.length) return null;
  const rec = buf.subarray(pos, pos + RECORD_HEADER_BYTES + len);
  if (rec.readUInt32LE(20) !== recordCrc(rec)) return null;
  const seq = Number(rec.readBigUInt64LE(8));
  if (!Number.isSafeInteger(seq) || seq < 1) return null;
  return { seq, count: rec.readUInt32LE(16), offset: pos, length: rec.length };
}

/** Offset of the next intact record at or after `from`, or null. */
function nextRecord(buf: Buffer, from: number): number | null {
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(MAGIC, 0);
  for (let i = buf.indexOf(magic, from); i >= 0; i = buf.indexOf(magic, i + 1)) {
    if (recordAt(buf, i)) return i;
  }
  return null;
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
    await fh?.close().catch(() => undefined);
  }
}

function parseLegacyLine(line: Buffer): { seq: number; count: number } | null {
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
