// One share of `replay --workers N`: read every capture file, keep the packets whose IP pair hashes to this share
// (decode/flow-shard.ts) and run a pipeline over them, while every packet's time moves its clock. Its output lines
// carry the input position of the packet that produced them, so that N shares merge into one order that does not
// depend on timing (replay-workers.ts). Share 0 runs on the main thread, the others in worker threads
// (replay-worker.ts): N shares cost N-1 more isolates, not N.
//
// Reading in each share instead of one reading thread handing out copies: stepping over the records of the others'
// packets costs a share about a quarter of what reading, hashing, copying and posting every packet cost the one
// thread that did not scale, and no thread waits for another's batch (README "Performance").
import { readCaptureFile } from './capture/file.js';
import type { RawFrame } from './capture/types.js';
import { adviceFrom, formatLine, type OutputFormat } from './cli/output.js';
import { flowShard } from './decode/flow-shard.js';
import { engineInputsFrom, type EngineInputData } from './engine-inputs.js';
import { Pipeline, type PipelineStats } from './pipeline.js';
import type { EventRecord } from './protocols/types.js';
import type { FlowRecord } from './reassembly/types.js';
import type { Finding } from './wire/finding.js';

/** Output of records made at the end of input (flows ending at eof, windows closing): after every packet's. */
export const FINAL_SEQ = Number.MAX_SAFE_INTEGER;
/** A share's progress slot once it has read every file. */
export const DONE = 0x7fffffff;
/** How far (in 1 MiB chunks) a share may read ahead of the slowest one. */
export const MAX_CHUNKS_AHEAD = 4;
/** One second of packet time between sweeps, as one pipeline's (agent/pipeline.ts ADVANCE_INTERVAL_US). */
const TICK_US = 1_000_000;

/** One output record: its line, the input position (seq) of the packet it came from, the finding if it is one. */
export interface OutputRecord {
  seq: number;
  line: string;
  finding?: Finding;
}

export interface ShardOptions {
  index: number;
  workers: number;
  files: readonly string[];
  agentId: string;
  format: OutputFormat;
  events: boolean;
  flows: boolean;
}

/**
 * Where a share's output goes and how it waits. `progress` holds one Int32 slot per share (the chunks it has read,
 * DONE at the end) and one more, set to 1 when the replay is abandoned; a share more than MAX_CHUNKS_AHEAD chunks
 * ahead of the slowest waits (`wait`), so what the main thread holds for the merge stays bounded.
 */
export interface ShardIo {
  progress: Int32Array;
  /** Records of packets up to input position `upTo`; `file` and `bytes` say how far this share has read. */
  output(records: OutputRecord[], upTo: number, file: number, bytes: number): void;
  /** Until `slot` (the slowest share's) moves from `value`, or a while; a promise where blocking is not allowed. */
  wait(slot: number, value: number): Promise<void> | void;
}

export interface ShardResult {
  /** Records made at the end of input. */
  records: OutputRecord[];
  stats: PipelineStats;
  /** The first capture-file error, as one pipeline reports it. */
  error: string | null;
}

/** Thrown out of the reader when the replay was abandoned (another share failed). */
export class ShardAbandoned extends Error {
  override name = 'ShardAbandoned';
}

/** The slowest other share's progress slot and value, or null when none is more than `max` chunks behind `mine`. */
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

/** A share: its pipeline is built at once, so that site, rules and baseline problems come before any packet. */
export class Shard {
  private readonly pipeline: Pipeline;
  private records: OutputRecord[] = [];
  private seq = -1;

  constructor(
    private readonly opts: ShardOptions,
    data: EngineInputData,
  ) {
    const inputs = engineInputsFrom(data);
    const advice = inputs.rules ? adviceFrom(inputs.rules.rules) : undefined;
    const line = (rec: EventRecord | FlowRecord | Finding): string => formatLine(rec, opts.format, advice);
    this.pipeline = new Pipeline(
      { ...inputs, agentId: opts.agentId },
      {
        onFinding: (f) => this.records.push({ seq: this.seq, line: line(f), finding: f }),
        ...(opts.events
          ? { onEvent: (ev: EventRecord) => this.records.push({ seq: this.seq, line: line(ev) }) }
          : {}),
        ...(opts.events || opts.flows
          ? { onFlow: (rec: FlowRecord) => this.records.push({ seq: this.seq, line: line(rec) }) }
          : {}),
      },
    );
  }

  /** Reads every file; rejects with ShardAbandoned when the replay was abandoned meanwhile. */
  async run(io: ShardIo): Promise<ShardResult> {
    const { index: self, workers: n } = this.opts;
    const { progress } = io;
    const pipeline = this.pipeline;
    const abandoned = (): boolean => Atomics.load(progress, n) !== 0;
    const onFrame = pipeline.onFrame.bind(pipeline);
    /** When the next sweep is due: the schedule of one pipeline over the whole capture. */
    let nextTick = 0;
    let lastTs = 0;
    const frame = (f: RawFrame): void => {
      this.seq++;
      if (f.ts > lastTs) lastTs = f.ts;
      if (flowShard(f, n) === self) onFrame(f);
      // As one pipeline sweeps at the packet that passed the second, each share does at that packet, whoever's it is.
      if (f.ts >= nextTick) {
        pipeline.advance(f.ts);
        nextTick = f.ts + TICK_US;
      }
    };
    let chunks = 0;
    let file = 0;
    let bytes = 0;
    const flush = (): void => {
      const records = this.records;
      this.records = [];
      io.output(records, this.seq, file, bytes);
    };
    const holdWhileAhead = (): Promise<void> | null => {
      for (;;) {
        if (abandoned()) throw new ShardAbandoned('abandoned');
        const behind = slowestBehind(progress, n, self, chunks, MAX_CHUNKS_AHEAD);
        if (!behind) return null;
        const waited = io.wait(behind.slot, behind.value);
        if (waited) return waited.then(() => holdWhileAhead() ?? undefined);
      }
    };
    // After each chunk: hand over what this stretch of input produced, then wait while too far ahead of the others.
    const gate = (): Promise<void> | null => {
      flush();
      chunks++;
      Atomics.store(progress, self, chunks);
      Atomics.notify(progress, self);
      return holdWhileAhead();
    };

    let error: string | null = null;
    for (const [i, name] of this.opts.files.entries()) {
      file = i;
      try {
        await readCaptureFile(name, frame, {
          gate,
          onProgress: (b) => {
            bytes = b;
          },
        });
      } catch (err) {
        if (err instanceof ShardAbandoned || abandoned()) throw new ShardAbandoned('abandoned');
        error ??= err instanceof Error ? err.message : String(err);
      }
    }
    Atomics.store(progress, self, DONE);
    Atomics.notify(progress, self);
    // What the last (partial) chunk of a file that ended in a fault made is still to go, before the end's records.
    if (this.records.length > 0) flush();
    this.seq = FINAL_SEQ;
    if (lastTs > 0) pipeline.advance(lastTs);
    pipeline.finish();
    return { records: this.records, stats: pipeline.stats(), error };
  }
}
