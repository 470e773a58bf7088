// Disk spool: append/ack/resend across reopen, torn-tail repair, byte cap with counted oldest-first drops.
import { appendFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Spool } from '../../agent/transport/spool.js';
import { makeFinding, quietLogger, tempDir } from '../collector/helpers.js';

function ids(batches: Array<{ text: string }>): string[] {
  return batches.flatMap((b) =>
    (JSON.parse(b.text) as { findings: Array<{ id: string }> }).findings.map((f) => f.id),
  );
}

describe('spool', () => {
  it('resends exactly the unacked batches after a reopen, and keeps numbering', async () => {
    const dir = tempDir();
    const s = await Spool.open({ dir, logger: quietLogger });
    expect(await s.append([makeFinding(1), makeFinding(2)])).toBe(1);
    expect(await s.append([makeFinding(3)])).toBe(2);
    expect(await s.append([makeFinding(4)])).toBe(3);
    await s.ack(1);
    expect(s.stats()).toMatchObject({ pending: 2, pendingBatches: 2, ackedSeq: 1, lastSeq: 3 });
    await s.close();

    const t = await Spool.open({ dir, logger: quietLogger });
    const again = await t.readAfter(0, 1 << 20);
    expect(again.map((b) => b.seq)).toEqual([2, 3]);
    expect(ids(again)).toEqual(['agent-a-f3', 'agent-a-f4']);
    expect(JSON.parse(again[0]?.text ?? '')).toMatchObject({ type: 'findings', seq: 2 });
    expect(await t.append([makeFinding(5)])).toBe(4);
    await t.ack(4);
    expect(await t.readAfter(0, 1 << 20)).toEqual([]);
    await t.close();

    // Everything acked: a third open starts numbering after the last ack and has nothing to send.
    const u = await Spool.open({ dir, logger: quietLogger });
    expect(u.stats()).toMatchObject({ pending: 0, lastSeq: 4 });
    expect(await u.append([makeFinding(6)])).toBe(5);
    await u.close();
  });

  it('readAfter honours its byte budget but always returns at least one batch', async () => {
    const s = await Spool.open({ dir: tempDir(), logger: quietLogger });
    for (let i = 0; i < 5; i++) await s.append([makeFinding(i)]);
    expect((await s.readAfter(0, 1)).map((b) => b.seq)).toEqual([1]);
    expect((await s.readAfter(2, 1 << 20)).map((b) => b.seq)).toEqual([3, 4, 5]);
    await s.close();
  });

  it('truncates a torn last line after a crash and keeps the batches before it', async () => {
    const dir = tempDir();
    const s = await Spool.open({ dir, logger: quietLogger });
    for (let i = 1; i <= 3; i++) await s.append([makeFinding(i)]);
    await s.close();
    const seg = readdirSync(dir).find((n) => n.startsWith('seg-')) as string;
    const file = path.join(dir, seg);
    const goodSize = statSync(file).size;
    appendFileSync(file, '{"type":"findings","seq":4,"findings":[{"kind":"fin');

    const t = await Spool.open({ dir, logger: quietLogger });
    expect(t.stats()).toMatchObject({ repaired: 1, pending: 3, lastSeq: 3 });
    expect(statSync(file).size).toBe(goodSize);
    expect(await t.append([makeFinding(4)])).toBe(4);
    await t.close();
    const u = await Spool.open({ dir, logger: quietLogger });
    expect(ids(await u.readAfter(0, 1 << 20))).toEqual([
      'agent-a-f1',
      'agent-a-f2',
      'agent-a-f3',
      'agent-a-f4',
    ]);
    expect(u.stats().repaired).toBe(0);
    for (const name of readdirSync(dir).filter((n) => n.startsWith('seg-'))) {
      for (const line of readFileSync(path.join(dir, name), 'utf8').split('\n').filter(Boolean))
        JSON.parse(line);
    }
    await u.close();
  });

  it('drops the oldest unacked findings beyond its byte cap, counts and logs them', async () => {
    const dir = tempDir();
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (s: string) => void warnings.push(s) });
    const s = await Spool.open({ dir, maxBytes: 40_000, segmentBytes: 8_000, logger });
    const per = 5;
    for (let i = 0; i < 60; i++)
      await s.append(Array.from({ length: per }, (_, k) => makeFinding(i * per + k)));
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
    expect(warnings.some((w) => w.includes('byte cap'))).toBe(true);
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
              const seq = await s.append(Array.from({ length: o.n }, () => makeFinding(next++)));
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
