// One worker thread of `replay --workers N`: its own pipeline (decode, flows, analyzers, engine) over the frames
// the reading thread hashed to it; each output line goes back tagged with the input position of the packet that
// produced it, so that the reading thread can merge N streams into one order that does not depend on timing.
import { parentPort, workerData } from 'node:worker_threads';
import { readFrameBatch } from './capture/frame-batch.js';
import { adviceFrom, formatLine, type OutputFormat } from './cli/output.js';
import { loadEngineInputs, type EngineArgs } from './engine-inputs.js';
import { Pipeline, type PipelineStats } from './pipeline.js';
import type { EventRecord } from './protocols/types.js';
import type { FlowRecord } from './reassembly/types.js';
import { UserError } from './wire/errors.js';
import type { Finding } from './wire/finding.js';

export interface ReplayWorkerInput {
  index: number;
  engine: EngineArgs;
  agentId: string;
  format: OutputFormat;
  events: boolean;
  flows: boolean;
}

/** Output of records made at the end of input (flows ending at eof, windows closing): after every packet's. */
export const FINAL_SEQ = Number.MAX_SAFE_INTEGER;

/** One output record: its line, the input position (seq) of the packet it came from, the finding if it is one. */
export interface OutputRecord {
  seq: number;
  line: string;
  finding?: Finding;
}

/**
 * A batch of frames (possibly none) and, when `now` is above 0, the packet time every worker sweeps at (idle flows,
 * windows, feeds), as one pipeline does once a second of packet time; `seq` is the input position of the packet
 * that carried that time. A worker's clock so follows all the traffic, not only its share: a feed that stops is
 * noticed although the packets that show time passing went to another worker.
 */
export type ReplayWorkerRequest =
  | {
      type: 'batch';
      epoch: number;
      buffer: ArrayBuffer | null;
      count: number;
      bytes: number;
      now: number;
      seq: number;
    }
  | { type: 'finish'; epoch: number; now: number };

export type ReplayWorkerReply =
  | { type: 'output'; epoch: number; records: OutputRecord[] }
  | { type: 'done'; epoch: number; records: OutputRecord[]; stats: PipelineStats }
  /** `user`: the site, rules or baseline did not load (a usage error, exit 2), not a fault of the worker. */
  | { type: 'error'; message: string; user: boolean };

function main(port: NonNullable<typeof parentPort>): void {
  const input = workerData as ReplayWorkerInput;
  let pipeline: Pipeline;
  let records: OutputRecord[] = [];
  let seq = 0;
  try {
    const inputs = loadEngineInputs(input.engine);
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
  const onFrame = pipeline.onFrame.bind(pipeline);
  port.on('message', (msg: ReplayWorkerRequest) => {
    let reply: ReplayWorkerReply;
    if (msg.type === 'batch') {
      const { buffer } = msg;
      if (buffer) {
        readFrameBatch({ buffer, count: msg.count, bytes: msg.bytes }, (frame, at) => {
          seq = at;
          onFrame(frame);
        });
      }
      if (msg.now > 0) {
        seq = msg.seq;
        pipeline.advance(msg.now);
      }
      reply = { type: 'output', epoch: msg.epoch, records };
    } else {
      seq = FINAL_SEQ;
      if (msg.now > 0) pipeline.advance(msg.now);
      pipeline.finish();
      reply = { type: 'done', epoch: msg.epoch, records, stats: pipeline.stats() };
    }
    records = [];
    port.postMessage(reply);
    if (msg.type === 'finish') port.close();
  });
}

if (parentPort) main(parentPort);
