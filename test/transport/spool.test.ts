// Disk spool: append/ack/resend across reopen, torn-tail repair, byte cap with counted oldest-first drops.
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Spool, type AppendResult } from '../../agent/transport/spool.js';
import { makeFinding, quietLogger, tempDir } from '../collector/helpers.js';

/** The seq an append stored; fails the test if it stored nothing. */
function seqOf(r: AppendResult): number {
  if (!r.ok) throw new Error(`append stored nothing: ${r.why}`);
  return r.seq;
}

function ids(batches: Array<{ text: string }>): string[] {
  return batches.flatMap((b) =>
    (JSON.parse(b.text) as { findings: Array<{ id: string }> }).findings.map((f) => f.id),
  );
}

describe('spool', () => {
  it('resends exactly the unacked batches after a reopen, and keeps numbering', async () => {
    const dir = tempDir();
    const s = await Spool.open({ dir, logger: quietLogger });
    expect(seqOf(await s.append([makeFinding(1), makeFinding(2)]))).toBe(1);
    expect(seqOf(await s.append([makeFinding(3)]))).toBe(2);
    expect(seqOf(await s.append([makeFinding(4)]))).toBe(3);
    await s.ack(1);
    expect(s.stats()).toMatchObject({ pending: 2, pendingBatches: 2, ackedSeq: 1, lastSeq: 3 });
    await s.close();

    const t = await Spool.open({ dir, logger: quietLogger });
    const again = await t.readAfter(0, 1 << 20);
    expect(again.map((b) => b.seq)).toEqual([2, 3]);
    expect(ids(again)).toEqual(['agent-a-f3', 'agent-a-f4']);
    expect(JSON.parse(again[0]?.text ?? '')).toMatchObject({ type: 'findings', seq: 2 });
    expect(seqOf(await t.append([makeFinding(5)]))).toBe(4);
    await t.ack(4);
    expect(await t.readAfter(0, 1 << 20)).toEqual([]);
    await t.close();

    // Everything acked: a third open starts numbering after the last ack and has nothing to send.
    const u = await Spool.open({ dir, logger: quietLogger });
    expect(u.stats()).toMatchObject({ pending: 0, lastSeq: 4 });
    expect(seqOf(await u.append([makeFinding(6)]))).toBe(5);
    await u.close();
  });

  it('readAfter honours its byte budget but always returns at least one batch', async () => {
    const s = await Spool.open({ dir: tempDir(), logger: quietLogger });
    for (let i = 0; i < 5; i++) await s.append([makeFinding(i)]);
    expect((await s.readAfter(0, 1)).map((b) => b.seq)).toEqual([1]);
    expect((await s.readAfter(2, 1 << 20)).map((b) => b.seq)).toEqual([3, 4, 5]);
    await s.close();
  });

  it('cuts a record torn mid-write at open, keeps its bytes aside and the batches before it', async () => {
    const dir = tempDir();
    const s = await Spool.open({ dir, logger: quietLogger });
    for (let i = 1; i <= 4; i++) seqOf(await s.append([makeFinding(i)]));
    await s.close();
    const seg = readdirSync(dir).find((n) => n.startsWith('seg-')) as string;
    const file = path.join(dir, seg);
    const full = statSync(file).size;
    // A crash in the middle of writing the 4th record: only part of it reached the disk.
    truncateSync(file, full - 40);

    const t = await Spool.open({ dir, logger: quietLogger });
    expect(t.stats()).toMatchObject({ repaired: 1, pending: 3, lastSeq: 3 });
    const cut = statSync(file).size;
    expect(cut).toBeLessThan(full - 40);
    const aside = readdirSync(path.join(dir, 'quarantine'));
    expect(aside).toEqual([`torn-${seg}-${cut}.bin`]);
    expect(statSync(path.join(dir, 'quarantine', aside[0] as string)).size).toBe(full - 40 - cut);
    // The cut tail does not confuse what comes next: numbering goes on and every record reads back intact.
    expect(seqOf(await t.append([makeFinding(5)]))).toBe(4);
    await t.close();
    const u = await Spool.open({ dir, logger: quietLogger });
    const back = await u.readAfter(0, 1 << 20);
    expect(back.every((b) => b.intact)).toBe(true);
    expect(ids(back)).toEqual(['agent-a-f1', 'agent-a-f2', 'agent-a-f3', 'agent-a-f5']);
    expect(u.stats().repaired).toBe(0);
    await u.close();
  });

  it('skips a corrupt record in the middle of a segment and keeps the intact ones after it', async () => {
    const dir = tempDir();
    const s = await Spool.open({ dir, logger: quietLogger });
    for (let i = 1; i <= 3; i++) seqOf(await s.append([makeFinding(i)]));
    await s.close();
    const file = path.join(dir, readdirSync(dir).find((n) => n.startsWith('seg-')) as string);
    const buf = readFileSync(file);
    // Flip one byte inside the second record's payload (bit rot): its CRC no longer matches.
    const second = buf.indexOf('agent-a-f2');
    buf[second] = (buf[second] ?? 0) ^ 0x20;
    writeFileSync(file, buf);

    const t = await Spool.open({ dir, logger: quietLogger });
    expect(t.stats()).toMatchObject({ repaired: 1, pending: 2, lastSeq: 3 });
    expect(ids(await t.readAfter(0, 1 << 20))).toEqual(['agent-a-f1', 'agent-a-f3']);
    await t.close();
  });

  it('converts a spool of the line-per-batch format once', async () => {
    const dir = tempDir();
    const line = (seq: number, i: number): string =>
      `${JSON.stringify({ type: 'findings', seq, findings: [makeFinding(i)] })}\n`;
    writeFileSync(path.join(dir, 'acked'), '1\n');
    writeFileSync(
      path.join(dir, 'seg-0000000000000001.jsonl'),
      line(1, 1) + line(2, 2) + line(3, 3) + '{"type":"findings","seq":4,"fin',
    );
    const s = await Spool.open({ dir, logger: quietLogger });
    expect(s.stats()).toMatchObject({ pending: 2, lastSeq: 3, ackedSeq: 1, repaired: 1 });
    expect(readdirSync(dir).some((n) => n.endsWith('.jsonl'))).toBe(false);
    expect(ids(await s.readAfter(0, 1 << 20))).toEqual(['agent-a-f2', 'agent-a-f3']);
    expect(seqOf(await s.append([makeFinding(4)]))).toBe(4);
    await s.close();
  });

  it('quarantines a batch: never read again (also after a reopen), the ack steps over it', async () => {
    const dir = tempDir();
    const s = await Spool.open({ dir, logger: quietLogger });
    for (let i = 1; i <= 4; i++) seqOf(await s.append([makeFinding(i), makeFinding(100 + i)]));
    await s.quarantine(2, 'refused');
    expect((await s.readAfter(0, 1 << 20)).map((b) => b.seq)).toEqual([1, 3, 4]);
    expect(s.stats()).toMatchObject({ quarantined: 2, quarantinedBatches: 1, pending: 6 });
    await s.close();

    const t = await Spool.open({ dir, logger: quietLogger });
    expect((await t.readAfter(0, 1 << 20)).map((b) => b.seq)).toEqual([1, 3, 4]);
    const kept = readFileSync(path.join(dir, 'quarantine', 'seq-0000000000000002-refused.bin'), 'utf8');
    expect(JSON.parse(kept)).toMatchObject({ type: 'findings', seq: 2 });
    // Acking 1 alone reaches 2, which is gone: the cumulative ack covers it, so 3 and 4 are all that wait.
    await t.ack(1);
    expect(t.ackedSeq).toBe(2);
    await t.ack(4);
    expect(t.stats()).toMatchObject({ pending: 0, ackedSeq: 4 });
    await t.close();
  });

  it('drops the oldest unacked findings beyond its byte cap, counts and logs them', async () => {
    const dir = tempDir();
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (s: string) => void warnings.push(s) });
    const s = await Spool.open({ dir, maxBytes: 40_000, segmentBytes: 8_000, logger });
    const per = 5;
    for (let i = 0; i < 60; i++)
      seqOf(await s.append(Array.from({ length: per }, (_, k) => makeFinding(i * per + k))));
    const st = s.stats();
    expect(st.dropped).toBeGreaterThan(0);
    expect(st.dropped % per).toBe(0);
    expect(st.bytes).toBeLessThanOrEqual(40_000);
    const onDisk = readdirSync(dir)
      .filter((n) => n.startsWith('seg-'))
      .reduce((a, n) => a + statSync(path.join(dir, n)).size, 0);
    expect(onDisk).toBe(st.bytes);
    const left = await s.readAfter(0, 1 << 30);
    // What is left is the newest, contiguous, and together with the drops accounts for every finding.
    expect(left[left.length - 1]?.seq).toBe(60);
    expect(left.length * per + st.dropped).toBe(60 * per);
    expect(left.map((b) => b.seq)).toEqual(
      Array.from({ length: left.length }, (_, k) => 61 - left.length + k),
    );
    expect(warnings.some((w) => w.includes('oldest unacked findings dropped'))).toBe(true);
    await s.close();
  });

  it('under stop-reading refuses a batch that does not fit, drops nothing, and takes it once acks free room', async () => {
    const dir = tempDir();
    const s = await Spool.open({
      dir,
      maxBytes: 40_000,
      segmentBytes: 8_000,
      whenFull: 'stop-reading',
      logger: quietLogger,
    });
    let stored = 0;
    let refusedAt = -1;
    for (let i = 0; i < 60; i++) {
      const r = await s.append(Array.from({ length: 5 }, (_, k) => makeFinding(i * 5 + k)));
      if (!r.ok) {
        expect(r.why).toBe('full');
        refusedAt = i;
        break;
      }
      stored++;
    }
    expect(refusedAt).toBeGreaterThan(0);
    expect(s.stats()).toMatchObject({ dropped: 0, pending: stored * 5, lastSeq: stored });
    await s.ack(stored);
    expect(seqOf(await s.append([makeFinding(999)]))).toBe(stored + 1);
    await s.close();
  });

  it('matches a model under random appends, acks and reopens', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('append' as const), n: fc.integer({ min: 0, max: 4 }) }),
            fc.record({ op: fc.constant('ack' as const), back: fc.integer({ min: 0, max: 3 }) }),
            fc.record({ op: fc.constant('reopen' as const) }),
          ),
          { maxLength: 25 },
        ),
        async (ops) => {
          const dir = tempDir();
          let s = await Spool.open({ dir, segmentBytes: 4096, logger: quietLogger });
          const model = new Map<number, number>();
          let acked = 0;
          let next = 0;
          for (const o of ops) {
            if (o.op === 'append') {
              const seq = seqOf(await s.append(Array.from({ length: o.n }, () => makeFinding(next++))));
              model.set(seq, o.n);
            } else if (o.op === 'ack') {
              const to = Math.max(0, s.lastSeq - o.back);
              await s.ack(to);
              acked = Math.max(acked, to);
            } else {
              await s.close();
              s = await Spool.open({ dir, segmentBytes: 4096, logger: quietLogger });
            }
          }
          const want = [...model.keys()].filter((k) => k > acked).sort((a, b) => a - b);
          expect((await s.readAfter(0, 1 << 30)).map((b) => b.seq)).toEqual(want);
          expect(s.stats().pending).toBe(want.reduce((a, k) => a + (model.get(k) ?? 0), 0));
          await s.close();
        },
      ),
      { seed: 42, numRuns: 40 },
    );
  });
});
