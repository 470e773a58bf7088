// `npm run bench`: packets/s of each pipeline stage on the large synthetic capture, against a bare record loop and tshark; printed, never asserted.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { readCaptureFile } from '../agent/capture/file.js';
import type { RawFrame } from '../agent/capture/types.js';
import { Decoder } from '../agent/decode/decoder.js';
import { createPacket } from '../agent/decode/packet.js';
import { FlowTable } from '../agent/reassembly/flow-table.js';
import type { FlowHandlers, StreamConsumer } from '../agent/reassembly/types.js';
import { DEFAULT_CAPTURE, makeCapture } from './make-capture.js';

interface StageResult {
  name: string;
  packets: number;
  seconds: number;
  note?: string;
  rssMiB: number;
}

interface Args {
  file: string;
  packets: number;
  repeat: number;
  tshark: boolean;
  /** Stage letters to run, e.g. "abc". */
  stages: string;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { file: DEFAULT_CAPTURE, packets: 1_050_000, repeat: 3, tshark: true, stages: 'abcde' };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    const v = argv[i + 1];
    if (x === '--packets' && v !== undefined) {
      a.packets = Number(v);
      i++;
    } else if (x === '--repeat' && v !== undefined) {
      a.repeat = Math.max(1, Number(v));
      i++;
    } else if (x === '--stages' && v !== undefined) {
      a.stages = v;
      i++;
    } else if (x === '--no-tshark') a.tshark = false;
    else if (x === '--help') {
      console.log(
        'usage: node dist/bench/run.js [FILE] [--packets N] [--repeat N] [--stages abcde] [--no-tshark]\n' +
          `FILE defaults to ${DEFAULT_CAPTURE}, built by bench/make-capture.ts when absent.`,
      );
      process.exit(0);
    } else if (x !== undefined && !x.startsWith('--')) a.file = path.resolve(x);
    else {
      console.error(`bench: unknown argument ${x ?? ''}`);
      process.exit(2);
    }
  }
  return a;
}

function rssMiB(): number {
  return Math.round(process.memoryUsage().rss / (1 << 20));
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/**
 * (a) The limit: read the file in 1 MiB chunks and step over pcap record headers, touching nothing
 * else. Classic pcap only (either byte order, µs or ns); pcapng input skips this stage.
 */
function runRecordLoop(file: string): StageResult | string {
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(1 << 20);
    let have = readSync(fd, chunk, 0, chunk.length, null);
    if (have < 24) return 'file shorter than a pcap header';
    const magic = chunk.readUInt32LE(0);
    let le: boolean;
    if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) le = true;
    else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) le = false;
    else return 'not a classic pcap file (pcapng?): record loop skipped';
    const start = process.hrtime.bigint();
    let packets = 0;
    let captured = 0;
    let touched = 0;
    let pos = 24;
    for (;;) {
      if (have - pos < 16) {
        chunk.copy(chunk, 0, pos, have);
        have -= pos;
        pos = 0;
        const n = readSync(fd, chunk, have, chunk.length - have, null);
        if (n === 0) break;
        have += n;
        continue;
      }
      const incl = le ? chunk.readUInt32LE(pos + 8) : chunk.readUInt32BE(pos + 8);
      const rec = 16 + incl;
      if (rec > chunk.length)
        return `record of ${incl} bytes at packet ${packets + 1}: too large for this loop`;
      if (have - pos < rec) {
        chunk.copy(chunk, 0, pos, have);
        have -= pos;
        pos = 0;
        const n = readSync(fd, chunk, have, chunk.length - have, null);
        if (n === 0) break;
        have += n;
        continue;
      }
      packets++;
      captured += incl;
      touched ^= chunk[pos + 16] ?? 0; // look at the frame once, as any reader must
      pos += rec;
    }
    return {
      name: '(a) record loop (readSync, 1 MiB chunks)',
      packets,
      seconds: seconds(start),
      rssMiB: rssMiB(),
      note: `${captured} captured bytes (${touched & 1})`,
    };
  } finally {
    closeSync(fd);
  }
}

async function runCapture(file: string): Promise<StageResult> {
  const start = process.hrtime.bigint();
  let packets = 0;
  await readCaptureFile(file, () => {
    packets++;
  });
  return {
    name: '(a2) capture reader only (readCaptureFile)',
    packets,
    seconds: seconds(start),
    rssMiB: rssMiB(),
  };
}

async function runDecode(file: string): Promise<StageResult> {
  const decoder = new Decoder();
  const pkt = createPacket();
  let ok = 0;
  const start = process.hrtime.bigint();
  const r = await readCaptureFile(file, (f: RawFrame) => {
    if (decoder.decode(f, pkt) === 'ok') ok++;
  });
  return {
    name: '(b) capture read + decode',
    packets: r.frames,
    seconds: seconds(start),
    rssMiB: rssMiB(),
    note: `${ok} decoded ok`,
  };
}

async function runFlows(file: string): Promise<StageResult> {
  const decoder = new Decoder();
  const pkt = createPacket();
  let delivered = 0;
  let gaps = 0;
  // One consumer shared by every flow: the stage costs flows and reassembly, not analyzers.
  const consumer: StreamConsumer = {
    onData: (_dir, bytes) => {
      delivered += bytes.length;
    },
    onGap: () => {
      gaps++;
    },
    onEnd: () => undefined,
  };
  let records = 0;
  const handlers: FlowHandlers = {
    onFlowStart: () => consumer,
    onFlowEnd: () => {
      records++;
    },
  };
  const table = new FlowTable(handlers);
  let lastTs = 0;
  const start = process.hrtime.bigint();
  const r = await readCaptureFile(file, (f: RawFrame) => {
    if (decoder.decode(f, pkt) === 'ok') table.onPacket(pkt);
    lastTs = f.ts;
  });
  table.flush(lastTs);
  const rs = table.stats.reassembly;
  return {
    name: '(c) + flows + TCP reassembly',
    packets: r.frames,
    seconds: seconds(start),
    rssMiB: rssMiB(),
    note: `${records} flows, ${delivered} stream bytes, ${gaps} gaps, ${rs.retransmissions} retrans, peak ooo ${rs.oooBytesHeldPeak} B`,
  };
}

function runTshark(file: string, packets: number): StageResult | string {
  const probe = spawnSync('tshark', ['--version'], { stdio: 'ignore' });
  if (probe.error !== undefined || probe.status !== 0) return 'tshark not installed: skipped';
  const start = process.hrtime.bigint();
  const r = spawnSync('tshark', ['-r', file, '-q'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const s = seconds(start);
  if (r.status !== 0)
    return `tshark exited ${r.status ?? r.signal ?? '?'}: ${String(r.stderr).trim().split('\n').pop() ?? ''}`;
  return { name: '(d) tshark -r FILE -q', packets, seconds: s, rssMiB: 0, note: 'subprocess, own memory' };
}

interface PipelineModule {
  replayFiles(
    files: string[],
    opts: Record<string, never>,
    out: Record<string, never>,
  ): Promise<{ packets: number; flows?: number; gaps?: number; protocols?: unknown }>;
}

async function runPipeline(file: string): Promise<StageResult | string> {
  // Imported by a computed path so this bench builds and runs before the pipeline exists.
  const spec = '../agent/pipeline.js';
  let mod: Partial<PipelineModule>;
  try {
    mod = (await import(spec)) as Partial<PipelineModule>;
  } catch (err) {
    return `agent/pipeline.ts not available (${err instanceof Error ? err.message.split('\n')[0] : String(err)}): skipped`;
  }
  if (typeof mod.replayFiles !== 'function') return 'agent/pipeline.ts has no replayFiles: skipped';
  const start = process.hrtime.bigint();
  const r = await mod.replayFiles([file], {}, {});
  return {
    name: '(e) full pipeline: replayFiles (no rules)',
    packets: r.packets,
    seconds: seconds(start),
    rssMiB: rssMiB(),
    note: `${r.flows ?? '?'} flows, ${r.gaps ?? '?'} gaps`,
  };
}

function best(results: StageResult[]): StageResult {
  return results.reduce((a, b) => (b.seconds < a.seconds ? b : a));
}

function fmtRate(pps: number): string {
  return pps >= 1e6 ? `${(pps / 1e6).toFixed(2)} M/s` : `${(pps / 1e3).toFixed(0)} k/s`;
}

function printTable(
  rows: StageResult[],
  notes: string[],
  baseline: StageResult | undefined,
  tshark: StageResult | undefined,
): void {
  const lines: string[][] = [
    ['stage', 'packets', 'seconds', 'packets/s', 'vs (a)', 'vs tshark', 'rss MiB', 'note'],
  ];
  for (const r of rows) {
    const pps = r.packets / r.seconds;
    lines.push([
      r.name,
      String(r.packets),
      r.seconds.toFixed(2),
      fmtRate(pps),
      baseline ? (pps / (baseline.packets / baseline.seconds)).toFixed(2) : '-',
      tshark ? (pps / (tshark.packets / tshark.seconds)).toFixed(1) + 'x' : '-',
      r.rssMiB > 0 ? String(r.rssMiB) : '-',
      r.note ?? '',
    ]);
  }
  const widths = (lines[0] ?? []).map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
  for (const l of lines)
    console.log(l.map((c, i) => (i === l.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  '));
  for (const n of notes) console.log(`note: ${n}`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (!existsSync(args.file)) {
    if (args.file !== DEFAULT_CAPTURE) {
      console.error(`bench: ${args.file}: no such file`);
      process.exit(2);
    }
    console.error(`bench: building ${args.file} (${args.packets} packets)...`);
    const made = makeCapture(args.file, { packets: args.packets });
    console.error(
      `bench: ${made.packets} packets, ${made.flows} flows, ${(made.bytes / 1e6).toFixed(0)} MB in ${made.seconds.toFixed(1)} s`,
    );
  }
  const size = statSync(args.file).size;
  console.log(
    `bench: ${args.file} (${(size / 1e6).toFixed(0)} MB), node ${process.version}, stages a-c best of ${args.repeat}, d-e once`,
  );
  const rows: StageResult[] = [];
  const notes: string[] = [];
  // Fast in-process stages run `repeat` times and keep the best (the first run pays for the JIT);
  // tshark and the whole pipeline run once.
  const repeat = async (
    fn: () => Promise<StageResult | string> | StageResult | string,
    times = args.repeat,
  ): Promise<void> => {
    const got: StageResult[] = [];
    for (let i = 0; i < times; i++) {
      const r = await fn();
      if (typeof r === 'string') {
        notes.push(r);
        return;
      }
      got.push(r);
    }
    rows.push(best(got));
  };
  const want = (stage: string): boolean => args.stages.includes(stage);
  if (want('a')) await repeat(() => runRecordLoop(args.file));
  const baseline = rows.find((r) => r.name.startsWith('(a)'));
  if (want('a')) await repeat(() => runCapture(args.file));
  if (want('b')) await repeat(() => runDecode(args.file));
  if (want('c')) await repeat(() => runFlows(args.file));
  const packets = rows[rows.length - 1]?.packets ?? 0;
  let tshark: StageResult | undefined;
  if (want('d') && args.tshark) {
    await repeat(() => runTshark(args.file, packets), 1);
    tshark = rows.find((r) => r.name.startsWith('(d)'));
  } else if (want('d')) notes.push('tshark skipped (--no-tshark)');
  if (want('e')) await repeat(() => runPipeline(args.file), 1);
  printTable(rows, notes, baseline, tshark);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
