// The PostgreSQL server going away under a running collector (issue 14.4): batches are not acked while it is down,
// the agent keeps them in its spool and resends once it is back, and every finding is stored exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningCollector } from '../../collector/main.js';
import { openTestAgent, startTestCollector } from '../helpers/collector.js';
import { RUN_POSTGRES, startPostgres, type PgCluster } from '../helpers/postgres.js';
import { makeFinding, tempDir, waitFor } from './helpers.js';

let cluster: PgCluster | null = null;
let col: RunningCollector | null = null;

describe.runIf(RUN_POSTGRES)('collector on PostgreSQL, database outage', () => {
  beforeAll(async () => {
    cluster = await startPostgres();
  });
  afterAll(async () => {
    await col?.close().catch(() => undefined);
    cluster?.stop();
  });

  it('acks nothing while the database is down and stores every finding once after it is back', async () => {
    const pgc = cluster as PgCluster;
    col = await startTestCollector({ db: await pgc.createDatabase(), dir: tempDir() });
    const c = col;
    const t = await openTestAgent(c.wsUrl, { backoffMinMs: 20, backoffMaxMs: 200 });
    for (let i = 0; i < 200; i++) t.send(makeFinding(i));
    await t.drain();
    expect(await c.store.countFindings()).toBe(200);

    pgc.pause();
    for (let i = 200; i < 400; i++) t.send(makeFinding(i));
    await t.flush();
    // Nothing can be acked: the spool still holds the second half after the collector has tried to store it.
    await waitFor(() => !t.stats().connected, 'the collector closing the agent after a store failure');
    expect(t.stats().spoolPending).toBe(200);

    pgc.resume();
    await t.drain();
    const ids = await c.store.findingIds();
    expect(ids.length).toBe(400);
    expect(new Set(ids).size).toBe(400);
    await t.close();
  });
});
