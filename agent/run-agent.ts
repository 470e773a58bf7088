// `wardwatch agent`: capture files, a live interface or a pool of capture workers, findings streamed to a collector.
import { hostname } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { readCaptureFile } from './capture/file.js';
import { toWireDevices } from './engine/devices.js';
import {
  DEFAULT_RULES_DIR,
  loadEngineInputs,
  UsageError,
  EXIT_BAD_INPUT,
  EXIT_OK,
  type EngineArgs,
} from './main.js';
import { loadRules } from './engine/rules.js';
import { Pipeline } from './pipeline.js';
import { AgentTransport, type AgentStats } from './transport/client.js';
import type { Finding } from './wire/finding.js';
import type { DeviceRecord } from './wire/messages.js';
import { existsSync } from 'node:fs';
import { LiveCapture, type CaptureStats } from './capture/live.js';
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
  promisc?: boolean | undefined;
  immediate?: boolean | undefined;
  /** Live capture split over this many worker threads (symmetric flow hash in BPF). */
  workers?: number | undefined;
}

function defaultSpoolDir(agentId: string): string {
  const base = process.env.STATE_DIRECTORY ?? path.join(process.cwd(), '.wardwatch');
  return path.join(base, 'spool', agentId.replace(/[^A-Za-z0-9._-]/g, '_'));
}

/** Where the agent's packets come from: capture files, one live capture, or a pool of capture workers. */
interface AgentSource {
  /** Files end by themselves (then every finding is waited for); live sources run until the signal. */
  readonly finite: boolean;
  /** Runs until the input ends or the signal fires; resolves to the exit status. */
  run(signal: AbortSignal | undefined): Promise<number>;
  stats(): AgentStats;
  devices(): DeviceRecord[];
  reloadRules(): void;
}

/** Before the source exists (the transport may greet the collector first). */
function idleStats(): AgentStats {
  return {
    ts: new Date().toISOString(),
    packets: 0,
    bytes: 0,
    drops: { kernel: 0, interface: 0, queue: 0 },
    parse_errors: {},
    messages: {},
    flows: 0,
    devices: 0,
    memory: process.memoryUsage().rss,
    lag_seconds: 0,
  };
}

/** Heartbeat counters of one pipeline (and its live capture, if any). */
function pipelineStats(p: Pipeline, capture: CaptureStats | null, lagSeconds: number): AgentStats {
  const s = p.stats();
  return {
    ts: new Date().toISOString(),
    packets: s.packets,
    bytes: s.bytes,
    drops: {
      kernel: capture?.dropped ?? 0,
      interface: capture?.ifDropped ?? 0,
      queue: capture?.queueDropped ?? 0,
    },
    parse_errors: s.protocols.parseErrors,
    messages: s.protocols.messages,
    flows: s.activeFlows,
    devices: s.devices,
    memory: process.memoryUsage().rss,
    lag_seconds: lagSeconds,
  };
}

/** The sources that run one pipeline in this thread. */
abstract class PipelineSource implements AgentSource {
  abstract readonly finite: boolean;
  constructor(
    protected readonly p: Pipeline,
    protected readonly rulesDir: string,
    protected readonly log: Logger,
  ) {}

  abstract run(signal: AbortSignal | undefined): Promise<number>;

  stats(): AgentStats {
    // Replaying a file, packet time is not wall time: there is no lag to report.
    return pipelineStats(this.p, null, 0);
  }

  devices(): DeviceRecord[] {
    return this.p.engine ? toWireDevices(this.p.engine.devices()) : [];
  }

  reloadRules(): void {
    try {
      const next = loadRules(this.rulesDir);
      this.p.engine?.reload(next);
      this.log.info({ rules: next.rules.length }, 'agent: rules reloaded');
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      this.log.error(`agent: rules not reloaded, keeping the previous ones: ${why}`);
    }
  }
}

class FileSource extends PipelineSource {
  readonly finite = true;
  constructor(
    p: Pipeline,
    rulesDir: string,
    log: Logger,
    private readonly files: readonly string[],
    private readonly speed: number | undefined,
  ) {
    super(p, rulesDir, log);
  }

  async run(signal: AbortSignal | undefined): Promise<number> {
    const onFrame = this.p.onFrame.bind(this.p);
    let code = EXIT_OK;
    for (const file of this.files) {
      try {
        await readCaptureFile(file, onFrame, {
          ...(this.speed !== undefined ? { speed: this.speed } : {}),
          ...(signal ? { signal } : {}),
        });
      } catch (err) {
        if (signal?.aborted) break;
        this.log.error(err instanceof Error ? err.message : String(err));
        code = EXIT_BAD_INPUT;
      }
    }
    this.p.finish();
    return code;
  }
}

class LiveSource extends PipelineSource {
  readonly finite = false;
  private lagSeconds = 0;
  constructor(
    p: Pipeline,
    rulesDir: string,
    log: Logger,
    private readonly live: LiveCapture,
  ) {
    super(p, rulesDir, log);
  }

  override stats(): AgentStats {
    return pipelineStats(this.p, this.live.stats(), this.lagSeconds);
  }

  /** Frames go through the pipeline until the signal fires; idle sweeps follow the wall clock. */
  async run(signal: AbortSignal | undefined): Promise<number> {
    const { p, live, log } = this;
    let sampled = 0;
    let failed: Error | null = null;
    let wake: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      wake = resolve;
    });
    live.start(
      (frame) => {
        p.onFrame(frame);
        // Sampled: a clock read per packet would cost more than the lag is worth.
        if ((++sampled & 1023) === 1) this.lagSeconds = Math.max(0, Date.now() / 1000 - frame.ts / 1e6);
      },
      (err) => {
        failed = err;
        wake();
      },
    );
    log.info({ linkType: live.linkType }, 'agent: capturing');
    const sweep = setInterval(() => p.advance(Date.now() * 1000), 1000);
    signal?.addEventListener('abort', () => wake());
    if (signal?.aborted) wake();
    await done;
    clearInterval(sweep);
    live.stop();
    p.finish();
    log.info(live.stats(), 'agent: capture stopped');
    if (failed) {
      log.error((failed as Error).message);
      return EXIT_BAD_INPUT;
    }
    return EXIT_OK;
  }
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
    const engine = { rules: args.rules, site: args.site, baseline: args.baseline };
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
