// The spool on a real 256 KiB tmpfs the test mounts: a disk that fills up before the cap, one that turns read-only
// mid-run and one that is read-only from the start. Nothing may throw, every finding is either stored or counted,
// and no record torn by a short write is ever indexed.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AgentTransport } from '../../agent/transport/client.js';
import { Spool, SpoolUnusableError, type AppendResult } from '../../agent/transport/spool.js';
import { TOKENS, makeFinding, quietLogger, waitFor } from '../collector/helpers.js';
import { startTestCollector } from '../helpers/collector.js';
import { freePort } from '../helpers/processes.js';
import { mountTmpfs, overmountReadOnly, type Tmpfs } from './tmpfs.js';

const mounted = mountTmpfs('256k');
const skipWhy = typeof mounted === 'string' ? mounted : null;
if (skipWhy) console.warn(`spool-faults: skipped: ${skipWhy}`);
const tmpfs = typeof mounted === 'string' ? null : mounted;

let n = 0;
/** A fresh directory on the tmpfs; the previous test's files are removed first so each starts with an empty disk. */
function freshDir(fs: Tmpfs): string {
  for (const e of readdirSync(fs.dir)) rmSync(path.join(fs.dir, e), { recursive: true, force: true });
  const dir = path.join(fs.dir, `spool-${++n}`);
  mkdirSync(dir);
  return dir;
}

/** Findings of about 1 KB each so a few hundred fill the disk. */
function bigFinding(i: number): ReturnType<typeof makeFinding> {
  return makeFinding(i, 'agent-a', { evidence: { note: 'x'.repeat(800) } });
}

afterEach(() => {
  // A test that failed while the mount was read-only must not break the next one.
  try {
    tmpfs?.readWrite();
  } catch {
    // already read-write
  }
});

afterAll(() => tmpfs?.unmount());

describe.skipIf(skipWhy !== null)('spool on a 256 KiB tmpfs', () => {
  const fs = tmpfs as Tmpfs;

  it('a disk full before the cap: drop-oldest makes room, every finding stored or counted, nothing torn', async () => {
    const dir = freshDir(fs);
    const s = await Spool.open({ dir, maxBytes: 64 * 1024 * 1024, logger: quietLogger });
    let accepted = 0;
    const results: AppendResult[] = [];
    for (let i = 0; i < 200; i++) {
      const batch = Array.from({ length: 5 }, (_, k) => bigFinding(i * 5 + k));
      const r = await s.append(batch);
      results.push(r);
      if (r.ok) accepted += batch.length;
    }
    // 200 batches of ~5 KB on a 256 KiB disk: far more than fits.
    expect(results.every((r) => r.ok)).toBe(true);
    const st = s.stats();
    expect(st.dropped).toBeGreaterThan(0);
    expect(st.pending + st.dropped).toBe(accepted);
    expect(st.failing).toBeNull();
    // The newest batch is always the one kept.
    const kept = await s.readAfter(0, 1 << 30);
    expect(kept[kept.length - 1]?.seq).toBe(200);
    // Acks on a full disk (the ack file needs a block) never reject.
    await s.ack(190);
    await s.close();

    // Reopening finds exactly what was indexed: no record cut by a short write was ever counted as stored.
    const again = await Spool.open({ dir, logger: quietLogger });
    const back = await again.readAfter(0, 1 << 30);
    expect(back.every((b) => b.intact)).toBe(true);
    expect(back.map((b) => b.seq)).toEqual([191, 192, 193, 194, 195, 196, 197, 198, 199, 200]);
    expect(again.stats().repaired).toBe(0);
    await again.close();
  });

  it('a disk full under stop-reading: the batch is refused as full, nothing dropped, and taken after acks', async () => {
    const dir = freshDir(fs);
    const s = await Spool.open({ dir, whenFull: 'stop-reading', logger: quietLogger });
    let stored = 0;
    let last: AppendResult | null = null;
    for (let i = 0; i < 200; i++) {
      last = await s.append(Array.from({ length: 5 }, (_, k) => bigFinding(i * 5 + k)));
      if (!last.ok) break;
      stored++;
    }
    expect(last).toEqual({ ok: false, why: 'full' });
    expect(stored).toBeGreaterThan(10);
    expect(s.stats()).toMatchObject({ dropped: 0, pending: stored * 5, lastSeq: stored });
    await s.ack(stored);
    expect(await s.append([bigFinding(9999)])).toEqual({ ok: true, seq: stored + 1 });
    await s.close();
  });

  it('an ack on a disk with no free block is still written (in place), and the spool goes on', async () => {
    const dir = freshDir(fs);
    const s = await Spool.open({ dir, logger: quietLogger });
    for (let i = 0; i < 5; i++) expect((await s.append([makeFinding(i)])).ok).toBe(true);
    await s.ack(1);
    // Fill every remaining block of the tmpfs: the next ack cannot create its temporary file.
    const filler = path.join(fs.dir, 'filler');
    let full = false;
    try {
      writeFileSync(filler, Buffer.alloc(1024 * 1024));
    } catch (e) {
      full = (e as NodeJS.ErrnoException).code === 'ENOSPC';
    }
    expect(full).toBe(true);
    await s.ack(4);
    expect(s.stats()).toMatchObject({ ackedSeq: 4, pending: 1 });
    await s.close();
    rmSync(filler);
    const again = await Spool.open({ dir, logger: quietLogger });
    expect(again.stats()).toMatchObject({ ackedSeq: 4, pending: 1, lastSeq: 5 });
    await again.close();
  });

  it('a disk turning read-only mid-run: appends report EROFS, acks do not reject, writing resumes after', async () => {
    const dir = freshDir(fs);
    const s = await Spool.open({ dir, segmentBytes: 4096, logger: quietLogger });
    for (let i = 0; i < 3; i++) expect((await s.append([makeFinding(i)])).ok).toBe(true);
    const undo = overmountReadOnly(dir);
    let failed: AppendResult | null = null;
    let stored = 3;
    try {
      // The open segment still takes writes (as on a real remount); the next segment or ack file cannot be made.
      for (let i = 3; i < 40 && !failed; i++) {
        const r = await s.append([makeFinding(i)]);
        if (r.ok) stored++;
        else failed = r;
      }
      await s.ack(2);
      expect(failed).toEqual({ ok: false, why: 'error', code: 'EROFS' });
      expect(s.stats()).toMatchObject({
        failing: 'EROFS',
        lastSeq: stored,
        ackedSeq: 2,
        pending: stored - 2,
      });
    } finally {
      undo();
    }
    expect(await s.append([makeFinding(99)])).toEqual({ ok: true, seq: stored + 1 });
    expect(s.stats().failing).toBeNull();
    await s.close();
    const again = await Spool.open({ dir, logger: quietLogger });
    expect(again.stats()).toMatchObject({ pending: stored - 1, ackedSeq: 2, repaired: 0 });
    await again.close();
  });

  it('a read-only spool directory is refused at open, naming the directory and the reason', async () => {
    const dir = freshDir(fs);
    fs.readOnly();
    const err = await Spool.open({ dir, logger: quietLogger }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpoolUnusableError);
    expect((err as SpoolUnusableError).code).toBe('EROFS');
    expect((err as Error).message).toBe(
      `${dir}: spool directory not writable (EROFS: read-only file system)`,
    );
  });

  it('a disk with less room than one batch: batches shrink to fit, a finding that cannot fit alone is dropped', async () => {
    const dir = freshDir(fs);
    // Leave about 24 KiB of the tmpfs free: less than one batch of 100 findings of ~1 KB.
    const filler = path.join(fs.dir, 'filler');
    writeFileSync(filler, Buffer.alloc(256 * 1024 - 24 * 1024 - 12 * 4096));
    const t = await AgentTransport.open({
      url: `ws://127.0.0.1:${await freePort()}`,
      token: TOKENS.agentA,
      agent: 'agent-a',
      version: 't',
      spoolDir: dir,
      logger: quietLogger,
      batchMax: 500,
      batchDelayMs: 10_000,
      backoffMinMs: 1000,
    });
    try {
      for (let i = 0; i < 100; i++) t.send(bigFinding(i));
      await t.flush();
      const st = t.stats();
      expect(st.spoolPending).toBeGreaterThan(0);
      expect(st.spoolPending).toBeLessThan(100);
      expect(st.spoolPending + st.spoolDropped + st.unfit).toBe(100);
    } finally {
      await t.close();
    }

    // Now an empty spool on a disk with no block left: not even one finding fits and nothing in the spool could
    // be dropped or acked to make room. Each finding is dropped and counted; nothing waits forever.
    rmSync(dir, { recursive: true });
    for (let k = 0; ; k++) {
      try {
        writeFileSync(path.join(fs.dir, `filler-${k}`), Buffer.alloc(4096));
      } catch {
        break;
      }
    }
    const u = await AgentTransport.open({
      url: `ws://127.0.0.1:${await freePort()}`,
      token: TOKENS.agentA,
      agent: 'agent-a',
      version: 't',
      spoolDir: dir,
      logger: quietLogger,
      batchDelayMs: 10_000,
      backoffMinMs: 1000,
    });
    try {
      for (let i = 0; i < 3; i++) u.send(bigFinding(i));
      await u.flush();
      await u.drain();
      expect(u.stats()).toMatchObject({ unfit: 3, spoolPending: 0, lastSeq: 0 });
    } finally {
      await u.close();
    }
  });

  it('the transport on a full disk with the collector away: drops counted, reported to /metrics, the rest delivered', async () => {
    const dir = freshDir(fs);
    const port = await freePort();
    const total = 1500;
    const t = await AgentTransport.open({
      url: `ws://127.0.0.1:${port}`,
      token: TOKENS.agentA,
      agent: 'agent-a',
      version: 't',
      spoolDir: dir,
      logger: quietLogger,
      batchMax: 20,
      batchDelayMs: 5,
      backoffMinMs: 20,
      backoffMaxMs: 100,
      statsIntervalMs: 50,
      getStats: () => ({
        packets: 0,
        bytes: 0,
        drops: { kernel: 0, interface: 0, queue: 0 },
        parse_errors: {},
        messages: {},
        flows: 0,
        devices: 0,
        memory: 0,
        lag_seconds: 0,
      }),
    });
    for (let i = 0; i < total; i++) t.send(bigFinding(i));
    await t.flush();
    const before = t.stats();
    expect(before.spoolDropped).toBeGreaterThan(0);
    expect(before.memoryDropped).toBe(0);
    expect(before.spoolPending + before.spoolDropped).toBe(total);

    const col = await startTestCollector({ listen: `127.0.0.1:${port}` });
    try {
      await t.drain();
      expect(await col.store.countFindings()).toBe(before.spoolPending);
      const metric = new RegExp(
        `wardwatch_drops_total\\{agent="agent-a",where="spool"\\} ${before.spoolDropped}\\b`,
      );
      await waitFor(
        async () => metric.test(await (await fetch(`${col.url}/metrics`)).text()),
        'spool drops on /metrics',
      );
      await t.close();
    } finally {
      await col.close();
    }
  });
});
