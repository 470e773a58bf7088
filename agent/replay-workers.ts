// `replay --workers N`: this thread reads the capture files and hashes each packet on its IP pair to one of N
// worker threads (agent/replay-worker.ts), each a whole pipeline; their output is merged in input order.
//
// Determinism: the input is cut into epochs (one per chunk the reader hands over); a worker answers each batch
// with its records tagged by the input position of the packet that made them. An epoch is written only when every
// batch of it has been answered, its records ordered by that position (a packet goes to one worker, so no two
// records of different workers tie), the records made at the end of input last, by worker. Same input, same N:
// the same bytes, however the threads were scheduled. Memory stays bounded: at most MAX_EPOCHS epochs are in
// flight, and reading waits (the reader's gate) until the oldest is written.
import { Worker } from 'node:worker_threads';
import { readCaptureFile } from './capture/file.js';
import { FrameBatchWriter, type FrameBatch } from './capture/frame-batch.js';
import type { RawFrame } from './capture/types.js';
import { flowShard } from './decode/flow-shard.js';
import type { OutputFormat } from './cli/output.js';
import type { EngineArgs } from './engine-inputs.js';
import type { PipelineStats, ReplaySummary } from './pipeline.js';
import type {
  OutputRecord,
  ReplayWorkerInput,
  ReplayWorkerReply,
  ReplayWorkerRequest,
} from './replay-worker.js';
import { UserError } from './wire/errors.js';
import type { Finding } from './wire/finding.js';

/** Epochs read but not yet written: the bound on memory held for the merge (each about one 1 MiB chunk). */
const MAX_EPOCHS = 4;
/** One worker's batch buffer; a frame is at most 256 KiB (the reader's cap), so one always fits. */
const BATCH_BYTES = 1024 * 1024;
/** One second of packet time between sweeps, as one pipeline's. */
const TICK_US = 1_000_000;

export interface WorkerReplayOptions {
  workers: number;
  engine: EngineArgs;
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

interface Epoch {
  id: number;
  /** Batches (or the finish) sent and not yet answered. */
  pending: number;
  /** Answers, per worker, in the order they came (a worker answers its batches in order). */
  parts: OutputRecord[][][];
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

/** The records of one finished epoch in their merged order: by input position, ties (end of input) by worker. */
export function mergeEpoch(parts: readonly OutputRecord[][][]): OutputRecord[] {
  const all: OutputRecord[] = [];
  for (const answers of parts) for (const records of answers) for (const r of records) all.push(r);
  // Array.prototype.sort is stable: records of one packet keep their order, end-of-input ones stay by worker.
  return all.sort((a, b) => a.seq - b.seq);
}

/**
 * Replays capture files over `opts.workers` worker threads. Resolves with the summed summary (a bad file is
 * reported in `error` as for one pipeline, the other files still read); rejects with a ReplayInputError when the
 * site, rules or baseline do not load (each worker loads them; this thread does not), or a ReplayWorkerError when a
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
  const workers: Worker[] = [];
  const stats: (PipelineStats | null)[] = Array.from({ length: n }, () => null);
  const epochs: Epoch[] = [];
  let failure: ReplayWorkerError | ReplayInputError | null = null;
  let wakeRoom: (() => void) | null = null;
  let wakeDone: (() => void) | null = null;
  let exited = 0;

  const fail = (message: string, user = false): void => {
    failure ??= user ? new ReplayInputError(message) : new ReplayWorkerError(message);
    wakeRoom?.();
    wakeDone?.();
  };
  const newEpoch = (): Epoch => {
    const e: Epoch = {
      id: (epochs.at(-1)?.id ?? -1) + 1,
      pending: 0,
      parts: Array.from({ length: n }, () => []),
    };
    epochs.push(e);
    return e;
  };
  // Finished epochs leave in order: a later one that is complete waits for the ones before it.
  const drain = (): void => {
    while (epochs.length > 0 && (epochs[0] as Epoch).pending === 0 && epochs.length > 1) {
      emit(epochs.shift() as Epoch);
    }
    if (epochs.length < MAX_EPOCHS + 1) wakeRoom?.();
  };
  const emit = (e: Epoch): void => {
    for (const r of mergeEpoch(e.parts)) {
      out.onLine(r.line);
      if (r.finding) out.onFinding?.(r.finding);
    }
  };
  const byId = (id: number): Epoch | undefined => epochs.find((e) => e.id === id);

  for (let index = 0; index < n; index++) {
    const workerData: ReplayWorkerInput = {
      index,
      engine: opts.engine,
      agentId: opts.agentId,
      format: opts.format,
      events: opts.events,
      flows: opts.flows,
    };
    const w = new Worker(url, { workerData });
    w.on('message', (msg: ReplayWorkerReply) => {
      if (msg.type === 'error')
        return fail(msg.user ? msg.message : `replay worker ${index}: ${msg.message}`, msg.user);
      const e = byId(msg.epoch);
      if (!e) return fail(`replay worker ${index}: an answer for unknown epoch ${msg.epoch}`);
      e.parts[index]?.push(msg.records);
      e.pending--;
      if (msg.type === 'done') stats[index] = msg.stats;
      drain();
      if (stats.every((s) => s !== null)) wakeDone?.();
    });
    w.on('error', (err) => fail(`replay worker ${index}: ${err.message}`));
    w.on('exit', (code) => {
      exited++;
      if (stats[index] === null)
        fail(`replay worker ${index}: exited (status ${code}) before the end of input`);
    });
    workers.push(w);
  }

  // The epoch being filled is always the last one; batches of a full worker buffer go out at once.
  let current = newEpoch();
  const writers = Array.from({ length: n }, () => new FrameBatchWriter(BATCH_BYTES));
  let seq = 0;
  /** The packet time of the sweep being sent (µs), as one pipeline sweeps: at the packet that passed the second. */
  let now = 0;
  /** The latest packet time read: where every worker ends (one pipeline's last packet time). */
  let lastTs = 0;
  /** When the next sweep is due: the schedule of one pipeline's (agent/pipeline.ts ADVANCE_INTERVAL_US). */
  let nextTick = 0;
  const send = (index: number, batch: FrameBatch | null, tick: boolean): void => {
    const msg: ReplayWorkerRequest = {
      type: 'batch',
      epoch: current.id,
      buffer: batch?.buffer ?? null,
      count: batch?.count ?? 0,
      bytes: batch?.bytes ?? 0,
      now: tick ? now : 0,
      seq: seq - 1,
    };
    current.pending++;
    workers[index]?.postMessage(msg, batch ? [batch.buffer] : []);
  };
  const onFrame = (frame: RawFrame): void => {
    if (frame.ts > lastTs) lastTs = frame.ts;
    const index = flowShard(frame, n);
    const writer = writers[index] as FrameBatchWriter;
    if (!writer.add(frame, seq)) {
      // A full buffer mid-epoch: its clock waits for the epoch's end (the frame in hand is not in it yet).
      send(index, writer.take(), false);
      writer.add(frame, seq);
    }
    seq++;
    if (frame.ts >= nextTick) {
      now = frame.ts;
      closeEpoch(true);
      nextTick = frame.ts + TICK_US;
    }
  };
  // Every worker hears of every epoch, with frames or without: its clock moves with the whole capture.
  const closeEpoch = (tick: boolean): void => {
    writers.forEach((w, index) => send(index, w.take(), tick));
    current = newEpoch();
    drain();
  };
  // After each chunk: the epoch is sent; reading waits while too many are in flight (or stops on a failure).
  const gate = (): Promise<void> | null => {
    closeEpoch(false);
    if (failure) return Promise.reject(failure);
    if (epochs.length <= MAX_EPOCHS) return null;
    return new Promise<void>((resolve) => {
      wakeRoom = () => {
        wakeRoom = null;
        resolve();
      };
    });
  };

  let error: string | null = null;
  try {
    for (const [index, file] of files.entries()) {
      if (failure) break;
      try {
        const progress = opts.onProgress;
        await readCaptureFile(file, onFrame, {
          gate,
          ...(progress ? { onProgress: (bytes: number) => progress(index, bytes) } : {}),
        });
      } catch (err) {
        if (failure) break;
        error ??= err instanceof Error ? err.message : String(err);
      }
    }
    if (!failure) {
      // A file that ended in a fault left frames after its last whole chunk: they go out with the finish.
      writers.forEach((w, index) => {
        const batch = w.take();
        if (batch) send(index, batch, false);
      });
      current.pending += n;
      const finish: ReplayWorkerRequest = { type: 'finish', epoch: current.id, now: lastTs };
      for (const w of workers) w.postMessage(finish);
      await new Promise<void>((resolve) => {
        wakeDone = resolve;
        if (failure || stats.every((s) => s !== null)) resolve();
      });
    }
  } finally {
    if (failure || exited < n) for (const w of workers) void w.terminate();
  }
  if (failure) throw failure;
  // Every epoch is answered now; the last one (the finish) is written here.
  while (epochs.length > 0) emit(epochs.shift() as Epoch);
  const summed = sumPipelineStats(stats.filter((s): s is PipelineStats => s !== null));
  if (!summed) throw new ReplayWorkerError('replay workers: no statistics');
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { ...summed, files: files.length, seconds, error };
}
