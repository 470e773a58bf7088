// `replay --workers N`: N shares (agent/replay-shard.ts) each read the capture files and run a whole pipeline over
// the packets whose IP pair hashes to them: share 0 on this thread, the others in worker threads
// (agent/replay-worker.ts); this thread merges their output in input order.
//
// Determinism: a share's records carry the input position (seq) of the packet that made them, and each batch of
// them says up to which position the share has answered. A record is written once every share has answered past
// its position, in position order, ties (the sweep at one packet, which every share runs) by share; the records made
// at the end of input last, by share. Same input, same N: the same bytes, however the threads were scheduled.
// Memory stays bounded: a share waits while it is more than MAX_CHUNKS_AHEAD chunks ahead of the slowest.
import { Worker } from 'node:worker_threads';
import type { OutputFormat } from './cli/output.js';
import type { EngineInputData } from './engine-inputs.js';
import type { PipelineStats, ReplaySummary } from './pipeline.js';
import type { ReplayWorkerInput, ReplayWorkerReply, ReplayWorkerRequest } from './replay-worker.js';
import { FINAL_SEQ, Shard, ShardAbandoned, type OutputRecord, type ShardResult } from './replay-shard.js';
import { UserError } from './wire/errors.js';
import type { Finding } from './wire/finding.js';

export interface WorkerReplayOptions {
  workers: number;
  /**
   * Parses the site, rules and baseline (a UserError for a bad file): called once the workers are starting, so that
   * this thread parses while they load their modules.
   */
  readInputs: () => EngineInputData;
  agentId: string;
  format: OutputFormat;
  events: boolean;
  flows: boolean;
  onProgress?: (fileIndex: number, bytesRead: number) => void;
  /** The worker script (tests give one that fails); agent/replay-worker.js by default. */
  workerUrl?: URL;
}

export interface WorkerReplayOutput {
  /** Each output line, in the merged order. */
  onLine(line: string): void;
  /** Each finding, with its line (for the summary and --fail-on). */
  onFinding?(f: Finding): void;
}

/** A worker failed: the message says which and why; the replay stops (an internal error, exit 70). */
export class ReplayWorkerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayWorkerError';
  }
}

/** The site, rules or baseline did not load in the workers: the user's to fix, as with one pipeline (exit 2). */
export class ReplayInputError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayInputError';
  }
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

function addNested(
  into: Record<string, Record<string, number>>,
  from: Record<string, Record<string, number>>,
): void {
  for (const [k, v] of Object.entries(from)) addCounts((into[k] ??= {}), v);
}

/**
 * The workers' statistics as one pipeline's: counts added up; first and last packet times the earliest and latest;
 * peaks (flows at once, flow memory) added, an upper bound of one pipeline's; devices counted once per worker that
 * saw them.
 */
export function sumPipelineStats(all: readonly PipelineStats[]): PipelineStats | null {
  const [first, ...rest] = all;
  if (!first) return null;
  const out: PipelineStats = structuredClone(first);
  for (const s of rest) {
    out.packets += s.packets;
    out.bytes += s.bytes;
    out.decodeErrors += s.decodeErrors;
    addCounts(out.decodeErrorsByReason, s.decodeErrorsByReason);
    out.flows += s.flows;
    out.activeFlows += s.activeFlows;
    out.gaps += s.gaps;
    out.gapBytes += s.gapBytes;
    if (s.firstTs >= 0 && (out.firstTs < 0 || s.firstTs < out.firstTs)) out.firstTs = s.firstTs;
    out.lastTs = Math.max(out.lastTs, s.lastTs);
    addNested(out.protocols.messages, s.protocols.messages);
    addCounts(out.protocols.parseErrors, s.protocols.parseErrors);
    addCounts(out.protocols.anomalies, s.protocols.anomalies);
    addCounts(out.protocols.confirmed, s.protocols.confirmed);
    addCounts(out.protocols.violations, s.protocols.violations);
    addCounts(out.protocols.analyzerErrors, s.protocols.analyzerErrors);
    out.findings += s.findings;
    out.devices += s.devices;
    out.flowEvictions.cap += s.flowEvictions.cap;
    out.flowEvictions.budget += s.flowEvictions.budget;
    out.flowEvictions.embryonic_timeout += s.flowEvictions.embryonic_timeout;
    out.flowEvictions.idle_timeout += s.flowEvictions.idle_timeout;
    out.flowMemory += s.flowMemory;
    out.flowMemoryPeak += s.flowMemoryPeak;
    out.flowPeak += s.flowPeak;
    out.fragmentDrops += s.fragmentDrops;
    out.deviceEvictions += s.deviceEvictions;
    out.engineErrors += s.engineErrors;
    out.identity.datagramsCut += s.identity.datagramsCut;
    out.identity.linkFrames += s.identity.linkFrames;
  }
  return out;
}

/**
 * The merge of N workers' records: each worker's come in position order; `take` gives those every worker has
 * answered for, in position order, ties by worker (a stable merge of sorted runs).
 */
export class OrderedMerge {
  private readonly queues: OutputRecord[][];
  private readonly heads: number[];
  private readonly answered: number[];

  constructor(readonly workers: number) {
    this.queues = Array.from({ length: workers }, () => []);
    this.heads = Array.from({ length: workers }, () => 0);
    this.answered = Array.from({ length: workers }, () => -1);
  }

  /** Worker `w`'s next records (positions not below its earlier ones), and that it has answered up to `upTo`. */
  add(w: number, records: readonly OutputRecord[], upTo: number): void {
    const q = this.queues[w] as OutputRecord[];
    for (const r of records) q.push(r);
    if (upTo > (this.answered[w] as number)) this.answered[w] = upTo;
  }

  /** Records every worker has answered for, in merged order; all of them once every worker has finished. */
  take(): OutputRecord[] {
    let upTo = Infinity;
    for (const a of this.answered) upTo = Math.min(upTo, a);
    const out: OutputRecord[] = [];
    for (;;) {
      let best = -1;
      let bestSeq = Infinity;
      for (let w = 0; w < this.workers; w++) {
        const r = (this.queues[w] as OutputRecord[])[this.heads[w] as number];
        if (r !== undefined && r.seq <= upTo && r.seq < bestSeq) {
          best = w;
          bestSeq = r.seq;
        }
      }
      if (best < 0) break;
      const q = this.queues[best] as OutputRecord[];
      // The whole run of this worker's records at that position (a packet's, then its sweep's) stays together.
      let h = this.heads[best] as number;
      while (h < q.length && (q[h] as OutputRecord).seq === bestSeq) out.push(q[h++] as OutputRecord);
      this.heads[best] = h;
    }
    this.compact();
    return out;
  }

  private compact(): void {
    for (let w = 0; w < this.workers; w++) {
      const h = this.heads[w] as number;
      if (h > 0 && h * 2 >= (this.queues[w] as OutputRecord[]).length) {
        this.queues[w] = (this.queues[w] as OutputRecord[]).slice(h);
        this.heads[w] = 0;
      }
    }
  }
}

/**
 * Replays capture files over `opts.workers` shares: this thread and `opts.workers - 1` worker threads. Resolves with the summed summary (a bad file is
 * reported in `error` as for one pipeline, the other files still read); rejects with readInputs' error when the
 * site, rules or baseline do not load, a ReplayInputError when a worker cannot build its engine from them, or a
 * ReplayWorkerError when a
 * worker fails (after stopping every worker: no hang).
 */
export async function replayInWorkers(
  files: readonly string[],
  opts: WorkerReplayOptions,
  out: WorkerReplayOutput,
): Promise<ReplaySummary> {
  const started = process.hrtime.bigint();
  const n = opts.workers;
  const url = opts.workerUrl ?? new URL('./replay-worker.js', import.meta.url);
  const progress = new SharedArrayBuffer(4 * (n + 1));
  const slots = new Int32Array(progress);
  const merge = new OrderedMerge(n);
  const stats: (PipelineStats | null)[] = Array.from({ length: n }, () => null);
  const finals: OutputRecord[][] = Array.from({ length: n }, () => []);
  const workers: Worker[] = [];
  let failure: ReplayWorkerError | ReplayInputError | null = null;
  let error: string | null = null;
  let finished = 0;
  let settle: (() => void) | null = null;
  const done = new Promise<void>((resolve) => {
    settle = resolve;
  });
  // Share 0, when ahead of the slowest worker, waits for that worker's next word (or a short while).
  let wakeMain: (() => void) | null = null;
  const nudge = (): void => {
    const wake = wakeMain;
    wakeMain = null;
    wake?.();
  };

  const write = (records: readonly OutputRecord[]): void => {
    for (const r of records) {
      out.onLine(r.line);
      if (r.finding) out.onFinding?.(r.finding);
    }
  };
  const fail = (message: string, user = false): void => {
    failure ??= user ? new ReplayInputError(message) : new ReplayWorkerError(message);
    // Shares waiting for a slower one look at this flag and stop.
    Atomics.store(slots, n, 1);
    settle?.();
    nudge();
  };
  const finish = (index: number, end: ShardResult): void => {
    // Everything before the end is answered; what the end made waits for every share's.
    merge.add(index, [], FINAL_SEQ - 1);
    finals[index] = end.records;
    stats[index] = end.stats;
    if (index === 0) error = end.error;
    finished++;
    write(merge.take());
    if (finished === n) settle?.();
  };
  const stopWorkers = (): Promise<unknown> => {
    Atomics.store(slots, n, 1);
    return Promise.all(workers.map((w) => w.terminate()));
  };

  const shardOptions = (index: number): ReplayWorkerInput => ({
    index,
    workers: n,
    files,
    agentId: opts.agentId,
    format: opts.format,
    events: opts.events,
    flows: opts.flows,
    progress,
  });
  for (let index = 1; index < n; index++) {
    const w = new Worker(url, { workerData: shardOptions(index) });
    w.on('message', (msg: ReplayWorkerReply) => {
      if (failure) return;
      if (msg.type === 'error')
        return fail(msg.user ? msg.message : `replay worker ${index}: ${msg.message}`, msg.user);
      if (msg.type === 'output') {
        merge.add(index, msg.records, msg.upTo);
        write(merge.take());
      } else finish(index, msg);
      nudge();
    });
    w.on('error', (err) => fail(`replay worker ${index}: ${err.message}`));
    w.on('exit', (code) => {
      if (stats[index] === null)
        fail(`replay worker ${index}: exited (status ${code}) before the end of input`);
    });
    workers.push(w);
  }
  // This thread parses while the workers load their modules, then builds share 0 from the same data.
  let shard: Shard;
  try {
    const start: ReplayWorkerRequest = { type: 'start', inputs: opts.readInputs() };
    for (const w of workers) w.postMessage(start);
    shard = new Shard(shardOptions(0), start.inputs);
  } catch (err) {
    await stopWorkers();
    throw err;
  }
  try {
    const end = await shard.run({
      progress: slots,
      output: (records, upTo, file, bytes) => {
        merge.add(0, records, upTo);
        opts.onProgress?.(file, bytes);
        write(merge.take());
      },
      wait: () =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 50);
          wakeMain = () => {
            clearTimeout(timer);
            resolve();
          };
        }),
    });
    if (!failure) finish(0, end);
  } catch (err) {
    if (!(err instanceof ShardAbandoned)) {
      await stopWorkers();
      throw err;
    }
  }

  await done;
  if (failure) {
    await stopWorkers();
    throw failure;
  }
  for (const records of finals) write(records);
  const summed = sumPipelineStats(stats.filter((s): s is PipelineStats => s !== null));
  if (!summed) throw new ReplayWorkerError('replay workers: no statistics');
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { ...summed, files: files.length, seconds, error };
}
