// Collector throughput: findings/s stored through the WebSocket ingest (100 agents), one agent through the spooled
// transport, and /metrics scrape time with 100 agents and 10,000 devices; printed, never asserted.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import WebSocket from 'ws';
import { AgentTransport } from '../agent/transport/client.js';
import type { Finding, Severity } from '../agent/wire/finding.js';
import type { DeviceRecord } from '../agent/wire/messages.js';
import { formatTs } from '../agent/wire/time.js';
import { startCollector } from '../collector/main.js';

interface Args {
  agents: number;
  findingsPerAgent: number;
  batch: number;
  devices: number;
  scrapes: number;
}

const SEVS: Severity[] = ['info', 'low', 'medium', 'high', 'critical'];
const RULES = [
  'mqtt.wildcard-subscribe',
  'dicom.c-move-unknown',
  'hl7.unknown-sender',
  'net.new-peer',
  'mqtt.auth-failure',
];

function finding(agent: string, i: number): Finding {
  return {
    kind: 'finding',
    id: `${agent}-${i}`,
    ts: formatTs(Date.UTC(2026, 10, 28) * 1000 + i * 1000),
    rule: RULES[i % RULES.length] as string,
    severity: SEVS[i % SEVS.length] as Severity,
    title: 'benchmark finding',
    attack: ['T0846'],
    proto: 'mqtt',
    device: { ip: `10.20.${(i >> 8) & 255}.${i & 255}`, mac: '00:1a:2b:3c:4d:5e' },
    peer: { ip: '10.20.60.2', port: 1883 },
    flow: `f${i}`,
    evidence: { topic_filter: '#', qos: 1 },
    agent,
  };
}

export function parseArgs(argv: readonly string[]): Args {
  const a: Args = { agents: 100, findingsPerAgent: 500, batch: 100, devices: 10_000, scrapes: 20 };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    const v = Number(argv[i + 1]);
    if (k === '--agents') a.agents = v;
    else if (k === '--findings') a.findingsPerAgent = v;
    else if (k === '--batch') a.batch = v;
    else if (k === '--devices') a.devices = v;
    else if (k === '--scrapes') a.scrapes = v;
    else {
      console.log(
        'usage: node dist/bench/collector.js [--agents 100] [--findings 500] [--batch 100] [--devices 10000] [--scrapes 20]',
      );
      process.exit(k === '--help' ? 0 : 2);
    }
  }
  return a;
}

/** One raw agent: hello, then its batches with up to 4 unacked; resolves when all are acked. */
function rawAgent(
  url: string,
  agent: string,
  token: string,
  batches: string[],
  extra: string[],
): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { maxPayload: 1 << 20 });
    let sent = 0;
    let acked = 0;
    const pump = (): void => {
      while (sent < batches.length && sent - acked < 4) ws.send(batches[sent++] as string);
    };
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', agent, version: 'bench', token })));
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as { type: string };
      if (m.type === 'welcome') {
        for (const e of extra) ws.send(e);
        pump();
        if (batches.length === 0) ws.close();
      } else if (m.type === 'ack') {
        acked++;
        if (acked === batches.length) ws.close();
        else pump();
      } else reject(new Error(`${agent}: ${d.toString()}`));
    });
    ws.on('close', () =>
      acked === batches.length ? resolve() : reject(new Error(`${agent}: closed early`)),
    );
    ws.on('error', reject);
  });
}

function statsMessage(i: number): string {
  const types = [
    'connect',
    'connack',
    'publish',
    'puback',
    'subscribe',
    'suback',
    'pingreq',
    'pingresp',
    'disconnect',
  ];
  return JSON.stringify({
    type: 'stats',
    packets: 1_000_000 + i,
    bytes: 500_000_000,
    drops: { kernel: i % 3, interface: 0, queue: 0 },
    parse_errors: { mqtt: 1, hl7: 2, dicom: 0 },
    messages: {
      mqtt: Object.fromEntries(types.map((t, k) => [t, 1000 * k + i])),
      hl7: { message: 5000 },
      dicom: Object.fromEntries(
        ['associate_rq', 'associate_ac', 'release_rq', 'release_rp', 'dimse', 'abort'].map((t) => [t, 100]),
      ),
    },
    flows: 300,
    devices: 100,
    memory: 80_000_000,
    lag_seconds: 0.1,
    spool: { bytes: 0, pending: 0, dropped: 0 },
  });
}

function devicesFor(agentIndex: number, agents: number, total: number): DeviceRecord[] {
  const out: DeviceRecord[] = [];
  for (let d = agentIndex; d < total; d += agents) {
    out.push({
      id: `02:00:00:${((d >> 16) & 255).toString(16).padStart(2, '0')}:${((d >> 8) & 255).toString(16).padStart(2, '0')}:${(d & 255).toString(16).padStart(2, '0')}`,
      ip: `10.${(d >> 16) & 255}.${(d >> 8) & 255}.${d & 255}`,
      first_seen: '2026-11-28T10:00:00Z',
      last_seen: '2026-11-28T11:00:00Z',
      protocols: ['mqtt'],
      attributes: [
        { name: 'mqtt_client_id', value: `dev-${d}`, source: 'mqtt.client_id', seen: '2026-11-28T10:00:00Z' },
      ],
    });
  }
  return out;
}

export async function runCollectorBench(a: Args): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ww-bench-'));
  const names = Array.from({ length: a.agents }, (_, i) => `agent-${String(i).padStart(3, '0')}`);
  const tokens = path.join(dir, 'tokens');
  writeFileSync(
    tokens,
    `${names.map((n) => `agent ${n} token-${n}`).join('\n')}\nread soc token-read-bench\n`,
  );
  const logger = pino({ level: 'silent' });
  const col = await startCollector({
    listen: '127.0.0.1:0',
    db: path.join(dir, 'bench.db'),
    tokensFile: tokens,
    logger,
  });
  try {
    // 1. Many agents, raw ingest: what the collector (store + metrics + acks) sustains.
    const batches = names.map((n) => {
      const out: string[] = [];
      for (let s = 0; s < a.findingsPerAgent; s += a.batch) {
        const fs = Array.from({ length: Math.min(a.batch, a.findingsPerAgent - s) }, (_, k) =>
          finding(n, s + k),
        );
        out.push(JSON.stringify({ type: 'findings', seq: s / a.batch + 1, findings: fs }));
      }
      return out;
    });
    const total = a.agents * a.findingsPerAgent;
    let t0 = process.hrtime.bigint();
    await Promise.all(
      names.map((n, i) => rawAgent(col.wsUrl, n, `token-${n}`, batches[i] ?? [], [statsMessage(i)])),
    );
    let sec = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(
      `collector ingest: ${total} findings from ${a.agents} agents in batches of ${a.batch}: ${sec.toFixed(2)} s, ` +
        `${Math.round(total / sec)} findings/s (stored ${col.store.countFindings()}, synchronous=FULL)`,
    );

    // 2. One agent through the real transport: spool fsync per batch, window, acks.
    const one = 20_000;
    const spoolDir = path.join(dir, 'spool');
    const first = names[0] as string;
    const t = await AgentTransport.open({
      url: col.wsUrl,
      token: `token-${first}`,
      agent: first,
      version: 'bench',
      spoolDir,
      logger,
    });
    t0 = process.hrtime.bigint();
    for (let i = 0; i < one; i++) t.send(finding(`${first}-t`, i));
    await t.drain();
    sec = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(
      `transport → collector (1 agent, spool, batches of 500): ${one} findings in ${sec.toFixed(2)} s, ${Math.round(one / sec)} findings/s`,
    );
    await t.close();

    // 3. 10,000 devices merged from 100 agents, then /metrics scrape time.
    t0 = process.hrtime.bigint();
    await Promise.all(
      names.map((n, i) =>
        rawAgent(
          col.wsUrl,
          n,
          `token-${n}`,
          [],
          [
            JSON.stringify({ type: 'devices', devices: devicesFor(i, a.agents, a.devices) }),
            statsMessage(i + 7),
          ],
        ),
      ),
    );
    // Devices and stats carry no ack: wait until the inventory holds them all.
    while (col.store.countDevices() < a.devices) await new Promise((r) => setTimeout(r, 20));
    sec = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`devices: ${col.store.countDevices()} merged from ${a.agents} agents in ${sec.toFixed(2)} s`);
    const times: number[] = [];
    let size = 0;
    let series = 0;
    for (let i = 0; i < a.scrapes; i++) {
      const s0 = process.hrtime.bigint();
      const body = await (await fetch(`${col.url}/metrics`)).text();
      times.push(Number(process.hrtime.bigint() - s0) / 1e6);
      size = body.length;
      series = body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
    }
    times.sort((x, y) => x - y);
    const q = (p: number): string =>
      (times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? 0).toFixed(1);
    console.log(
      `/metrics with ${a.agents} agents, ${a.devices} devices: ${series} samples, ${(size / 1024).toFixed(0)} KiB, median ${q(0.5)} ms, p95 ${q(0.95)} ms over ${a.scrapes} scrapes`,
    );
    const f0 = process.hrtime.bigint();
    const page = await fetch(`${col.url}/api/findings?limit=1000`, {
      headers: { authorization: 'Bearer token-read-bench' },
    });
    await page.json();
    console.log(
      `/api/findings?limit=1000 over ${col.store.countFindings()} stored: ${(Number(process.hrtime.bigint() - f0) / 1e6).toFixed(1)} ms`,
    );
  } finally {
    await col.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runCollectorBench(parseArgs(process.argv.slice(2)));
}
