// Two collectors behind a load balancer sharing one PostgreSQL (issue 14.4), as real processes on loopback: an agent
// streams to collector A, A is killed mid-stream, the agent (same id, same spool) goes on with collector B and every
// finding is stored exactly once; an approval made on B reaches an agent connected to A (LISTEN/NOTIFY).
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentTransport } from '../../agent/transport/client.js';
import type { DeviceBaseline } from '../../agent/wire/baseline.js';
import { openStore, type Store } from '../../collector/store.js';
import { makeFinding, quietLogger, tempDir, waitFor } from '../collector/helpers.js';
import { RUN_POSTGRES, startPostgres, type PgCluster } from '../helpers/postgres.js';
import { BIN, startCollectorProcess, tracked, type CollectorProcess } from '../helpers/processes.js';

const AGENT_TOKEN = 'tok-agent-a-0001';
const AGENT_B_TOKEN = 'tok-agent-b-0002';
const ADMIN = 'tok-admin-0004';

const children = tracked();
let cluster: PgCluster | null = null;
let db = '';
let probe: Store | null = null;
let dir = '';

describe.skipIf(!existsSync(BIN) || !RUN_POSTGRES)('two collectors sharing one PostgreSQL', () => {
  beforeAll(async () => {
    cluster = await startPostgres();
    db = await cluster.createDatabase();
    dir = tempDir('ww-shared-pg-');
    writeFileSync(
      path.join(dir, 'tokens'),
      [`agent agent-a ${AGENT_TOKEN}`, `agent agent-b ${AGENT_B_TOKEN}`, `admin biomed ${ADMIN}`, ''].join(
        '\n',
      ),
    );
  });

  afterAll(async () => {
    children.killAll();
    await probe?.close();
    cluster?.stop();
  });

  let a: CollectorProcess;
  let b: CollectorProcess;

  it('an agent moving from a killed collector to another stores every finding exactly once', async () => {
    // Started together: their migrations meet the advisory lock, one applies, the other finds it done.
    [a, b] = await Promise.all([
      startCollectorProcess(dir, { tracker: children, db }),
      startCollectorProcess(dir, { tracker: children, db }),
    ]);
    probe = await openStore(db);
    const store = probe;
    const spoolDir = tempDir('ww-spool-');
    const n = 6000;
    const opts = {
      token: AGENT_TOKEN,
      agent: 'agent-a',
      version: 'test',
      spoolDir,
      logger: quietLogger,
      batchMax: 10,
      windowBatches: 2,
      batchDelayMs: 5,
      backoffMinMs: 20,
      backoffMaxMs: 200,
    };
    const t1 = await AgentTransport.open({ ...opts, url: a.ws });
    for (let i = 0; i < n; i++) t1.send(makeFinding(i, 'agent-a'));
    await t1.flush();
    await waitFor(async () => (await store.countFindings()) >= 100, 'some findings stored through A');
    a.proc.kill('SIGKILL');
    await new Promise((r) => a.proc.once('exit', r));
    const atKill = await store.countFindings();
    expect(atKill).toBeLessThan(n);
    await t1.close();

    // The same agent id and spool, now behind the other collector: only the spool brings the rest.
    const t2 = await AgentTransport.open({ ...opts, url: b.ws });
    expect(t2.stats().spoolPending).toBeGreaterThan(0);
    await t2.drain();
    await t2.close();
    const ids = await store.findingIds();
    expect(ids.length).toBe(n);
    expect(new Set(ids)).toEqual(new Set(Array.from({ length: n }, (_, i) => `agent-a-f${i}`)));
    const agents = await store.listAgents(new Set());
    expect(agents.find((r) => r.name === 'agent-a')?.last_seq).toBeGreaterThanOrEqual(n / 10);
  });

  it('an approval made on one collector reaches an agent connected to the other', async () => {
    const store = probe as Store;
    // A again (a fresh process on the same database); agent-b connects to it and holds the approved set.
    a = await startCollectorProcess(dir, { tracker: children, db });
    const heard: Array<{ version: number; devices: string[] }> = [];
    const t = await AgentTransport.open({
      url: a.ws,
      token: AGENT_B_TOKEN,
      agent: 'agent-b',
      version: 'test',
      spoolDir: tempDir('ww-spool-'),
      logger: quietLogger,
      onBaseline: (version, bl) => heard.push({ version, devices: bl.devices.map((d) => d.ip) }),
    });
    // The welcome's approved set (version 0: nothing approved yet) has arrived: what comes next is a push.
    await t.baselineSeen;
    expect(heard).toEqual([]);
    await store.mergeDevices('agent-b', [
      { id: '02:00:00:00:00:05', ip: '10.0.0.5', mac: '02:00:00:00:00:05' },
    ]);
    const doc: DeviceBaseline = {
      ip: '10.0.0.5',
      macs: ['02:00:00:00:00:05'],
      peers: [],
      volume: {
        hours: 1,
        active_hours: [],
        messages_per_hour: { min: 0, max: 1 },
        bytes_per_hour: { min: 0, max: 1 },
        rejects_per_hour: { min: 0, max: 0 },
        naks_per_hour: { min: 0, max: 0 },
      },
    };
    // Approved through B's API (a whole approved document, as a script would PUT it).
    const r = await fetch(`${b.url}/api/baselines/10.0.0.5`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify(doc),
    });
    expect(r.status, await r.clone().text()).toBe(200);
    await waitFor(() => heard.some((h) => h.devices.includes('10.0.0.5')), 'the approved set pushed by A');
    const last = heard.at(-1);
    expect(last?.devices).toEqual(['10.0.0.5']);
    expect(last?.version).toBe((await store.approvedSet()).version);
    await t.close();
  });
});
