// What every agent command loads before it runs (site, rules, baseline, flow limits), the exit statuses and the
// small file and option helpers they share: a library, so the CLI commands (main.ts), the live agent
// (run-agent.ts) and its workers import it instead of each other.
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBaselineChecker } from './engine/baselines/baseline-check.js';
import type { Baseline } from './engine/baselines/baseline-model.js';
import type { BaselineChecker } from './engine/baselines/baseline-types.js';
import { parseBaselineYaml } from './engine/baselines/baseline-yaml.js';
import { loadRules, type RuleSet } from './engine/rules/rules.js';
import { loadSite, SiteIndex, type Site } from './engine/site/site.js';
import type { FlowLimits } from './reassembly/flow-table.js';
import { UserError } from './wire/errors.js';

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

export function requireFile(file: string, what: string): void {
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

/**
 * What the command line's site, rules and baseline files hold, parsed and checked but as plain data: it can be
 * handed to worker threads (structured clone), which then do not each parse the same YAML (`replay --workers`).
 */
export interface EngineInputData {
  site: Site | null;
  rules: RuleSet | null;
  baseline: Baseline | null;
  learningMicros: number;
  flowLimits: Partial<FlowLimits>;
}

/** Site, rules and baseline from the command line, parsed; any error names its file (and line). */
export function readEngineInputs(args: EngineArgs): EngineInputData {
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
  const baseline = args.baseline !== undefined ? loadBaselineFile(args.baseline) : null;
  const learningMicros =
    args.learningPeriod !== undefined ? parseDurationOption('learning-period', args.learningPeriod) * 1e6 : 0;
  return { site, rules, baseline, learningMicros, flowLimits: flowLimitsOf(args) };
}

/** The engine's inputs from parsed data: the baseline becomes its checker (which knows the site's devices). */
export function engineInputsFrom(data: EngineInputData): EngineInputs {
  let baseline: BaselineChecker | null = null;
  if (data.baseline !== null) {
    const index = data.site ? new SiteIndex(data.site) : null;
    const opts = index ? { isDevice: (ip: string) => index.zoneOf(ip) !== 'internet' } : {};
    baseline = createBaselineChecker(data.baseline, opts);
  }
  return { ...data, baseline };
}

/** Site, rules and baseline from the command line; any error names its file (and line). */
export function loadEngineInputs(args: EngineArgs): EngineInputs {
  return engineInputsFrom(readEngineInputs(args));
}

/** Write a file whole or not at all: a temporary sibling, then rename. */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** A duration option ("1h", "30m", "90s", "250ms", "2d" or seconds) in seconds; a bad one is a usage error. */
export function parseDurationOption(option: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m || m[1] === undefined)
    throw new UsageError(`--${option}: "${text}" is not a duration like 90s, 30m or 1h`);
  const unit = { ms: 1e-3, s: 1, m: 60, h: 3600, d: 86400 }[m[2] ?? 's'] ?? 1;
  return Number(m[1]) * unit;
}
