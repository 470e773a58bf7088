// The options of every command, declared once: yargs builds --help and parsing from these tables, and the
// environment variables (WARDWATCH_<OPTION>) and --config keys each command accepts are derived from them, so
// adding an option is one entry here (plus its use in the command's handler) and nothing can be silently ignored.
import type { Options } from 'yargs';
import { SHARE_MODES } from '../agent/capture/live.js';
import { parseDurationOption } from '../agent/engine-inputs.js';
import { SPOOL_FULL_POLICIES } from '../agent/transport/spool.js';
import { UserError } from '../agent/wire/errors.js';
import { SEVERITIES } from '../agent/wire/finding.js';
import { EXPORT_FORMATS } from '../collector/export-schemas.js';
import { parseListen } from '../collector/listen.js';

/**
 * Where each option's value came from when it was not the command line (`WARDWATCH_SPEED`, `cfg.yaml:3`), so a bad
 * value names the variable or the file line the user has to fix. Filled by bin/environment.ts before parsing;
 * module state because yargs calls the validators below with the value only.
 */
export const optionOrigins = new Map<string, string>();

function bad(option: string, value: unknown, expected: string): UserError {
  const origin = optionOrigins.get(option);
  return new UserError(
    `--${option} ${String(value)}: expected ${expected}${origin ? ` (from ${origin})` : ''}`,
  );
}

/* Validators run as yargs `coerce`, i.e. on command-line, environment and config-file values alike. Options
   validated here carry no yargs `type`: yargs would turn "abc" into NaN before we could name it. */

function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '') return Number(value);
  return Number.NaN;
}

const positive =
  (option: string) =>
  (value: unknown): number => {
    const n = toNumber(value);
    if (!(n > 0) || !Number.isFinite(n)) throw bad(option, value, 'a number above 0');
    return n;
  };

const atLeast =
  (option: string, min: number, unit: string) =>
  (value: unknown): number => {
    const n = toNumber(value);
    if (!(n >= min) || !Number.isFinite(n)) throw bad(option, value, `at least ${min} (${unit})`);
    return n;
  };

const whole =
  (option: string, min: number) =>
  (value: unknown): number => {
    const n = toNumber(value);
    if (!Number.isInteger(n) || n < min) throw bad(option, value, `a whole number of at least ${min}`);
    return n;
  };

const duration =
  (option: string) =>
  (value: unknown): string => {
    const text = String(value);
    try {
      parseDurationOption(option, text);
    } catch {
      throw bad(option, value, 'a duration like 90s, 30m, 12h or 7d');
    }
    return text;
  };

/** "a or b", "a, b or c". */
function alternatives(choices: readonly string[]): string {
  return choices.length < 2 ? (choices[0] ?? '') : `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}`;
}

function oneOf<const T extends string>(option: string, choices: readonly T[]) {
  return (value: unknown): T => {
    const found = choices.find((c) => c === value);
    if (found === undefined) throw bad(option, value, alternatives(choices));
    return found;
  };
}

/** The words a boolean may be written as in the environment or a file; null when it is none of them. */
export function parseFlag(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  const word = String(value).toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(word)) return true;
  if (['false', '0', 'no', 'off'].includes(word)) return false;
  return null;
}

/** Booleans from a file can arrive as text; "maybe" is a mistake, not false. */
const flag =
  (option: string) =>
  (value: unknown): boolean => {
    const on = parseFlag(value);
    if (on === null) throw bad(option, value, 'true or false');
    return on;
  };

const text =
  (option: string) =>
  (value: unknown): string => {
    if (typeof value !== 'string' && typeof value !== 'number') throw bad(option, value, 'a value');
    const s = String(value);
    if (s === '') throw bad(option, '""', 'a value');
    return s;
  };

const collectorUrl = (value: unknown): string => {
  const s = text('collector')(value);
  const url = URL.canParse(s) ? new URL(s) : null;
  if (!url || (url.protocol !== 'ws:' && url.protocol !== 'wss:') || url.hostname === '')
    throw bad('collector', s, 'ws://HOST:PORT or wss://HOST:PORT');
  return s;
};

const listenAddress =
  (option: string) =>
  (value: unknown): string => {
    const s = text(option)(value);
    try {
      parseListen(s);
    } catch {
      throw bad(option, s, 'HOST:PORT, [V6]:PORT or PORT');
    }
    return s;
  };

const syslogUrl = (value: unknown): string => {
  const s = text('syslog')(value);
  if (!SYSLOG_URL.test(s)) throw bad('syslog', s, 'udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT');
  return s;
};

export const SYSLOG_URL = /^(udp|tcp|tls):\/\/([^:/]+|\[[^\]]+\]):(\d+)$/;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const FORMATS = ['jsonl', 'pretty'] as const;

const logLevel = (fallback: (typeof LOG_LEVELS)[number]) =>
  ({
    choices: LOG_LEVELS,
    default: fallback,
    coerce: oneOf('log-level', LOG_LEVELS),
    describe: 'log level of the structured logs on stderr',
  }) as const;

/** Site, rules and baseline: the engine inputs of replay and agent. */
const ENGINE = {
  rules: {
    type: 'string',
    describe: 'rules directory (default: the rules shipped with wardwatch)',
  },
  site: { type: 'string', describe: 'site file: zones, assets with roles, extra ports (YAML)' },
  baseline: { type: 'string', describe: 'approved baseline (YAML): deviations become findings' },
} as const satisfies Record<string, Options>;

/** Flow table limits, for the commands that run a pipeline (replay, agent). */
const FLOWS = {
  'flow-memory': {
    coerce: atLeast('flow-memory', 1, 'MiB'),
    describe:
      'MiB of flow state (estimated) before flows are evicted, embryonic ones first (default 128; per worker)',
  },
  'max-flows': {
    coerce: whole('max-flows', 1),
    describe: 'flows tracked at once (default 100000; per worker)',
  },
} as const satisfies Record<string, Options>;

const SPEED_DESCRIPTION =
  'replay pace: 1 = capture pace, 10 = ten times faster (default: as fast as possible)';

export const REPLAY = {
  ...ENGINE,
  ...FLOWS,
  events: { type: 'boolean', default: false, describe: 'also print every protocol event and flow' },
  flows: { type: 'boolean', default: false, describe: 'also print one line per flow when it ends' },
  format: {
    choices: FORMATS,
    default: 'jsonl',
    coerce: oneOf('format', FORMATS),
    describe: 'jsonl: one JSON record a line; pretty: one readable line a record',
  },
  'fail-on': {
    choices: SEVERITIES,
    coerce: oneOf('fail-on', SEVERITIES),
    describe: 'exit 1 when a finding at or above this severity occurs',
  },
  speed: { coerce: positive('speed'), describe: SPEED_DESCRIPTION },
  'agent-id': {
    type: 'string',
    default: 'replay',
    describe: 'agent id written into findings (and their ids)',
  },
  workers: {
    default: 1,
    coerce: whole('workers', 1),
    describe:
      'pipelines (the main thread and N-1 worker threads), packets shared by IP pair; output merged in input order, the same every run. ' +
      'Rules counting one host across many peers (scans, sweeps, floods) see one share each (README)',
  },
} as const satisfies Record<string, Options>;

export const AGENT = {
  ...ENGINE,
  ...FLOWS,
  interface: { alias: 'i', type: 'string', describe: 'capture interface (mirror/SPAN port)' },
  pcap: { type: 'string', array: true, describe: 'capture file(s) to replay instead of an interface' },
  collector: {
    demandOption: true,
    coerce: collectorUrl,
    describe: 'collector URL, ws://HOST:PORT or wss://HOST:PORT',
  },
  token: { type: 'string', describe: 'agent token (better from WARDWATCH_TOKEN: it then never shows in ps)' },
  'agent-id': {
    type: 'string',
    describe: 'agent name, as in the tokens file (default: HOST-INTERFACE live, HOST with --pcap)',
  },
  'tls-ca': {
    type: 'string',
    describe: "CA (PEM) the collector's certificate must chain to (wss://; default: the system CAs)",
  },
  'tls-cert': {
    type: 'string',
    describe:
      'client certificate (PEM, CN = agent id) for a collector with --tls-client-cert; needs --tls-key',
  },
  'tls-key': { type: 'string', describe: 'private key (PEM) of --tls-cert' },
  'ack-timeout': {
    coerce: positive('ack-timeout'),
    describe:
      'with --pcap, seconds to wait for the collector to acknowledge every finding (default 60); then exit 3, findings kept in the spool',
  },
  bpf: {
    type: 'string',
    describe: 'BPF capture filter, e.g. "tcp port 104 or tcp port 2575 or tcp port 1883"',
  },
  snaplen: { coerce: whole('snaplen', 1), describe: 'bytes kept per packet (default 65535)' },
  'buffer-size': { coerce: positive('buffer-size'), describe: 'kernel capture buffer, MiB (default 32)' },
  'queue-size': {
    coerce: positive('queue-size'),
    describe:
      'queue between capture and pipeline, MiB (default 64): absorbs bursts while the pipeline is busy',
  },
  promisc: {
    type: 'boolean',
    default: true,
    coerce: flag('promisc'),
    describe: 'promiscuous mode (--no-promisc to disable)',
  },
  immediate: {
    type: 'boolean',
    default: false,
    coerce: flag('immediate'),
    describe: 'deliver packets at once (lower latency, more CPU)',
  },
  workers: {
    default: 1,
    coerce: whole('workers', 1),
    describe: 'capture threads, each with its share of flows (live capture, at most 64)',
  },
  fanout: {
    choices: SHARE_MODES,
    coerce: oneOf('fanout', SHARE_MODES),
    describe:
      "how --workers shares the traffic: hash = the kernel's PACKET_FANOUT by flow (IPv4, IPv6, VLAN; Linux; the " +
      'default), bpf = one filter per worker on the IPv4 address pair (the rest to worker 0; keeps host pairs whole)',
  },
  spool: {
    type: 'string',
    describe:
      'spool directory for unacknowledged findings (default $STATE_DIRECTORY/spool/ID or ./.wardwatch/spool/ID)',
  },
  'spool-size': {
    coerce: atLeast('spool-size', 1, 'MiB'),
    describe: 'spool cap, MiB (default 64); what happens beyond it: --spool-full',
  },
  'spool-full': {
    choices: SPOOL_FULL_POLICIES,
    coerce: oneOf('spool-full', SPOOL_FULL_POLICIES),
    describe:
      'full spool: drop the oldest unacked findings (default, counted) or stop reading a capture file until acks free room',
  },
  speed: { coerce: positive('speed'), describe: `with --pcap, ${SPEED_DESCRIPTION}` },
  'learned-baseline': {
    type: 'string',
    describe:
      'write what the agent learned as a baseline YAML for review (hourly and at the end; approve devices by setting state: enforced)',
  },
  'learning-period': {
    coerce: duration('learning-period'),
    describe:
      'learning mode: a device the baseline does not know learns this long (90s, 12h, 7d; 0 = off): its deviations are learned and only high and critical rules alert (default 7d with --interface, 0 with --pcap)',
  },
  'log-level': logLevel('info'),
} as const satisfies Record<string, Options>;

export const COLLECTOR = {
  listen: {
    default: '127.0.0.1:7411',
    coerce: listenAddress('listen'),
    describe: 'HOST:PORT to listen on (a port alone listens on 127.0.0.1; 0.0.0.0:7411 for every address)',
  },
  db: {
    type: 'string',
    default: 'wardwatch.db',
    describe:
      'store: a SQLite database file (its directory must exist), or a postgres://USER@HOST:PORT/DB URL that several collectors may share (better from WARDWATCH_DB when it holds a password)',
  },
  tokens: { type: 'string', describe: 'tokens file: lines "ROLE NAME TOKEN" (agent, read, admin)' },
  'tls-cert': { type: 'string', describe: 'TLS certificate (PEM) for https and wss; needs --tls-key' },
  'tls-key': { type: 'string', describe: 'TLS private key (PEM) of --tls-cert' },
  'tls-ca': { type: 'string', describe: 'CA (PEM) that client certificates must chain to' },
  'tls-client-cert': {
    type: 'boolean',
    default: false,
    coerce: flag('tls-client-cert'),
    describe:
      'require agents (wss) to present a certificate chaining to --tls-ca whose CN is their agent id; a refusal is logged with its TLS reason and answered 403 (the API and /healthz still take tokens only)',
  },
  'retention-days': {
    coerce: positive('retention-days'),
    describe: 'delete findings received more than N days ago (and exposures not re-reported since)',
  },
  'retention-max': {
    coerce: whole('retention-max', 1),
    describe: 'keep at most the N most recently received findings',
  },
  'archive-dir': {
    type: 'string',
    describe:
      'write each ended UTC day of findings to DIR/wardwatch-findings-YYYY-MM-DD.jsonl.gz (at start, then as days end); retention keeps days not yet archived',
  },
  'export-jsonl': { type: 'string', describe: 'append every new finding to this file' },
  'export-format': {
    choices: EXPORT_FORMATS,
    default: 'jsonl',
    coerce: oneOf('export-format', EXPORT_FORMATS),
    describe: 'JSON records (file and syslog body): ours, Elastic Common Schema or OCSF Detection Finding',
  },
  syslog: {
    coerce: syslogUrl,
    describe: 'send findings to syslog, udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT (RFC 5425)',
  },
  'syslog-ca': { type: 'string', describe: 'CA (PEM) the tls:// syslog server certificate must chain to' },
  cef: { type: 'boolean', default: false, coerce: flag('cef'), describe: 'syslog body in CEF' },
  'log-level': logLevel('info'),
} as const satisfies Record<string, Options>;

export const DEMO = {
  listen: {
    default: '127.0.0.1:7411',
    coerce: listenAddress('listen'),
    describe: 'collector address (loopback)',
  },
  speed: {
    default: 50,
    coerce: positive('speed'),
    describe: 'replay pace of the bundled capture: 1 = capture pace, 50 = fifty times faster',
  },
  exit: {
    type: 'boolean',
    default: false,
    coerce: flag('exit'),
    describe: 'exit once every finding is stored',
  },
  'log-level': logLevel('warn'),
} as const satisfies Record<string, Options>;

export const BASELINE_LEARN = {
  out: { type: 'string', demandOption: true, describe: 'baseline file to write (its directory must exist)' },
  site: { type: 'string', describe: 'site file (zones and asset names in the baseline)' },
  'min-learning': {
    default: '1h',
    coerce: duration('min-learning'),
    describe:
      'learning time (90s, 30m, 1h, 2d) the captures must span before volume and feed-stopped checks arm',
  },
} as const satisfies Record<string, Options>;

/** The collector and an API token: `baseline approve` and `baseline export` use the collector's HTTP API. */
const BASELINE_REMOTE = {
  collector: {
    type: 'string',
    demandOption: true,
    describe: "collector HTTP address, http(s)://HOST:PORT (the agents' ws(s):// URL works too)",
  },
  token: {
    type: 'string',
    demandOption: true,
    describe: 'API token: admin to approve, read or admin to export',
  },
} as const satisfies Record<string, Options>;

export const BASELINE_APPROVE = {
  ...BASELINE_REMOTE,
  device: {
    type: 'string',
    demandOption: true,
    describe: "the device (IP address, MAC or the inventory's id)",
  },
  all: { type: 'boolean', describe: 'approve every learned item of the device that was not rejected' },
  item: {
    type: 'string',
    array: true,
    describe: 'approve these item ids (as --list prints them); repeatable',
  },
  list: { type: 'boolean', describe: 'only print the review: status, item id and what it is, one a line' },
  comment: { type: 'string', describe: 'note kept with each approved item in the audit trail' },
} as const satisfies Record<string, Options>;

export const BASELINE_EXPORT = {
  ...BASELINE_REMOTE,
  device: { type: 'string', describe: 'only this device (default: every approved device)' },
  out: { type: 'string', describe: 'write the baseline YAML here (whole or not at all) instead of stdout' },
} as const satisfies Record<string, Options>;

export const RULES_TEST = {
  site: { type: 'string', describe: 'site file (zones, assets and lists the rules refer to)' },
  format: {
    choices: FORMATS,
    default: 'pretty',
    coerce: oneOf('format', FORMATS),
    describe: 'jsonl: one JSON record a line; pretty: one readable line a record',
  },
} as const satisfies Record<string, Options>;

/** Options every command takes (yargs globals). */
export const GLOBAL = {
  config: { type: 'string', describe: 'YAML file setting any option of the command by its long name' },
  'print-config': {
    type: 'boolean',
    default: false,
    describe: 'print the options as parsed (command line, environment, --config file) and exit',
  },
} as const satisfies Record<string, Options>;

/** Each command (as typed, subcommands after a space) with its options; commands without options have none. */
export const COMMAND_OPTIONS: Readonly<Record<string, Readonly<Record<string, Options>>>> = {
  replay: REPLAY,
  agent: AGENT,
  collector: COLLECTOR,
  demo: DEMO,
  interfaces: {},
  'baseline learn': BASELINE_LEARN,
  'baseline diff': {},
  'baseline show': {},
  'baseline approve': BASELINE_APPROVE,
  'baseline export': BASELINE_EXPORT,
  'rules validate': {},
  'rules test': RULES_TEST,
};

/** Commands whose options can also come from WARDWATCH_<OPTION> variables: the long-running ones. */
export const ENV_COMMANDS: readonly string[] = ['agent', 'collector', 'replay', 'demo'];
