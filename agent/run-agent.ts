// `wardwatch agent`: capture files, a live interface or a pool of capture workers, findings streamed to a collector.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { LiveCapture } from './capture/live.js';
import { DEFAULT_RULES_DIR, loadEngineInputs, UsageError, type EngineArgs } from './main.js';
import { Pipeline } from './pipeline.js';
import { FileSource, idleStats, LiveSource, type AgentSource } from './sources.js';
import { AgentTransport } from './transport/client.js';
import type { Finding } from './wire/finding.js';
import { WorkerPool } from './worker-pool.js';

export const AGENT_VERSION = '0.1.0';

export interface AgentArgs extends EngineArgs {
  pcap?: string[] | undefined;
  interface?: string | undefined;
  collector: string;
  token: string;
  agentId?: string | undefined;
  spool?: string | undefined;
  speed?: number | undefined;
  logger: Logger;
  /** Called for each finding as it is produced (the demo prints them). */
  onFinding?: (f: Finding) => void;
  signal?: AbortSignal;
  bpf?: string | undefined;
  snaplen?: number | undefined;
  bufferSize?: number | undefined;
  queueBytes?: number | undefined;
  promisc?: boolean | undefined;
  immediate?: boolean | undefined;
  /** Live capture split over this many worker threads (symmetric flow hash in BPF). */
  workers?: number | undefined;
}

function defaultSpoolDir(agentId: string): string {
  const base = process.env.STATE_DIRECTORY ?? path.join(process.cwd(), '.wardwatch');
  return path.join(base, 'spool', agentId.replace(/[^A-Za-z0-9._-]/g, '_'));
}

export async function runAgent(args: AgentArgs): Promise<number> {
  const log = args.logger;
  const files = args.pcap ?? [];
  if (args.interface === undefined && files.length === 0)
    throw new UsageError('give --pcap FILE or --interface IF');
  for (const f of files) if (!existsSync(f)) throw new UsageError(`${f}: capture file not found`);
  const workers = args.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new UsageError(`--workers ${args.workers}: expected 1 to 64`);
  }
  if (workers > 1 && args.interface === undefined) {
    throw new UsageError('--workers needs --interface (files are read by one pipeline)');
  }
  const capture = {
    ...(args.bpf !== undefined ? { bpf: args.bpf } : {}),
    ...(args.snaplen !== undefined ? { snaplen: args.snaplen } : {}),
    ...(args.bufferSize !== undefined ? { bufferSize: args.bufferSize } : {}),
    ...(args.queueBytes !== undefined ? { queueBytes: args.queueBytes } : {}),
    ...(args.promisc !== undefined ? { promisc: args.promisc } : {}),
    ...(args.immediate !== undefined ? { immediate: args.immediate } : {}),
  };
  // Open the device before anything else, so that a missing privilege or interface is the first thing said.
  const { bpf, ...liveOpts } = capture;
  const live =
    args.interface !== undefined && workers === 1
      ? LiveCapture.open({
          device: args.interface,
          ...liveOpts,
          ...(bpf !== undefined ? { filter: bpf } : {}),
        })
      : null;
  if (!/^wss?:\/\//.test(args.collector)) {
    throw new UsageError(`--collector ${args.collector}: expected ws:// or wss:// URL`);
  }
  const agentId = args.agentId ?? hostname();
  const rulesDir = args.rules ?? DEFAULT_RULES_DIR;
  // Workers load site, rules and baseline themselves; here they are loaded (and checked) for one pipeline.
  const inputs = workers > 1 ? null : loadEngineInputs(args);
  const started = Date.now();

  let source: AgentSource | null = null;
  const transport = await AgentTransport.open({
    url: args.collector,
    token: args.token,
    agent: agentId,
    version: AGENT_VERSION,
    spoolDir: args.spool ?? defaultSpoolDir(agentId),
    logger: log,
    getStats: () => source?.stats() ?? idleStats(),
    statsIntervalMs: 2000,
  });
  const onFinding = (f: Finding): void => {
    transport.send(f);
    args.onFinding?.(f);
  };
  if (inputs === null) {
    const engine = {
      rules: args.rules,
      site: args.site,
      baseline: args.baseline,
      flowMemoryMiB: args.flowMemoryMiB,
      maxFlows: args.maxFlows,
    };
    source = new WorkerPool(
      { device: args.interface ?? '', count: workers, agentId, engine, ...capture },
      onFinding,
      log,
    );
  } else {
    const p = new Pipeline({ ...inputs, agentId }, { onFinding });
    source = live
      ? new LiveSource(p, rulesDir, log, live)
      : new FileSource(p, rulesDir, log, files, args.speed);
  }
  // SIGHUP reloads the rules without losing devices, windows or flows; a bad file keeps the old rules.
  const active = source;
  const onHangup = (): void => active.reloadRules();
  process.on('SIGHUP', onHangup);
  const exitCode = await source.run(args.signal);
  process.off('SIGHUP', onHangup);
  transport.sendDevices(source.devices());
  const s = source.stats();
  const stopped = !source.finite || args.signal?.aborted === true;
  log.info(
    { packets: s.packets, devices: s.devices, seconds: (Date.now() - started) / 1000 },
    stopped ? 'agent: stopping' : 'agent: capture done, waiting for acks',
  );
  if (!stopped) {
    const onAbort = new Promise<void>((resolve) => args.signal?.addEventListener('abort', () => resolve()));
    await Promise.race([transport.drain(), onAbort]);
  } else {
    // Stopping: give the collector a moment to ack; what is left stays in the spool for the next start.
    await Promise.race([transport.drain(), new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
  }
  await transport.close();
  return exitCode;
}
