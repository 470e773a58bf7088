// `npm run bench:synflood`: a capture of 1M SYN-only flows (a scan of sixteen /16s, never answered) replayed by
// `wardwatch replay` with the shipped rules in a child process; prints its peak RSS against the agent unit's
// MemoryMax and the target, and bytes per flow. Printed, never asserted.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeSynFlood } from './flow-captures.js';
import { BENCH_DIR, REPO_ROOT } from './make-capture.js';

/** The shipped systemd unit's MemoryMax (deploy/systemd/wardwatch-agent@.service). */
const UNIT_MEMORY_MAX = 512 * 1024 * 1024;
const TARGET_RSS = 400 * 1024 * 1024;

interface Args {
  flows: number;
  rate: number;
  /** Extra options for `wardwatch replay` (e.g. --flow-memory 64). */
  extra: string[];
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { flows: 1_000_000, rate: 10_000, extra: [] };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    const v = argv[i + 1];
    if (x === '--flows' && v !== undefined) {
      a.flows = Number(v);
      i++;
    } else if (x === '--rate' && v !== undefined) {
      a.rate = Number(v);
      i++;
    } else if (x === '--') {
      a.extra = argv.slice(i + 1);
      break;
    } else {
      console.error(
        'usage: node dist/bench/syn-flood.js [--flows N] [--rate PACKETS_PER_S] [-- REPLAY_OPTIONS...]\n' +
          'e.g. node dist/bench/syn-flood.js -- --flow-memory 64 --max-flows 200000',
      );
      process.exit(2);
    }
  }
  return a;
}

// Loaded into the child before the CLI: its peak RSS (getrusage maxrss, KiB) on stderr as it exits.
const MAXRSS_HOOK =
  "data:text/javascript,process.on('exit',()=>process.stderr.write('maxrss_kib '+process.resourceUsage().maxRSS+'\\n'))";

interface ChildResult {
  maxRss: number;
  stderr: string;
  seconds: number;
}

function replay(file: string, extra: readonly string[]): Promise<ChildResult> {
  const cli = path.join(REPO_ROOT, 'dist', 'bin', 'wardwatch.js');
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', MAXRSS_HOOK, cli, 'replay', file, ...extra], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const m = /maxrss_kib (\d+)/.exec(stderr);
      if (code !== 0 || !m) {
        reject(new Error(`replay exited ${code ?? '?'}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
        return;
      }
      resolve({
        maxRss: Number(m[1]) * 1024,
        stderr: stderr.replace(/maxrss_kib \d+\n/, '').trim(),
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
      });
    });
  });
}

const mib = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  mkdirSync(BENCH_DIR, { recursive: true });
  const file = path.join(BENCH_DIR, `synflood-${args.flows}-${args.rate}.pcap`);
  if (!existsSync(file)) {
    const n = writeSynFlood(file, { flows: args.flows, rate: args.rate });
    console.log(`bench: wrote ${file} (${n} SYNs at ${args.rate}/s of packet time)`);
  }
  const tiny = path.join(BENCH_DIR, 'synflood-1-1.pcap');
  if (!existsSync(tiny)) writeSynFlood(tiny, { flows: 1, rate: 1 });
  const load = loadavg()[0]?.toFixed(1) ?? '?';
  // The same command on one SYN: what the process needs before any flow (runtime, rules, OUI registry).
  const idle = await replay(tiny, args.extra);
  const r = await replay(file, args.extra);
  const summary = r.stderr.split('\n').find((l) => l.startsWith('replay:')) ?? r.stderr;
  const peak = Number(/peak (\d+) flows at once/.exec(summary)?.[1] ?? NaN);
  console.log(summary);
  console.log(
    `${args.flows} SYN-only flows at ${args.rate}/s: peak RSS ${mib(r.maxRss)} ` +
      `(target ${mib(TARGET_RSS)}: ${r.maxRss <= TARGET_RSS ? 'met' : 'NOT met'}; unit MemoryMax ${mib(UNIT_MEMORY_MAX)}), ` +
      `${mib(idle.maxRss)} for one flow, so ${((r.maxRss - idle.maxRss) / peak).toFixed(0)} B per flow ` +
      `over the peak of ${peak} flows at once; ${r.seconds.toFixed(1)} s, ${(args.flows / r.seconds / 1000).toFixed(0)}k SYNs/s`,
  );
  console.log(
    `load average ${load} at start, ${loadavg()[0]?.toFixed(1) ?? '?'} at end, ${cpus().length} CPUs`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
