// `replay --workers N` against one pipeline on the bench capture: `wardwatch replay` as a user runs it (shipped rules,
// output to /dev/null), the worker counts alternated run by run so that a busy neighbour hurts each alike; medians
// of wall time, CPU time and packets/s are printed, never asserted.
import { spawnSync } from 'node:child_process';
import { existsSync, openSync, readFileSync, closeSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { DEFAULT_CAPTURE, REPO_ROOT, makeCapture } from './make-capture.js';

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

/** CPU seconds of waited-for children (cutime + cstime of /proc/self/stat, at USER_HZ 100), -1 without /proc. */
function childCpuSeconds(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[13]) + Number(fields[14]);
    return Number.isFinite(ticks) ? ticks / 100 : -1;
  } catch {
    return -1;
  }
}

interface Run {
  workers: number;
  packets: number;
  findings: number;
  seconds: number;
  cpuSeconds: number;
}

function runOnce(bin: string, file: string, workers: number, extra: readonly string[]): Run {
  const devNull = openSync('/dev/null', 'w');
  const cpu0 = childCpuSeconds();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, 'replay', file, '--workers', String(workers), ...extra], {
    stdio: ['ignore', devNull, 'pipe'],
    maxBuffer: 16 * 1024 * 1024,
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpuSeconds = childCpuSeconds() - cpu0;
  closeSync(devNull);
  const stderr = r.stderr.toString();
  if (r.status !== 0)
    throw new Error(`replay --workers ${workers} exited ${r.status}: ${stderr.slice(-500)}`);
  const packets = Number(/(\d+) packets,/.exec(stderr)?.[1] ?? NaN);
  const findings = Number(/findings: (\d+)/.exec(stderr)?.[1] ?? NaN);
  return { workers, packets, findings, seconds, cpuSeconds };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

function main(): void {
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
      const r = runOnce(bin, args.file, n, args.extra);
      runs.push(r);
      console.log(
        `  run ${i + 1} --workers ${n}: ${r.seconds.toFixed(2)} s wall, ${r.cpuSeconds.toFixed(2)} s CPU, ` +
          `${r.findings} findings, load ${loadavg()[0]?.toFixed(2) ?? '?'}`,
      );
    }
  }
  console.log(`\n${args.file}, replay with the shipped rules, ${args.repeat} runs each, medians:`);
  console.log('| workers | packets | wall s | CPU s | packets/s (wall) | vs first |');
  console.log('| ------- | ------- | ------ | ----- | ---------------- | -------- |');
  let base = 0;
  for (const n of args.workers) {
    const mine = runs.filter((r) => r.workers === n);
    const wall = median(mine.map((r) => r.seconds));
    const cpu = median(mine.map((r) => r.cpuSeconds));
    const packets = mine[0]?.packets ?? NaN;
    const pps = packets / wall;
    if (base === 0) base = pps;
    console.log(
      `| ${n} | ${packets} | ${wall.toFixed(2)} | ${cpu.toFixed(2)} | ${Math.round(pps)} | ${(pps / base).toFixed(2)}× |`,
    );
  }
  console.log(
    `load average ${load0} at start, ${loadavg()[0]?.toFixed(2) ?? '?'} at end, ${cpus().length} CPUs, node ${process.version}`,
  );
}

main();
