// The agent killed with SIGKILL mid-stream and restarted on the same spool: unacked batches resent, none lost or doubled.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Spool } from '../../agent/transport/spool.js';
import type { RunningCollector } from '../../collector/main.js';
import {
  TOKENS,
  quietLogger,
  spawnTs,
  stopChild,
  tempDir,
  waitFor,
  type Child,
} from '../collector/helpers.js';
import { startTestCollector } from '../helpers/collector.js';

const RUN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'run-agent.ts');
let col: RunningCollector;
let child: Child | null = null;

beforeAll(async () => {
  col = await startTestCollector();
});

afterEach(async () => {
  await stopChild(child, 'SIGKILL');
});

afterAll(async () => {
  await col.close();
});

describe('agent crash', () => {
  it('resends its spool after a SIGKILL and restart: nothing lost, nothing doubled', async () => {
    const spoolDir = tempDir('ww-spool-');
    // Enough that the kill lands mid-stream: 600 could all be acked within one 10 ms poll, and 6000 were, once,
    // while the whole suite loaded both cores (the kill came after the last ack).
    const n = 20000;
    const args = {
      url: col.wsUrl,
      token: TOKENS.agentA,
      agent: 'agent-a',
      spoolDir,
      batchMax: 10,
      windowBatches: 2,
    };
    child = spawnTs(RUN, [JSON.stringify({ ...args, count: n })]);
    await waitFor(() => child?.lines.some((l) => l.includes('"spooled"')) ?? false, 'findings spooled');
    await waitFor(async () => (await col.store.countFindings()) >= 100, 'some findings stored');
    child.proc.kill('SIGKILL');
    await child.exited;
    const atKill = await col.store.countFindings();
    expect(atKill).toBeLessThan(n);

    // Second run generates nothing: only the spool can bring the rest.
    child = spawnTs(RUN, [JSON.stringify({ ...args, count: 0 })]);
    const started = (await child.first) as { pending: number };
    expect(started.pending).toBeGreaterThan(0);
    expect(started.pending).toBeLessThanOrEqual(n - atKill + 2 * 10);
    expect(await child.exited).toBe(0);
    expect(child.lines.some((l) => l.includes('"drained"'))).toBe(true);

    const ids = await col.store.findingIds();
    expect(ids.length).toBe(n);
    expect(new Set(ids)).toEqual(new Set(Array.from({ length: n }, (_, i) => `agent-a-f${i}`)));

    // The spool the second run left behind is empty: a third run would have nothing to send.
    const after = await Spool.open({ dir: spoolDir, logger: quietLogger });
    expect(after.stats()).toMatchObject({ pending: 0, dropped: 0 });
    await after.close();
  });
});
