// CPU time from /proc for the benchmarks that run children (run.ts's tshark stage, replay-workers.ts's replays).
import { readFileSync } from 'node:fs';

/** CPU seconds of waited-for children (cutime + cstime of /proc/self/stat, at USER_HZ 100), -1 without /proc. */
export function childCpuSeconds(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command name start at field 3 (state); cutime and cstime are fields 16 and 17.
    const ticks = Number(fields[13]) + Number(fields[14]);
    return Number.isFinite(ticks) ? ticks / 100 : -1;
  } catch {
    return -1;
  }
}
