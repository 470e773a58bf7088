// `wardwatch agent`: capture files, a live interface or a pool of capture workers, findings streamed to a collector.
import { WARDWATCH_VERSION } from './wire/version.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { LiveCapture, SHARE_MODES, type ShareMode } from './capture/live.js';
import { createBaselineChecker } from './engine/baselines/baseline-check.js';
import { BaselineLearner } from './engine/baselines/baseline-learn.js';
import type { Baseline } from './engine/baselines/baseline-model.js';
import { formatBaselineYaml, parseBaselineYaml } from './engine/baselines/baseline-yaml.js';
import { SiteIndex, type Site } from './engine/site/site.js';
import {
  DEFAULT_RULES_DIR,
  EXIT_BAD_INPUT,
  loadEngineInputs,
  UsageError,
  writeFileAtomic,
  type EngineArgs,
} from './engine-inputs.js';
import { Pipeline } from './pipeline.js';
import { FileSource, idleStats, LiveSource, type AgentSource } from './sources.js';
import { loadRules } from './engine/rules/rules.js';
import { AgentTransport } from './transport/client.js';
import { SPOOL_FULL_POLICIES, SpoolUnusableError, type SpoolFullPolicy } from './transport/spool.js';
import type { Finding } from './wire/finding.js';
import { ruleInfoOf, type RuleInfo } from './wire/messages.js';
import { WorkerPool } from './worker-pool.js';

export const AGENT_VERSION = WARDWATCH_VERSION;

/**
 * Exit status when findings are left unacknowledged in the spool: `--pcap` ran out of --ack-timeout, or SIGINT or
 * SIGTERM stopped the agent before the collector acknowledged everything. They are sent at the next start.
 */
export const EXIT_UNDELIVERED = 3;

/** How `--workers` shares the traffic unless --fanout says otherwise (README "Running on a mirror port", item 5). */
export const DEFAULT_SHARE_MODE: ShareMode = 'hash';

/** Default of --ack-timeout: how long `agent --pcap` waits for the collector's acks once the files are read. */
export const DEFAULT_ACK_TIMEOUT_S = 60;

export interface AgentArgs extends EngineArgs {
  pcap?: string[] | undefined;
  interface?: string | undefined;
  collector: string;
  token: string;
  agentId?: string | undefined;
  spool?: string | undefined;
  /** Spool cap, bytes (default 64 MiB). */
  spoolBytes?: number | undefined;
  /** What a full spool does (default drop-oldest). */
  spoolFull?: string | undefined;
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
  /** Live capture split over this many worker threads. */
  workers?: number | undefined;
  /** How the workers share the traffic: the kernel's PACKET_FANOUT hash, or one BPF filter each. */
  fanout?: string | undefined;
  /** Where the agent writes what it learned (a baseline YAML for review), hourly and at the end. */
  learnedBaseline?: string | undefined;
  /** With --pcap: seconds to wait for acks once every file is read (default 60). */
  ackTimeoutS?: number | undefined;
  /** CA (PEM file) the collector's certificate must chain to (wss://). */
  tlsCa?: string | undefined;
  /** Client certificate and key (PEM files) for a collector that requires one (--tls-client-cert). */
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
}

/** The agent id when none is given: the host name, plus the interface when live (two agents on one host differ). */
export function defaultAgentId(iface: string | undefined): string {
  return iface !== undefined ? `${hostname()}-${iface}` : hostname();
}

/** Reads a PEM file named by an option, or says on one line what is wrong with it. */
function readPem(option: string, file: string): Buffer {
  if (!existsSync(file)) throw new UsageError(`--${option} ${file}: file not found`);
  if (statSync(file).isDirectory()) throw new UsageError(`--${option} ${file}: is a directory`);
  try {
    return readFileSync(file);
  } catch (err) {
    throw new UsageError(`--${option} ${file}: ${(err as Error).message}`);
  }
}

function tlsOptions(args: AgentArgs): { ca?: Buffer; cert?: Buffer; key?: Buffer } | undefined {
  const { tlsCa, tlsCert, tlsKey } = args;
  if (tlsCa === undefined && tlsCert === undefined && tlsKey === undefined) return undefined;
  if (!args.collector.startsWith('wss://')) {
    const option = tlsCa !== undefined ? 'tls-ca' : tlsCert !== undefined ? 'tls-cert' : 'tls-key';
    throw new UsageError(`--${option} needs a wss:// --collector (got ${args.collector})`);
  }
  if ((tlsCert === undefined) !== (tlsKey === undefined))
    throw new UsageError('agent: --tls-cert and --tls-key go together');
  return {
    ...(tlsCa !== undefined ? { ca: readPem('tls-ca', tlsCa) } : {}),
    ...(tlsCert !== undefined ? { cert: readPem('tls-cert', tlsCert) } : {}),
    ...(tlsKey !== undefined ? { key: readPem('tls-key', tlsKey) } : {}),
  };
}

/** Device records reach the collector while the agent runs, not only when it stops. */
const DEVICE_INTERVAL_MS = 5 * 60_000;
const LEARNED_INTERVAL_MS = 60 * 60_000;
/** How long `agent --pcap` waits for the collector's approved baselines before reading (issue 10). */
const BASELINE_WAIT_MS = 5000;

/** The learner behind --learned-baseline: zones and asset names from the site, as `baseline learn` does. */
function newLearner(site: Site | null): BaselineLearner {
  if (!site) return new BaselineLearner();
  const index = new SiteIndex(site);
  return new BaselineLearner({
    zoneOf: (ip) => index.zoneOf(ip),
    nameOf: (ip) => index.assetOf(ip)?.name,
    isDevice: (ip) => index.zoneOf(ip) !== 'internet',
  });
}

/**
 * Where the agent keeps the last approved baselines the collector pushed (issue 10): beside its spool, so a restart
 * while the collector is away still enforces them. JSON, which the baseline parser reads like YAML.
 */
export function approvedBaselineFile(spoolDir: string): string {
  return `${spoolDir.replace(/[\\/]+$/, '')}.approved-baseline.json`;
}

/** The state file's baselines, or null (none yet, or unreadable: said once in the log, then ignored). */
function readApprovedFile(file: string, log: Logger): Baseline | null {
  if (!existsSync(file)) return null;
  try {
    return parseBaselineYaml(readFileSync(file, 'utf8'), file);
  } catch (err) {
    log.warn(
      { file, err: (err as Error).message },
      'agent: the stored approved baselines are unusable, ignored',
    );
    return null;
  }
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
    throw new UsageError(
      '--workers needs --interface (the agent reads files with one pipeline; `wardwatch replay --workers N` does not)',
    );
  }
  const share = (args.fanout ?? DEFAULT_SHARE_MODE) as ShareMode;
  if (!SHARE_MODES.includes(share)) {
    throw new UsageError(`--fanout ${args.fanout}: expected ${SHARE_MODES.join(' or ')}`);
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
  const spoolFull = (args.spoolFull ?? 'drop-oldest') as SpoolFullPolicy;
  if (!SPOOL_FULL_POLICIES.includes(spoolFull)) {
    throw new UsageError(`--spool-full ${args.spoolFull}: expected ${SPOOL_FULL_POLICIES.join(' or ')}`);
  }
  const spoolBytes = args.spoolBytes ?? 64 * 1024 * 1024;
  // Below 4 MiB a 1 MiB message would not fit with room to spare (the transport shrinks its cap to a quarter).
  if (!Number.isFinite(spoolBytes) || spoolBytes < 1024 * 1024) {
    throw new UsageError(`--spool-size ${spoolBytes / 1024 / 1024}: expected at least 1 (MiB)`);
  }
  const tls = tlsOptions(args);
  const ackTimeoutS = args.ackTimeoutS ?? DEFAULT_ACK_TIMEOUT_S;
  if (!(ackTimeoutS > 0) || !Number.isFinite(ackTimeoutS))
    throw new UsageError(`--ack-timeout ${args.ackTimeoutS}: expected a number of seconds above 0`);
  const agentId = args.agentId ?? defaultAgentId(args.interface);
  // A live sensor meets devices for the first time; a capture file is evidence to report in full.
  args = { ...args, learningPeriod: args.learningPeriod ?? (args.interface ? '7d' : '0') };
  const rulesDir = args.rules ?? DEFAULT_RULES_DIR;
  const spoolDir = args.spool ?? defaultSpoolDir(agentId);
  // Precedence (issue 10): an explicit --baseline wins over what the collector approves; without one the agent
  // starts from the last approved set it stored, then follows the collector's pushes.
  const explicitBaseline = args.baseline !== undefined;
  const approvedFile = approvedBaselineFile(spoolDir);
  if (!explicitBaseline && readApprovedFile(approvedFile, log) !== null) {
    args = { ...args, baseline: approvedFile };
    log.info({ file: approvedFile }, 'agent: enforcing the approved baselines stored at the last run');
  }
  // Workers load site, rules and baseline themselves; here they are loaded (and checked) for one pipeline.
  const inputs = workers > 1 ? null : loadEngineInputs(args);
  if (args.learnedBaseline !== undefined) {
    if (workers > 1) throw new UsageError('--learned-baseline needs one pipeline (--workers 1)');
    const dir = path.dirname(path.resolve(args.learnedBaseline));
    if (!existsSync(dir))
      throw new UsageError(`--learned-baseline ${args.learnedBaseline}: directory ${dir} does not exist`);
  }
  // With one pipeline the agent always learns: what it learned goes to the collector for review (issue 10).
  const learner = inputs !== null ? newLearner(inputs.site) : null;
  const writeLearned = (): void => {
    if (!learner || args.learnedBaseline === undefined) return;
    try {
      writeFileAtomic(args.learnedBaseline, formatBaselineYaml(learner.result()));
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'agent: could not write the learned baseline');
    }
  };
  const started = Date.now();
  // Announced in the hello: the collector describes findings with it and pre-creates their metric series (issue 10).
  const ruleSet = inputs !== null ? inputs.rules : loadRules(rulesDir);
  const ruleInfo: RuleInfo[] = (ruleSet?.rules ?? []).filter((r) => r.enabled).map(ruleInfoOf);

  let source: AgentSource | null = null;
  // Approved baselines pushed by the collector: stored, then applied to the engine (once there is one).
  let pipeline: Pipeline | null = null;
  let pushed: { version: number; baseline: Baseline } | null = null;
  let pool: WorkerPool | null = null;
  const applyPushed = (): void => {
    if (pushed && pool) {
      // Each worker applies it to its own engine (live-worker.ts) and says so in the log.
      pool.setBaseline(pushed.baseline);
      log.info(
        { version: pushed.version, devices: pushed.baseline.devices.length },
        'agent: approved baselines sent to the capture workers',
      );
      pushed = null;
      return;
    }
    if (!pushed || !pipeline?.engine) return;
    const { version, baseline } = pushed;
    pushed = null;
    const index = inputs?.site ? new SiteIndex(inputs.site) : null;
    const opts = index ? { isDevice: (ip: string) => index.zoneOf(ip) !== 'internet' } : {};
    pipeline.engine.setBaseline(createBaselineChecker(baseline, opts));
    log.info({ version, devices: baseline.devices.length }, 'agent: approved baselines applied');
  };
  const onBaseline = (version: number, baseline: Baseline): void => {
    try {
      writeFileAtomic(approvedFile, `${JSON.stringify({ ...baseline, approved_version: version })}\n`);
    } catch (err) {
      log.warn(
        { file: approvedFile, err: (err as Error).message },
        'agent: could not store the approved baselines',
      );
    }
    if (explicitBaseline) {
      log.info(
        { version },
        'agent: approved baselines received and stored, not applied: --baseline FILE wins',
      );
      return;
    }
    pushed = { version, baseline };
    applyPushed();
  };
  // A permanent refusal (bad token or role, id in use, TLS verification) stops the agent like a signal, then exit 2.
  let refusedFor: string | null = null;
  const refusal = new AbortController();
  const signal = args.signal ? AbortSignal.any([args.signal, refusal.signal]) : refusal.signal;
  let transport: AgentTransport;
  try {
    transport = await AgentTransport.open({
      url: args.collector,
      token: args.token,
      agent: agentId,
      version: AGENT_VERSION,
      spoolDir,
      spoolMaxBytes: spoolBytes,
      spoolFull,
      logger: log,
      getStats: () => source?.stats() ?? idleStats(),
      statsIntervalMs: 2000,
      rules: ruleInfo,
      ...(tls ? { tls } : {}),
      onBaseline,
      onPermanentFailure: (reason) => {
        refusedFor = reason;
        refusal.abort();
      },
    });
  } catch (err) {
    // Findings would be lost uncounted: refuse to start, on one line, before reading any packet.
    if (err instanceof SpoolUnusableError) throw new UsageError(`--spool ${err.message}`);
    throw err;
  }
  // A full spool under stop-reading holds the capture file back; SIGINT/SIGTERM still ends the wait.
  const aborted = new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  const gate = (): Promise<void> | null => {
    const held = transport.room();
    return held ? Promise.race([held, aborted]) : null;
  };
  const onFinding = (f: Finding): void => {
    transport.send(f);
    args.onFinding?.(f);
  };
  if (inputs === null) {
    const engine = {
      rules: args.rules,
      site: args.site,
      baseline: args.baseline,
      learningPeriod: args.learningPeriod,
      flowMemoryMiB: args.flowMemoryMiB,
      maxFlows: args.maxFlows,
    };
    pool = new WorkerPool(
      {
        device: args.interface ?? '',
        count: workers,
        share,
        // One group per agent process: two agents on one host must not join each other's group.
        fanoutGroup: process.pid & 0xffff,
        agentId,
        engine,
        ...capture,
      },
      onFinding,
      log,
    );
    source = pool;
    applyPushed();
  } else {
    const p = new Pipeline({ ...inputs, agentId, observers: learner ? [learner] : [] }, { onFinding });
    pipeline = p;
    applyPushed();
    source = live
      ? new LiveSource(p, rulesDir, log, live)
      : new FileSource(p, rulesDir, log, files, args.speed, gate);
  }
  // SIGHUP reloads the rules without losing devices, windows or flows; a bad file keeps the old rules.
  const active = source;
  const onHangup = (): void => active.reloadRules();
  process.on('SIGHUP', onHangup);
  const sendLearned = (): void => {
    if (learner) transport.sendLearned(learner.result());
  };
  const timers = [
    setInterval(() => {
      transport.sendDevices(active.devices());
      sendLearned();
    }, DEVICE_INTERVAL_MS),
    ...(learner ? [setInterval(writeLearned, LEARNED_INTERVAL_MS)] : []),
  ];
  for (const t of timers) t.unref();
  // A replay through an agent is judged by what the collector approved: its set is waited for (briefly: a collector
  // that is away leaves the stored copy in force) before the first packet.
  if (source.finite && !explicitBaseline && inputs !== null) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      transport.baselineSeen,
      aborted,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, BASELINE_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
  }
  const exitCode = await source.run(signal);
  for (const t of timers) clearInterval(t);
  process.off('SIGHUP', onHangup);
  transport.sendDevices(source.devices());
  sendLearned();
  writeLearned();
  const s = source.stats();
  const stopped = !source.finite || signal.aborted;
  log.info(
    { packets: s.packets, devices: s.devices, seconds: (Date.now() - started) / 1000 },
    stopped ? 'agent: stopping' : 'agent: capture done, waiting for acks',
  );
  let timedOut = false;
  if (!stopped) {
    // Bounded: a collector that never answers must not keep a finite run waiting forever.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        timedOut = true;
        resolve();
      }, ackTimeoutS * 1000);
    });
    await Promise.race([transport.drain(), aborted, deadline]);
    clearTimeout(timer);
  } else if (refusedFor === null) {
    // Stopping: give the collector a moment to ack; what is left stays in the spool for the next start.
    await Promise.race([transport.drain(), new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
  }
  await transport.close();
  const t = transport.stats();
  if (refusedFor !== null) {
    const where = /^(TLS|HTTP)\b/.test(refusedFor) ? `--collector ${args.collector}: ` : '';
    process.stderr.write(`wardwatch: ${where}${refusedFor}\n`);
    return EXIT_BAD_INPUT;
  }
  if (t.undelivered > 0 && t.spoolFailing !== null) {
    // The spool broke during the run (it was writable at start): say so on one line, as for bad input.
    process.stderr.write(
      `wardwatch: --spool ${spoolDir}: became unwritable (${t.spoolFailing}); ${t.undelivered} findings not delivered\n`,
    );
    return EXIT_BAD_INPUT;
  }
  if (t.spoolPending > 0) {
    const why =
      timedOut && !stopped
        ? `the collector did not acknowledge ${t.spoolPending} findings within ${ackTimeoutS}s (--ack-timeout)`
        : `stopped with ${t.spoolPending} findings not acknowledged by the collector`;
    process.stderr.write(
      `wardwatch: ${why}; they stay in the spool ${spoolDir} and are sent at the next start\n`,
    );
    return EXIT_UNDELIVERED;
  }
  return exitCode;
}
