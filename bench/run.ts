// `npm run bench`: packets/s of each pipeline stage on the large synthetic capture, against a bare record loop and tshark; printed, never asserted.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { readCaptureFile } from '../agent/capture/file.js';
import type { RawFrame } from '../agent/capture/types.js';
import { Decoder } from '../agent/decode/decoder.js';
import { createPacket } from '../agent/decode/packet.js';
import { FlowTable } from '../agent/reassembly/flow-table.js';
import type { FlowHandlers, StreamConsumer } from '../agent/reassembly/types.js';
import { DEFAULT_CAPTURE, REPO_ROOT, makeCapture } from './make-capture.js';
import { childCpuSeconds } from './proc-cpu.js';

interface StageResult {
  name: string;
  packets: number;
  seconds: number;
  /** CPU time (user + system) of this process, or of the tshark child: steadier than wall time on a busy machine. */
  cpuSeconds: number;
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
  const a: Args = { file: DEFAULT_CAPTURE, packets: 1_050_000, repeat: 3, tshark: true, stages: 'abcdefg' };
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
        'usage: node dist/bench/run.js [FILE] [--packets N] [--repeat N] [--stages abcdefg] [--no-tshark]\n' +
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

interface Clock {
  wall: bigint;
  cpu: NodeJS.CpuUsage;
  child: number;
}

function startClock(): Clock {
  return { wall: process.hrtime.bigint(), cpu: process.cpuUsage(), child: childCpuSeconds() };
}

function elapsed(c: Clock, child = false): { seconds: number; cpuSeconds: number } {
  const seconds = Number(process.hrtime.bigint() - c.wall) / 1e9;
  if (child) {
    const now = childCpuSeconds();
    return { seconds, cpuSeconds: now >= 0 && c.child >= 0 ? now - c.child : seconds };
  }
  const u = process.cpuUsage(c.cpu);
  return { seconds, cpuSeconds: (u.user + u.system) / 1e6 };
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
    const start = startClock();
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
      ...elapsed(start),
      rssMiB: rssMiB(),
      note: `${captured} captured bytes (${touched & 1})`,
    };
  } finally {
    closeSync(fd);
  }
}

async function runCapture(file: string): Promise<StageResult> {
  const start = startClock();
  let packets = 0;
  await readCaptureFile(file, () => {
    packets++;
  });
  return {
    name: '(a2) capture reader only (readCaptureFile)',
    packets,
    ...elapsed(start),
    rssMiB: rssMiB(),
  };
}

async function runDecode(file: string): Promise<StageResult> {
  const decoder = new Decoder();
  const pkt = createPacket();
  let ok = 0;
  const start = startClock();
  const r = await readCaptureFile(file, (f: RawFrame) => {
    if (decoder.decode(f, pkt) === 'ok') ok++;
  });
  return {
    name: '(b) capture read + decode',
    packets: r.frames,
    ...elapsed(start),
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
  const start = startClock();
  const r = await readCaptureFile(file, (f: RawFrame) => {
    if (decoder.decode(f, pkt) === 'ok') table.onPacket(pkt);
    lastTs = f.ts;
  });
  table.flush(lastTs);
  const rs = table.stats.reassembly;
  return {
    name: '(c) + flows + TCP reassembly',
    packets: r.frames,
    ...elapsed(start),
    rssMiB: rssMiB(),
    note: `${records} flows, ${delivered} stream bytes, ${gaps} gaps, ${rs.retransmissions} retrans, peak ooo ${rs.oooBytesHeldPeak} B`,
  };
}

/**
 * tshark in a subprocess. `-q` alone lets tshark skip dissection altogether (it only reads records), so
 * a second run adds a TCP conversation tap, which makes it dissect every packet (TCP, HL7, DICOM, MQTT).
 */
function runTshark(file: string, packets: number, dissect: boolean): StageResult | string {
  const probe = spawnSync('tshark', ['--version'], { stdio: 'ignore' });
  if (probe.error !== undefined || probe.status !== 0) return 'tshark not installed: skipped';
  const argv = dissect ? ['-r', file, '-q', '-z', 'conv,tcp'] : ['-r', file, '-q'];
  const start = startClock();
  const r = spawnSync('tshark', argv, { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 20 });
  const t = elapsed(start, true);
  if (r.status !== 0)
    return `tshark exited ${r.status ?? r.signal ?? '?'}: ${String(r.stderr).trim().split('\n').pop() ?? ''}`;
  const name = dissect ? '(d2) tshark -r FILE -q -z conv,tcp' : '(d) tshark -r FILE -q';
  const note = dissect ? 'dissects every packet; subprocess' : 'reads records, no dissection; subprocess';
  return { name, packets, ...t, rssMiB: 0, note };
}

interface PipelineModule {
  replayFiles(
    files: string[],
    opts: { rules?: unknown },
    out: { onFinding?(f: unknown): void },
  ): Promise<{ packets: number; flows?: number; gaps?: number; findings?: number }>;
}

interface RulesModule {
  loadRules(dir: string): unknown;
}

/** Imports a module of the agent by a computed path, so that this bench builds and runs before it exists. */
async function importAgent<T>(rel: string): Promise<Partial<T> | string> {
  try {
    return (await import(rel)) as Partial<T>;
  } catch (err) {
    return `${rel} not available (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`;
  }
}

/** (e) The whole agent as `wardwatch replay` runs it: analyzers, and with `withRules` the engine and shipped rules. */
async function runPipeline(file: string, withRules: boolean): Promise<StageResult | string> {
  const mod = await importAgent<PipelineModule>('../agent/pipeline.js');
  if (typeof mod === 'string') return `${mod}: pipeline skipped`;
  if (typeof mod.replayFiles !== 'function') return 'agent/pipeline.ts has no replayFiles: skipped';
  const opts: { rules?: unknown } = {};
  if (withRules) {
    const rules = await importAgent<RulesModule>('../agent/engine/rules/rules.js');
    if (typeof rules === 'string' || typeof rules.loadRules !== 'function')
      return 'no loadRules: pipeline with rules skipped';
    opts.rules = rules.loadRules(path.join(REPO_ROOT, 'rules'));
  }
  let findings = 0;
  const start = startClock();
  const r = await mod.replayFiles([file], opts, {
    onFinding: () => {
      findings++;
    },
  });
  return {
    name: withRules
      ? '(e2) full pipeline + engine, shipped rules'
      : '(e) full pipeline: replayFiles (no rules)',
    packets: r.packets,
    ...elapsed(start),
    rssMiB: rssMiB(),
    note: `${r.flows ?? '?'} flows, ${r.gaps ?? '?'} gaps${withRules ? `, ${findings} findings` : ''}`,
  };
}

function best(results: StageResult[]): StageResult {
  return results.reduce((a, b) => (b.cpuSeconds < a.cpuSeconds ? b : a));
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
  // Ratios use CPU time: on a shared machine wall time mostly measures the neighbours.
  const rate = (r: StageResult): number => r.packets / r.cpuSeconds;
  const lines: string[][] = [
    [
      'stage',
      'packets',
      'wall s',
      'cpu s',
      'pkt/s wall',
      'pkt/s cpu',
      'vs (a)',
      'vs tshark',
      'rss MiB',
      'note',
    ],
  ];
  for (const r of rows) {
    lines.push([
      r.name,
      String(r.packets),
      r.seconds.toFixed(2),
      r.cpuSeconds.toFixed(2),
      fmtRate(r.packets / r.seconds),
      fmtRate(rate(r)),
      baseline ? (rate(r) / rate(baseline)).toFixed(2) : '-',
      tshark ? (rate(r) / rate(tshark)).toFixed(1) + 'x' : '-',
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
  const loadAtStart = loadavg()[0]?.toFixed(1) ?? '?';
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
  let packets = rows[rows.length - 1]?.packets ?? 0;
  if (packets === 0) {
    const counted = runRecordLoop(args.file);
    packets = typeof counted === 'string' ? 0 : counted.packets;
  }
  let tshark: StageResult | undefined;
  if (want('d') && args.tshark) {
    await repeat(() => runTshark(args.file, packets, false), 1);
    await repeat(() => runTshark(args.file, packets, true), 1);
    // The fair comparison for a dissecting pipeline is tshark dissecting too.
    tshark = rows.find((r) => r.name.startsWith('(d2)')) ?? rows.find((r) => r.name.startsWith('(d)'));
  } else if (want('d')) notes.push('tshark skipped (--no-tshark)');
  if (want('e')) {
    await repeat(() => runPipeline(args.file, false), 1);
    await repeat(() => runPipeline(args.file, true), 1);
  }
  printTable(rows, notes, baseline, tshark);
  if (want('f')) {
    // Each analyzer alone on its own synthetic stream in 1460-byte segments.
    const { runMqttBench } = await import('./mqtt-analyzer.js');
    const { runDicomBench } = await import('./dicom-analyzer.js');
    const { runHl7Bench } = await import('./hl7-analyzer.js');
    for (const [name, r] of [
      ['mqtt 3.1.1', runMqttBench(50, 2000, false)],
      ['mqtt 5.0', runMqttBench(50, 2000, true)],
      ['dicom', runDicomBench()],
      ['hl7', runHl7Bench()],
    ] as const) {
      console.log(
        `(f) ${name.padEnd(10)} analyzer: ${Math.round(r.messagesPerSecond).toLocaleString('en')} messages/s, ${r.mbPerSecond.toFixed(0)} MB/s`,
      );
    }
  }
  if (want('g')) {
    // Findings/s through the collector and /metrics scrape time with 100 agents and 10,000 devices.
    const { runCollectorBench, parseArgs: collectorArgs } = await import('./collector.js');
    await runCollectorBench(collectorArgs([]));
  }
  // Figures from a shared machine mean little without its load: print it beside them.
  console.log(
    `load average ${loadAtStart} at start, ${loadavg()[0]?.toFixed(1) ?? '?'} at end, ${cpus().length} CPUs`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
