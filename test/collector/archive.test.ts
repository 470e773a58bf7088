// The daily findings archive (issue 14 item 5): real files gunzipped and parsed, re-runs that change nothing, two
// archivers on one directory, a failing day, and retention that never deletes a day not yet archived.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  archiveFileName,
  Archiver,
  DAY_MS,
  dayOfFile,
  utcDay,
  type ArchivedDay,
  type ArchiveStore,
} from '../../collector/archive.js';
import { startCollector } from '../../collector/main.js';
import { SqliteStore, type Store } from '../../collector/store.js';
import type { Finding } from '../../agent/wire/finding.js';
import { storeBackends } from '../helpers/postgres.js';
import { makeFinding, quietLogger, tempDir, waitFor } from './helpers.js';

/** Midnight UTC of a fixed day; findings are stored with the clock set inside the days around it. */
const D = Date.UTC(2026, 10, 20);

afterEach(() => {
  vi.useRealTimers();
});

/** Stores findings as if received at `atMs` (the store stamps arrival with Date.now()). */
async function receiveAt(store: Store, atMs: number, findings: Finding[]): Promise<void> {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(atMs);
  await store.storeBatch('ward3', 1, findings);
  vi.useRealTimers();
}

function batch(from: number, n: number, over: Partial<Finding> = {}): Finding[] {
  return Array.from({ length: n }, (_, i) => makeFinding(from + i, 'ward3', over));
}

function readArchive(dir: string, dayMs: number): Record<string, unknown>[] {
  const text = gunzipSync(readFileSync(path.join(dir, archiveFileName(dayMs)))).toString('utf8');
  return text === ''
    ? []
    : text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
}

// The archive reads the store (findingsReceived, receivedSpan) and retention deletes from it: both backends.
const B = storeBackends();
beforeAll(() => B.setup());
afterAll(() => B.teardown());

describe.each(B.backends)('archive on $name', (backend) => {
  /** A fresh empty store of this backend. */
  async function setup(): Promise<{ dir: string; store: Store }> {
    const dir = tempDir('ww-archive-');
    return { dir, store: await backend.open(await backend.fresh(dir)) };
  }

  describe('daily archive files', () => {
    it('writes each ended day once, as gzip JSON lines in arrival order, an empty file for a quiet day', async () => {
      const { store } = await setup();
      const out = tempDir('ww-archive-out-');
      await receiveAt(store, D - 2 * DAY_MS + 3_600_000, batch(0, 3));
      await receiveAt(store, D - 2 * DAY_MS + DAY_MS - 1, batch(10, 1, { class: 'exposure' }));
      await receiveAt(store, D + 60_000, batch(20, 2)); // today: not ended, not archived
      const seen: ArchivedDay[] = [];
      const a = new Archiver(out, store, { onArchived: (d) => seen.push(d) });
      const done = await a.run(D + 12 * 3_600_000);

      expect(done.map((d) => [d.day, d.findings])).toEqual([
        ['2026-11-18', 4],
        ['2026-11-19', 0],
      ]);
      expect(seen).toEqual(done);
      expect(readdirSync(out).sort()).toEqual([
        'wardwatch-findings-2026-11-18.jsonl.gz',
        'wardwatch-findings-2026-11-19.jsonl.gz',
      ]);
      const day1 = readArchive(out, D - 2 * DAY_MS);
      expect(day1.map((f) => f.id)).toEqual(['ward3-f0', 'ward3-f1', 'ward3-f2', 'ward3-f10']);
      // Our JSON with the class spelled out, as --export-format jsonl writes it.
      expect(day1.map((f) => f.class)).toEqual(['alert', 'alert', 'alert', 'exposure']);
      expect(day1[0]).toMatchObject({ kind: 'finding', agent: 'ward3', device: { ip: '10.20.30.1' } });
      expect(readArchive(out, D - DAY_MS)).toEqual([]);
      await store.close();
    });

    it('a re-run, or a restarted collector, archives nothing again and leaves the files as they were', async () => {
      const { store } = await setup();
      const out = tempDir('ww-archive-out-');
      await receiveAt(store, D - DAY_MS + 1000, batch(0, 5));
      expect(await new Archiver(out, store).run(D + 1000)).toHaveLength(1);
      const file = path.join(out, archiveFileName(D - DAY_MS));
      const before = { bytes: readFileSync(file), ino: statSync(file).ino, mtime: statSync(file).mtimeMs };

      expect(await new Archiver(out, store).run(D + 1000)).toEqual([]);
      expect(await new Archiver(out, store).run(D + DAY_MS / 2)).toEqual([]);
      expect(readFileSync(file).equals(before.bytes)).toBe(true);
      expect(statSync(file).ino).toBe(before.ino);
      expect(statSync(file).mtimeMs).toBe(before.mtime);
      expect(readdirSync(out)).toEqual([archiveFileName(D - DAY_MS)]);
      await store.close();
    });

    it('never replaces a file already there for that day', async () => {
      const { store } = await setup();
      const out = tempDir('ww-archive-out-');
      await receiveAt(store, D - DAY_MS + 1000, batch(0, 2));
      writeFileSync(path.join(out, archiveFileName(D - DAY_MS)), 'not ours');
      expect(await new Archiver(out, store).run(D + 1000)).toEqual([]);
      expect(readFileSync(path.join(out, archiveFileName(D - DAY_MS)), 'utf8')).toBe('not ours');
      await store.close();
    });

    it('two archivers on one directory write each day exactly once', async () => {
      const { store } = await setup();
      const out = tempDir('ww-archive-out-');
      for (let d = 1; d <= 4; d++) await receiveAt(store, D - d * DAY_MS + 5000, batch(d * 100, d));
      const [x, y] = await Promise.all([
        new Archiver(out, store).run(D + 1000),
        new Archiver(out, store).run(D + 1000),
      ]);
      const days = [...(x ?? []), ...(y ?? [])].map((d) => d.day).sort();
      expect(days).toEqual(['2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19']);
      expect(readdirSync(out).filter((n) => dayOfFile(n) === null)).toEqual([]);
      for (let d = 1; d <= 4; d++) expect(readArchive(out, D - d * DAY_MS)).toHaveLength(d);
      await store.close();
    });

    it('pages through a large day without losing or repeating a finding', async () => {
      const { store } = await setup();
      const out = tempDir('ww-archive-out-');
      await receiveAt(store, D - DAY_MS + 1, batch(0, 1200));
      await receiveAt(store, D - DAY_MS + 2, batch(5000, 1300));
      await new Archiver(out, store).run(D);
      const ids = readArchive(out, D - DAY_MS).map((f) => f.id as string);
      expect(ids).toHaveLength(2500);
      expect(new Set(ids).size).toBe(2500);
      expect(ids[0]).toBe('ward3-f0');
      expect(ids[1200]).toBe('ward3-f5000');
      await store.close();
    });

    it('a day that fails leaves no file and no temporary file, is reported, and is retried later', async () => {
      const { store } = await setup();
      const out = tempDir('ww-archive-out-');
      await receiveAt(store, D - 2 * DAY_MS + 1000, batch(0, 2));
      await receiveAt(store, D - DAY_MS + 1000, batch(10, 2));
      let fail = true;
      const flaky: ArchiveStore = {
        receivedSpan: (us) => store.receivedSpan(us),
        findingsReceived: async (from, to, after, limit) => {
          if (fail) throw new Error('disk I/O error');
          return store.findingsReceived(from, to, after, limit);
        },
      };
      const errors: string[] = [];
      const a = new Archiver(out, flaky, { onError: (day) => errors.push(day) });
      expect(await a.run(D + 1000)).toEqual([]);
      expect(errors).toEqual(['2026-11-18']); // the run stops at the first failing day
      expect(readdirSync(out)).toEqual([]);
      expect(await a.pendingDays(D + 1000)).toEqual([D - 2 * DAY_MS, D - DAY_MS]);
      fail = false;
      expect((await a.run(D + 1000)).map((d) => d.day)).toEqual(['2026-11-18', '2026-11-19']);
      await store.close();
    });

    it('file names are UTC days and nothing else', async () => {
      expect(archiveFileName(D + DAY_MS - 1)).toBe('wardwatch-findings-2026-11-20.jsonl.gz');
      expect(utcDay(D + DAY_MS - 1)).toBe(D);
      expect(dayOfFile('wardwatch-findings-2026-11-20.jsonl.gz')).toBe(D);
      expect(dayOfFile('wardwatch-findings-2026-02-30.jsonl.gz')).toBeNull();
      expect(dayOfFile('.wardwatch-findings-2026-11-20.jsonl.gz.tmp-1-ab')).toBeNull();
      expect(dayOfFile('wardwatch-findings-2026-11-20.jsonl')).toBeNull();
    });
  });

  describe('retention with an archive', () => {
    it('never deletes a day that is not archived, and deletes archived days as before', async () => {
      const { store } = await setup();
      const out = tempDir('ww-archive-out-');
      for (let d = 3; d >= 1; d--) await receiveAt(store, D - d * DAY_MS + 1000, batch(d * 100, 10));
      const now = D + 1000;
      const a = new Archiver(out, store);
      const keepOneDay = { maxAgeSeconds: 86_400 };

      // Nothing archived yet: retention of one day would delete two days; guarded, it deletes nothing.
      expect((await a.guard(keepOneDay, now)).maxAgeSeconds).toBeGreaterThan(3 * 86_400);
      expect(await store.applyRetention(await a.guard(keepOneDay, now), now)).toBe(0);
      expect(await store.applyRetention(await a.guard({ maxCount: 5 }, now), now)).toBe(0);
      expect(await store.countFindings()).toBe(30);

      // Only the oldest day archived (the archive ran when that day had just ended): only it may go.
      expect((await a.run(D - 2 * DAY_MS + 1000)).map((d) => d.day)).toEqual(['2026-11-17']);
      expect(await store.applyRetention(await a.guard(keepOneDay, now), now)).toBe(10);
      expect(await store.applyRetention(await a.guard({ maxCount: 5 }, now), now)).toBe(0);
      expect(await store.countFindings()).toBe(20);

      // Everything that has ended archived: the plain limits apply again.
      await a.run(now);
      expect(await a.guard(keepOneDay, now)).toEqual(keepOneDay);
      expect(await store.applyRetention(await a.guard(keepOneDay, now), now)).toBe(10);
      expect(await store.applyRetention(await a.guard({ maxCount: 5 }, now), now)).toBe(5);
      expect(readArchive(out, D - 2 * DAY_MS)).toHaveLength(10);
      await store.close();
    });
  });
});

describe('collector --archive-dir', () => {
  it('archives ended days at start and counts files and findings in /metrics', async () => {
    const dir = tempDir('ww-archive-col-');
    const out = tempDir('ww-archive-out-');
    const db = path.join(dir, 'wardwatch.db');
    const seed = new SqliteStore(db);
    const yesterday = utcDay(Date.now()) - DAY_MS;
    await receiveAt(seed, yesterday + 1000, batch(0, 7));
    await seed.close();
    const col = await startCollector({
      listen: '127.0.0.1:0',
      db,
      logger: quietLogger,
      archive: { dir: out },
      retention: { maxAgeSeconds: 60 },
    });
    try {
      const file = path.join(out, archiveFileName(yesterday));
      await waitFor(() => existsSync(file), 'the archive file');
      expect(readArchive(out, yesterday)).toHaveLength(7);
      const text = await col.metrics.registry.metrics();
      expect(text).toMatch(/^wardwatch_archive_files_total 1$/m);
      expect(text).toMatch(/^wardwatch_archive_findings_total 7$/m);
      expect(text).toMatch(/^wardwatch_archive_errors_total 0$/m);
    } finally {
      await col.close();
    }
  });
});
