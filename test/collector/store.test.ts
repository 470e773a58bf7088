// The Store contract on both backends (issue 14.4): SQLite and PostgreSQL must keep the same semantics — findings
// exactly once by (agent, id), exposures folded, devices merged and capped, triage transitions audited, baselines
// versioned, retention and the archive's queries — and PostgreSQL must keep them when two collectors share it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import pg from 'pg';
import type { Finding } from '../../agent/wire/finding.js';
import type { DeviceBaseline } from '../../agent/wire/baseline.js';
import type { DeviceRecord } from '../../agent/wire/messages.js';
import net from 'node:net';
import { UserError } from '../../agent/wire/errors.js';
import {
  PgStore,
  TransitionError,
  BadQueryError,
  isPostgresUrl,
  openStore,
  type Store,
} from '../../collector/store.js';
import { PG_MIGRATIONS_DIR, jsonText, migrate, readMigrations } from '../../collector/store-pg.js';
import { storeBackends } from '../helpers/postgres.js';
import { makeFinding, tempDir } from './helpers.js';

const B = storeBackends();
beforeAll(() => B.setup());
afterAll(() => B.teardown());

const at = (s: number): string => new Date(Date.UTC(2026, 10, 28, 10, 0, s)).toISOString();

function alert(id: string, over: Partial<Finding> = {}): Finding {
  return makeFinding(1, 'agent-a', { id, class: 'alert', incident: id, ...over });
}

function exposure(id: string, over: Partial<Finding> = {}, ev: Record<string, unknown> = {}): Finding {
  const f = makeFinding(0, 'agent-a', {
    id,
    class: 'exposure',
    rule: 'mqtt.anonymous-login',
    severity: 'high',
    device: { ip: '10.20.30.17', mac: '00:1a:2b:3c:4d:5e', name: 'pump-7' },
    evidence: { ...ev },
    ...over,
  });
  delete f.peer;
  return f;
}

function device(i: number, over: Partial<DeviceRecord> = {}): DeviceRecord {
  return {
    id: `02:00:00:00:00:${i.toString(16).padStart(2, '0')}`,
    ip: `10.9.0.${i}`,
    mac: `02:00:00:00:00:${i.toString(16).padStart(2, '0')}`,
    first_seen: at(i % 50),
    last_seen: at((i % 50) + 1),
    protocols: ['hl7'],
    ...over,
  } as DeviceRecord;
}

function baseline(ip: string, peers: string[] = []): DeviceBaseline {
  return {
    ip,
    macs: [],
    peers: peers.map((p) => ({ address: p, port: 2575, protocol: 'hl7', role: 'client' as const })),
    volume: {
      hours: 1,
      active_hours: [],
      messages_per_hour: { min: 0, max: 1 },
      bytes_per_hour: { min: 0, max: 1 },
      rejects_per_hour: { min: 0, max: 0 },
      naks_per_hour: { min: 0, max: 0 },
    },
  } as unknown as DeviceBaseline;
}

describe.each(B.backends)('store on $name', (backend) => {
  /** A fresh empty store (and its --db value, to open a second "collector" on the same database). */
  async function fresh(): Promise<{ store: Store; db: string }> {
    const db = await backend.fresh(tempDir('ww-store-'));
    return { store: await backend.open(db), db };
  }

  it('stores each (agent, id) once: repeats in a batch, resends, and another agent owning the same id', async () => {
    const { store } = await fresh();
    const a = [alert('f1'), alert('f2'), alert('f1')];
    expect((await store.storeBatch('agent-a', 1, a)).map((f) => f.id)).toEqual(['f1', 'f2']);
    expect(await store.storeBatch('agent-a', 2, [alert('f2'), alert('f3')])).toEqual([alert('f3')]);
    expect(await store.storeBatch('agent-b', 1, [alert('f1', { agent: 'agent-b' })])).toHaveLength(1);
    expect(await store.countFindings()).toBe(4);
    expect(await store.findingIds()).toEqual(['f1', 'f2', 'f3', 'f1']);
    expect((await store.getFindings('f1')).map((f) => f.agent)).toEqual(['agent-a', 'agent-b']);
    expect(await store.getFindings('f1', 'agent-b')).toEqual([alert('f1', { agent: 'agent-b' })]);
    const agents = await store.listAgents(new Set(['agent-a']));
    expect(agents.map((r) => [r.name, r.last_seq, r.connected])).toEqual([
      ['agent-a', 2, true],
      ['agent-b', 1, false],
    ]);
    await store.close();
  });

  it('group commit: several batches in one call, each with its own new findings', async () => {
    const { store } = await fresh();
    const r = await store.storeBatches([
      { agent: 'agent-a', seq: 1, findings: [alert('g1'), alert('g2')] },
      { agent: 'agent-b', seq: 7, findings: [alert('g1', { agent: 'agent-b' })] },
      { agent: 'agent-a', seq: 2, findings: [alert('g2'), alert('g3')] },
    ]);
    expect(r.map((b) => b.map((f) => f.id))).toEqual([['g1', 'g2'], ['g1'], ['g3']]);
    await store.close();
  });

  it('exactly once whatever the interleaving of resends (property)', async () => {
    const { store } = await fresh();
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 8 }), { maxLength: 6 }),
        async (batches) => {
          const agent = `prop-${++round}`;
          const seen = new Set<number>();
          let fresh = 0;
          for (const [i, ids] of batches.entries()) {
            const fs = ids.map((n) => makeFinding(n, agent, { id: `p${n}` }));
            fresh += (await store.storeBatch(agent, i + 1, fs)).length;
            for (const n of ids) seen.add(n);
          }
          expect(fresh).toBe(seen.size);
          expect((await store.queryFindings({ agent, limit: 1000 })).findings.length).toBe(seen.size);
        },
      ),
      { numRuns: 15 },
    );
    await store.close();
  });

  it('queries findings newest first with filters and a cursor', async () => {
    const { store } = await fresh();
    const fs = Array.from({ length: 25 }, (_, i) =>
      makeFinding(i, 'agent-a', { id: `q${i}`, ts: at(i), severity: i % 2 ? 'high' : 'low' }),
    );
    fs.push(
      makeFinding(99, 'agent-a', {
        id: 'peer',
        ts: at(40),
        severity: 'low',
        peer: { ip: '198.51.100.7', port: 443 },
      }),
    );
    fs.push(exposure('ex', { ts: at(41) }));
    await store.storeBatch('agent-a', 1, fs);
    const p1 = await store.queryFindings({ limit: 10, severity: 'high', class: 'alert' });
    expect(p1.findings.map((f) => f.id)).toEqual([
      'q23',
      'q21',
      'q19',
      'q17',
      'q15',
      'q13',
      'q11',
      'q9',
      'q7',
      'q5',
    ]);
    const p2 = await store.queryFindings({
      limit: 10,
      severity: 'high',
      class: 'alert',
      cursor: p1.next ?? '',
    });
    expect(p2.findings.map((f) => f.id)).toEqual(['q3', 'q1']);
    expect(p2.next).toBeNull();
    expect((await store.queryFindings({ host: '198.51.100.7' })).findings.map((f) => f.id)).toEqual(['peer']);
    expect((await store.queryFindings({ class: 'exposure' })).findings.map((f) => f.id)).toEqual(['ex']);
    expect((await store.queryFindings({ since: at(20), until: at(22) })).findings.map((f) => f.id)).toEqual([
      'q21',
      'q20',
    ]);
    await expect(store.queryFindings({ cursor: '!!' })).rejects.toThrow(BadQueryError);
    await expect(store.queryFindings({ since: 'yesterday' })).rejects.toThrow(BadQueryError);
    await store.close();
  });

  it('folds exposures: times widen, counts add, a window summary does not count its first report twice', async () => {
    const { store } = await fresh();
    const first = exposure('w1', { count: 1 });
    const summary = exposure(
      'w1-summary',
      { count: 5 },
      {
        first_seen: first.ts,
        last_seen: '2026-11-28T10:59:00.000000Z',
        repeat_of: 'w1',
      },
    );
    await store.storeBatch('agent-a', 1, [first]);
    await store.storeBatch('agent-a', 2, [summary, summary]);
    await store.storeBatch('agent-a', 3, [exposure('w2', { count: 1, severity: 'critical' })]);
    const { exposures, next } = await store.queryExposures({ rule: 'mqtt.anonymous-login' });
    expect(next).toBeNull();
    expect(exposures).toHaveLength(1);
    expect(exposures[0]).toMatchObject({
      count: 6,
      first_seen: first.ts,
      last_seen: '2026-11-28T10:59:00.000000Z',
      finding: 'w1-summary',
    });
    expect(await store.exposureCounts()).toMatchObject({ high: 1, critical: 0 });
    await store.mergeDevices('agent-a', [device(17, { ip: '10.20.30.17', mac: '00:1a:2b:3c:4d:5e' })]);
    const d = await store.getDevice('10.20.30.17');
    expect(d?.exposures?.map((e) => e.rule)).toEqual(['mqtt.anonymous-login']);
    await store.close();
  });

  it("lists each device's newest exposures, at most 20, matched by IP or MAC", async () => {
    const { store } = await fresh();
    await store.mergeDevices('agent-a', [
      device(1, { ip: '10.20.30.17', mac: '00:1a:2b:3c:4d:5e' }),
      device(2, { ip: '10.9.9.9', mac: '02:00:00:00:09:09' }),
      device(3),
    ]);
    // 22 exposures of device 1 (rules r00..r21, newer each time), one of device 2 found by its MAC only.
    await store.storeBatch(
      'agent-a',
      1,
      Array.from({ length: 22 }, (_, i) =>
        exposure(`e${i}`, { rule: `r${String(i).padStart(2, '0')}`, ts: at(i) }),
      ),
    );
    await store.storeBatch('agent-a', 2, [
      exposure('m1', { rule: 'mac-only', device: { ip: '10.1.1.1', mac: '02:00:00:00:09:09' } }),
    ]);
    const [d1, d2, d3] = await store.listDevices();
    expect(d1?.exposures?.map((e) => e.rule)).toEqual(
      Array.from({ length: 20 }, (_, i) => `r${String(21 - i).padStart(2, '0')}`),
    );
    expect(d1?.exposures_truncated).toBe(true);
    expect(d2?.exposures?.map((e) => e.rule)).toEqual(['mac-only']);
    expect(d2?.exposures_truncated).toBeUndefined();
    expect(d3?.exposures).toEqual([]);
    await store.close();
  });

  it('merges devices across agents and caps what one agent adds', async () => {
    const { store } = await fresh();
    expect(await store.mergeDevices('agent-a', [device(1), device(2), device(3)], 2)).toEqual({
      merged: 2,
      refused: 1,
    });
    expect(await store.agentDeviceCount('agent-a')).toBe(2);
    // A known device still merges at the cap; another agent may add the refused one.
    expect(await store.mergeDevices('agent-a', [device(1, { protocols: ['dicom'] }), device(4)], 2)).toEqual({
      merged: 1,
      refused: 1,
    });
    const r = await store.flushPending(
      new Map([['agent-b', { ts: at(1), packets: 10 } as never]]),
      new Map([['agent-b', [device(3), device(1, { last_seen: at(59), name: 'pump' })]]]),
      10,
    );
    expect(r.get('agent-b')).toEqual({ merged: 2, refused: 0 });
    expect(await store.countDevices()).toBe(3);
    const d1 = await store.getDevice(device(1).ip ?? '');
    expect(d1).toMatchObject({ name: 'pump', protocols: ['dicom', 'hl7'], agents: ['agent-a', 'agent-b'] });
    expect(d1?.first_seen).toBe(at(1));
    expect(d1?.last_seen).toBe(at(59));
    expect((await store.getDevice(device(3).mac ?? ''))?.id).toBe(device(3).id);
    expect(await store.getDevice('10.255.255.255')).toBeNull();
    expect((await store.listDevices()).map((d) => d.id)).toEqual([device(1).id, device(2).id, device(3).id]);
    expect((await store.listAgents(new Set())).find((a) => a.name === 'agent-b')?.stats).toMatchObject({
      packets: 10,
    });
    await store.close();
  });

  it('moves incidents through the triage workflow, all or nothing, each change audited', async () => {
    const { store } = await fresh();
    await store.storeBatch('agent-a', 1, [
      alert('i1', { ts: at(1), severity: 'medium' }),
      alert('i1-u1', {
        ts: at(2),
        incident: 'i1',
        severity: 'high',
        evidence: { 'src.zone': 'icu' },
        count: 3,
      }),
      alert('i2', { ts: at(3), severity: 'critical', title: 'HL7 to the internet' }),
      exposure('x1'),
    ]);
    expect(await store.incidentOf('agent-a', 'i1-u1')).toBe('i1');
    expect(await store.incidentOf('agent-a', 'x1')).toBeNull();
    const r = await store.setStatus(
      [
        { agent: 'agent-a', id: 'i1-u1' },
        { agent: 'agent-a', id: 'i1' },
      ],
      'acknowledged',
      'nurse',
      'seen',
    );
    expect(r).toEqual({ changed: [{ agent: 'agent-a', incident: 'i1', from: 'open' }], unchanged: 0 });
    await expect(store.setStatus([{ agent: 'agent-a', id: 'nope' }], 'resolved', 'x', '')).rejects.toThrow(
      BadQueryError,
    );
    // All or nothing: i2 would move, i1 cannot go acknowledged → acknowledged... it is unchanged; resolved → ack fails.
    await store.setStatus([{ agent: 'agent-a', id: 'i1' }], 'resolved', 'nurse', 'fixed');
    await expect(
      store.setStatus(
        [
          { agent: 'agent-a', id: 'i2' },
          { agent: 'agent-a', id: 'i1' },
        ],
        'acknowledged',
        'x',
        '',
      ),
    ).rejects.toThrow(TransitionError);
    expect((await store.triageOf('agent-a', 'i2')).status).toBe('open');
    expect(await store.triageOf('agent-a', 'i1')).toMatchObject({
      status: 'resolved',
      by: 'nurse',
      comment: 'fixed',
    });
    const audit = await store.listAudit({ agent: 'agent-a', incident: 'i1' });
    expect(audit.audit.map((e) => [e.from, e.to, e.by])).toEqual([
      ['acknowledged', 'resolved', 'nurse'],
      ['open', 'acknowledged', 'nurse'],
    ]);
    const page = await store.listAudit({ limit: 1 });
    expect(page.next).toBe(page.audit[0]?.seq);
    // A new alert in the resolved incident opens it again; a closing summary does not.
    await store.storeBatch('agent-a', 2, [
      alert('i1-sum', { incident: 'i1', evidence: { incident_rules: ['a'] } }),
    ]);
    expect((await store.triageOf('agent-a', 'i1')).status).toBe('resolved');
    await store.storeBatch('agent-a', 3, [alert('i1-u2', { incident: 'i1', ts: at(9) })]);
    expect(await store.triageOf('agent-a', 'i1')).toMatchObject({ status: 'open', by: 'wardwatch' });
    expect((await store.listAudit({ incident: 'i1' })).audit[0]).toMatchObject({
      from: 'resolved',
      to: 'open',
      by: 'wardwatch',
    });
    await store.close();
  });

  it('groups, filters, sorts and counts incidents', async () => {
    const { store } = await fresh();
    await store.storeBatch('agent-a', 1, [
      alert('i1', { ts: at(1), severity: 'medium', rule: 'network.unlisted' }),
      alert('i1-u1', {
        ts: at(2),
        incident: 'i1',
        severity: 'high',
        rule: 'dicom.unknown-ae',
        evidence: { 'src.zone': 'icu' },
        count: 3,
      }),
      alert('i1-sum', {
        ts: at(3),
        incident: 'i1',
        severity: 'high',
        rule: 'network.unlisted',
        evidence: { incident_rules: ['x'] },
        count: 4,
      }),
      alert('i2', {
        ts: at(4),
        severity: 'critical',
        rule: 'hl7.internet',
        title: 'HL7 to the internet_100%',
      }),
      exposure('x1'),
    ]);
    const all = await store.queryIncidents({});
    expect(all.total).toBe(2);
    expect(all.incidents.map((i) => i.incident)).toEqual(['i2', 'i1']);
    expect(all.incidents[1]).toMatchObject({
      severity: 'high',
      findings: 3,
      occurrences: 4,
      first_seen: at(1).replace('Z', '000Z'),
      rules: ['dicom.unknown-ae', 'network.unlisted'],
      status: 'open',
    });
    expect(all.incidents[1]?.opener.id).toBe('i1');
    expect((await store.queryIncidents({ zone: 'icu' })).incidents.map((i) => i.incident)).toEqual(['i1']);
    expect((await store.queryIncidents({ q: '_100%' })).incidents.map((i) => i.incident)).toEqual(['i2']);
    expect((await store.queryIncidents({ q: 'DICOM.UNKNOWN' })).incidents.map((i) => i.incident)).toEqual([
      'i1',
    ]);
    // (Sorting by rule compares the incidents' rule lists as the backend joins them: SQLite in arrival order,
    // PostgreSQL sorted; single-rule incidents sort alike.)
    expect((await store.queryIncidents({ sort: 'findings' })).incidents.map((i) => i.incident)).toEqual([
      'i1',
      'i2',
    ]);
    expect((await store.queryIncidents({ limit: 1, offset: 1 })).incidents.map((i) => i.incident)).toEqual([
      'i1',
    ]);
    await store.setStatus([{ agent: 'agent-a', id: 'i2' }], 'acknowledged', 'x', '');
    expect(
      (await store.queryIncidents({ status: ['acknowledged'] })).incidents.map((i) => i.incident),
    ).toEqual(['i2']);
    const counts = await store.alertCounts();
    expect(counts.open).toMatchObject({ critical: 1, high: 1, medium: 0 });
    expect(counts.unacknowledged).toMatchObject({ critical: 0, high: 1 });
    expect(await store.incidentFindings('agent-a', 'i1')).toHaveLength(3);
    await store.close();
  });

  it('keeps rules announced by agents and the alert series to declare', async () => {
    const { store } = await fresh();
    const rule = {
      id: 'hl7.x',
      title: 'X',
      severity: 'high' as const,
      attack: ['T0846'],
      description: 'd',
      remediation: 'r',
    };
    await store.putRules('agent-a', [rule]);
    await store.putRules('agent-b', [
      { ...rule, title: 'X2' },
      { ...rule, id: 'mqtt.y', class: 'exposure' as const },
    ]);
    expect(await store.getRule('hl7.x')).toMatchObject({ title: 'X2', agents: ['agent-a', 'agent-b'] });
    expect((await store.listRules()).map((r) => r.id)).toEqual(['hl7.x', 'mqtt.y']);
    expect(await store.getRule('none')).toBeNull();
    await store.storeBatch('agent-c', 1, [makeFinding(1, 'agent-c', { rule: 'dicom.z', severity: 'low' })]);
    const series = (await store.alertSeries()).map((s) => `${s.rule}/${s.severity}/${s.agent}`).sort();
    expect(series).toEqual(['dicom.z/low/agent-c', 'hl7.x/high/agent-a', 'hl7.x/high/agent-b']);
    await store.close();
  });

  it('versions baselines: unchanged uploads make none, approvals notify, rejections are remembered', async () => {
    const { store } = await fresh();
    let approvals = 0;
    store.onApproved(() => approvals++);
    expect(
      await store.putBaselineVersion('10.0.0.1', 'learned', baseline('10.0.0.1'), 'agent-a', 'agent-a'),
    ).toEqual({ version: 1, created: true });
    expect(
      await store.putLearnedBaselines('agent-a', [baseline('10.0.0.1'), baseline('10.0.0.2', ['10.0.0.9'])]),
    ).toBe(1);
    expect(await store.putLearnedBaselines('agent-a', [baseline('10.0.0.1', ['10.0.0.8'])])).toBe(1);
    expect((await store.latestBaseline('10.0.0.1', 'learned'))?.version).toBe(2);
    expect(
      await store.putBaselineVersion('10.0.0.1', 'approved', baseline('10.0.0.1'), 'biomed', null),
    ).toEqual({ version: 1, created: true });
    await expectSoon(() => approvals === 1);
    const set = await store.approvedSet();
    expect(set.devices.map((d) => d.ip)).toEqual(['10.0.0.1']);
    expect(set.version).toBeGreaterThan(0);
    expect(await store.getBaseline('10.0.0.1')).toMatchObject({
      learned_version: 2,
      approved_version: 1,
      learned_by: 'agent-a',
      approved_by: 'biomed',
    });
    expect((await store.listBaselines()).map((b) => b.device)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect((await store.baselineVersions('10.0.0.1')).map((v) => `${v.kind}${v.version}`)).toEqual([
      'approved1',
      'learned2',
      'learned1',
    ]);
    await store.setRejected('10.0.0.1', ['peer:a', 'peer:b'], true, 'biomed');
    await store.setRejected('10.0.0.1', ['peer:a'], false, 'biomed');
    expect([...(await store.rejectedItems('10.0.0.1'))]).toEqual(['peer:b']);
    await store.auditBaseline('10.0.0.1', 'biomed', 'rejected', ['peer:b'], 'no');
    expect((await store.listAudit({ incident: 'baseline:10.0.0.1' })).audit[0]).toMatchObject({
      from: 'learned',
      to: 'rejected',
      comment: 'peer:b: no',
    });
    await store.close();
  });

  it('applies retention by count and by age, and pages the archive by arrival', async () => {
    const { store } = await fresh();
    await store.storeBatch(
      'agent-a',
      1,
      Array.from({ length: 12 }, (_, i) => makeFinding(i, 'agent-a')),
    );
    await store.storeBatch('agent-a', 2, [exposure('e1')]);
    const span = await store.receivedSpan(0);
    expect(span.since).toBe(13);
    expect(span.oldestUs).toBeGreaterThan(0);
    const p1 = await store.findingsReceived(0, Number.MAX_SAFE_INTEGER, null, 5);
    const p2 = await store.findingsReceived(0, Number.MAX_SAFE_INTEGER, p1[4] ?? null, 100);
    expect([...p1, ...p2].map((r) => (JSON.parse(r.json) as Finding).id)).toEqual(await store.findingIds());
    expect(await store.applyRetention({ maxCount: 10 })).toBe(3);
    expect(await store.countFindings()).toBe(10);
    expect(await store.applyRetention({ maxAgeSeconds: 60 }, Date.now() + 61_000)).toBe(10);
    expect(await store.exposureCounts()).toMatchObject({ high: 0 });
    await store.ping();
    await store.close();
  });

  it('two collectors on one database: concurrent resends stored once, one triage move, distinct versions', async () => {
    const { store: a, db } = await fresh();
    const b = await backend.open(db);
    const batch = Array.from({ length: 200 }, (_, i) => makeFinding(i, 'agent-a', { id: `c${i}` }));
    const [ra, rb] = await Promise.all([
      a.storeBatch('agent-a', 1, batch),
      b.storeBatch('agent-a', 1, batch),
    ]);
    expect(ra.length + rb.length).toBe(200);
    expect(new Set([...ra, ...rb].map((f) => f.id)).size).toBe(200);
    expect(await b.countFindings()).toBe(200);
    const item = [{ agent: 'agent-a', id: 'c1' }];
    const moves = await Promise.all([
      a.setStatus(item, 'acknowledged', 'x', ''),
      b.setStatus(item, 'acknowledged', 'y', ''),
    ]);
    expect(moves.map((m) => m.changed.length).sort()).toEqual([0, 1]);
    expect((await a.listAudit({ incident: (await a.incidentOf('agent-a', 'c1')) ?? '' })).audit).toHaveLength(
      1,
    );
    const v = await Promise.all([
      a.putBaselineVersion('10.0.0.5', 'approved', baseline('10.0.0.5', ['10.1.1.1']), 'x', null),
      b.putBaselineVersion('10.0.0.5', 'approved', baseline('10.0.0.5', ['10.1.1.2']), 'y', null),
    ]);
    expect(v.map((x) => x.version).sort()).toEqual([1, 2]);
    // Two agents on two collectors reporting the same devices: both merges land, neither overwrites the other.
    const ds = Array.from({ length: 50 }, (_, i) => device(i));
    await Promise.all([
      a.mergeDevices('agent-a', ds),
      b.mergeDevices(
        'agent-b',
        [...ds].reverse().map((d) => ({ ...d, name: `n-${d.id}` })),
      ),
    ]);
    const merged = await a.listDevices();
    expect(merged).toHaveLength(50);
    for (const d of merged) expect(d.agents).toEqual(['agent-a', 'agent-b']);
    await Promise.all([a.close(), b.close()]);
  });
});

// What only a shared database can do (several collectors on one PostgreSQL), and what only PostgreSQL refuses.
describe.each(B.backends.filter((b) => b.name === 'postgres'))('store on $name only', (backend) => {
  async function fresh(): Promise<{ store: Store; db: string }> {
    const db = await backend.fresh(tempDir('ww-store-'));
    return { store: await backend.open(db), db };
  }

  it('an approval stored by one collector reaches the others (LISTEN/NOTIFY)', async () => {
    const { store: a, db } = await fresh();
    const b = await backend.open(db);
    let heard = 0;
    b.onApproved(() => heard++);
    await a.putBaselineVersion('10.0.0.7', 'learned', baseline('10.0.0.7'), 'agent-a', 'agent-a');
    await a.putBaselineVersion('10.0.0.7', 'approved', baseline('10.0.0.7'), 'biomed', null);
    await expectSoon(() => heard === 1);
    expect((await b.approvedSet()).devices.map((d) => d.ip)).toEqual(['10.0.0.7']);
    await Promise.all([a.close(), b.close()]);
  });

  it('stores hostile text PostgreSQL cannot hold (NUL) instead of failing the batch', async () => {
    const { store } = await fresh();
    const f = makeFinding(1, 'agent-a', {
      id: 'n\u0000ul',
      device: { ip: '10.0.0.1', name: 'pump\u0000' },
      title: 'x\u0000',
    });
    expect(await store.storeBatch('agent-a', 1, [f])).toHaveLength(1);
    expect(await store.storeBatch('agent-a', 2, [f])).toHaveLength(0);
    // Stored with U+FFFD in its place, and every query reading the documents as jsonb still works.
    expect((await store.queryFindings({})).findings[0]?.title).toBe('x\uFFFD');
    expect((await store.queryFindings({ host: '10.20.60.2' })).findings).toHaveLength(1);
    expect((await store.queryIncidents({ zone: 'icu', q: 'x' })).total).toBe(0);
    expect((await store.queryIncidents({})).total).toBe(1);
    await store.mergeDevices('agent-a', [device(1, { name: 'pump\u0000' })]);
    expect((await store.getDevice(device(1).ip ?? ''))?.name).toBe('pump\uFFFD');
    await store.putRules('agent-a', [
      { id: 'r\u0000', title: 't\u0000', severity: 'low', attack: [], description: '', remediation: '' },
    ]);
    expect((await store.listRules()).map((r) => r.title)).toEqual(['t\uFFFD']);
    await store.close();
  });

  it('applies only the migrations a database lacks, in order, and uses the address indexes', async () => {
    const db = await backend.fresh(tempDir());
    const all = readMigrations(PG_MIGRATIONS_DIR);
    expect(all.map((m) => m.version)).toEqual(all.map((_, i) => i + 1));
    const pool = new pg.Pool({ connectionString: db });
    try {
      expect(await migrate(pool, all.slice(0, 1))).toEqual([1]);
      expect(await migrate(pool, all)).toEqual(all.slice(1).map((m) => m.version));
      expect(await migrate(pool, all)).toEqual([]);
      const store = await PgStore.open(db);
      await store.mergeDevices(
        'agent-a',
        Array.from({ length: 300 }, (_, i) => device(i % 250, { id: `d${i}` })),
      );
      // Whether the lookup's expressions match the indexes, whatever the planner prefers for 300 rows.
      const c = await pool.connect();
      await c.query('SET enable_seqscan = off');
      const plan = (
        await c.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN SELECT id FROM devices WHERE id = '10.9.0.7' OR (json::jsonb ->> 'ip') = '10.9.0.7'
             OR (json::jsonb ->> 'mac') = '10.9.0.7'`,
        )
      ).rows
        .map((r) => r['QUERY PLAN'])
        .join('\n');
      c.release();
      expect(plan).toMatch(/devices_doc_ip/);
      expect(plan).toMatch(/devices_doc_mac/);
      expect((await store.getDevice('10.9.0.7'))?.ip).toBe('10.9.0.7');
      await store.close();
    } finally {
      await pool.end();
    }
  });

  it('migrates once when two collectors start together, and refuses a newer schema', async () => {
    const db = await backend.fresh(tempDir());
    const [a, b] = await Promise.all([PgStore.open(db), PgStore.open(db)]);
    await Promise.all([a.close(), b.close()]);
    const pool = new pg.Pool({ connectionString: db });
    try {
      const rows = (await pool.query('SELECT version, name FROM schema_migrations ORDER BY version')).rows;
      expect(rows).toEqual(
        readMigrations(PG_MIGRATIONS_DIR).map((m) => ({ version: m.version, name: m.name })),
      );
      expect(await migrate(pool)).toEqual([]);
      await pool.query("INSERT INTO schema_migrations (version, name) VALUES (999, '999_future.sql')");
      await expect(PgStore.open(db)).rejects.toThrow(/newer than this collector understands/);
    } finally {
      await pool.end();
    }
  });
});

/** Waits for a listener that runs on a later tick (a NOTIFY round trip); fails after a generous bound, never times a result. */
async function expectSoon(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}

describe('openStore', () => {
  it('picks the backend by the value and reports an unreachable database as one line without its password', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const err = await openStore(`postgres://ww:s3cret@127.0.0.1:${port}/ww`).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(
      new RegExp(`^--db postgres://ww:\\*\\*\\*@127\\.0\\.0\\.1:${port}/ww: `),
    );
    expect((err as Error).message).not.toContain('s3cret');
    expect(isPostgresUrl('postgresql://h/db')).toBe(true);
    expect(isPostgresUrl('./postgres://not-a-url.db')).toBe(false);
    const s = await openStore(':memory:');
    expect(s.kind).toBe('sqlite');
    await s.close();
  });
});

describe('jsonText (PostgreSQL documents)', () => {
  it('is JSON of the same value with NUL as U+FFFD, and never holds the escape jsonb refuses', () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.array(fc.constantFrom('\u0000', '\\', 'u0000', '\\u0000', 'x')),
        (v, bits) => {
          const value = { v, s: bits.join('') };
          const t = jsonText(value);
          expect(t).not.toMatch(/(?<!\\)(?:\\\\)*\\u0000/);
          // Same as replacing NUL in the value itself (the text replacement must not touch an escaped backslash).
          expect(JSON.parse(t)).toEqual(
            JSON.parse(
              JSON.stringify(value, (_k, x: unknown) =>
                typeof x === 'string' ? x.replaceAll('\u0000', '\uFFFD') : x,
              ),
            ),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
