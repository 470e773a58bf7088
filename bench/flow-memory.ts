// `npm run bench:flowmem`: memory per tracked flow through the real pipeline (decode, flows, dispatch,
// analyzers, engine with the shipped rules), for SYN-only flows and for established flows with a little payload.
// Heap and RSS deltas after a forced GC, at half and at all of the flows; printed, never asserted.
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { readCaptureFile } from '../agent/capture/file.js';
import { loadRules } from '../agent/engine/rules/rules.js';
import { Pipeline } from '../agent/pipeline.js';
import { writeEstablished, writeSynFlood } from './flow-captures.js';
import { BENCH_DIR, REPO_ROOT } from './make-capture.js';

interface Args {
  flows: number;
  rules: boolean;
  kinds: ('syn' | 'established')[];
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { flows: 80_000, rules: true, kinds: ['syn', 'established'] };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    const v = argv[i + 1];
    if (x === '--flows' && v !== undefined) {
      a.flows = Number(v);
      i++;
    } else if (x === '--kind' && (v === 'syn' || v === 'established')) {
      a.kinds = [v];
      i++;
    } else if (x === '--no-rules') a.rules = false;
    else {
      console.error(
        'usage: node --expose-gc dist/bench/flow-memory.js [--flows N] [--kind syn|established] [--no-rules]',
      );
      process.exit(2);
    }
  }
  return a;
}

interface Sample {
  heap: number;
  rss: number;
}

function sample(gc: () => void): Sample {
  // Twice: the first pass may only promote what the second frees.
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.external, rss: m.rss };
}

async function measure(kind: 'syn' | 'established', args: Args, gc: () => void): Promise<void> {
  mkdirSync(BENCH_DIR, { recursive: true });
  const file = path.join(BENCH_DIR, `flowmem-${kind}-${args.flows}.pcap`);
  // Packet time spread over one second: no flow reaches any timeout while it is measured.
  const packets =
    kind === 'syn'
      ? writeSynFlood(file, { flows: args.flows, rate: args.flows })
      : writeEstablished(file, { flows: args.flows, rate: args.flows * 6 });
  const perFlow = packets / args.flows;
  const p = new Pipeline(
    {
      rules: args.rules ? loadRules(path.join(REPO_ROOT, 'rules')) : null,
      // Nothing evicted: every flow must still be in the table when measured.
      flowLimits: { maxFlows: args.flows * 2, memoryBudget: Number.POSITIVE_INFINITY },
    },
    {},
  );
  const half = Math.floor(args.flows / 2) * perFlow;
  const before = sample(gc);
  let mid: Sample | null = null;
  let midFlows = 0;
  let seen = 0;
  await readCaptureFile(file, (f) => {
    p.onFrame(f);
    if (++seen === half) {
      mid = sample(gc);
      midFlows = p.flows.size;
    }
  });
  const after = sample(gc);
  const flows = p.flows.size;
  const m = mid as Sample | null;
  const fmt = (bytes: number, n: number): string => (n > 0 ? (bytes / n).toFixed(0) : '-');
  const est = p.flows.stats.memory;
  console.log(
    `${kind.padEnd(11)} ${String(flows).padStart(8)} flows  heap+external ${fmt(after.heap - before.heap, flows)} B/flow` +
      ` (marginal ${m ? fmt(after.heap - m.heap, flows - midFlows) : '-'})` +
      `  rss ${fmt(after.rss - before.rss, flows)} B/flow  table estimate ${fmt(est?.bytes ?? 0, flows)} B/flow` +
      `  rss ${(after.rss / 2 ** 20).toFixed(0)} MiB`,
  );
  p.finish();
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    console.error('bench: run with node --expose-gc (npm run bench:flowmem does)');
    process.exit(2);
  }
  const load = loadavg()[0]?.toFixed(1) ?? '?';
  console.log(
    `flow memory, ${args.flows} flows each, ${args.rules ? 'shipped rules' : 'no rules'}, node ${process.version}`,
  );
  for (const kind of args.kinds) await measure(kind, args, gc);
  console.log(`load average ${load} at start, ${loadavg()[0]?.toFixed(1) ?? '?'} at end`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
