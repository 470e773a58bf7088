// Where options come from besides the command line: WARDWATCH_<OPTION> variables and a --config YAML file, both
// checked against the options the command declares (bin/options.ts). Precedence: command line, environment, file.
import { readFileSync } from 'node:fs';
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import type { Options } from 'yargs';
import { UserError } from '../agent/wire/errors.js';
import { nearest } from '../agent/wire/spelling.js';
import { COMMAND_OPTIONS, ENV_COMMANDS, GLOBAL, optionOrigins, parseFlag } from './options.js';

/** WARDWATCH_* variables that are not options: read by the container healthcheck and by tests. */
const NOT_OPTIONS = new Set([
  'WARDWATCH_HEALTH_PORT',
  'WARDWATCH_TSHARK',
  'WARDWATCH_SCREENSHOTS',
  'WARDWATCH_CI',
]);

const SUBCOMMANDS = new Set(['baseline', 'rules']);

/** The words naming the command (at most two: "baseline learn"), skipping options and --config's value. */
function commandWords(args: readonly string[]): string[] {
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '--') break;
    if (a === '--config') i++;
    if (a.startsWith('-')) continue;
    words.push(a);
    if (words.length === 2 || !SUBCOMMANDS.has(words[0] ?? '')) break;
  }
  return words;
}

/** The command being run as typed ("agent", "baseline learn"), or null when there is none yet. */
export function commandOf(args: readonly string[]): string | null {
  const words = commandWords(args);
  const name = words.join(' ');
  return Object.hasOwn(COMMAND_OPTIONS, name) ? name : (words[0] ?? null);
}

/** An unknown command is named with the nearest one (yargs would say "Unknown argument"). */
export function checkCommand(args: readonly string[]): void {
  const words = commandWords(args);
  if (words.length === 0) return;
  const commands = Object.keys(COMMAND_OPTIONS);
  const [first = '', second] = words;
  if (SUBCOMMANDS.has(first)) {
    const mine = commands.filter((c) => c.startsWith(`${first} `));
    if (second === undefined || mine.includes(`${first} ${second}`)) return;
    throw new UserError(`${first} ${second}: not a command (${mine.join(', ')})`);
  }
  if (commands.includes(first)) return;
  const tops = [...new Set(commands.map((c) => c.split(' ')[0] ?? c))];
  const guess = nearest(first, tops);
  throw new UserError(
    `${first}: not a command${guess !== null ? ` (did you mean ${guess}?)` : ''}; commands: ${tops.join(', ')}`,
  );
}

/** The options a command accepts by long name: its own and the global ones. */
export function optionsOf(command: string | null): Record<string, Options> {
  return { ...GLOBAL, ...(command !== null ? COMMAND_OPTIONS[command] : undefined) };
}

export function envName(option: string): string {
  return `WARDWATCH_${option.toUpperCase().replace(/-/g, '_')}`;
}

const camel = (name: string): string => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The spellings of an option on a command line: --name, --no-name, --nameCamel, and its one-letter aliases. */
function spellings(name: string, spec: Options): string[] {
  const aliases = spec.alias === undefined ? [] : Array.isArray(spec.alias) ? spec.alias : [spec.alias];
  const long = [name, camel(name)].flatMap((n) => [`--${n}`, `--no-${n}`]);
  return [...long, ...aliases.map((a) => (a.length === 1 ? `-${a}` : `--${a}`))];
}

function givenOnCommandLine(args: readonly string[], name: string, spec: Options): boolean {
  const forms = spellings(name, spec);
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((a) =>
    forms.some((f) => a === f || a.startsWith(`${f}=`)),
  );
}

function commandsHaving(option: string): string[] {
  return Object.entries(COMMAND_OPTIONS)
    .filter(([, opts]) => Object.hasOwn(opts, option))
    .map(([c]) => c);
}

/**
 * The one-line reason an option name is not one of `command`'s, with the nearest valid one; `spell` writes an
 * option as the user wrote this one (`--speed`, `speed`, `WARDWATCH_SPEED`).
 */
export function unknownOption(
  spelled: string,
  option: string,
  command: string | null,
  spell: (option: string) => string = (o) => o,
): string {
  const elsewhere = commandsHaving(option);
  const guess = nearest(option, Object.keys(optionsOf(command)));
  const hint =
    elsewhere.length > 0
      ? ` (it is an option of ${elsewhere.join(', ')})`
      : guess !== null
        ? ` (did you mean ${spell(guess)}?)`
        : '';
  return `${spelled}: not an option of ${command ?? 'wardwatch'}${hint}`;
}

/**
 * Refuse an option the command does not declare before yargs sees it, so the message can name the nearest valid
 * option (yargs' strict mode says only "Unknown argument").
 */
export function checkOptionNames(args: readonly string[], command: string | null): void {
  // An unknown command was reported by checkCommand; an incomplete one ("baseline") is yargs' to report.
  if (command !== null && !Object.hasOwn(COMMAND_OPTIONS, command)) return;
  const known = optionsOf(command);
  const forms = new Set(Object.entries(known).flatMap(([n, s]) => spellings(n, s)));
  for (const f of ['--help', '-h', '--version']) forms.add(f);
  for (const a of args) {
    if (a === '--') break;
    if (!a.startsWith('-') || /^-\d/.test(a)) continue;
    const spelled = a.split('=')[0] ?? a;
    if (forms.has(spelled)) continue;
    const option = spelled.replace(/^--?(no-)?/, '');
    throw new UserError(unknownOption(spelled, option, command, (o) => `--${o}`));
  }
}

export interface Environment {
  /** The command line with the variables' values added as options (after it, so nothing it says is overridden). */
  args: string[];
  /** One line each: a WARDWATCH_* variable that is no option of this command. */
  warnings: string[];
}

/**
 * WARDWATCH_<OPTION> variables become options of the command being run, unless the command line sets them.
 * The names come from the command's declared options, so every option can be set this way. (yargs' own .env()
 * would add every such variable to every command, which strict mode then rejects.)
 */
export function applyEnvironment(args: readonly string[], env: NodeJS.ProcessEnv): Environment {
  const command = commandOf(args);
  if (command === null || !ENV_COMMANDS.includes(command)) return { args: [...args], warnings: [] };
  const options = optionsOf(command);
  delete options['print-config']; // an action, not a setting: a variable must not make a service exit
  const byVariable = new Map(Object.keys(options).map((o) => [envName(o), o]));
  const extra: string[] = [];
  const warnings: string[] = [];
  for (const [variable, value] of Object.entries(env)) {
    if (!variable.startsWith('WARDWATCH_') || value === undefined || NOT_OPTIONS.has(variable)) continue;
    const option = byVariable.get(variable);
    if (option === undefined) {
      const asOption = variable.slice('WARDWATCH_'.length).toLowerCase().replace(/_/g, '-');
      const why = unknownOption(variable, asOption, command, (o) => envName(o));
      warnings.push(`wardwatch: warning: ${why}; ignored`);
      continue;
    }
    const spec = options[option] ?? {};
    if (value === '' || givenOnCommandLine(args, option, spec)) continue;
    optionOrigins.set(option, variable);
    if (spec.type === 'boolean') {
      // yargs reads any word after --flag= as true: a misspelt "flase" must not switch something on.
      const on = parseFlag(value);
      if (on === null) throw new UserError(`--${option} ${value}: expected true or false (from ${variable})`);
      extra.push(on ? `--${option}` : `--no-${option}`);
      continue;
    }
    // Several files (--pcap a b) are written as on a command line, separated by spaces.
    const values = spec.array === true ? value.split(/\s+/).filter((v) => v !== '') : [value];
    extra.push(...values.map((v) => `--${option}=${v}`));
  }
  const end = args.indexOf('--');
  const out = end === -1 ? [...args, ...extra] : [...args.slice(0, end), ...extra, ...args.slice(end)];
  return { args: out, warnings };
}

/**
 * A --config file: a YAML mapping of the command's long option names. An unknown key is an error naming the file,
 * the line and the nearest valid option; a value the command line or the environment also sets is overridden.
 */
export function loadConfigFile(file: string, args: readonly string[]): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(
      `${file}: cannot read config file (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, lineCounter: lines });
  const first = doc.errors[0];
  if (first) {
    const line = first.linePos?.[0]?.line ?? 0;
    // yaml's first line ends in "at line N, column M:" before a code excerpt: the line is already in front.
    const reason = (first.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    throw new UserError(`${file}:${line}: ${reason}`);
  }
  if (doc.contents === null) return {};
  if (!isMap(doc.contents)) throw new UserError(`${file}:1: expected a mapping of option: value`);
  const command = commandOf(args);
  const options = optionsOf(command);
  const values = doc.toJS() as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const pair of doc.contents.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const line = isScalar(pair.key) && pair.key.range ? lines.linePos(pair.key.range[0]).line : 1;
    const spec = options[key];
    if (spec === undefined || key === 'config') {
      const why =
        key === 'config' ? 'config: a config file cannot name another one' : unknownOption(key, key, command);
      throw new UserError(`${file}:${line}: ${why}`);
    }
    if (!givenOnCommandLine(args, key, spec) && !optionOrigins.has(key))
      optionOrigins.set(key, `${file}:${line}`);
    if (spec.type === 'boolean') {
      // yargs takes any word for a boolean as true: "maybe" must not switch something on.
      const on = parseFlag(values[key]);
      if (on === null) throw new UserError(`${file}:${line}: ${key}: expected true or false`);
      out[key] = on;
      continue;
    }
    out[key] = values[key];
  }
  return out;
}
