// `replay --workers N` against one pipeline on the bench capture: `wardwatch replay` as a user runs it (shipped rules,
// output to /dev/null), the worker counts alternated run by run so that a busy neighbour hurts each alike; medians
// of wall time, CPU time and packets/s are printed, never asserted.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { DEFAULT_CAPTURE, REPO_ROOT, makeCapture } from './make-capture.js';
import { childCpuSeconds } from './proc-cpu.js';

interface Args {
  file: string;
  workers: number[];
  repeat: number;
  extra: string[];
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { file: DEFAULT_CAPTURE, workers: [1, 2], repeat: 3, extra: [] };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    const v = argv[i + 1];
    if (x === '--workers' && v !== undefined) {
      a.workers = v.split(',').map(Number);
      i++;
    } else if (x === '--repeat' && v !== undefined) {
      a.repeat = Math.max(1, Number(v));
      i++;
    } else if (x === '--') {
      a.extra = argv.slice(i + 1);
      break;
    } else if (x === '--help') {
      console.log(
        'usage: node dist/bench/replay-workers.js [FILE] [--workers 1,2] [--repeat 3] [-- REPLAY OPTIONS]\n' +
          `FILE defaults to ${DEFAULT_CAPTURE}, built by bench/make-capture.ts when absent.`,
      );
      process.exit(0);
    } else if (x !== undefined && !x.startsWith('--')) a.file = path.resolve(x);
    else {
      console.error(`bench: unknown argument ${x ?? ''}`);
      process.exit(2);
    }
  }
  if (a.workers.some((n) => !Number.isInteger(n) || n < 1)) {
    console.error('bench: --workers takes a comma-separated list of counts, e.g. 1,2');
    process.exit(2);
  }
  return a;
}

interface Run {
  workers: number;
  packets: number;
  findings: number;
  seconds: number;
  cpuSeconds: number;
  /** CPU seconds of the busiest thread: the wall time the run would need with a core per thread. */
  busiestThread: number;
}

/** CPU seconds (utime + stime, USER_HZ 100) of each thread of a running process, by thread id. */
function threadCpu(pid: number, into: Map<string, number>): void {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      into.set(tid, (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      // The thread ended between the listing and the read: its last sample stays.
    }
  }
}

async function runOnce(bin: string, file: string, workers: number, extra: readonly string[]): Promise<Run> {
  const devNull = openSync('/dev/null', 'w');
  const cpu0 = childCpuSeconds();
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [bin, 'replay', file, '--workers', String(workers), ...extra], {
    stdio: ['ignore', devNull, 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  // Sampled every 50 ms: a thread's last sample before it ends is its CPU time, to 50 ms.
  const threads = new Map<string, number>();
  const sampler = setInterval(() => {
    if (child.pid !== undefined) threadCpu(child.pid, threads);
  }, 50);
  const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  clearInterval(sampler);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpuSeconds = childCpuSeconds() - cpu0;
  closeSync(devNull);
  if (status !== 0) throw new Error(`replay --workers ${workers} exited ${status}: ${stderr.slice(-500)}`);
  const packets = Number(/(\d+) packets,/.exec(stderr)?.[1] ?? NaN);
  const findings = Number(/findings: (\d+)/.exec(stderr)?.[1] ?? NaN);
  const busiestThread = Math.max(0, ...threads.values());
  return { workers, packets, findings, seconds, cpuSeconds, busiestThread };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const bin = path.join(REPO_ROOT, 'dist/bin/wardwatch.js');
  if (!existsSync(bin)) {
    console.error(`bench: ${bin} not built (npm run build)`);
    process.exit(2);
  }
  if (!existsSync(args.file)) {
    if (args.file !== DEFAULT_CAPTURE) {
      console.error(`bench: ${args.file}: not found`);
      process.exit(2);
    }
    console.log(`making ${args.file} ...`);
    makeCapture(args.file);
  }
  const load0 = loadavg()[0]?.toFixed(2) ?? '?';
  const runs: Run[] = [];
  for (let i = 0; i < args.repeat; i++) {
    for (const n of args.workers) {
      const r = await runOnce(bin, args.file, n, args.extra);
      runs.push(r);
      console.log(
        `  run ${i + 1} --workers ${n}: ${r.seconds.toFixed(2)} s wall, ${r.cpuSeconds.toFixed(2)} s CPU ` +
          `(busiest thread ${r.busiestThread.toFixed(2)} s), ` +
          `${r.findings} findings, load ${loadavg()[0]?.toFixed(2) ?? '?'}`,
      );
    }
  }
  console.log(`\n${args.file}, replay with the shipped rules, ${args.repeat} runs each, medians:`);
  console.log(
    '| workers | packets | wall s | CPU s | busiest thread CPU s | packets/s (wall) | vs first | vs first, a core per thread |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  let base = 0;
  let baseBusiest = 0;
  for (const n of args.workers) {
    const mine = runs.filter((r) => r.workers === n);
    const wall = median(mine.map((r) => r.seconds));
    const cpu = median(mine.map((r) => r.cpuSeconds));
    const busiest = median(mine.map((r) => r.busiestThread));
    const packets = mine[0]?.packets ?? NaN;
    const pps = packets / wall;
    if (base === 0) base = pps;
    if (baseBusiest === 0) baseBusiest = busiest;
    // With a free core per thread a run takes about as long as its busiest thread: what a busy machine hides.
    console.log(
      `| ${n} | ${packets} | ${wall.toFixed(2)} | ${cpu.toFixed(2)} | ${busiest.toFixed(2)} | ${Math.round(pps)} | ` +
        `${(pps / base).toFixed(2)}× | ${(baseBusiest / busiest).toFixed(2)}× |`,
    );
  }
  console.log(
    `load average ${load0} at start, ${loadavg()[0]?.toFixed(2) ?? '?'} at end, ${cpus().length} CPUs, node ${process.version}`,
  );
}

void main();
