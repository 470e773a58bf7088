// The daily findings archive (issue 14 item 5): one gzip JSON-lines file per UTC day of arrival, for a SIEM or a
// data lake to pick up, written whole or not at all, never twice; retention keeps every day not yet archived.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  createWriteStream,
  fsyncSync,
  linkSync,
  openSync,
  readdirSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { findingClass, type Finding } from '../agent/wire/finding.js';
import type { RetentionOptions, Store } from './store.js';

export const DAY_MS = 86_400_000;
/** Rows read from the store per page: bounds what the archive holds in memory, whatever a day's size. */
const PAGE = 1000;
/** A temporary file this old is a leftover of a crash (a day takes seconds to write), not a write under way. */
const STALE_TEMP_MS = DAY_MS;
const NAME = /^wardwatch-findings-(\d{4})-(\d{2})-(\d{2})\.jsonl\.gz$/;
const TEMP = /^\.wardwatch-findings-\d{4}-\d{2}-\d{2}\.jsonl\.gz\.tmp-/;

export type ArchiveStore = Pick<Store, 'findingsReceived' | 'receivedSpan'>;

export interface ArchivedDay {
  /** `YYYY-MM-DD` (UTC). */
  day: string;
  file: string;
  findings: number;
}

export interface ArchiveHooks {
  onArchived?(d: ArchivedDay): void;
  onError?(day: string, err: unknown): void;
}

/** Midnight UTC (ms) of the day holding `ms`. */
export function utcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

export function dayName(dayMs: number): string {
  return new Date(dayMs).toISOString().slice(0, 10);
}

export function archiveFileName(dayMs: number): string {
  return `wardwatch-findings-${dayName(dayMs)}.jsonl.gz`;
}

/** The day (midnight UTC, ms) an archive file name stands for, or null for any other name. */
export function dayOfFile(name: string): number | null {
  const m = NAME.exec(name);
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return dayName(ms) === `${m[1]}-${m[2]}-${m[3]}` ? ms : null;
}

/**
 * Writes `DIR/wardwatch-findings-YYYY-MM-DD.jsonl.gz` for every UTC day that has ended since the oldest finding
 * in the store, one line per finding received that day (our JSON, with `class` spelled out, as
 * `--export-format jsonl` writes it), an empty file for a day without findings so a reader can tell a quiet day
 * from a missing one. The day is the collector's day of arrival, not the packet time: a day is complete once it
 * has ended, whatever agents resend later (that lands in a later day), and retention counts by arrival too.
 */
export class Archiver {
  private running: Promise<ArchivedDay[]> | null = null;

  constructor(
    readonly dir: string,
    private readonly store: ArchiveStore,
    private readonly hooks: ArchiveHooks = {},
  ) {}

  /** Days (midnight UTC, ms) that have ended and have no file yet, oldest first. */
  async pendingDays(nowMs = Date.now()): Promise<number[]> {
    const today = utcDay(nowMs);
    const { oldestUs } = await this.store.receivedSpan(today * 1000);
    if (oldestUs === null) return [];
    const done = this.archivedDays();
    const out: number[] = [];
    for (let d = utcDay(Math.floor(oldestUs / 1000)); d < today; d += DAY_MS) if (!done.has(d)) out.push(d);
    return out;
  }

  /**
   * Archives every pending day, oldest first. A failure is reported and stops the run: that day and the later
   * ones stay pending (and kept by retention) until the next run. Concurrent calls share one run.
   */
  run(nowMs = Date.now()): Promise<ArchivedDay[]> {
    this.running ??= this.runOnce(nowMs).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Resolves when no run is under way (before the store closes). */
  async idle(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  /**
   * The earliest arrival (µs) retention must keep: the start of the oldest day that has findings and no file
   * (today when every ended day is archived).
   */
  async keepFromUs(nowMs = Date.now()): Promise<number> {
    const first = (await this.pendingDays(nowMs))[0];
    return (first ?? utcDay(nowMs)) * 1000;
  }

  /**
   * Retention options that delete nothing received at or after keepFromUs: the age limit is lengthened to reach
   * back no further, the count limit raised to at least the findings since then (arrival order is store order).
   */
  async guard(r: RetentionOptions, nowMs = Date.now()): Promise<RetentionOptions> {
    const keepUs = await this.keepFromUs(nowMs);
    const out: RetentionOptions = {};
    if (r.maxAgeSeconds !== undefined)
      out.maxAgeSeconds = Math.max(r.maxAgeSeconds, (nowMs - keepUs / 1000) / 1000);
    if (r.maxCount !== undefined)
      out.maxCount = Math.max(r.maxCount, (await this.store.receivedSpan(keepUs)).since);
    return out;
  }

  private async runOnce(nowMs: number): Promise<ArchivedDay[]> {
    this.removeStaleTemps(nowMs);
    const done: ArchivedDay[] = [];
    for (const day of await this.pendingDays(nowMs)) {
      try {
        const d = await this.writeDay(day);
        if (d) {
          done.push(d);
          this.hooks.onArchived?.(d);
        }
      } catch (err) {
        this.hooks.onError?.(dayName(day), err);
        break;
      }
    }
    return done;
  }

  /** One day to a temporary file, flushed to disk, then linked to its name: never half-written, never replaced. */
  private async writeDay(dayMs: number): Promise<ArchivedDay | null> {
    const name = archiveFileName(dayMs);
    const file = path.join(this.dir, name);
    const temp = path.join(this.dir, `.${name}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    let findings = 0;
    const store = this.store;
    async function* lines(): AsyncGenerator<string> {
      let after: { receivedUs: number; seq: number } | null = null;
      for (;;) {
        const rows = await store.findingsReceived(dayMs * 1000, (dayMs + DAY_MS) * 1000, after, PAGE);
        if (rows.length === 0) return;
        const out: string[] = [];
        for (const r of rows) {
          const f = JSON.parse(r.json) as Finding;
          out.push(`${JSON.stringify({ ...f, class: findingClass(f) })}\n`);
        }
        findings += rows.length;
        const last = rows[rows.length - 1];
        if (last) after = { receivedUs: last.receivedUs, seq: last.seq };
        // One chunk per page; the store is free again between pages (ingest goes on while a day is written).
        yield out.join('');
        if (rows.length < PAGE) return;
      }
    }
    try {
      await pipeline(
        Readable.from(lines()),
        createGzip(),
        createWriteStream(temp, { flags: 'wx', mode: 0o640 }),
      );
      syncPath(temp);
      try {
        // link, not rename: it fails when the name exists, so a day archived meanwhile (another collector on the
        // same directory) is never replaced.
        linkSync(temp, file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
        throw err;
      }
      syncPath(this.dir);
    } finally {
      try {
        unlinkSync(temp);
      } catch {
        // Already gone: nothing to clean.
      }
    }
    return { day: dayName(dayMs), file, findings };
  }

  private archivedDays(): Set<number> {
    const out = new Set<number>();
    for (const n of readdirSync(this.dir)) {
      const d = dayOfFile(n);
      if (d !== null) out.add(d);
    }
    return out;
  }

  private removeStaleTemps(nowMs: number): void {
    for (const n of readdirSync(this.dir)) {
      if (!TEMP.test(n)) continue;
      const p = path.join(this.dir, n);
      try {
        if (nowMs - statSync(p).mtimeMs > STALE_TEMP_MS) unlinkSync(p);
      } catch {
        // Removed by someone else meanwhile.
      }
    }
  }
}

/** fsync a file or directory, so a crash after the link leaves a whole file under its name. */
function syncPath(p: string): void {
  const fd = openSync(p, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
