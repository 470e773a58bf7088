// One capture worker of `wardwatch agent --workers N`: its own libpcap handle whose BPF keeps one share of the
// traffic (a symmetric hash of the IPv4 addresses, so both directions of a flow land here), its own pipeline.
import { parentPort, workerData } from 'node:worker_threads';
import { LiveCapture, LiveCaptureError, type CaptureStats } from './capture/live.js';
import type { BaselineChecker } from './engine/baseline-types.js';
import type { DeviceRecord } from './engine/devices.js';
import { Pipeline, type PipelineStats } from './pipeline.js';
import { DEFAULT_RULES_DIR, loadEngineInputs, type EngineArgs } from './main.js';
import { loadRules } from './engine/rules.js';
import type { Finding } from './wire/finding.js';

export interface WorkerInput {
  index: number;
  count: number;
  device: string;
  bpf?: string;
  snaplen?: number;
  bufferSize?: number;
  promisc?: boolean;
  immediate?: boolean;
  agentId: string;
  engine: EngineArgs;
}

export type WorkerMessage =
  | { type: 'ready'; linkType: number }
  | { type: 'findings'; findings: Finding[] }
  | { type: 'stats'; pipeline: PipelineStats; capture: CaptureStats; lag: number }
  | { type: 'devices'; devices: DeviceRecord[] }
  | { type: 'error'; code: string; message: string }
  | { type: 'log'; level: 'info' | 'error'; message: string }
  | { type: 'done' };

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

function main(): void {
  const input = workerData as WorkerInput;
  let inputs: {
    site: ReturnType<typeof loadEngineInputs>['site'];
    rules: ReturnType<typeof loadEngineInputs>['rules'];
    baseline: BaselineChecker | null;
  };
  let live: LiveCapture;
  try {
    inputs = loadEngineInputs(input.engine);
    live = LiveCapture.open({
      device: input.device,
      filter: shareFilter(input.index, input.count, input.bpf),
      ...(input.snaplen !== undefined ? { snaplen: input.snaplen } : {}),
      ...(input.bufferSize !== undefined ? { bufferSize: input.bufferSize } : {}),
      ...(input.promisc !== undefined ? { promisc: input.promisc } : {}),
      ...(input.immediate !== undefined ? { immediate: input.immediate } : {}),
    });
  } catch (err) {
    const e = err as Error & { code?: string };
    post({ type: 'error', code: e instanceof LiveCaptureError ? e.code : 'ECONFIG', message: e.message });
    return;
  }
  let batch: Finding[] = [];
  const p = new Pipeline({ ...inputs, agentId: input.agentId }, { onFinding: (f) => batch.push(f) });
  let lag = 0;
  let sampled = 0;
  const flushFindings = (): void => {
    if (batch.length === 0) return;
    post({ type: 'findings', findings: batch });
    batch = [];
  };
  const report = (): void => {
    post({ type: 'stats', pipeline: p.stats(), capture: live.stats(), lag });
  };
  live.start(
    (frame) => {
      p.onFrame(frame);
      if ((++sampled & 1023) === 1) lag = Math.max(0, Date.now() / 1000 - frame.ts / 1e6);
    },
    (err) => {
      post({ type: 'error', code: err.code, message: err.message });
    },
  );
  post({ type: 'ready', linkType: live.linkType });
  // Findings leave the worker in small batches: within a tenth of a second, never one message per packet.
  const flushTimer = setInterval(flushFindings, 100);
  const sweepTimer = setInterval(() => p.advance(Date.now() * 1000), 1000);
  const statsTimer = setInterval(report, 1000);
  parentPort?.on('message', (msg: { type: string }) => {
    if (msg.type === 'reload') {
      try {
        const next = loadRules(input.engine.rules ?? DEFAULT_RULES_DIR);
        p.engine?.reload(next);
        post({
          type: 'log',
          level: 'info',
          message: `worker ${input.index}: rules reloaded (${next.rules.length})`,
        });
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        post({
          type: 'log',
          level: 'error',
          message: `worker ${input.index}: rules not reloaded, keeping the previous ones: ${why}`,
        });
      }
      return;
    }
    if (msg.type !== 'stop') return;
    clearInterval(flushTimer);
    clearInterval(sweepTimer);
    clearInterval(statsTimer);
    live.stop();
    p.finish();
    flushFindings();
    report();
    if (p.engine) post({ type: 'devices', devices: p.engine.devices() });
    post({ type: 'done' });
    parentPort?.close();
  });
}

if (parentPort) main();
