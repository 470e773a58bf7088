// Agent transport → collector over loopback: stored exactly once, acks, stats as metric deltas, refusals counted
// while the collector keeps serving another agent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AgentTransport } from '../../agent/transport/client.js';
import type { StatsMessage } from '../../agent/wire/messages.js';
import type { RunningCollector } from '../../collector/main.js';
import { TOKENS, makeFinding, quietLogger, tempDir, waitFor } from './helpers.js';
import { startTestCollector } from '../helpers/collector.js';
import { storeBackends } from '../helpers/postgres.js';

let col: RunningCollector;
let dir: string;

// The whole ingest path on each store: SQLite, and PostgreSQL when installed (in CI always).
const B = storeBackends();
beforeAll(() => B.setup());
afterAll(() => B.teardown());

async function scrape(): Promise<string> {
  return (await fetch(`${col.url}/metrics`)).text();
}

/** Value of one sample, e.g. metric('wardwatch_packets_total{agent="agent-a"}'). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function openTransport(
  agent: string,
  token: string,
  extra: Partial<Parameters<typeof AgentTransport.open>[0]> = {},
) {
  return AgentTransport.open({
    url: col.wsUrl,
    token,
    agent,
    version: 'test',
    spoolDir: tempDir('ww-spool-'),
    logger: quietLogger,
    batchMax: 50,
    batchDelayMs: 5,
    backoffMinMs: 20,
    backoffMaxMs: 200,
    ...extra,
  });
}

/** A raw socket: resolves with what the collector said and how it closed. */
function raw(send: Array<string | Buffer>): Promise<{ messages: string[]; code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(col.wsUrl);
    const messages: string[] = [];
    ws.on('open', () => {
      for (const m of send) ws.send(m);
    });
    ws.on('message', (d) => messages.push(d.toString()));
    ws.on('close', (code, reason) => resolve({ messages, code, reason: reason.toString() }));
    ws.on('error', (e) => {
      if (!/message length|1009|closed/i.test(e.message)) reject(e);
    });
  });
}

const hello = (agent: string, token: string): string =>
  JSON.stringify({ type: 'hello', agent, version: 't', token });

describe.each(B.backends)('ingest on $name', (backend) => {
  beforeAll(async () => {
    dir = tempDir();
    col = await startTestCollector({ dir, db: await backend.fresh(dir), maxPayload: 64 * 1024 });
  });

  afterAll(async () => {
    await col.close();
  });

  it('stores every finding exactly once, duplicates included, and acks them all', async () => {
    const t = await openTransport('agent-a', TOKENS.agentA);
    const n = 600;
    for (let i = 0; i < n; i++) t.send(makeFinding(i));
    // Resends of the same ids (an engine re-emitting, or a replay) are stored once.
    for (let i = 0; i < 100; i++) t.send(makeFinding(i));
    await t.drain();
    const st = t.stats();
    expect(st.ackedSeq).toBe(st.lastSeq);
    expect(st.spoolPending).toBe(0);
    await t.close();

    const stored = (await col.store.findingIds()).filter((id) => id.startsWith('agent-a-'));
    expect(stored.length).toBe(n);
    expect(new Set(stored).size).toBe(n);
    const m = await scrape();
    const total = ['info', 'low', 'medium', 'high', 'critical']
      .flatMap((sev) =>
        [0, 1, 2].map(
          (r) =>
            sample(m, `wardwatch_findings_total{rule="test.rule-${r}",severity="${sev}",agent="agent-a"}`) ??
            0,
        ),
      )
      .reduce((a, b) => a + b, 0);
    expect(total).toBe(n);
    expect(sample(m, 'wardwatch_findings_duplicate_total{agent="agent-a"}')).toBe(100);
    expect(sample(m, 'wardwatch_agent_up{agent="agent-a"}')).toBe(0);
  });

  it('refuses bad agents, counts each reason, and keeps serving a good agent meanwhile', async () => {
    const good = await openTransport('agent-b', TOKENS.agentB);
    good.send(makeFinding(1, 'agent-b'));
    await good.drain();

    const wrongToken = await raw([hello('agent-b', TOKENS.agentA)]);
    expect(wrongToken.code).toBe(1008);
    expect(wrongToken.reason).toMatch(/^auth/);
    expect(JSON.parse(wrongToken.messages[0] ?? '{}')).toMatchObject({ type: 'error' });

    const noToken = await raw([
      JSON.stringify({ type: 'findings', seq: 1, findings: [makeFinding(1, 'x')] }),
    ]);
    expect(noToken.reason).toMatch(/^no_hello/);
    const emptyToken = await raw([hello('agent-b', '')]);
    expect(emptyToken.reason).toMatch(/^auth/);

    const malformed = await raw([hello('agent-a', TOKENS.agentA), '{"type":"findings",']);
    expect(malformed.code).toBe(1008);
    expect(malformed.reason).toMatch(/^malformed_json/);

    const schema = await raw([
      hello('agent-a', TOKENS.agentA),
      JSON.stringify({ type: 'findings', seq: 1, findings: [{ kind: 'finding' }] }),
    ]);
    expect(schema.reason).toMatch(/^schema/);

    const oversize = await raw([hello('agent-a', TOKENS.agentA), 'x'.repeat(70 * 1024)]);
    expect(oversize.code).toBe(1009);

    const binary = await raw([hello('agent-a', TOKENS.agentA), Buffer.from([1, 2, 3])]);
    expect(binary.reason).toMatch(/^binary/);

    // The good agent was never disturbed and still delivers.
    for (let i = 2; i <= 50; i++) good.send(makeFinding(i, 'agent-b'));
    await good.drain();
    expect((await col.store.findingIds()).filter((id) => id.startsWith('agent-b-')).length).toBe(50);
    expect(good.stats().connects).toBe(1);

    const m = await scrape();
    expect(sample(m, 'wardwatch_rejected_messages_total{reason="auth"}')).toBe(2);
    expect(sample(m, 'wardwatch_rejected_messages_total{reason="no_hello"}')).toBe(1);
    expect(sample(m, 'wardwatch_rejected_messages_total{reason="malformed_json"}')).toBe(1);
    expect(sample(m, 'wardwatch_rejected_messages_total{reason="schema"}')).toBe(1);
    expect(sample(m, 'wardwatch_rejected_messages_total{reason="oversize"}')).toBe(1);
    expect(sample(m, 'wardwatch_rejected_messages_total{reason="binary"}')).toBe(1);
    expect(sample(m, 'wardwatch_agent_up{agent="agent-b"}')).toBe(1);
    // No IP address or patient value leaks into any label.
    expect(m).not.toMatch(/\d+\.\d+\.\d+\.\d+"/);
    await good.close();
  });

  it('turns cumulative agent stats into counter deltas, survives an agent restart, and fills gauges', async () => {
    let s: Omit<StatsMessage, 'type'> = {
      packets: 100,
      bytes: 10_000,
      drops: { kernel: 1, interface: 0, queue: 2 },
      parse_errors: { mqtt: 3 },
      messages: { mqtt: { publish: 40, connect: 2 } },
      flows: 7,
      devices: 4,
      memory: 12_345_678,
      lag_seconds: 0.25,
    };
    const t = await openTransport('agent-a', TOKENS.agentA, { getStats: () => s, statsIntervalMs: 20 });
    await waitFor(
      async () => sample(await scrape(), 'wardwatch_packets_total{agent="agent-a"}') === 100,
      'first stats',
    );
    s = {
      ...s,
      packets: 150,
      drops: { kernel: 4, interface: 0, queue: 2 },
      messages: { mqtt: { publish: 50, connect: 2 } },
    };
    await waitFor(
      async () => sample(await scrape(), 'wardwatch_packets_total{agent="agent-a"}') === 150,
      'second stats',
    );
    // Agent restarted: its counters start again from small values; they are added, never subtracted.
    s = { ...s, packets: 20, drops: { kernel: 0, interface: 0, queue: 0 } };
    await waitFor(
      async () => sample(await scrape(), 'wardwatch_packets_total{agent="agent-a"}') === 170,
      'stats after reset',
    );
    const m = await scrape();
    expect(sample(m, 'wardwatch_drops_total{agent="agent-a",where="kernel"}')).toBe(4);
    expect(
      sample(m, 'wardwatch_protocol_messages_total{agent="agent-a",protocol="mqtt",type="publish"}'),
    ).toBe(50);
    expect(sample(m, 'wardwatch_parse_errors_total{agent="agent-a",protocol="mqtt"}')).toBe(3);
    expect(sample(m, 'wardwatch_flows{agent="agent-a"}')).toBe(7);
    expect(sample(m, 'wardwatch_ingest_lag_seconds{agent="agent-a"}')).toBe(0.25);
    expect(sample(m, 'wardwatch_agent_last_seen_timestamp_seconds{agent="agent-a"}')).toBeGreaterThan(1.7e9);
    await t.close();
  });

  it('closes a connection that never says hello, and refuses a second live connection of one agent id', async () => {
    const c = await startTestCollector({ db: ':memory:', helloTimeoutMs: 100 });
    const silent = await new Promise<{ code: number; reason: string }>((resolve) => {
      const ws = new WebSocket(c.wsUrl);
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    expect(silent).toMatchObject({ code: 1008, reason: expect.stringMatching(/^hello_timeout/) });

    const first = new WebSocket(c.wsUrl);
    let firstClosed = false;
    first.on('close', () => (firstClosed = true));
    const welcomed = (ws: WebSocket): Promise<void> =>
      new Promise((resolve) => {
        ws.on('open', () => ws.send(hello('agent-a', TOKENS.agentA)));
        ws.on('message', (m) => m.toString().includes('welcome') && resolve());
      });
    await welcomed(first);
    // Issue 13: a second agent with the same id is refused (and told who holds the id) instead of flapping.
    const second = new WebSocket(c.wsUrl);
    const errors: string[] = [];
    second.on('open', () => second.send(hello('agent-a', TOKENS.agentA)));
    second.on('message', (m) => errors.push(m.toString()));
    const secondClosed = await new Promise<number>((resolve) => second.on('close', (code) => resolve(code)));
    expect(secondClosed).toBe(4001);
    expect(errors).toEqual([
      JSON.stringify({
        type: 'error',
        reason: 'id_in_use: agent id agent-a is already connected from 127.0.0.1',
      }),
    ]);
    expect(firstClosed).toBe(false);
    const m = await (await fetch(`${c.url}/metrics`)).text();
    expect(sample(m, 'wardwatch_agent_up{agent="agent-a"}')).toBe(1);
    expect(sample(m, 'wardwatch_agent_connections_total{agent="agent-a"}')).toBe(1);
    expect(sample(m, 'wardwatch_rejected_messages_total{reason="hello_timeout"}')).toBe(1);
    expect(sample(m, 'wardwatch_rejected_messages_total{reason="id_in_use"}')).toBe(1);
    first.close();
    await c.close();
  });

  it('replaces a connection of the agent id silent for longer than staleAfterMs (a half-open socket)', async () => {
    const c = await startTestCollector({ db: ':memory:', staleAfterMs: 0 });
    const welcomed = (ws: WebSocket): Promise<void> =>
      new Promise((resolve) => {
        ws.on('open', () => ws.send(hello('agent-a', TOKENS.agentA)));
        ws.on('message', (m) => m.toString().includes('welcome') && resolve());
      });
    const first = new WebSocket(c.wsUrl);
    const firstClosed = new Promise<number>((resolve) => first.on('close', (code) => resolve(code)));
    await welcomed(first);
    const second = new WebSocket(c.wsUrl);
    await welcomed(second);
    expect(await firstClosed).toBe(4000);
    second.close();
    await c.close();
  });

  it('merges device records sent by two agents', async () => {
    const a = await openTransport('agent-a', TOKENS.agentA);
    const b = await openTransport('agent-b', TOKENS.agentB);
    a.sendDevices([
      {
        id: '00:1a:2b:3c:4d:5e',
        ip: '10.20.30.17',
        first_seen: '2026-11-28T10:00:00Z',
        last_seen: '2026-11-28T10:05:00Z',
        protocols: ['mqtt'],
        attributes: [
          { name: 'mqtt_client_id', value: 'pump-7', source: 'mqtt.client_id', seen: '2026-11-28T10:00:00Z' },
        ],
      },
    ]);
    b.sendDevices([
      {
        id: '00:1a:2b:3c:4d:5e',
        ip: '10.20.30.17',
        vendor: 'Example Medical',
        first_seen: '2026-11-28T09:00:00Z',
        last_seen: '2026-11-28T10:01:00Z',
        protocols: ['hl7'],
        attributes: [
          { name: 'hl7_app', value: 'PUMPS', source: 'hl7.sending_app', seen: '2026-11-28T09:00:00Z' },
        ],
      },
    ]);
    await waitFor(
      async () => ((await col.store.listDevices())[0]?.agents.length ?? 0) === 2,
      'both device records',
    );
    const d = (await col.store.listDevices())[0];
    expect(d).toMatchObject({
      id: '00:1a:2b:3c:4d:5e',
      vendor: 'Example Medical',
      first_seen: '2026-11-28T09:00:00Z',
      last_seen: '2026-11-28T10:05:00Z',
      protocols: ['hl7', 'mqtt'],
      agents: ['agent-a', 'agent-b'],
    });
    expect(d?.attributes?.map((x) => x.source).sort()).toEqual(['hl7.sending_app', 'mqtt.client_id']);
    expect(sample(await scrape(), 'wardwatch_devices')).toBe(1);
    await a.close();
    await b.close();
  });
});
