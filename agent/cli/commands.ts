// The agent's commands (replay, baseline, rules, agent): the only agent file that reads argv-derived options and the filesystem for config.
import { opensIncident } from '../engine/findings/incidents.js';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { adviceFrom, LineWriter, type OutputFormat } from './output.js';
import { diffBaselines, showBaseline } from '../engine/baselines/baseline-diff.js';
import { BaselineLearner } from '../engine/baselines/baseline-learn.js';
import { formatBaselineYaml } from '../engine/baselines/baseline-yaml.js';
import { validateRulesDir } from '../engine/rules/rules.js';
import { SiteIndex } from '../engine/site/site.js';
import { replayFiles, type ReplayOptions, type ReplaySummary } from '../pipeline.js';
import { replayInWorkers } from '../replay-workers.js';
import {
  DEFAULT_RULES_DIR,
  EXIT_BAD_INPUT,
  EXIT_FINDINGS,
  EXIT_OK,
  loadBaselineFile,
  loadEngineInputs,
  readEngineInputs,
  parseDurationOption,
  requireFile,
  UsageError,
  writeFileAtomic,
  type EngineArgs,
} from '../engine-inputs.js';
import { SEVERITIES, severityRank, type Finding, type Severity } from '../wire/finding.js';

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

const processIo: Io = { stdout: process.stdout, stderr: process.stderr };

function checkCaptureFiles(files: readonly string[]): void {
  if (files.length === 0) throw new UsageError('no capture file given');
  for (const f of files) requireFile(f, 'capture file');
}

export function formatSummary(label: string, s: ReplaySummary, findings: readonly Finding[]): string {
  const bySeverity = new Map<string, number>();
  for (const f of findings) bySeverity.set(f.severity, (bySeverity.get(f.severity) ?? 0) + 1);
  const sev = [...SEVERITIES]
    .reverse()
    .filter((x) => bySeverity.has(x))
    .map((x) => `${x} ${bySeverity.get(x)}`)
    .join(', ');
  const pps = s.seconds > 0 ? Math.round(s.packets / s.seconds) : 0;
  const messages = Object.entries(s.protocols.messages)
    .map(([proto, types]) => `${proto} ${Object.values(types).reduce((a, b) => a + b, 0)}`)
    .join(', ');
  const parseErrors = Object.values(s.protocols.parseErrors).reduce((a, b) => a + b, 0);
  const analyzerErrors = Object.values(s.protocols.analyzerErrors).reduce((a, b) => a + b, 0);
  const ev = s.flowEvictions;
  return (
    `${label}: ${s.files} file${s.files === 1 ? '' : 's'}, ${s.packets} packets, ${s.bytes} bytes, ${s.flows} flows, ` +
    `${s.decodeErrors} decode errors, ${s.gaps} reassembly gaps (${s.gapBytes} bytes), ` +
    `messages: ${messages}, ${parseErrors} parse errors, ` +
    `${analyzerErrors} analyzer errors, ${s.engineErrors} engine errors, ` +
    `findings: ${findings.length}${sev ? ` (${sev})` : ''}, ` +
    `alerts: ${findings.filter(opensIncident).length}, exposures: ${findings.filter((f) => f.class === 'exposure').length}, ` +
    // Every cap's counter, so that a capture that hit one says so.
    `flow evictions: cap ${ev.cap}, budget ${ev.budget}, embryonic timeout ${ev.embryonic_timeout}, ` +
    `idle timeout ${ev.idle_timeout}, ` +
    `peak ${s.flowPeak} flows at once (${(s.flowMemoryPeak / 1048576).toFixed(1)} MiB estimated), ` +
    `${s.fragmentDrops} fragment drops, ${s.deviceEvictions} device evictions, ` +
    `${s.identity.datagramsCut} datagrams cut, ` +
    `${s.seconds.toFixed(3)} s, ${pps} packets/s`
  );
}

export interface ReplayArgs extends EngineArgs {
  files: string[];
  events?: boolean;
  flows?: boolean;
  format?: OutputFormat;
  failOn?: Severity | undefined;
  speed?: number | undefined;
  agentId?: string | undefined;
  /** Worker threads, each a pipeline with its share of host pairs (1: this thread, the default). */
  workers?: number | undefined;
}

/** Most replay workers: beyond the cores there is nothing to win, and each holds its own flow table. */
export const MAX_REPLAY_WORKERS = 64;

/** `wardwatch replay`: findings (and events with --events) as JSON lines on stdout, a summary on stderr. */
export async function runReplay(args: ReplayArgs, io: Io = processIo): Promise<number> {
  checkCaptureFiles(args.files);
  const workers = args.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_REPLAY_WORKERS)
    throw new UsageError(`--workers ${args.workers}: expected 1 to ${MAX_REPLAY_WORKERS}`);
  // Pacing is done by the reader per frame, and with workers each one reads: N pacers would drift apart.
  if (workers > 1 && args.speed !== undefined)
    throw new UsageError('--speed paces one pipeline: use it with --workers 1');
  // With workers, this thread parses site, rules and baseline while they start, and hands them the data.
  const inputs = workers > 1 ? null : loadEngineInputs(args);
  const out = new LineWriter(
    io.stdout,
    args.format ?? 'jsonl',
    inputs?.rules ? adviceFrom(inputs.rules.rules) : undefined,
  );
  const findings: Finding[] = [];
  const progress = startProgress(args.files, io);
  const opts: ReplayOptions = {
    ...(inputs ?? {}),
    agentId: args.agentId ?? 'replay',
    onProgress: (i, bytes) => progress.update(i, bytes),
  };
  if (args.speed !== undefined) opts.speed = args.speed;
  let summary: ReplaySummary;
  try {
    summary =
      workers > 1
        ? await replayInWorkers(
            args.files,
            {
              workers,
              readInputs: () => readEngineInputs(args),
              agentId: opts.agentId ?? 'replay',
              format: args.format ?? 'jsonl',
              events: args.events ?? false,
              flows: args.flows ?? false,
              onProgress: (i, bytes) => progress.update(i, bytes),
            },
            {
              onLine: (line) => out.writeLine(line),
              onFinding: (f) => findings.push(f),
            },
          )
        : await replayFiles(args.files, opts, {
            onFinding: (f) => {
              findings.push(f);
              out.write(f);
            },
            ...(args.events ? { onEvent: (ev) => out.write(ev) } : {}),
            ...(args.events || args.flows ? { onFlow: (rec) => out.write(rec) } : {}),
          });
  } finally {
    progress.stop();
  }
  await out.end();
  io.stderr.write(`${formatSummary('replay', summary, findings)}\n`);
  if (summary.error) {
    io.stderr.write(`wardwatch: ${summary.error}\n`);
    return EXIT_BAD_INPUT;
  }
  if (args.failOn !== undefined) {
    const limit = severityRank(args.failOn);
    if (findings.some((f) => severityRank(f.severity) >= limit)) return EXIT_FINDINGS;
  }
  return EXIT_OK;
}

/** A one-line progress indicator on a terminal for large inputs: percent read, packets/s; silent otherwise. */
function startProgress(
  files: readonly string[],
  io: Io,
): { update(fileIndex: number, bytes: number): void; stop(): void } {
  const sizes = files.map((f) => statSync(f).size);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (!io.stderr.isTTY || total < 50 * 1024 * 1024) return { update() {}, stop() {} };
  const started = Date.now();
  let done = 0;
  let last = 0;
  return {
    update(fileIndex, bytes) {
      const now = Date.now();
      if (now - last < 250) return;
      last = now;
      done = sizes.slice(0, fileIndex).reduce((a, b) => a + b, 0) + bytes;
      // Gzip input counts decompressed bytes: cap the figure rather than show more than 100 %.
      const pct = Math.min(99, Math.floor((done / total) * 100));
      const secs = (now - started) / 1000;
      io.stderr.write(
        `\rreplaying ${files[fileIndex] ?? ''}: ${pct}% of ${(total / 1e6).toFixed(0)} MB, ${secs.toFixed(0)} s`,
      );
    },
    stop() {
      io.stderr.write('\r\x1b[K');
    },
  };
}

export interface LearnArgs {
  files: string[];
  out: string;
  site?: string | undefined;
  /** "1h", "30m", "90s" or seconds: learning time before volume and feed-stopped checks arm. */
  minLearning?: string | undefined;
}

/** `wardwatch baseline learn FILE... --out FILE`. */
export async function runBaselineLearn(args: LearnArgs, io: Io = processIo): Promise<number> {
  checkCaptureFiles(args.files);
  const { site } = loadEngineInputs({ site: args.site, useRules: false });
  const outDir = path.dirname(path.resolve(args.out));
  if (!existsSync(outDir)) throw new UsageError(`${args.out}: directory ${outDir} does not exist`);
  const index = site ? new SiteIndex(site) : null;
  const minLearningS =
    args.minLearning !== undefined ? parseDurationOption('min-learning', args.minLearning) : undefined;
  const learner = new BaselineLearner({
    ...(index
      ? {
          zoneOf: (ip: string) => index.zoneOf(ip),
          nameOf: (ip: string) => index.assetOf(ip)?.name,
          isDevice: (ip: string) => index.zoneOf(ip) !== 'internet',
        }
      : {}),
    ...(minLearningS !== undefined ? { minLearningS } : {}),
  });
  const summary = await replayFiles(args.files, { site, observers: [learner] }, {});
  if (summary.error) {
    io.stderr.write(`wardwatch: ${summary.error}\n`);
    return EXIT_BAD_INPUT;
  }
  const baseline = learner.result();
  writeFileAtomic(args.out, formatBaselineYaml(baseline));
  io.stderr.write(
    `baseline: ${baseline.devices.length} devices learned from ${summary.packets} packets, written to ${args.out}\n`,
  );
  if (baseline.armed && (!baseline.armed.volume || !baseline.armed.feed_stopped))
    io.stderr.write(
      `baseline: learned for less than ${baseline.armed.min_learning_s} s: volume and feed-stopped checks are not armed (--min-learning)\n`,
    );
  return EXIT_OK;
}

/** `wardwatch baseline diff A B`: what changed from A to B, one line each. */
export function runBaselineDiff(a: string, b: string, io: Io = processIo): number {
  const lines = diffBaselines(loadBaselineFile(a), loadBaselineFile(b));
  io.stdout.write(lines.length ? `${lines.join('\n')}\n` : '');
  io.stderr.write(`baseline diff: ${lines.length} change${lines.length === 1 ? '' : 's'}\n`);
  return EXIT_OK;
}

/** `wardwatch baseline show FILE`: the baseline one line per entry, DICOM UIDs and implementations named. */
export function runBaselineShow(file: string, io: Io = processIo): number {
  const lines = showBaseline(loadBaselineFile(file));
  io.stdout.write(lines.length ? `${lines.join('\n')}\n` : '');
  return EXIT_OK;
}

/** `wardwatch rules validate [DIR]`: every error, one a line, exit 2 when any. */
export function runRulesValidate(dir: string | undefined, io: Io = processIo): number {
  const target = dir ?? DEFAULT_RULES_DIR;
  if (!existsSync(target)) throw new UsageError(`${target}: rules directory not found`);
  const v = validateRulesDir(target);
  for (const e of v.errors) io.stderr.write(`${e.message}\n`);
  io.stdout.write(`${v.rules} rules in ${v.files.length} files, ${v.errors.length} errors\n`);
  return v.errors.length ? EXIT_BAD_INPUT : EXIT_OK;
}

/** `wardwatch rules test DIR FILE...`: findings of DIR's rules on the captures, and a count per rule. */
export async function runRulesTest(
  args: { dir: string; files: string[]; site?: string | undefined; format?: OutputFormat },
  io: Io = processIo,
): Promise<number> {
  return runReplay(
    { files: args.files, rules: args.dir, site: args.site, format: args.format ?? 'pretty' },
    io,
  );
}
