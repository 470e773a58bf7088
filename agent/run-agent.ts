// `wardwatch agent`: the pipeline on capture files (live capture comes later) with findings streamed to a collector.
import { hostname } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { readCaptureFile } from './capture/file.js';
import type { DeviceRecord as EngineDevice } from './engine/devices.js';
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

/** Engine device records in the wire's shape (the collector merges them across agents). */
export function toWireDevices(devices: readonly EngineDevice[]): DeviceRecord[] {
  return devices.map((d) => {
    const rec: DeviceRecord = {
      id: d.key,
      first_seen: d.first_seen,
      last_seen: d.last_seen,
      protocols: d.protocols,
      attributes: d.hints.map((h) => ({
        name: h.attribute,
        value: h.value,
        source: h.source,
        seen: h.last_seen,
      })),
    };
    if (d.ips[0] !== undefined) rec.ip = d.ips[0];
    if (d.mac !== undefined) rec.mac = d.mac;
    if (d.vendor !== undefined) rec.vendor = d.vendor;
    if (d.name !== undefined) rec.name = d.name;
    return rec;
  });
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
  // Open the device before anything else, so that a missing privilege or interface is the first thing said.
  const workers = args.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > 64)
    throw new UsageError(`--workers ${args.workers}: expected 1 to 64`);
  if (workers > 1 && args.interface === undefined)
    throw new UsageError('--workers needs --interface (files are read by one pipeline)');
  const live =
    args.interface !== undefined && workers === 1
      ? LiveCapture.open({
          device: args.interface,
          ...(args.bpf !== undefined ? { filter: args.bpf } : {}),
          ...(args.snaplen !== undefined ? { snaplen: args.snaplen } : {}),
          ...(args.bufferSize !== undefined ? { bufferSize: args.bufferSize } : {}),
          ...(args.promisc !== undefined ? { promisc: args.promisc } : {}),
          ...(args.immediate !== undefined ? { immediate: args.immediate } : {}),
        })
      : null;
  if (!/^wss?:\/\//.test(args.collector))
    throw new UsageError(`--collector ${args.collector}: expected ws:// or wss:// URL`);
  const inputs = loadEngineInputs(args);
  const agentId = args.agentId ?? hostname();
  const started = Date.now();

  let pipeline: Pipeline | null = null;
  let pool: WorkerPool | null = null;
  let lagSeconds = 0;
  const getStats = (): AgentStats => {
    if (pool) return pool.stats();
    const s = pipeline?.stats();
    const mem = process.memoryUsage().rss;
    const c: CaptureStats | null = live?.stats() ?? null;
    return {
      ts: new Date().toISOString(),
      packets: s?.packets ?? 0,
      bytes: s?.bytes ?? 0,
      drops: { kernel: c?.dropped ?? 0, interface: c?.ifDropped ?? 0, queue: c?.queueDropped ?? 0 },
      parse_errors: s?.protocols.parseErrors ?? {},
      messages: s?.protocols.messages ?? {},
      flows: s?.activeFlows ?? 0,
      devices: s?.devices ?? 0,
      memory: mem,
      // Replaying a file, packet time is not wall time: there is no lag to report.
      lag_seconds: live ? lagSeconds : 0,
    };
  };
  const transport = await AgentTransport.open({
    url: args.collector,
    token: args.token,
    agent: agentId,
    version: AGENT_VERSION,
    spoolDir: args.spool ?? defaultSpoolDir(agentId),
    logger: log,
    getStats,
    statsIntervalMs: 2000,
  });
  const p = new Pipeline(
    { ...inputs, agentId },
    {
      onFinding: (f) => {
        transport.send(f);
        args.onFinding?.(f);
      },
    },
  );
  pipeline = p;
  // SIGHUP reloads the rules without losing devices, windows or flows; a bad file keeps the old rules.
  const onHangup = (): void => {
    if (pool) {
      pool.reloadRules();
      return;
    }
    try {
      const next = loadRules(args.rules ?? DEFAULT_RULES_DIR);
      p.engine?.reload(next);
      log.info({ rules: next.rules.length }, 'agent: rules reloaded');
    } catch (err) {
      log.error(
        `agent: rules not reloaded, keeping the previous ones: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  };
  process.on('SIGHUP', onHangup);
  const onFrame = p.onFrame.bind(p);
  let exitCode = EXIT_OK;
  let interrupted = false;
  if (args.interface !== undefined && workers > 1) {
    pool = new WorkerPool(
      {
        device: args.interface,
        count: workers,
        agentId,
        engine: { rules: args.rules, site: args.site, baseline: args.baseline },
        ...(args.bpf !== undefined ? { bpf: args.bpf } : {}),
        ...(args.snaplen !== undefined ? { snaplen: args.snaplen } : {}),
        ...(args.bufferSize !== undefined ? { bufferSize: args.bufferSize } : {}),
        ...(args.promisc !== undefined ? { promisc: args.promisc } : {}),
        ...(args.immediate !== undefined ? { immediate: args.immediate } : {}),
      },
      (f) => {
        transport.send(f);
        args.onFinding?.(f);
      },
      log,
    );
    exitCode = await pool.run(args.signal);
    transport.sendDevices(toWireDevices(pool.devices()));
    interrupted = true;
  }
  if (live) {
    exitCode = await captureLive(live, p, log, args.signal, (lag) => {
      lagSeconds = lag;
    });
    interrupted = true;
  }
  for (const file of files) {
    try {
      const opts: { speed?: number; signal?: AbortSignal } = {};
      if (args.speed !== undefined) opts.speed = args.speed;
      if (args.signal) opts.signal = args.signal;
      await readCaptureFile(file, onFrame, opts);
    } catch (err) {
      if (args.signal?.aborted) {
        interrupted = true;
        break;
      }
      log.error(err instanceof Error ? err.message : String(err));
      exitCode = EXIT_BAD_INPUT;
    }
  }
  p.finish();
  if (p.engine && !pool) transport.sendDevices(toWireDevices(p.engine.devices()));
  const s = p.stats();
  log.info(
    { packets: s.packets, flows: s.flows, findings: s.findings, seconds: (Date.now() - started) / 1000 },
    interrupted ? 'agent: interrupted, findings kept in the spool' : 'agent: capture done, waiting for acks',
  );
  if (!interrupted) {
    const onAbort = new Promise<void>((resolve) => args.signal?.addEventListener('abort', () => resolve()));
    await Promise.race([transport.drain(), onAbort]);
  } else {
    // Stopping: give the collector a moment to ack; what is left stays in the spool for the next start.
    await Promise.race([transport.drain(), new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
  }
  process.off('SIGHUP', onHangup);
  await transport.close();
  return exitCode;
}

/** Live mode: frames go through the pipeline until the signal fires; idle sweeps follow the wall clock. */
async function captureLive(
  live: LiveCapture,
  p: Pipeline,
  log: Logger,
  signal: AbortSignal | undefined,
  setLag: (seconds: number) => void,
): Promise<number> {
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
      if ((++sampled & 1023) === 1) setLag(Math.max(0, Date.now() / 1000 - frame.ts / 1e6));
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
  const st = live.stats();
  log.info(st, 'agent: capture stopped');
  if (failed) {
    log.error((failed as Error).message);
    return EXIT_BAD_INPUT;
  }
  return EXIT_OK;
}
