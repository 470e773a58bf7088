// The collector killed with SIGKILL mid-stream and restarted on the same store: every finding stored exactly once.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openTestAgent } from '../helpers/collector.js';
import { makeFinding, spawnTs, stopChild, tempDir, waitFor, writeTokens, type Child } from './helpers.js';

const RUN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'run-collector.ts');
let child: Child | null = null;

afterEach(async () => {
  await stopChild(child, 'SIGKILL');
});

describe('collector crash', () => {
  it('loses and doubles nothing when SIGKILLed mid-stream and restarted', async () => {
    const dir = tempDir();
    const db = path.join(dir, 'ww.db');
    const opts = { db, tokensFile: writeTokens(dir) };
    child = spawnTs(RUN, [JSON.stringify({ ...opts, listen: '127.0.0.1:0' })]);
    const { wsUrl, port } = (await child.first) as { wsUrl: string; port: number };

    const t = await openTestAgent(wsUrl, {
      batchMax: 10,
      windowBatches: 4,
      backoffMinMs: 20,
      backoffMaxMs: 200,
    });
    const n = 600;
    for (let i = 0; i < n; i++) t.send(makeFinding(i));
    await t.flush();
    await waitFor(() => t.stats().ackedSeq >= 10, 'first acks');
    child.proc.kill('SIGKILL');
    await child.exited;
    const atKill = t.stats();
    expect(atKill.ackedSeq).toBeLessThan(atKill.lastSeq);
    await waitFor(() => !t.stats().connected, 'transport noticing the loss');

    child = spawnTs(RUN, [JSON.stringify({ ...opts, listen: `127.0.0.1:${port}` })]);
    await child.first;
    await t.drain();
    expect(t.stats().connects).toBeGreaterThanOrEqual(2);
    await t.close();
    await stopChild(child);

    const d = new Database(db, { readonly: true });
    const rows = d.prepare('SELECT id FROM findings').all() as Array<{ id: string }>;
    d.close();
    expect(rows.length).toBe(n);
    expect(new Set(rows.map((r) => r.id))).toEqual(
      new Set(Array.from({ length: n }, (_, i) => `agent-a-f${i}`)),
    );
  });
});
