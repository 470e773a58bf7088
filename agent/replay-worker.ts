// One worker thread of `replay --workers N`: it reads every capture file itself, keeps the packets whose IP pair
// hashes to it (decode/flow-shard.ts) and runs its own pipeline over them; every packet's time still moves its
// clock. Each output line goes to the main thread tagged with the input position of the packet that produced it,
// so that N streams merge into one order that does not depend on timing.
//
// Reading in each worker instead of one reading thread handing out copies: stepping over the records of the
// others' packets costs a worker about a quarter of what reading, hashing, copying and posting every packet cost
// the one thread that did not scale, and no thread waits for another's batch (README "Performance").
import { parentPort, workerData } from 'node:worker_threads';
import { readCaptureFile } from './capture/file.js';
import type { RawFrame } from './capture/types.js';
import { adviceFrom, formatLine, type OutputFormat } from './cli/output.js';
import { flowShard } from './decode/flow-shard.js';
import { engineInputsFrom, type EngineInputData } from './engine-inputs.js';
import { Pipeline, type PipelineStats } from './pipeline.js';
import type { EventRecord } from './protocols/types.js';
import type { FlowRecord } from './reassembly/types.js';
import { UserError } from './wire/errors.js';
import type { Finding } from './wire/finding.js';

export interface ReplayWorkerInput {
  index: number;
  workers: number;
  files: readonly string[];
  agentId: string;
  format: OutputFormat;
  events: boolean;
  flows: boolean;
  /**
   * Int32 slots shared by all workers and the main thread: [i] the chunks worker i has read (DONE once it has
   * read everything), [workers] set to 1 when the replay is abandoned. A worker that is MAX_CHUNKS_AHEAD chunks
   * ahead of the slowest waits, so what the main thread holds for the merge stays bounded.
   */
  progress: SharedArrayBuffer;
}

/** Output of records made at the end of input (flows ending at eof, windows closing): after every packet's. */
export const FINAL_SEQ = Number.MAX_SAFE_INTEGER;
/** A worker's progress slot once it has read every file. */
export const DONE = 0x7fffffff;
/** How far (in 1 MiB chunks) a worker may read ahead of the slowest one. */
export const MAX_CHUNKS_AHEAD = 4;
/** One second of packet time between sweeps, as one pipeline's (agent/pipeline.ts ADVANCE_INTERVAL_US). */
const TICK_US = 1_000_000;
/** How long one wait for a slower worker lasts before the abandon flag is looked at again. */
const WAIT_MS = 50;

/** One output record: its line, the input position (seq) of the packet it came from, the finding if it is one. */
export interface OutputRecord {
  seq: number;
  line: string;
  finding?: Finding;
}

/**
 * The main thread starts the workers with one message, once it has parsed the site, rules and baseline (while the
 * workers load their modules): every worker then builds its engine from the same data without parsing the YAML.
 */
export interface ReplayWorkerRequest {
  type: 'start';
  inputs: EngineInputData;
}

export type ReplayWorkerReply =
  /**
   * Records of packets up to input position `upTo` (every later record has a greater seq); worker 0 also says how
   * far it has read (`file`, `bytes`) for the progress line.
   */
  | { type: 'output'; records: OutputRecord[]; upTo: number; file: number; bytes: number }
  /** End of input: the records made at the end, the statistics, the first capture-file error (as one pipeline's). */
  | { type: 'done'; records: OutputRecord[]; stats: PipelineStats; error: string | null }
  /** `user`: the site, rules or baseline did not load (a usage error, exit 2), not a fault of the worker. */
  | { type: 'error'; message: string; user: boolean };

/** The slowest other worker's progress slot and value, or null when none is more than `max` chunks behind `mine`. */
export function slowestBehind(
  progress: Int32Array,
  workers: number,
  self: number,
  mine: number,
  max: number,
): { slot: number; value: number } | null {
  let slot = -1;
  let value = DONE;
  for (let i = 0; i < workers; i++) {
    if (i === self) continue;
    const v = Atomics.load(progress, i);
    if (v < value) {
      value = v;
      slot = i;
    }
  }
  return slot >= 0 && mine - value > max ? { slot, value } : null;
}

async function run(
  port: NonNullable<typeof parentPort>,
  input: ReplayWorkerInput,
  data: EngineInputData,
): Promise<void> {
  const progress = new Int32Array(input.progress);
  const abandoned = (): boolean => Atomics.load(progress, input.workers) !== 0;
  let pipeline: Pipeline;
  let records: OutputRecord[] = [];
  let seq = -1;
  try {
    const inputs = engineInputsFrom(data);
    const advice = inputs.rules ? adviceFrom(inputs.rules.rules) : undefined;
    const line = (rec: EventRecord | FlowRecord | Finding): string => formatLine(rec, input.format, advice);
    pipeline = new Pipeline(
      { ...inputs, agentId: input.agentId },
      {
        onFinding: (f) => records.push({ seq, line: line(f), finding: f }),
        ...(input.events ? { onEvent: (ev: EventRecord) => records.push({ seq, line: line(ev) }) } : {}),
        ...(input.events || input.flows
          ? { onFlow: (rec: FlowRecord) => records.push({ seq, line: line(rec) }) }
          : {}),
      },
    );
  } catch (err) {
    const reply: ReplayWorkerReply = {
      type: 'error',
      message: (err as Error).message,
      user: err instanceof UserError,
    };
    port.postMessage(reply);
    return;
  }

  const { index: self, workers: n } = input;
  const onFrame = pipeline.onFrame.bind(pipeline);
  /** When the next sweep is due: the schedule of one pipeline over the whole capture. */
  let nextTick = 0;
  let lastTs = 0;
  const frame = (f: RawFrame): void => {
    seq++;
    if (f.ts > lastTs) lastTs = f.ts;
    if (flowShard(f, n) === self) onFrame(f);
    // As one pipeline sweeps at the packet that passed the second, each worker does at that packet too, whoever's it is.
    if (f.ts >= nextTick) {
      pipeline.advance(f.ts);
      nextTick = f.ts + TICK_US;
    }
  };
  let chunks = 0;
  let file = 0;
  let bytes = 0;
  // After each chunk: hand over what this stretch of input produced, then wait while too far ahead of the others.
  const gate = (): null => {
    const reply: ReplayWorkerReply = { type: 'output', records, upTo: seq, file, bytes };
    records = [];
    port.postMessage(reply);
    chunks++;
    Atomics.store(progress, self, chunks);
    Atomics.notify(progress, self);
    for (;;) {
      if (abandoned()) throw new Error('abandoned');
      const behind = slowestBehind(progress, n, self, chunks, MAX_CHUNKS_AHEAD);
      if (!behind) return null;
      Atomics.wait(progress, behind.slot, behind.value, WAIT_MS);
    }
  };

  let error: string | null = null;
  for (const [i, name] of input.files.entries()) {
    file = i;
    try {
      await readCaptureFile(name, frame, {
        gate,
        onProgress: (b) => {
          bytes = b;
        },
      });
    } catch (err) {
      if (abandoned()) return;
      error ??= err instanceof Error ? err.message : String(err);
    }
  }
  Atomics.store(progress, self, DONE);
  Atomics.notify(progress, self);
  // What the last (partial) chunk of a file that ended in a fault made is still to go, before the end's records.
  if (records.length > 0) {
    const reply: ReplayWorkerReply = { type: 'output', records, upTo: seq, file, bytes };
    port.postMessage(reply);
    records = [];
  }
  seq = FINAL_SEQ;
  if (lastTs > 0) pipeline.advance(lastTs);
  pipeline.finish();
  const done: ReplayWorkerReply = { type: 'done', records, stats: pipeline.stats(), error };
  port.postMessage(done);
  port.close();
}

function main(port: NonNullable<typeof parentPort>): void {
  port.once('message', (msg: ReplayWorkerRequest) => {
    if (msg.type !== 'start') return;
    run(port, workerData as ReplayWorkerInput, msg.inputs).catch((err: unknown) => {
      const reply: ReplayWorkerReply = {
        type: 'error',
        message: err instanceof Error ? err.message : String(err),
        user: false,
      };
      port.postMessage(reply);
      port.close();
    });
  });
}

if (parentPort) main(parentPort);
