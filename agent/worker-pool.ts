// `--workers N`: N capture threads (agent/live-worker.ts), findings merged into one stream, stats summed.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { EXIT_BAD_INPUT, EXIT_OK } from './engine-inputs.js';
import type { Baseline } from './engine/baselines/baseline-model.js';
import type { PoolMessage, WorkerInput, WorkerMessage } from './live-worker.js';
import { idleStats } from './sources.js';
import type { AgentStats } from './transport/client.js';
import type { Finding } from './wire/finding.js';
import type { DeviceRecord as WireDevice } from './wire/messages.js';

interface WorkerState {
  worker: Worker;
  stats: AgentStats | null;
  devices: WireDevice[];
  done: boolean;
  code: number;
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

export class WorkerPool {
  /** Live capture runs until it is stopped. */
  readonly finite = false;

  private readonly states: WorkerState[] = [];
  private failure: string | null = null;

  constructor(
    private readonly base: Omit<WorkerInput, 'index' | 'logLevel'>,
    private readonly onFinding: (f: Finding) => void,
    private readonly log: Logger,
  ) {}

  /** Starts the workers and resolves when the signal fires (or a worker fails), after every worker has flushed. */
  async run(signal: AbortSignal | undefined): Promise<number> {
    const url = new URL('./live-worker.js', import.meta.url);
    let wake: () => void = () => {};
    const stop = new Promise<void>((resolve) => {
      wake = resolve;
    });
    for (let index = 0; index < this.base.count; index++) {
      const input: WorkerInput = { ...this.base, index, logLevel: this.log.level };
      const state: WorkerState = {
        worker: new Worker(url, { workerData: input }),
        stats: null,
        devices: [],
        done: false,
        code: EXIT_OK,
      };
      state.worker.on('message', (msg: WorkerMessage) => this.onMessage(state, msg, wake));
      state.worker.on('error', (err) => {
        this.failure ??= `capture worker ${index}: ${err.message}`;
        wake();
      });
      state.worker.on('exit', () => {
        state.done = true;
      });
      this.states.push(state);
    }
    signal?.addEventListener('abort', () => wake());
    if (signal?.aborted) wake();
    await stop;
    await Promise.all(
      this.states.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.done) return resolve();
            s.worker.once('exit', () => resolve());
            s.worker.postMessage({ type: 'stop' });
            // A worker that does not answer in time is ended; what it had is lost, and said so.
            setTimeout(() => {
              if (!s.done) {
                this.log.warn('agent: a capture worker did not stop in time');
                void s.worker.terminate();
              }
            }, 5000).unref();
          }),
      ),
    );
    if (this.failure) {
      this.log.error(this.failure);
      return EXIT_BAD_INPUT;
    }
    return this.states.some((s) => s.code !== EXIT_OK) ? EXIT_BAD_INPUT : EXIT_OK;
  }

  private onMessage(state: WorkerState, msg: WorkerMessage, wake: () => void): void {
    switch (msg.type) {
      case 'findings':
        for (const f of msg.findings) this.onFinding(f);
        break;
      case 'stats':
        state.stats = msg.stats;
        break;
      case 'devices':
        state.devices = msg.devices;
        break;
      case 'error':
        this.failure ??= msg.message;
        wake();
        break;
      case 'ready':
        this.log.info(
          { worker: this.states.indexOf(state), linkType: msg.linkType },
          'agent: capture worker ready',
        );
        break;
      case 'done':
        state.code = msg.code;
        break;
    }
  }

  /** An approved baseline set pushed by the collector: every worker's engine applies it from its next event. */
  setBaseline(baseline: Baseline): void {
    const msg: PoolMessage = { type: 'baseline', baseline };
    for (const s of this.states) if (!s.done) s.worker.postMessage(msg);
  }

  /** SIGHUP: every worker reloads the rules (each keeps its old ones if the new ones do not load). */
  reloadRules(): void {
    for (const s of this.states) if (!s.done) s.worker.postMessage({ type: 'reload' });
  }

  devices(): WireDevice[] {
    return this.states.flatMap((s) => s.devices);
  }

  /** The heartbeat of the whole agent: every worker's counters added up. */
  stats(): AgentStats {
    const out = idleStats();
    for (const { stats: w } of this.states) {
      if (!w) continue;
      out.packets += w.packets;
      out.bytes += w.bytes;
      out.flows += w.flows;
      out.devices += w.devices;
      out.drops.kernel += w.drops.kernel;
      out.drops.interface += w.drops.interface;
      out.drops.queue += w.drops.queue;
      addCounts(out.parse_errors, w.parse_errors);
      if (w.analyzer_errors) addCounts((out.analyzer_errors ??= {}), w.analyzer_errors);
      for (const [proto, types] of Object.entries(w.messages)) addCounts((out.messages[proto] ??= {}), types);
      out.lag_seconds = Math.max(out.lag_seconds, w.lag_seconds);
      if (w.evictions) addCounts((out.evictions ??= {}), w.evictions);
    }
    return out;
  }
}
