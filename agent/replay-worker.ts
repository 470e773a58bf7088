// A worker thread of `replay --workers N`: one share (replay-shard.ts) besides the main thread's. It starts on the
// main thread's message, which carries the parsed site, rules and baseline, and answers with its records as it reads.
import { parentPort, workerData } from 'node:worker_threads';
import type { EngineInputData } from './engine-inputs.js';
import type { PipelineStats } from './pipeline.js';
import { Shard, ShardAbandoned, type OutputRecord, type ShardOptions } from './replay-shard.js';
import { UserError } from './wire/errors.js';

/** How long one wait for a slower share lasts before the abandon flag is looked at again. */
const WAIT_MS = 50;

export interface ReplayWorkerInput extends ShardOptions {
  /** The shares' progress slots (replay-shard.ts ShardIo), shared with the main thread and the other workers. */
  progress: SharedArrayBuffer;
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
  /** Records of packets up to input position `upTo` (every later record has a greater seq). */
  | { type: 'output'; records: OutputRecord[]; upTo: number }
  /** End of input: the records made at the end, the statistics, the first capture-file error (as one pipeline's). */
  | { type: 'done'; records: OutputRecord[]; stats: PipelineStats; error: string | null }
  /** `user`: the site, rules or baseline did not load (a usage error, exit 2), not a fault of the worker. */
  | { type: 'error'; message: string; user: boolean };

async function run(
  port: NonNullable<typeof parentPort>,
  input: ReplayWorkerInput,
  data: EngineInputData,
): Promise<void> {
  const post = (reply: ReplayWorkerReply): void => port.postMessage(reply);
  let shard: Shard;
  try {
    shard = new Shard(input, data);
  } catch (err) {
    post({ type: 'error', message: (err as Error).message, user: err instanceof UserError });
    return;
  }
  const progress = new Int32Array(input.progress);
  try {
    const end = await shard.run({
      progress,
      output: (records, upTo) => post({ type: 'output', records, upTo }),
      // A worker has nothing else to do while it waits: it blocks, and wakes when the slower share moves on.
      wait: (slot, value) => {
        Atomics.wait(progress, slot, value, WAIT_MS);
      },
    });
    post({ type: 'done', ...end });
  } catch (err) {
    if (!(err instanceof ShardAbandoned)) throw err;
  }
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
