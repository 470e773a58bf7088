// Baseline review end to end inside the collector (issue 10): an agent's learned upload becomes versions (identical
// uploads do not), the review API diffs learned against approved, approves and rejects items (admin, audited,
// rejected items not proposed again), a deviation is approved in one click, and every approval is pushed to the agent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentTransport } from '../../agent/transport/client.js';
import type { Baseline, DeviceBaseline, ReviewItem } from '../../agent/wire/baseline.js';
import { parseAgentMessage, parseCollectorMessage } from '../../agent/wire/messages.js';
import type { RunningCollector } from '../../collector/main.js';
import { baselineMessages } from '../../collector/server.js';
import { openTestAgent, startTestCollector } from '../helpers/collector.js';
import { storeBackends } from '../helpers/postgres.js';
import { TOKENS, makeFinding, tempDir, waitFor } from './helpers.js';

const CT = '10.20.40.21';
const PEER_ID = `peers|client|10.20.40.10|104|dicom`;
const CT_SOP = '1.2.840.10008.5.1.4.1.1.2';
const MR_SOP = '1.2.840.10008.5.1.4.1.1.4';

function learnedCt(extraSop: string[] = []): DeviceBaseline {
  return {
    state: 'learning',
    since: '2026-11-28T10:00:02.000000Z',
    ip: CT,
    macs: ['00:1a:2b:3c:4d:5e'],
    peers: [{ address: '10.20.40.10', port: 104, protocol: 'dicom', role: 'client' }],
    dicom: {
      ae_titles: ['CT_WARD3'],
      ae_pairs: [{ calling: 'CT_WARD3', called: 'PACS_MAIN', peer: '10.20.40.10', role: 'client' }],
      sop_classes: [CT_SOP, MR_SOP, ...extraSop],
      commands: ['C-STORE-RQ'],
      move_destinations: [],
      implementations: [{ class_uid: '1.2.276.0.7230010.3.0.3.6.7', version: 'OFFIS_DCMTK_367' }],
    },
    volume: {
      hours: 2,
      active_hours: [10, 11],
      messages_per_hour: { min: 10, max: 40 },
      bytes_per_hour: { min: 1000, max: 9000 },
      rejects_per_hour: { min: 0, max: 0 },
      naks_per_hour: { min: 0, max: 0 },
    },
  };
}

const doc = (d: DeviceBaseline): Baseline => ({ version: 1, learned_from: '', learned_to: '', devices: [d] });

let col: RunningCollector;
let agent: AgentTransport;
const pushes: Array<{ version: number; baseline: Baseline }> = [];

// Versions, approvals and their push to agents on each store (PostgreSQL pushes through LISTEN/NOTIFY).
const B = storeBackends();
beforeAll(() => B.setup());
afterAll(() => B.teardown());

async function call(method: string, p: string, body?: unknown, token = TOKENS.admin): Promise<Response> {
  return fetch(`${col.url}${p}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

async function review(): Promise<{
  items: ReviewItem[];
  approved: DeviceBaseline | null;
  versions: unknown[];
}> {
  const r = await call('GET', `/api/baselines/${CT}`, undefined, TOKENS.read);
  expect(r.status).toBe(200);
  return (await r.json()) as { items: ReviewItem[]; approved: DeviceBaseline | null; versions: unknown[] };
}

const statusOf = (items: ReviewItem[], id: string): string | undefined =>
  items.find((i) => i.id === id)?.status;

describe.each(B.backends)('baseline review on $name', (backend) => {
  beforeAll(async () => {
    pushes.length = 0;
    const dir = tempDir();
    col = await startTestCollector({ dir, db: await backend.fresh(dir) });
    await col.store.mergeDevices('agent-a', [{ id: '00:1a:2b:3c:4d:5e', ip: CT, mac: '00:1a:2b:3c:4d:5e' }]);
    agent = await openTestAgent(col.wsUrl, {
      onBaseline: (version, baseline) => pushes.push({ version, baseline }),
    });
  });

  afterAll(async () => {
    await agent.close();
    await col.close();
  });

  it('keeps a version per changed upload and none for an identical one', async () => {
    agent.sendLearned(doc(learnedCt()));
    await waitFor(async () => (await col.store.latestBaseline(CT, 'learned')) !== null, 'the learned upload');
    // Same document again, then a changed one: one socket keeps their order, so when the second version is there
    // the identical upload has been judged.
    agent.sendLearned(doc(learnedCt()));
    agent.sendLearned(doc(learnedCt(['1.2.840.10008.5.1.4.1.1.7'])));
    await waitFor(
      async () => (await col.store.latestBaseline(CT, 'learned'))?.version === 2,
      'the changed upload',
    );
    const learned = (await col.store.baselineVersions(CT)).filter((v) => v.kind === 'learned');
    expect(learned.map((v) => v.version)).toEqual([2, 1]);
    expect(learned[0]?.agent).toBe('agent-a');
    const r = await review();
    expect(r.approved).toBeNull();
    expect(statusOf(r.items, PEER_ID)).toBe('new');
    expect(statusOf(r.items, `dicom.sop_classes|${MR_SOP}`)).toBe('new');
    expect(statusOf(r.items, 'volume')).toBe('new');
  });

  it('needs the admin role to approve or reject, and refuses unknown items and devices', async () => {
    expect(
      (await call('POST', `/api/baselines/${CT}/approve`, { items: [PEER_ID] }, TOKENS.read)).status,
    ).toBe(403);
    expect((await call('POST', `/api/baselines/${CT}/approve`, { items: ['peers|nothing'] })).status).toBe(
      400,
    );
    expect((await call('POST', `/api/baselines/${CT}/approve`, {})).status).toBe(400);
    expect((await call('POST', `/api/baselines/10.9.9.9/approve`, { all: true })).status).toBe(404);
    expect((await call('POST', `/api/baselines/${CT}/reject`, { all: true })).status).toBe(400);
  });

  it('approves one item, pushes the approved set to the agent and audits it', async () => {
    const before = pushes.length;
    const r = await call('POST', `/api/baselines/${CT}/approve`, { items: [PEER_ID], comment: 'PACS link' });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { items: ReviewItem[]; approved: DeviceBaseline };
    expect(statusOf(body.items, PEER_ID)).toBe('approved');
    expect(statusOf(body.items, `dicom.sop_classes|${CT_SOP}`)).toBe('new');
    expect(body.approved.state).toBe('enforced');
    expect(body.approved.peers).toEqual(learnedCt().peers);
    expect(body.approved.dicom).toBeUndefined();
    await waitFor(() => pushes.length > before, 'the push to the agent');
    const pushed = pushes[pushes.length - 1];
    expect(pushed?.baseline.devices.map((d) => d.ip)).toEqual([CT]);
    expect(pushed?.baseline.devices[0]?.peers).toEqual(learnedCt().peers);
    const audit = (await (
      await call('GET', `/api/audit?incident=${encodeURIComponent(`baseline:${CT}`)}`, undefined, TOKENS.read)
    ).json()) as { audit: Array<{ by: string; to: string; comment: string }> };
    expect(audit.audit).toEqual([
      expect.objectContaining({ by: 'biomed', to: 'approved', comment: `${PEER_ID}: PACS link` }),
    ]);
  });

  it('keeps rejected items out of "approve all" and does not propose them again', async () => {
    const mr = `dicom.sop_classes|${MR_SOP}`;
    expect((await call('POST', `/api/baselines/${CT}/reject`, { items: [mr] })).status).toBe(200);
    expect(statusOf((await review()).items, mr)).toBe('rejected');
    const all = await call('POST', `/api/baselines/${CT}/approve`, { all: true });
    expect(all.status).toBe(200);
    const r = await review();
    expect(r.approved?.dicom?.sop_classes).not.toContain(MR_SOP);
    expect(r.approved?.dicom?.sop_classes).toContain(CT_SOP);
    expect(r.approved?.volume.messages_per_hour).toEqual({ min: 10, max: 40 });
    expect(r.items.filter((i) => i.status === 'new')).toEqual([]);
    // The next upload still holds the class: rejected, not new.
    agent.sendLearned(doc(learnedCt(['1.2.840.10008.5.1.4.1.1.7', '1.2.840.10008.5.1.4.1.1.20'])));
    await waitFor(
      async () => (await col.store.latestBaseline(CT, 'learned'))?.version === 3,
      'the third upload',
    );
    const again = await review();
    expect(statusOf(again.items, mr)).toBe('rejected');
    expect(statusOf(again.items, 'dicom.sop_classes|1.2.840.10008.5.1.4.1.1.20')).toBe('new');
  });

  it('approves a baseline deviation into the baseline in one click', async () => {
    const sop = '1.2.840.10008.5.1.4.1.1.88.11';
    const f = makeFinding(900, 'agent-a', {
      rule: 'baseline.new-sop-class',
      proto: 'dicom',
      device: { ip: CT, mac: '00:1a:2b:3c:4d:5e' },
      evidence: { sop_class: sop },
    });
    await col.store.storeBatch('agent-a', 900, [f]);
    expect((await call('POST', `/api/findings/${f.id}/approve-baseline`, {}, TOKENS.read)).status).toBe(403);
    const r = await call('POST', `/api/findings/${f.id}/approve-baseline`, { agent: 'agent-a' });
    expect(r.status).toBe(200);
    expect((await review()).approved?.dicom?.sop_classes).toContain(sop);
    const other = makeFinding(901, 'agent-a', { rule: 'test.rule-1' });
    await col.store.storeBatch('agent-a', 901, [other]);
    expect((await call('POST', `/api/findings/${other.id}/approve-baseline`, {})).status).toBe(400);
  });
});

describe('baseline messages stay under the message cap', () => {
  const many = Array.from({ length: 2000 }, (_, i) => ({
    ...learnedCt(),
    ip: `10.20.${i >> 8}.${i & 255}`,
  }));

  it("splits an agent's upload into valid messages under its cap, each device once, a broken one left out", () => {
    const broken = { ...learnedCt(), ip: '10.9.9.9', peers: 'none' } as unknown as DeviceBaseline;
    const chunks = agent.learnedChunks({ ...doc(learnedCt()), devices: [...many, broken] });
    expect(chunks.length).toBeGreaterThan(1);
    const seen: string[] = [];
    for (const c of chunks) {
      expect(Buffer.byteLength(c)).toBeLessThanOrEqual(1024 * 1024);
      const m = parseAgentMessage(c);
      expect(m.ok).toBe(true);
      if (m.ok && m.value.type === 'baselines') seen.push(...m.value.devices.map((d) => d.ip));
    }
    expect(seen).toEqual(many.map((d) => d.ip));
  });

  it('splits the approved set into numbered parts an agent accepts', () => {
    const big = Array.from({ length: 3000 }, (_, i) => ({ ...many[0], ip: `10.21.${i >> 8}.${i & 255}` }));
    const texts = baselineMessages({ version: 7, devices: big as DeviceBaseline[] });
    expect(texts.length).toBeGreaterThan(1);
    const parts = texts.map((t) => {
      expect(Buffer.byteLength(t)).toBeLessThanOrEqual(1024 * 1024);
      const m = parseCollectorMessage(t);
      if (!m.ok || m.value.type !== 'baseline')
        throw new Error(`not a baseline message: ${m.ok ? '' : m.detail}`);
      return m.value;
    });
    expect(parts.map((p) => [p.version, p.part, p.parts])).toEqual(texts.map((_, i) => [7, i, texts.length]));
    expect(parts.flatMap((p) => p.devices).length).toBe(big.length);
  });
});
