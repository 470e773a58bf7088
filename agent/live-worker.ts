// One capture worker of `wardwatch agent --workers N`: its own libpcap handle that gets one share of the traffic,
// its own pipeline. The share is cut by the kernel (PACKET_FANOUT in hash mode: every frame, by flow) or by a BPF
// filter per handle (a symmetric hash of the IPv4 addresses); both send the two directions of a flow to one worker.
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { LiveCapture, LiveCaptureError, type ShareMode } from './capture/live.js';
import { createBaselineChecker } from './engine/baselines/baseline-check.js';
import type { Baseline } from './engine/baselines/baseline-model.js';
import { SiteIndex } from './engine/site/site.js';
import { DEFAULT_RULES_DIR, loadEngineInputs, type EngineArgs } from './engine-inputs.js';
import { Pipeline } from './pipeline.js';
import { LiveSource } from './sources.js';
import type { AgentStats } from './transport/client.js';
import type { Finding } from './wire/finding.js';
import type { DeviceRecord } from './wire/messages.js';

export interface WorkerInput {
  index: number;
  count: number;
  share: ShareMode;
  /** With share 'hash': the fanout group every worker of this agent joins. */
  fanoutGroup: number;
  device: string;
  bpf?: string;
  snaplen?: number;
  bufferSize?: number;
  queueBytes?: number;
  promisc?: boolean;
  immediate?: boolean;
  agentId: string;
  engine: EngineArgs;
  logLevel: string;
}

/** What the pool sends a worker. */
export type PoolMessage = { type: 'reload' } | { type: 'stop' } | { type: 'baseline'; baseline: Baseline };

export type WorkerMessage =
  | { type: 'ready'; linkType: number }
  | { type: 'findings'; findings: Finding[] }
  | { type: 'stats'; stats: AgentStats }
  | { type: 'devices'; devices: DeviceRecord[] }
  | { type: 'error'; code: string; message: string }
  | { type: 'done'; code: number };

/**
 * The BPF share of worker `index` of `count`: IPv4 packets by (src + dst) mod count, which is the same for
 * both directions; everything else (ARP, IPv6, VLAN-tagged frames) goes to worker 0 so nothing is lost.
 */
export function shareFilter(index: number, count: number, userFilter?: string): string {
  const share = `(ip and (ip[12:4] + ip[16:4]) % ${count} = ${index})`;
  const mine = index === 0 ? `(${share} or not ip)` : share;
  return userFilter ? `(${userFilter}) and ${mine}` : mine;
}

function post(msg: WorkerMessage): void {
  parentPort?.postMessage(msg);
}

async function main(): Promise<void> {
  const input = workerData as WorkerInput;
  const log = pino(
    { level: input.logLevel, base: { pid: process.pid, worker: input.index } },
    pino.destination(2),
  );
  let p: Pipeline;
  let live: LiveCapture;
  let batch: Finding[] = [];
  let site: SiteIndex | null;
  try {
    const inputs = loadEngineInputs(input.engine);
    site = inputs.site ? new SiteIndex(inputs.site) : null;
    live = LiveCapture.open({
      device: input.device,
      ...(input.share === 'hash'
        ? { fanoutGroup: input.fanoutGroup, ...(input.bpf !== undefined ? { filter: input.bpf } : {}) }
        : { filter: shareFilter(input.index, input.count, input.bpf) }),
      ...(input.snaplen !== undefined ? { snaplen: input.snaplen } : {}),
      ...(input.bufferSize !== undefined ? { bufferSize: input.bufferSize } : {}),
      ...(input.queueBytes !== undefined ? { queueBytes: input.queueBytes } : {}),
      ...(input.promisc !== undefined ? { promisc: input.promisc } : {}),
      ...(input.immediate !== undefined ? { immediate: input.immediate } : {}),
    });
    p = new Pipeline({ ...inputs, agentId: input.agentId }, { onFinding: (f) => batch.push(f) });
  } catch (err) {
    const e = err as Error;
    post({ type: 'error', code: e instanceof LiveCaptureError ? e.code : 'ECONFIG', message: e.message });
    return;
  }
  const source = new LiveSource(p, input.engine.rules ?? DEFAULT_RULES_DIR, log, live);
  const flushFindings = (): void => {
    if (batch.length === 0) return;
    post({ type: 'findings', findings: batch });
    batch = [];
  };
  // Findings leave the worker in small batches: within a tenth of a second, never one message per packet.
  const flushTimer = setInterval(flushFindings, 100);
  const statsTimer = setInterval(() => post({ type: 'stats', stats: source.stats() }), 1000);
  const stop = new AbortController();
  parentPort?.on('message', (msg: PoolMessage) => {
    if (msg.type === 'reload') source.reloadRules();
    else if (msg.type === 'stop') stop.abort();
    else if (msg.type === 'baseline') {
      // An approved set the collector pushed (issue 10): judged from the next event on, as with one pipeline.
      const index = site;
      const opts = index ? { isDevice: (ip: string): boolean => index.zoneOf(ip) !== 'internet' } : {};
      // A set this worker cannot use is logged and the old one kept: capture never stops for it.
      try {
        p.engine?.setBaseline(createBaselineChecker(msg.baseline, opts));
        log.info(
          { devices: msg.baseline.devices.length },
          'agent: approved baselines applied by a capture worker',
        );
      } catch (err) {
        log.error(
          { err: (err as Error).message },
          'agent: approved baselines not applied, the previous ones kept',
        );
      }
    }
  });
  post({ type: 'ready', linkType: live.linkType });
  const code = await source.run(stop.signal);
  clearInterval(flushTimer);
  clearInterval(statsTimer);
  flushFindings();
  post({ type: 'stats', stats: source.stats() });
  post({ type: 'devices', devices: source.devices() });
  post({ type: 'done', code });
  parentPort?.close();
}

if (parentPort) void main();
