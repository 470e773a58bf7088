// Exposures (issue 9): standing conditions reported once then updated; stored per (agent, device, rule) with
// widened times and summed counts, each report id once; kept out of the alert list and alert metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../agent/wire/finding.js';
import type { RunningCollector } from '../../collector/main.js';
import type { Exposure, StoredDevice } from '../../collector/store.js';
import { openTestAgent, startTestCollector } from '../helpers/collector.js';
import { storeBackends } from '../helpers/postgres.js';
import { TOKENS, makeFinding, tempDir, waitFor } from './helpers.js';

let col: RunningCollector;

/** An exposure report of pump-7; `peer: null` leaves the peer out. */
function exposure(
  id: string,
  over: Omit<Partial<Finding>, 'peer'> & { peer?: Finding['peer'] | null } = {},
  ev: Record<string, unknown> = {},
): Finding {
  const { peer = { ip: '10.20.60.2', port: 1883 }, ...rest } = over;
  const f = makeFinding(0, 'agent-a', {
    id,
    class: 'exposure',
    rule: 'mqtt.cleartext-password',
    severity: 'high',
    title: 'MQTT password in cleartext',
    device: { ip: '10.20.30.17', mac: '00:1a:2b:3c:4d:5e', name: 'pump-7' },
    evidence: { username_present: true, ...ev },
    ...rest,
  });
  if (peer === null) delete f.peer;
  else f.peer = peer;
  return f;
}

async function get<T>(p: string): Promise<T> {
  const r = await fetch(`${col.url}${p}`, { headers: { authorization: `Bearer ${TOKENS.read}` } });
  expect(r.status).toBe(200);
  return (await r.json()) as T;
}

// Folding, the API and the metrics of exposures on each store.
const B = storeBackends();
beforeAll(() => B.setup());
afterAll(() => B.teardown());

describe.each(B.backends)('exposures on $name', (backend) => {
  beforeAll(async () => {
    const dir = tempDir();
    col = await startTestCollector({ dir, db: await backend.fresh(dir) });
    const t = await openTestAgent(col.wsUrl);
    t.send(
      exposure('x1', { count: 3 }, { first_seen: '2026-11-28T10:00:00Z', last_seen: '2026-11-28T10:30:00Z' }),
    );
    t.send(
      exposure('x2', { count: 5 }, { first_seen: '2026-11-28T10:30:00Z', last_seen: '2026-11-29T09:00:00Z' }),
    );
    // A resend of x2 is stored once: its count is not added again.
    t.send(
      exposure('x2', { count: 5 }, { first_seen: '2026-11-28T10:30:00Z', last_seen: '2026-11-29T09:00:00Z' }),
    );
    // Another peer of the same device and rule is the same exposure (it is the device's); another agent's is not (below).
    t.send(exposure('x3', { peer: { ip: '10.20.60.3', port: 1883 }, severity: 'medium' }));
    t.send(exposure('x4', { rule: 'mqtt.anonymous-login', severity: 'critical', peer: null }));
    for (let i = 0; i < 5; i++) t.send(makeFinding(i));
    await t.drain();
    await t.close();
    const b = await openTestAgent(col.wsUrl, { agent: 'agent-b', token: TOKENS.agentB });
    b.send(exposure('x1', { agent: 'agent-b', count: 2 }));
    await b.drain();
    await b.close();
    await waitFor(async () => (await col.store.countFindings()) === 10, 'all stored');
  });

  afterAll(async () => {
    await col.close();
  });

  it('aggregates reports per (agent, device, rule) whatever the peer: widest time range, counts summed once per id', async () => {
    const body = await get<{ exposures: Exposure[]; next: string | null }>(
      '/api/exposures?agent=agent-a&rule=mqtt.cleartext-password',
    );
    expect(body.exposures.length).toBe(1);
    // x3 (another peer, reported at 10:00 without a window) is folded in; the latest report (x2) gives severity.
    expect(body.exposures[0]).toMatchObject({
      agent: 'agent-a',
      rule: 'mqtt.cleartext-password',
      severity: 'high',
      first_seen: '2026-11-28T10:00:00.000000Z',
      last_seen: '2026-11-29T09:00:00.000000Z',
      count: 9,
      finding: 'x2',
      device: { ip: '10.20.30.17', name: 'pump-7' },
    });
  });

  it('lists exposures with filters and paging, and keeps them out of /api/findings unless asked', async () => {
    const all = await get<{ exposures: Exposure[] }>('/api/exposures');
    expect(all.exposures.length).toBe(3);
    expect(
      (await get<{ exposures: Exposure[] }>('/api/exposures?severity=critical')).exposures.map((e) => e.rule),
    ).toEqual(['mqtt.anonymous-login']);
    expect((await get<{ exposures: Exposure[] }>('/api/exposures?agent=agent-b')).exposures.length).toBe(1);
    expect((await get<{ exposures: Exposure[] }>('/api/exposures?device=pump-7')).exposures.length).toBe(3);
    expect((await get<{ exposures: Exposure[] }>('/api/exposures?device=10.9.9.9')).exposures.length).toBe(0);
    const seen: Exposure[] = [];
    let cursor: string | null = null;
    do {
      const page: { exposures: Exposure[]; next: string | null } = await get(
        `/api/exposures?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      seen.push(...page.exposures);
      cursor = page.next;
    } while (cursor !== null && seen.length < 10);
    expect(seen.length).toBe(3);
    expect(new Set(seen.map((e) => `${e.agent}/${e.rule}`)).size).toBe(3);

    const alerts = await get<{ findings: Finding[] }>('/api/findings?limit=1000');
    expect(alerts.findings.length).toBe(5);
    expect(alerts.findings.every((f) => f.class === undefined)).toBe(true);
    const ex = await get<{ findings: Finding[] }>('/api/findings?limit=1000&class=exposure');
    expect(ex.findings.map((f) => f.id).sort()).toEqual(['x1', 'x1', 'x2', 'x3', 'x4']);
    expect((await get<{ findings: Finding[] }>('/api/findings?limit=1000&class=all')).findings.length).toBe(
      10,
    );
    const bad = await fetch(`${col.url}/api/findings?class=incident`, {
      headers: { authorization: `Bearer ${TOKENS.read}` },
    });
    expect(bad.status).toBe(400);
  });

  it('shows exposures inside their device in /api/devices', async () => {
    const t = await openTestAgent(col.wsUrl);
    t.sendDevices([
      { id: '00:1a:2b:3c:4d:5e', ip: '10.20.30.17', protocols: ['mqtt'] },
      { id: '10.20.30.99', ip: '10.20.30.99' },
    ]);
    await waitFor(async () => (await col.store.countDevices()) === 2, 'devices');
    await t.close();
    const { devices } = await get<{ devices: StoredDevice[] }>('/api/devices');
    const pump = devices.find((d) => d.id === '00:1a:2b:3c:4d:5e');
    expect(pump?.exposures?.length).toBe(3);
    expect(pump?.exposures_truncated).toBeUndefined();
    expect(devices.find((d) => d.id === '10.20.30.99')?.exposures).toEqual([]);
  });

  it('exports wardwatch_exposures_open and counts only alerts as findings', async () => {
    const m = await (await fetch(`${col.url}/metrics`)).text();
    expect(m).toMatch(/^wardwatch_exposures_open\{severity="high"\} 2$/m);
    expect(m).toMatch(/^wardwatch_exposures_open\{severity="medium"\} 0$/m);
    expect(m).toMatch(/^wardwatch_exposures_open\{severity="critical"\} 1$/m);
    expect(m).toMatch(/^wardwatch_exposures_open\{severity="info"\} 0$/m);
    expect(m).not.toMatch(/wardwatch_findings_total\{rule="mqtt\./);
    expect(m).not.toMatch(/wardwatch_device_findings_total\{device="pump-7"/);
    const total = [...m.matchAll(/^wardwatch_findings_total\{[^}]*agent="agent-a"\} (\d+)$/gm)].reduce(
      (s, x) => s + Number(x[1]),
      0,
    );
    expect(total).toBe(5);
  });

  it("counts an engine summary (evidence.repeat_of) without counting its window's first report twice", async () => {
    const s = await backend.open(await backend.fresh(tempDir()));
    const first = exposure('w1', { count: 1, rule: 'mqtt.anonymous-login', peer: null });
    // The engine's window summary: count is the whole window (first report included).
    const summary = exposure(
      'w1-summary',
      { count: 5, rule: 'mqtt.anonymous-login', peer: null },
      {
        first_seen: first.ts,
        last_seen: '2026-11-28T10:59:00.000000Z',
        repeat_of: 'w1',
      },
    );
    await s.storeBatch('agent-a', 1, [first]);
    await s.storeBatch('agent-a', 2, [summary, summary]);
    // The next hour's restatement counts from one again.
    await s.storeBatch('agent-a', 3, [
      exposure('w2', { count: 1, rule: 'mqtt.anonymous-login', peer: null }),
    ]);
    const [e] = (await s.queryExposures({ rule: 'mqtt.anonymous-login' })).exposures;
    expect(e).toMatchObject({ count: 6, first_seen: first.ts, last_seen: '2026-11-28T10:59:00.000000Z' });
    await s.close();
  });

  it('retention by age closes exposures not reported within the period', async () => {
    expect((await col.store.exposureCounts()).high).toBe(2);
    await col.store.applyRetention({ maxAgeSeconds: 3600 }, Date.now() + 3601_000);
    expect(Object.values(await col.store.exposureCounts()).reduce((a, b) => a + b, 0)).toBe(0);
  });
});
