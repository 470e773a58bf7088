// The agent's commands (replay, baseline, rules, agent): the only agent file that reads argv-derived options and the filesystem for config.
import { opensIncident } from './engine/incidents.js';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineWriter, type OutputFormat } from './cli/output.js';
import { createBaselineChecker } from './engine/baseline-check.js';
import { diffBaselines } from './engine/baseline-diff.js';
import { BaselineLearner } from './engine/baseline-learn.js';
import type { Baseline } from './engine/baseline-model.js';
import type { BaselineChecker } from './engine/baseline-types.js';
import { formatBaselineYaml, parseBaselineYaml } from './engine/baseline-yaml.js';
import { loadRules, validateRulesDir, type RuleSet } from './engine/rules.js';
import { loadSite, SiteIndex, type Site } from './engine/site.js';
import { replayFiles, type ReplayOptions, type ReplaySummary } from './pipeline.js';
import type { FlowLimits } from './reassembly/flow-table.js';
import { UserError } from './wire/errors.js';
import { SEVERITIES, severityRank, type Finding, type Severity } from './wire/finding.js';

/** Exit statuses (docs/cli.md): 0 ok, 1 findings at or above --fail-on, 2 bad input or usage. */
export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_BAD_INPUT = 2;

/** A start-up problem with the user's input: printed as one line, exit status 2 (bin/ maps every UserError so). */
export class UsageError extends UserError {
  override name = 'UsageError';
}

/** The rules shipped with wardwatch (package root `rules/`, beside `dist/`). */
export const DEFAULT_RULES_DIR = fileURLToPath(new URL('../../rules', import.meta.url));

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

const processIo: Io = { stdout: process.stdout, stderr: process.stderr };

function requireFile(file: string, what: string): void {
  if (!existsSync(file)) throw new UsageError(`${file}: ${what} not found`);
  if (statSync(file).isDirectory()) throw new UsageError(`${file}: ${what} is a directory`);
}

export interface EngineInputs {
  site: Site | null;
  rules: RuleSet | null;
  baseline: BaselineChecker | null;
  learningMicros: number;
  /** Flow table limits from --flow-memory / --max-flows (defaults when absent). */
  flowLimits?: Partial<FlowLimits>;
}

export interface EngineArgs {
  rules?: string | undefined;
  site?: string | undefined;
  baseline?: string | undefined;
  /** Learning mode for devices the baseline does not know ("7d", "0" = off); see Engine learningMicros. */
  learningPeriod?: string | undefined;
  /** false: no rules at all (events only). */
  useRules?: boolean;
  /** --flow-memory: MiB the flow table's estimate may reach before flows are evicted. */
  flowMemoryMiB?: number | undefined;
  /** --max-flows: flows tracked at once. */
  maxFlows?: number | undefined;
}

/** Flow table limits from the command line; each bad value is a usage error naming its option. */
export function flowLimitsOf(args: EngineArgs): Partial<FlowLimits> {
  const limits: Partial<FlowLimits> = {};
  if (args.flowMemoryMiB !== undefined) {
    const mib = args.flowMemoryMiB;
    // Below 1 MiB a single flow's reassembly cap would not fit.
    if (!Number.isFinite(mib) || mib < 1)
      throw new UsageError(`--flow-memory ${mib}: expected MiB, at least 1`);
    limits.memoryBudget = mib * 1024 * 1024;
  }
  if (args.maxFlows !== undefined) {
    const n = args.maxFlows;
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--max-flows ${n}: expected a positive integer`);
    limits.maxFlows = n;
  }
  return limits;
}

export function loadBaselineFile(file: string): Baseline {
  requireFile(file, 'baseline file');
  return parseBaselineYaml(readFileSync(file, 'utf8'), file);
}

/** Site, rules and baseline from the command line; any error names its file (and line). */
export function loadEngineInputs(args: EngineArgs): EngineInputs {
  let site: Site | null = null;
  if (args.site !== undefined) {
    requireFile(args.site, 'site file');
    site = loadSite(args.site);
  }
  let rules: RuleSet | null = null;
  if (args.useRules !== false) {
    const dir = args.rules ?? DEFAULT_RULES_DIR;
    if (!existsSync(dir)) throw new UsageError(`${dir}: rules directory not found`);
    rules = loadRules(dir);
  }
  let baseline: BaselineChecker | null = null;
  if (args.baseline !== undefined) {
    const index = site ? new SiteIndex(site) : null;
    const opts = index ? { isDevice: (ip: string) => index.zoneOf(ip) !== 'internet' } : {};
    baseline = createBaselineChecker(loadBaselineFile(args.baseline), opts);
  }
  const learningMicros =
    args.learningPeriod !== undefined ? parseDurationOption('learning-period', args.learningPeriod) * 1e6 : 0;
  return { site, rules, baseline, learningMicros, flowLimits: flowLimitsOf(args) };
}

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
}

/** `wardwatch replay`: findings (and events with --events) as JSON lines on stdout, a summary on stderr. */
export async function runReplay(args: ReplayArgs, io: Io = processIo): Promise<number> {
  checkCaptureFiles(args.files);
  const inputs = loadEngineInputs(args);
  const out = new LineWriter(io.stdout, args.format ?? 'jsonl');
  const findings: Finding[] = [];
  const progress = startProgress(args.files, io);
  const opts: ReplayOptions = {
    ...inputs,
    agentId: args.agentId ?? 'replay',
    onProgress: (i, bytes) => progress.update(i, bytes),
  };
  if (args.speed !== undefined) opts.speed = args.speed;
  let summary: ReplaySummary;
  try {
    summary = await replayFiles(args.files, opts, {
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

/** Write a file whole or not at all: a temporary sibling, then rename. */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

export interface LearnArgs {
  files: string[];
  out: string;
  site?: string | undefined;
  /** "1h", "30m", "90s" or seconds: learning time before volume and feed-stopped checks arm. */
  minLearning?: string | undefined;
}

/** A duration option ("1h", "30m", "90s", "250ms", "2d" or seconds) in seconds; a bad one is a usage error. */
export function parseDurationOption(option: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m || m[1] === undefined)
    throw new UsageError(`--${option}: "${text}" is not a duration like 90s, 30m or 1h`);
  const unit = { ms: 1e-3, s: 1, m: 60, h: 3600, d: 86400 }[m[2] ?? 's'] ?? 1;
  return Number(m[1]) * unit;
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
