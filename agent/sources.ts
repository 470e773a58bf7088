// Where the agent's packets come from: capture files or a live interface, each through one pipeline in this
// thread (the worker pool in worker-pool.ts is the third kind).
import type { Logger } from 'pino';
import { readCaptureFile } from './capture/file.js';
import type { CaptureStats, LiveCapture } from './capture/live.js';
import { toWireDevices } from './engine/inventory/devices.js';
import { preloadVendors } from './engine/inventory/oui.js';
import { loadRules } from './engine/rules/rules.js';
import { EXIT_BAD_INPUT, EXIT_OK } from './engine-inputs.js';
import type { Pipeline } from './pipeline.js';
import type { AgentStats } from './transport/client.js';
import type { DeviceRecord } from './wire/messages.js';

/** Where the agent's packets come from: capture files, one live capture, or a pool of capture workers. */
export interface AgentSource {
  /** Files end by themselves (then every finding is waited for); live sources run until the signal. */
  readonly finite: boolean;
  /** Runs until the input ends or the signal fires; resolves to the exit status. */
  run(signal: AbortSignal | undefined): Promise<number>;
  stats(): AgentStats;
  devices(): DeviceRecord[];
  reloadRules(): void;
}

/** Before the source exists (the transport may greet the collector first). */
export function idleStats(): AgentStats {
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
export function pipelineStats(p: Pipeline, capture: CaptureStats | null, lagSeconds: number): AgentStats {
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
    analyzer_errors: { ...s.protocols.analyzerErrors, engine: s.engineErrors },
    messages: s.protocols.messages,
    flows: s.activeFlows,
    devices: s.devices,
    memory: process.memoryUsage().rss,
    lag_seconds: lagSeconds,
    evictions: {
      flow_cap: s.flowEvictions.cap,
      flow_budget: s.flowEvictions.budget,
      flow_embryonic_timeout: s.flowEvictions.embryonic_timeout,
      flow_idle_timeout: s.flowEvictions.idle_timeout,
      fragment: s.fragmentDrops,
      device: s.deviceEvictions,
      datagram_cut: s.identity.datagramsCut,
    },
  };
}

/** The sources that run one pipeline in this thread. */
export abstract class PipelineSource implements AgentSource {
  abstract readonly finite: boolean;
  constructor(
    protected readonly p: Pipeline,
    protected readonly rulesDir: string,
    protected readonly log: Pick<Logger, 'info' | 'error'>,
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

export class FileSource extends PipelineSource {
  readonly finite = true;
  constructor(
    p: Pipeline,
    rulesDir: string,
    log: Pick<Logger, 'info' | 'error'>,
    private readonly files: readonly string[],
    private readonly speed: number | undefined,
    /** Holds reading back while the transport cannot take more findings (`--spool-full stop-reading`). */
    private readonly gate?: () => Promise<void> | null,
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
          ...(this.gate ? { gate: this.gate } : {}),
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

export class LiveSource extends PipelineSource {
  readonly finite = false;
  private lagSeconds = 0;
  constructor(
    p: Pipeline,
    rulesDir: string,
    log: Pick<Logger, 'info' | 'error'>,
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
    // A stall on the first device (loading the 5.6 MB vendor registry) would fill the capture queue.
    preloadVendors();
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
