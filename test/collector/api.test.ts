// HTTP API: auth by role, findings paging and filters, baselines (admin writes), retention, tokens file errors.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../agent/wire/finding.js';
import { parseListen, startCollector, type RunningCollector } from '../../collector/main.js';
import { Tokens } from '../../collector/tokens.js';
import { startTestCollector } from '../helpers/collector.js';
import { storeBackends } from '../helpers/postgres.js';
import { TOKENS, makeFinding, quietLogger, tempDir } from './helpers.js';
import { createBaselineChecker } from '../../agent/engine/baselines/baseline-check.js';

let col: RunningCollector;
const N = 53;

beforeAll(async () => {
  col = await startTestCollector();
  await col.store.storeBatch(
    'agent-a',
    1,
    Array.from({ length: N }, (_, i) => makeFinding(i)),
  );
  // Same timestamp as finding 0 from another agent: paging must still visit both exactly once.
  await col.store.storeBatch('agent-b', 1, [makeFinding(0, 'agent-b')]);
});

afterAll(async () => {
  await col.close();
});

async function get(p: string, token?: string): Promise<Response> {
  return fetch(`${col.url}${p}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
}

describe('http api', () => {
  it('leaves /metrics and /healthz open and needs a read or admin token for /api', async () => {
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/metrics')).status).toBe(200);
    const none = await get('/api/findings');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await get('/api/findings', 'nope-nope-nope')).status).toBe(401);
    // An agent's token is for ingest only.
    expect((await get('/api/findings', TOKENS.agentA)).status).toBe(401);
    expect((await get('/api/findings', TOKENS.read)).status).toBe(200);
    expect((await get('/api/findings', TOKENS.admin)).status).toBe(200);
    for (const p of ['/api/devices', '/api/agents', '/api/baselines'])
      expect((await get(p, TOKENS.read)).status).toBe(200);
    expect((await get('/api/nothing', TOKENS.read)).status).toBe(404);
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>wardwatch</title>');
  });

  it('pages through every finding exactly once, newest first', async () => {
    const seen: Finding[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await get(
        `/api/findings?limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        TOKENS.read,
      );
      const body = (await r.json()) as { findings: Finding[]; next: string | null };
      expect(body.findings.length).toBeLessThanOrEqual(7);
      seen.push(...body.findings);
      cursor = body.next;
      pages++;
    } while (cursor !== null && pages < 100);
    expect(seen.length).toBe(N + 1);
    expect(new Set(seen.map((f) => f.id)).size).toBe(N + 1);
    const ts = seen.map((f) => f.ts);
    expect([...ts].sort().reverse()).toEqual(ts);
    expect(pages).toBe(Math.ceil((N + 1) / 7));
  });

  it('filters by severity, rule, agent, device and time; refuses bad parameters', async () => {
    const q = async (qs: string): Promise<Finding[]> =>
      ((await (await get(`/api/findings?limit=1000&${qs}`, TOKENS.read)).json()) as { findings: Finding[] })
        .findings;
    const crit = await q('severity=high');
    expect(crit.length).toBeGreaterThan(0);
    expect(crit.every((f) => f.severity === 'high' || f.severity === 'critical')).toBe(true);
    expect((await q('rule=test.rule-1')).every((f) => f.rule === 'test.rule-1')).toBe(true);
    expect((await q('agent=agent-b')).map((f) => f.id)).toEqual(['agent-b-f0']);
    expect((await q('device=10.20.30.5')).map((f) => f.id).sort()).toEqual(['agent-a-f4']);
    // host= matches any host involved: the device as device= does, and the peer (issue 13), which device= does not.
    expect((await q('host=10.20.30.5')).map((f) => f.id).sort()).toEqual(['agent-a-f4']);
    expect(await q('device=10.20.60.2')).toEqual([]);
    const all = await q('');
    expect((await q('host=10.20.60.2')).map((f) => f.id).sort()).toEqual(all.map((f) => f.id).sort());
    const f10 = makeFinding(10).ts;
    const f20 = makeFinding(20).ts;
    const window = await q(`since=${f10}&until=${f20}`);
    expect(window.map((f) => f.id).sort()).toEqual(
      Array.from({ length: 10 }, (_, k) => `agent-a-f${10 + k}`).sort(),
    );
    expect((await get('/api/findings?severity=urgent', TOKENS.read)).status).toBe(400);
    expect((await get('/api/findings?limit=0', TOKENS.read)).status).toBe(400);
    expect((await get('/api/findings?since=yesterday', TOKENS.read)).status).toBe(400);
    expect((await get('/api/findings?cursor=%%%', TOKENS.read)).status).toBe(400);
  });

  it('lets an admin put a valid baseline of a known device and a reader only read it', async () => {
    const put = (token: string, body: string, dev = '10.20.60.5'): Promise<Response> =>
      fetch(`${col.url}/api/baselines/${encodeURIComponent(dev)}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body,
      });
    await col.store.mergeDevices('agent-a', [
      { id: '00:1a:2b:3c:4d:5e', ip: '10.20.60.5', mac: '00:1a:2b:3c:4d:5e' },
    ]);
    const approved = {
      ip: '10.20.60.5',
      macs: ['00:1a:2b:3c:4d:5e'],
      peers: [{ address: '10.20.60.2', port: 1883, protocol: 'mqtt', role: 'client' }],
      volume: { hours: 1 },
    };
    expect((await put(TOKENS.read, JSON.stringify(approved))).status).toBe(403);
    expect((await put(TOKENS.admin, '{not json')).status).toBe(400);
    // The old free-form PUT is gone: a document must follow the baseline schema and name a known device.
    const free = await put(TOKENS.admin, JSON.stringify({ peers: [{ ip: '10.20.60.2' }] }));
    expect(free.status).toBe(400);
    expect(((await free.json()) as { error: string }).error).toMatch(/not a valid baseline/);
    const unknown = await put(TOKENS.admin, JSON.stringify({ ...approved, ip: '10.99.0.1' }), '10.99.0.1');
    expect(unknown.status).toBe(404);
    const ok = await put(TOKENS.admin, JSON.stringify(approved));
    expect(ok.status).toBe(200);
    // Found by the device's MAC as well as its address.
    const row = (await (
      await get(`/api/baselines/${encodeURIComponent('00:1a:2b:3c:4d:5e')}`, TOKENS.read)
    ).json()) as Record<string, unknown>;
    expect(row).toMatchObject({ device: '10.20.60.5', approved_by: 'biomed', approved_version: 1 });
    expect((row.approved as { peers: unknown[] }).peers).toEqual(approved.peers);
    const list = (await (await get('/api/baselines', TOKENS.read)).json()) as { baselines: unknown[] };
    expect(list.baselines.length).toBe(1);
    // The schema lets a script leave MACs, peers and the volume (or part of it) out. It is stored whole — no hours, zero ranges —
    // because the set pushed to agents and the review read every range (a missing one used to fail every push).
    await col.store.mergeDevices('agent-a', [{ id: '10.20.60.6', ip: '10.20.60.6' }]);
    const bare = await put(TOKENS.admin, JSON.stringify({ ip: '10.20.60.6' }), '10.20.60.6');
    expect(bare.status).toBe(200);
    const zero = { min: 0, max: 0 };
    const pushed = (await col.store.approvedSet()).devices;
    expect(pushed.find((d) => d.ip === '10.20.60.6')?.volume).toEqual({
      hours: 0,
      active_hours: [],
      messages_per_hour: zero,
      bytes_per_hour: zero,
      rejects_per_hour: zero,
      naks_per_hour: zero,
    });
    expect(pushed.find((d) => d.ip === '10.20.60.6')).toMatchObject({ macs: [], peers: [] });
    // Every agent builds its checker from that set: it must be usable as pushed.
    expect(() =>
      createBaselineChecker({ version: 1, learned_from: '', learned_to: '', devices: pushed }),
    ).not.toThrow();
    expect(pushed.find((d) => d.ip === '10.20.60.5')?.volume).toMatchObject({
      hours: 1,
      bytes_per_hour: zero,
    });
  });

  it('lists agents with their last sequence', async () => {
    const body = (await (await get('/api/agents', TOKENS.read)).json()) as {
      agents: Array<{ name: string; last_seq: number; connected: boolean }>;
    };
    expect(body.agents.map((a) => a.name)).toEqual(['agent-a', 'agent-b']);
    expect(body.agents.every((a) => a.last_seq === 1 && !a.connected)).toBe(true);
  });
});

// Retention is the store's: both backends (SQLite and, when installed or in CI, PostgreSQL).
const B = storeBackends();
beforeAll(() => B.setup());
afterAll(() => B.teardown());

describe.each(B.backends)('retention on $name', (backend) => {
  it('keeps the newest by count and drops by age of arrival', async () => {
    const s = await backend.open(await backend.fresh(tempDir()));
    await s.storeBatch(
      'a',
      1,
      Array.from({ length: 20 }, (_, i) => makeFinding(i)),
    );
    expect(await s.applyRetention({ maxCount: 5 })).toBe(15);
    expect(await s.findingIds()).toEqual([
      'agent-a-f15',
      'agent-a-f16',
      'agent-a-f17',
      'agent-a-f18',
      'agent-a-f19',
    ]);
    expect(await s.applyRetention({ maxAgeSeconds: 3600 })).toBe(0);
    expect(await s.applyRetention({ maxAgeSeconds: 3600 }, Date.now() + 3601_000)).toBe(5);
    expect(await s.countFindings()).toBe(0);
    await s.close();
  });

  it('runs at start-up when configured', async () => {
    const dir = tempDir();
    const db = await backend.fresh(dir);
    const s = await backend.open(db);
    await s.storeBatch(
      'a',
      1,
      Array.from({ length: 10 }, (_, i) => makeFinding(i)),
    );
    await s.close();
    const c = await startTestCollector({ dir, db, retention: { maxCount: 3 } });
    expect(await c.store.countFindings()).toBe(3);
    expect(await (await fetch(`${c.url}/metrics`)).text()).toMatch(/^wardwatch_retention_deleted_total 7$/m);
    await c.close();
  });
});

describe('tokens file and listen address', () => {
  it('parses roles, names and comments', async () => {
    const t = Tokens.parse(
      '# c\nagent a1 tokentoken1\n  read r tokentoken2 # trailing\n\nadmin x tokentoken3\n',
      'f',
    );
    expect(t.lookup('tokentoken2')).toEqual({ role: 'read', name: 'r' });
    expect(t.checkAgent('a1', 'tokentoken1')).toBe(true);
    expect(t.checkAgent('a2', 'tokentoken1')).toBe(false);
    expect(t.checkAgent('r', 'tokentoken2')).toBe(false);
    expect(t.agentNames()).toEqual(['a1']);
  });

  it.each([
    ['agent a1', 'tokens:2: expected "ROLE NAME TOKEN"'],
    ['root a1 tokentoken9', 'tokens:2: unknown role'],
    ['agent a1 short', 'tokens:2: token shorter'],
    ['read r tokentoken1', 'tokens:2: token already used'],
    ['agent a1 tokentoken9', 'tokens:2: agent "a1" has two tokens'],
    ['agent a/b tokentoken9', 'tokens:2: bad name'],
  ])('a bad line %j is an error naming file and line', (line, msg) => {
    expect(() => Tokens.parse(`agent a1 tokentoken1\n${line}\n`, 'tokens')).toThrow(msg);
  });

  it('startCollector refuses a bad tokens file with file and line', async () => {
    const dir = tempDir();
    const f = path.join(dir, 'tok');
    writeFileSync(f, 'agent a1 tokentoken1\nbogus\n');
    await expect(
      startCollector({ listen: '127.0.0.1:0', db: ':memory:', tokensFile: f, logger: quietLogger }),
    ).rejects.toThrow(`${f}:2:`);
  });

  it('parses listen addresses', async () => {
    expect(parseListen('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseListen('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    // Issue 13: without an address the collector listens on loopback only.
    expect(parseListen(':8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListen('8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListen('0.0.0.0:8080')).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(() => parseListen('host:99999')).toThrow('--listen');
  });
});
