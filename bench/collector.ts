// Collector throughput: findings/s stored through the WebSocket ingest (100 agents), one agent through the spooled
// transport, /metrics scrape time with 100 agents and 10,000 devices, and (`--flood`) /healthz and another agent's
// ack latency while one agent floods stats; printed, never asserted.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
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
  /** Seconds of the stats flood (0: skip that part). */
  flood: number;
  /** Only the flood part. */
  floodOnly: boolean;
  /** Stats messages a second the flooding agent aims at (0: as fast as the socket takes them). */
  floodRate: number;
  /** The store: a postgres:// URL of an empty database, or (default) a fresh SQLite file in a temporary directory. */
  db: string | null;
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
  const a: Args = {
    agents: 100,
    findingsPerAgent: 500,
    batch: 100,
    devices: 10_000,
    scrapes: 20,
    flood: 5,
    floodOnly: false,
    floodRate: 0,
    db: null,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i];
    const v = Number(argv[i + 1]);
    if (k === '--flood-only') {
      a.floodOnly = true;
      i--;
    } else if (k === '--db') a.db = argv[i + 1] ?? null;
    else if (k === '--flood') a.flood = v;
    else if (k === '--flood-rate') a.floodRate = v;
    else if (k === '--agents') a.agents = v;
    else if (k === '--findings') a.findingsPerAgent = v;
    else if (k === '--batch') a.batch = v;
    else if (k === '--devices') a.devices = v;
    else if (k === '--scrapes') a.scrapes = v;
    else {
      console.log(
        'usage: node dist/bench/collector.js [--agents 100] [--findings 500] [--batch 100] [--devices 10000] [--scrapes 20] [--flood SECONDS] [--flood-rate N] [--flood-only] [--db postgres://…]',
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
        // The approved baselines every agent gets after its welcome (issue 10): nothing to do with them here.
      } else if (m.type !== 'baseline') reject(new Error(`${agent}: ${d.toString()}`));
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

function quantile(xs: number[], p: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
}

function openRaw(url: string, agent: string, token: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { maxPayload: 1 << 20 });
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', agent, version: 'bench', token })));
    ws.on('message', (d) => {
      if (d.toString().includes('"welcome"')) resolve(ws);
    });
    ws.on('error', reject);
  });
}

/**
 * One agent floods stats messages as fast as its socket takes them for `seconds` while another agent sends batches
 * of 10 findings one at a time (ack latency) and a client polls /healthz (latency); run once quiet, once flooding.
 */
export async function runFloodBench(seconds: number, floodRate = 0): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ww-bench-flood-'));
  const tokens = path.join(dir, 'tokens');
  writeFileSync(tokens, 'agent flooder token-flooder\nagent innocent token-innocent\n');
  const col = await startCollector({
    listen: '127.0.0.1:0',
    db: path.join(dir, 'bench.db'),
    tokensFile: tokens,
    logger: pino({ level: 'silent' }),
  });
  try {
    const innocent = await openRaw(col.wsUrl, 'innocent', 'token-innocent');
    let seq = 0;
    let n = 0;
    const acks = new Map<number, () => void>();
    innocent.on('message', (d) => {
      const m = JSON.parse(d.toString()) as { type: string; seq?: number };
      if (m.type === 'ack' && m.seq !== undefined) acks.get(m.seq)?.();
    });
    const measure = async (label: string, flood: boolean): Promise<void> => {
      // The flooding agent runs on its own thread so its sending does not slow this one's measurements.
      const flooder = flood
        ? new Worker(new URL(import.meta.url), {
            workerData: { role: 'flooder', url: col.wsUrl, rate: floodRate },
          })
        : null;
      if (flooder) await new Promise((r) => flooder.once('message', r));
      const floodDone = flooder
        ? new Promise<number>((resolve) =>
            flooder.on('message', (m: { sent?: number }) => resolve(m.sent ?? 0)),
          )
        : Promise.resolve(0);
      const ackMs: number[] = [];
      const healthMs: number[] = [];
      const end = Date.now() + seconds * 1000;
      const t0 = Date.now();
      const acking = (async () => {
        while (Date.now() < end) {
          const s = ++seq;
          const findings = Array.from({ length: 10 }, () => finding('innocent', n++));
          const start = process.hrtime.bigint();
          await new Promise<void>((resolve) => {
            acks.set(s, resolve);
            innocent.send(JSON.stringify({ type: 'findings', seq: s, findings }));
          });
          acks.delete(s);
          ackMs.push(Number(process.hrtime.bigint() - start) / 1e6);
        }
      })();
      const health = (async () => {
        while (Date.now() < end) {
          const start = process.hrtime.bigint();
          await (await fetch(`${col.url}/healthz`)).text();
          healthMs.push(Number(process.hrtime.bigint() - start) / 1e6);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      await Promise.all([acking, health]);
      flooder?.postMessage('stop');
      const sent = await floodDone;
      const secs = (Date.now() - t0) / 1000;
      await flooder?.terminate();
      const f = (x: number): string => x.toFixed(1);
      console.log(
        `${label}: ${flood ? `${sent} stats messages sent (${Math.round(sent / secs)}/s); ` : ''}` +
          `/healthz p50 ${f(quantile(healthMs, 0.5))} ms p99 ${f(quantile(healthMs, 0.99))} ms (${healthMs.length}); ` +
          `other agent's ack p50 ${f(quantile(ackMs, 0.5))} ms p99 ${f(quantile(ackMs, 0.99))} ms (${ackMs.length} batches of 10)`,
      );
    };
    await measure('quiet', false);
    await measure(`one agent flooding stats for ${seconds} s`, true);
    const m = await (await fetch(`${col.url}/metrics`)).text();
    const limited = /^wardwatch_rate_limited_total\{agent="flooder",type="stats"\} (\d+)/m.exec(m)?.[1];
    console.log(`rate-limited stats messages of the flooding agent: ${limited ?? 'n/a (no such metric)'}`);
    innocent.close();
  } finally {
    await col.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runCollectorBench(a: Args): Promise<void> {
  if (a.floodOnly) return runFloodBench(a.flood, a.floodRate);
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
    db: a.db ?? path.join(dir, 'bench.db'),
    tokensFile: tokens,
    logger,
  });
  const durability =
    col.store.kind === 'sqlite' ? 'SQLite, synchronous=FULL' : 'PostgreSQL, synchronous_commit=on';
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
        `${Math.round(total / sec)} findings/s (stored ${await col.store.countFindings()}, ${durability})`,
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
    while ((await col.store.countDevices()) < a.devices) await new Promise((r) => setTimeout(r, 20));
    sec = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(
      `devices: ${await col.store.countDevices()} merged from ${a.agents} agents in ${sec.toFixed(2)} s`,
    );
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
      `/api/findings?limit=1000 over ${await col.store.countFindings()} stored: ${(Number(process.hrtime.bigint() - f0) / 1e6).toFixed(1)} ms`,
    );
  } finally {
    await col.close();
    rmSync(dir, { recursive: true, force: true });
  }
  if (a.flood > 0) await runFloodBench(a.flood, a.floodRate);
}

/** The flooding agent's thread: stats messages at `rate` a second (or as fast as the socket drains) until told to stop. */
async function floodWorker(url: string, rate: number): Promise<void> {
  const ws = await openRaw(url, 'flooder', 'token-flooder');
  let stop = false;
  let sent = 0;
  parentPort?.on('message', () => (stop = true));
  parentPort?.postMessage({ ready: true });
  const t0 = Date.now();
  while (!stop) {
    const due = rate > 0 ? Math.floor(((Date.now() - t0) / 1000) * rate) : Number.POSITIVE_INFINITY;
    while (sent < due && ws.bufferedAmount < 1 << 20) ws.send(statsMessage(++sent));
    await new Promise((r) => setTimeout(r, rate > 0 ? 5 : 0));
  }
  parentPort?.postMessage({ sent });
  ws.close();
}

const role = (workerData as { role?: string } | null)?.role;
if (!isMainThread && role === 'flooder') {
  const w = workerData as { url: string; rate: number };
  await floodWorker(w.url, w.rate);
} else if (
  isMainThread &&
  process.argv[1] !== undefined &&
  import.meta.url === pathToFileURL(process.argv[1]).href
) {
  await runCollectorBench(parseArgs(process.argv.slice(2)));
}
