// Issue 11, collector side ("Nothing lost, nothing wedged"): findings bound to the authenticated agent and keyed by
// (agent, id); evidence caps; implausible times and counters refused one by one; a per-agent device cap; bounded
// protocol × type labels; a stats flood from one agent rate-limited while another agent is served.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Finding } from '../../agent/wire/finding.js';
import type { DeviceRecord, StatsMessage } from '../../agent/wire/messages.js';
import type { RunningCollector } from '../../collector/main.js';
import { SqliteStore } from '../../collector/store.js';
import { openTestAgent, startTestCollector } from '../helpers/collector.js';
import { TOKENS, makeFinding, tempDir, waitFor } from './helpers.js';

/** Value of one sample of a scrape, undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function scrape(c: RunningCollector): Promise<string> {
  return (await fetch(`${c.url}/metrics`)).text();
}

/** A raw authenticated agent connection that stays open: send messages, wait for acks, see errors and the close. */
class RawAgent {
  readonly messages: Array<{ type: string; seq?: number; reason?: string }> = [];
  closed: { code: number; reason: string } | null = null;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => this.messages.push(JSON.parse(d.toString()) as { type: string }));
    ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
    ws.on('error', () => undefined);
  }

  static async open(url: string, agent: string, token: string): Promise<RawAgent> {
    const ws = new WebSocket(url);
    const a = new RawAgent(ws);
    await new Promise<void>((resolve, reject) => {
      ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', agent, version: 't', token })));
      ws.on('message', (d) => d.toString().includes('"welcome"') && resolve());
      ws.on('close', () => reject(new Error('closed before welcome')));
    });
    return a;
  }

  send(m: unknown): void {
    this.ws.send(typeof m === 'string' ? m : JSON.stringify(m));
  }

  acked(seq: number): boolean {
    return this.messages.some((m) => m.type === 'ack' && m.seq === seq);
  }

  errors(): string[] {
    return this.messages.filter((m) => m.type === 'error').map((m) => m.reason ?? '');
  }

  async sendBatch(seq: number, findings: Finding[]): Promise<void> {
    this.send({ type: 'findings', seq, findings });
    await waitFor(() => this.acked(seq) || this.closed !== null, `ack ${seq}`);
    if (!this.acked(seq)) throw new Error(`closed (${this.closed?.code}) instead of acking ${seq}`);
  }

  close(): void {
    this.ws.close();
  }
}

const stats = (over: Partial<StatsMessage> = {}): StatsMessage => ({
  type: 'stats',
  packets: 10,
  bytes: 1000,
  drops: { kernel: 0, interface: 0, queue: 0 },
  parse_errors: { mqtt: 0 },
  messages: { mqtt: { publish: 1 } },
  flows: 1,
  devices: 1,
  memory: 1e7,
  lag_seconds: 0,
  ...over,
});

function device(i: number, over: Partial<DeviceRecord> = {}): DeviceRecord {
  return {
    id: `02:00:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
    ip: `10.9.${(i >> 8) & 255}.${i & 255}`,
    first_seen: '2026-11-28T10:00:00Z',
    last_seen: '2026-11-28T11:00:00Z',
    protocols: ['mqtt'],
    ...over,
  };
}

/** A findings message as text whose one finding's evidence is nested `n` deep (JSON.stringify cannot make it). */
function deepBatch(seq: number, f: Finding, n: number): string {
  const evidence = `${'{"a":'.repeat(n - 1)}{"leaf":1}${'}'.repeat(n - 1)}`;
  return JSON.stringify({ type: 'findings', seq, findings: [{ ...f, evidence: '@EV@' }] }).replace(
    '"@EV@"',
    evidence,
  );
}

let col: RunningCollector;

beforeAll(async () => {
  col = await startTestCollector({ limits: { flushIntervalMs: 20, maxDevicesPerAgent: 50 } });
});

afterAll(async () => {
  await col.close();
});

describe('findings bound to their agent', () => {
  it('refuses a finding naming another agent, stores the rest of the batch, acks it and keeps the connection', async () => {
    const a = await RawAgent.open(col.wsUrl, 'agent-a', TOKENS.agentA);
    await a.sendBatch(1, [
      makeFinding(900, 'agent-b', { severity: 'critical' }),
      makeFinding(901, 'agent-a'),
    ]);
    expect(await col.store.findingIds()).toContain('agent-a-f901');
    expect(await col.store.findingIds()).not.toContain('agent-b-f900');
    expect(a.errors().some((r) => r.startsWith('agent_mismatch'))).toBe(true);
    // Stats or devices naming another agent are refused the same way.
    a.send({ ...stats(), agent: 'agent-b' });
    await a.sendBatch(2, [makeFinding(902, 'agent-a')]);
    expect(a.closed).toBeNull();
    const m = await scrape(col);
    expect(sample(m, 'wardwatch_rejected_messages_total{reason="agent_mismatch"}')).toBe(2);
    a.close();
  });

  it("stores the same ids from two agents as two findings: agent A cannot shadow B's ids", async () => {
    const a = await RawAgent.open(col.wsUrl, 'agent-a', TOKENS.agentA);
    const b = await RawAgent.open(col.wsUrl, 'agent-b', TOKENS.agentB);
    // A stores, first, findings carrying the ids B will use (as `replay --agent-id agent-b` computes them).
    const ids = ['shared-1', 'shared-2'];
    await a.sendBatch(
      10,
      ids.map((id, i) => makeFinding(i, 'agent-a', { id, severity: 'info' })),
    );
    await b.sendBatch(
      1,
      ids.map((id, i) => makeFinding(i, 'agent-b', { id, severity: 'critical', rule: 'test.shadow' })),
    );
    const stored = (await col.store.queryFindings({ rule: 'test.shadow', limit: 10 })).findings;
    expect(stored.map((f) => [f.agent, f.id, f.severity]).sort()).toEqual([
      ['agent-b', 'shared-1', 'critical'],
      ['agent-b', 'shared-2', 'critical'],
    ]);
    const m = await scrape(col);
    expect(
      sample(m, 'wardwatch_findings_total{rule="test.shadow",severity="critical",agent="agent-b"}'),
    ).toBe(2);
    expect(sample(m, 'wardwatch_findings_duplicate_total{agent="agent-b"}') ?? 0).toBe(0);
    // A resend of B's own ids is still a duplicate.
    await b.sendBatch(
      2,
      ids.map((id, i) => makeFinding(i, 'agent-b', { id, rule: 'test.shadow' })),
    );
    expect(sample(await scrape(col), 'wardwatch_findings_duplicate_total{agent="agent-b"}')).toBe(2);
    a.close();
    b.close();
  });
});

describe('evidence caps', () => {
  it('stores findings with huge evidence cut to a marker, counted, and the API pages them', async () => {
    const c = await startTestCollector({ db: ':memory:' });
    const a = await RawAgent.open(c.wsUrl, 'agent-a', TOKENS.agentA);
    const blob = 'x'.repeat(4 * 1024 * 1024);
    for (let i = 0; i < 3; i++) await a.sendBatch(i + 1, [makeFinding(i, 'agent-a', { evidence: { blob } })]);
    const r = await fetch(`${c.url}/api/findings?limit=100`, {
      headers: { authorization: `Bearer ${TOKENS.read}` },
    });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { findings: Finding[] };
    expect(body.findings.length).toBe(3);
    for (const f of body.findings)
      expect(f.evidence).toEqual({ _truncated: true, reason: 'size', bytes: blob.length + 11 });
    expect(c.store).toBeInstanceOf(SqliteStore);
    const row = (c.store as SqliteStore).db.prepare('SELECT max(length(json)) AS n FROM findings').get() as {
      n: number;
    };
    expect(row.n).toBeLessThan(2048);
    expect(sample(await scrape(c), 'wardwatch_truncated_total{what="evidence"}')).toBe(3);
    a.close();
    await c.close();
  });

  it('a finding with evidence 20,000 deep is stored with a marker and disconnects no one', async () => {
    const a = await RawAgent.open(col.wsUrl, 'agent-a', TOKENS.agentA);
    const b = await RawAgent.open(col.wsUrl, 'agent-b', TOKENS.agentB);
    // Sent back to back so both batches usually share one commit, the case that used to fail for both agents.
    a.send(deepBatch(20, makeFinding(20, 'agent-a'), 20_000));
    b.send({ type: 'findings', seq: 20, findings: [makeFinding(20, 'agent-b')] });
    await waitFor(() => (a.acked(20) && b.acked(20)) || a.closed !== null || b.closed !== null, 'acks');
    expect([a.closed, b.closed]).toEqual([null, null]);
    expect(a.acked(20) && b.acked(20)).toBe(true);
    const f = (await col.store.queryFindings({ agent: 'agent-a', rule: 'test.rule-2', limit: 1000 }))
      .findings;
    expect(f.find((x) => x.id === 'agent-a-f20')?.evidence).toMatchObject({
      _truncated: true,
      reason: 'depth',
    });
    a.close();
    b.close();
  });
});

describe('unknown fields', () => {
  it('drops unknown fields nested 20,000 deep in a finding, an endpoint, stats or a device record; keeps small ones', async () => {
    const c = await startTestCollector({ db: ':memory:', limits: { flushIntervalMs: 20 } });
    const a = await RawAgent.open(c.wsUrl, 'agent-a', TOKENS.agentA);
    const b = await RawAgent.open(c.wsUrl, 'agent-b', TOKENS.agentB);
    const deepText = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const withDeep = (v: unknown, key: string): string =>
      JSON.stringify(v).replace(`"${key}":"@DEEP@"`, `"${key}":${deepText}`);
    a.send(
      withDeep(
        {
          type: 'findings',
          seq: 1,
          findings: [makeFinding(1, 'agent-a', { future: '@DEEP@', small: { x: 1 } } as Partial<Finding>)],
        },
        'future',
      ),
    );
    b.send({ type: 'findings', seq: 1, findings: [makeFinding(1, 'agent-b')] });
    a.send(
      withDeep(
        {
          type: 'findings',
          seq: 2,
          findings: [
            makeFinding(2, 'agent-a', { device: { ip: '10.0.0.2', extra: '@DEEP@' } as Finding['device'] }),
          ],
        },
        'extra',
      ),
    );
    a.send(withDeep({ ...stats({ packets: 4 }), future: '@DEEP@' }, 'future'));
    a.send(withDeep({ type: 'devices', devices: [{ ...device(7), future: '@DEEP@' }] }, 'future'));
    await waitFor(
      () => (a.acked(1) && a.acked(2) && b.acked(1)) || a.closed !== null || b.closed !== null,
      'acks',
    );
    expect([a.closed, b.closed]).toEqual([null, null]);
    await waitFor(async () => (await c.store.countDevices()) === 1, 'device');
    await waitFor(
      async () => sample(await scrape(c), 'wardwatch_packets_total{agent="agent-a"}') === 4,
      'stats',
    );
    const stored = (await c.store.queryFindings({ agent: 'agent-a', limit: 10 }))
      .findings as unknown as Array<Record<string, unknown>>;
    expect(stored.map((f) => f.id).sort()).toEqual(['agent-a-f1', 'agent-a-f2']);
    const f1 = stored.find((f) => f.id === 'agent-a-f1');
    expect(f1?.future).toBeUndefined();
    expect(f1?.small).toEqual({ x: 1 });
    expect(stored.find((f) => f.id === 'agent-a-f2')?.device).toEqual({ ip: '10.0.0.2' });
    expect((await c.store.listDevices())[0]).not.toHaveProperty('future');
    const m = await scrape(c);
    expect(sample(m, 'wardwatch_truncated_total{what="finding"}')).toBe(2);
    expect(sample(m, 'wardwatch_truncated_total{what="device"}')).toBe(1);
    a.close();
    b.close();
    await c.close();
  });
});

describe('implausible times and counters', () => {
  it('refuses findings dated year 0 or 9999, stats with such a ts or a 1e308 counter, and such device records', async () => {
    const c = await startTestCollector({ db: ':memory:', limits: { flushIntervalMs: 20 } });
    const a = await RawAgent.open(c.wsUrl, 'agent-a', TOKENS.agentA);
    await a.sendBatch(1, [
      makeFinding(1, 'agent-a', { ts: '0000-01-01T00:00:00.000000Z' }),
      makeFinding(2, 'agent-a', { ts: '9999-12-31T23:59:59.000000Z' }),
      makeFinding(3, 'agent-a'),
    ]);
    expect(await c.store.findingIds()).toEqual(['agent-a-f3']);
    a.send(stats({ packets: 5 }));
    await waitFor(
      async () => sample(await scrape(c), 'wardwatch_packets_total{agent="agent-a"}') === 5,
      'stats',
    );
    a.send(stats({ packets: 1e308 }));
    a.send(stats({ packets: 7, messages: { mqtt: { publish: 1e308 } } }));
    a.send(stats({ packets: 9, ts: '9999-01-01T00:00:00Z' }));
    a.send({
      type: 'devices',
      devices: [
        device(1),
        device(2, { last_seen: '9999-01-01T00:00:00Z' }),
        device(3, { first_seen: '0000-01-01T00:00:00Z' }),
      ],
    });
    a.send(stats({ packets: 11 }));
    await waitFor(
      async () => sample(await scrape(c), 'wardwatch_packets_total{agent="agent-a"}') === 11,
      'stats',
    );
    const m = await scrape(c);
    expect(m).not.toMatch(/e\+308/);
    expect(sample(m, 'wardwatch_rejected_messages_total{reason="counter"}')).toBe(2);
    // Two findings, one stats message, two device records.
    expect(sample(m, 'wardwatch_rejected_messages_total{reason="timestamp"}')).toBe(5);
    await waitFor(async () => (await c.store.countDevices()) > 0, 'device flush');
    expect((await c.store.listDevices()).map((d) => d.id)).toEqual([device(1).id]);
    expect(a.closed).toBeNull();
    expect(a.errors().some((r) => r.startsWith('timestamp'))).toBe(true);
    a.close();
    await c.close();
  });

  it('bounds protocol × message type labels to the known sets', async () => {
    const c = await startTestCollector({ db: ':memory:', limits: { flushIntervalMs: 20 } });
    const a = await RawAgent.open(c.wsUrl, 'agent-a', TOKENS.agentA);
    const types = (p: string): Record<string, number> =>
      Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`${p}-t${i}`, 1]));
    const messages: Record<string, Record<string, number>> = { mqtt: { publish: 3, ...types('m') } };
    for (let i = 0; i < 200; i++) messages[`proto${i}`] = types(`p${i}`);
    a.send(stats({ packets: 3, messages }));
    await waitFor(
      async () => sample(await scrape(c), 'wardwatch_packets_total{agent="agent-a"}') === 3,
      'stats',
    );
    const m = await scrape(c);
    const series = m.split('\n').filter((l) => l.startsWith('wardwatch_protocol_messages_total{'));
    expect(series.length).toBe(3);
    expect(
      sample(m, 'wardwatch_protocol_messages_total{agent="agent-a",protocol="mqtt",type="publish"}'),
    ).toBe(3);
    expect(sample(m, 'wardwatch_protocol_messages_total{agent="agent-a",protocol="mqtt",type="other"}')).toBe(
      200,
    );
    expect(
      sample(m, 'wardwatch_protocol_messages_total{agent="agent-a",protocol="other",type="other"}'),
    ).toBe(200 * 200);
    // Each stats entry put under "other" counts once (applying the same cumulative stats again counts nothing).
    expect(sample(m, 'wardwatch_label_values_folded_total{label="protocol"}')).toBe(200 * 200);
    expect(sample(m, 'wardwatch_label_values_folded_total{label="type"}')).toBe(200);
    a.close();
    await c.close();
  });
});

describe('devices', () => {
  it('accumulates chunks from one agent, caps new devices per agent and counts the refused ones', async () => {
    const a = await RawAgent.open(col.wsUrl, 'agent-a', TOKENS.agentA);
    const b = await RawAgent.open(col.wsUrl, 'agent-b', TOKENS.agentB);
    // Two chunks of 30: the second adds to the first (cap 50: 20 of it are refused).
    a.send({ type: 'devices', devices: Array.from({ length: 30 }, (_, i) => device(i)) });
    a.send({ type: 'devices', devices: Array.from({ length: 30 }, (_, i) => device(100 + i)) });
    await waitFor(async () => (await col.store.agentDeviceCount('agent-a')) === 50, 'agent-a devices');
    await waitFor(
      async () => sample(await scrape(col), 'wardwatch_devices_refused_total{agent="agent-a"}') === 10,
      'refused count',
    );
    const ids = new Set((await col.store.listDevices()).map((d) => d.id));
    for (let i = 0; i < 30; i++) expect(ids.has(device(i).id)).toBe(true);
    // At the cap, a device already known still merges; another agent adds its own and can add A's.
    a.send({ type: 'devices', devices: [device(0, { vendor: 'Example Medical' }), device(999)] });
    b.send({ type: 'devices', devices: [device(0, { protocols: ['hl7'] }), device(500)] });
    await waitFor(async () => (await col.store.agentDeviceCount('agent-b')) === 2, 'agent-b devices');
    await waitFor(
      async () => sample(await scrape(col), 'wardwatch_devices_refused_total{agent="agent-a"}') === 11,
      'refused count',
    );
    const d0 = (await col.store.listDevices()).find((d) => d.id === device(0).id);
    expect(d0).toMatchObject({
      vendor: 'Example Medical',
      protocols: ['hl7', 'mqtt'],
      agents: ['agent-a', 'agent-b'],
    });
    expect((await col.store.listDevices()).some((d) => d.id === device(999).id)).toBe(false);
    a.close();
    b.close();
  });
});

describe('device writes', () => {
  it('writes a large inventory in bounded flushes, merges a resent chunk in memory, and loses nothing at close', async () => {
    const dir = tempDir();
    const c = await startTestCollector({
      dir,
      limits: {
        flushIntervalMs: 60_000,
        maxDevicesPerFlush: 10,
        maxPendingDevices: 100,
        maxDevicesPerAgent: 100,
      },
    });
    const a = await RawAgent.open(c.wsUrl, 'agent-a', TOKENS.agentA);
    const chunk = Array.from({ length: 35 }, (_, i) => device(i));
    a.send({ type: 'devices', devices: chunk });
    a.send({ type: 'devices', devices: chunk.map((d) => ({ ...d, vendor: 'Example Medical' })) });
    // 120 distinct devices against room for 100 pending: 20 dropped, the message counted as rate-limited.
    a.send({ type: 'devices', devices: Array.from({ length: 85 }, (_, i) => device(1000 + i)) });
    await waitFor(
      async () =>
        sample(await scrape(c), 'wardwatch_rate_limited_total{agent="agent-a",type="devices"}') === 1,
      'pending cap',
    );
    expect(await c.store.countDevices()).toBe(0);
    // The interval is a minute: only close() flushes, in chunks of 10.
    a.close();
    await c.close();
    const s = new SqliteStore(path.join(dir, 'ww.db'));
    expect(await s.countDevices()).toBe(100);
    expect(await s.agentDeviceCount('agent-a')).toBe(100);
    expect((await s.listDevices()).find((d) => d.id === device(0).id)?.vendor).toBe('Example Medical');
    await s.close();
  });
});

describe('one agent flooding stats', () => {
  it('rate-limits the flood (counted, connection kept) while another agent gets every finding acked and /healthz answers', async () => {
    const c = await startTestCollector({
      limits: { flushIntervalMs: 200, messagesPerSecond: 20, messageBurst: 50 },
    });
    const flooder = await RawAgent.open(c.wsUrl, 'agent-b', TOKENS.agentB);
    const innocent = await openTestAgent(c.wsUrl, { batchMax: 20 });
    const started = Date.now();
    let sent = 0;
    let flooding = true;
    const flood = (async () => {
      // 6,000 messages in bursts of 100 every 10 ms (several thousand a second), yielding between bursts.
      while (sent < 6000) {
        for (let i = 0; i < 100; i++) flooder.send(stats({ packets: ++sent }));
        await new Promise((r) => setTimeout(r, 10));
      }
      flooding = false;
    })();
    let healthy = 0;
    let unhealthy = 0;
    const health = (async () => {
      while (flooding) {
        const r = await fetch(`${c.url}/healthz`);
        if (r.status === 200) healthy++;
        else unhealthy++;
      }
    })();
    const n = 300;
    for (let i = 0; i < n; i++) {
      innocent.send(makeFinding(i));
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 5));
    }
    await innocent.drain();
    await Promise.all([flood, health]);
    expect(innocent.stats().ackedSeq).toBe(innocent.stats().lastSeq);
    expect((await c.store.findingIds()).filter((id) => id.startsWith('agent-a-')).length).toBe(n);
    expect(innocent.stats().connects).toBe(1);
    expect(healthy).toBeGreaterThan(0);
    expect(unhealthy).toBe(0);
    // The flooder's own findings still get through, after its stats (one TCP stream: when this batch is acked,
    // every stats message sent before it has been read and either accepted or counted as rate-limited).
    await flooder.sendBatch(1, [makeFinding(1, 'agent-b')]);
    const elapsed = (Date.now() - started) / 1000;
    const limited =
      sample(await scrape(c), 'wardwatch_rate_limited_total{agent="agent-b",type="stats"}') ?? 0;
    expect(sent).toBe(6000);
    expect(limited).toBeLessThanOrEqual(sent);
    // A token bucket of 50 refilled at 20/s accepts at most 50 + 20 × elapsed; everything else was counted.
    expect(limited).toBeGreaterThanOrEqual(sent - (50 + 20 * elapsed + 1));
    // The latest accepted stats carry the cumulative totals: the packets counter is one of the values sent.
    await waitFor(
      async () => (sample(await scrape(c), 'wardwatch_packets_total{agent="agent-b"}') ?? 0) > 0,
      'flooder stats',
    );
    expect(sample(await scrape(c), 'wardwatch_packets_total{agent="agent-b"}')).toBeLessThanOrEqual(sent);
    expect(flooder.closed).toBeNull();
    await innocent.close();
    flooder.close();
    await c.close();
  });
});
