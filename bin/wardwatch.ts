#!/usr/bin/env node
// The one wardwatch executable: yargs commands that hand over to agent/ or collector/ (demo starts both).
import { readFileSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { parseDocument } from 'yaml';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ConfigError, ConfigErrors } from '../agent/engine/config-error.js';
import { BaselineFormatError } from '../agent/engine/baseline-yaml.js';
import {
  EXIT_BAD_INPUT,
  runBaselineDiff,
  runBaselineLearn,
  runReplay,
  runRulesTest,
  runRulesValidate,
  UsageError,
} from '../agent/main.js';
import { runAgent } from '../agent/run-agent.js';
import { LiveCaptureError, listInterfaces } from '../agent/capture/live.js';
import { SEVERITIES, type Severity } from '../agent/wire/finding.js';
import { startCollector } from '../collector/main.js';
import { EXPORT_FORMATS, parseSyslogUrl, type SyslogTarget } from '../collector/export.js';
import { runDemo } from './demo.js';

function makeLogger(level: string): Logger {
  // Logs go to stderr: stdout carries findings and events.
  return pino({ level, base: { pid: process.pid } }, pino.destination(2));
}

const SYSTEM_HINTS: Record<string, string> = {
  EADDRINUSE: ' (another process listens there: choose another --listen)',
  EADDRNOTAVAIL: ' (not an address of this host: check --listen)',
  EACCES: ' (permission denied)',
  EPERM: ' (operation not permitted)',
  ENOENT: '',
  EISDIR: '',
  ENOTDIR: '',
  EROFS: ' (read-only file system)',
  ENOSPC: ' (no space left on the device)',
};

/** Errors caused by the user's input end with one line on stderr and exit 2; anything else is a bug. */
function fail(err: unknown): never {
  const known =
    err instanceof UsageError ||
    err instanceof ConfigError ||
    err instanceof ConfigErrors ||
    err instanceof BaselineFormatError ||
    err instanceof LiveCaptureError ||
    (err instanceof Error && /^(--|[^\s:]+:\d+:|[^\s]+: )/.test(err.message) && !(err instanceof TypeError));
  if (known) {
    process.stderr.write(`wardwatch: ${(err as Error).message}\n`);
    process.exit(EXIT_BAD_INPUT);
  }
  // The environment refused something (a port in use, a file not readable): say what, not a stack.
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (err instanceof Error && typeof code === 'string' && SYSTEM_HINTS[code] !== undefined) {
    process.stderr.write(`wardwatch: ${err.message}${SYSTEM_HINTS[code]}\n`);
    process.exit(EXIT_BAD_INPUT);
  }
  process.stderr.write(
    `wardwatch: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(70);
}

function run(task: () => Promise<number> | number): void {
  Promise.resolve()
    .then(task)
    .then((code) => {
      process.exitCode = code;
    })
    .catch(fail);
}

const engineOptions = (y: Argv) =>
  y
    .option('rules', {
      type: 'string',
      describe: 'rules directory (default: the rules shipped with wardwatch)',
    })
    .option('site', { type: 'string', describe: 'site file: zones, assets, extra ports (YAML)' })
    .option('baseline', { type: 'string', describe: 'approved baseline (YAML): deviations become findings' });

/** Flow table limits, for the commands that run a pipeline (replay, agent). */
const flowOptions = <T>(y: Argv<T>) =>
  y
    .option('flow-memory', {
      type: 'number',
      describe:
        'MiB of flow state (estimated) before flows are evicted, embryonic ones first (default 128; per worker)',
    })
    .option('max-flows', { type: 'number', describe: 'flows tracked at once (default 100000; per worker)' });

const speedOption = {
  type: 'number' as const,
  describe: 'replay pace: 1 = capture pace, 10 = ten times faster (default: as fast as possible)',
};

async function main(): Promise<void> {
  // A reader that went away (`| head`) is not an error of ours.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  await yargs(withEnvironment(hideBin(process.argv)))
    .scriptName('wardwatch')
    .usage(
      '$0 <command> [options]\n\nPassive anomaly detection for hospital medical-device networks (HL7 v2, DICOM, MQTT).',
    )
    .command(
      'replay <files..>',
      'read pcap/pcapng files (gzip too) and print findings as JSON lines; summary on stderr',
      (y) =>
        flowOptions(engineOptions(y))
          .positional('files', { type: 'string', array: true, demandOption: true, describe: 'capture files' })
          .option('events', {
            type: 'boolean',
            default: false,
            describe: 'also print every protocol event and flow',
          })
          .option('flows', {
            type: 'boolean',
            default: false,
            describe: 'also print one line per flow when it ends',
          })
          .option('format', { choices: ['jsonl', 'pretty'] as const, default: 'jsonl' as const })
          .option('fail-on', {
            choices: SEVERITIES,
            describe: 'exit 1 when a finding at or above this severity occurs',
          })
          .option('speed', speedOption)
          .option('agent-id', {
            type: 'string',
            default: 'replay',
            describe: 'agent id written into findings (and their ids)',
          })
          .example('$0 replay ward3.pcap --site site.yaml', 'findings for one capture')
          .example(
            '$0 replay ward3.pcap --events --format pretty | less',
            'every protocol message, readable',
          ),
      (a) =>
        run(() =>
          runReplay({
            files: a.files as string[],
            rules: a.rules,
            site: a.site,
            baseline: a.baseline,
            events: a.events,
            flows: a.flows,
            format: a.format,
            failOn: a['fail-on'] as Severity | undefined,
            speed: a.speed,
            agentId: a['agent-id'],
            flowMemoryMiB: a['flow-memory'],
            maxFlows: a['max-flows'],
          }),
        ),
    )
    .command(
      'agent',
      'run the pipeline on a capture file (or interface) and stream findings to a collector',
      (y) =>
        flowOptions(engineOptions(y))
          .option('interface', {
            alias: 'i',
            type: 'string',
            describe: 'capture interface (mirror/SPAN port)',
          })
          .option('pcap', {
            type: 'string',
            array: true,
            describe: 'capture file(s) to replay instead of an interface',
          })
          .option('collector', {
            type: 'string',
            demandOption: true,
            describe: 'collector URL, ws://HOST:PORT or wss://',
          })
          .option('token', { type: 'string', describe: 'agent token (or env WARDWATCH_TOKEN)' })
          .option('agent-id', { type: 'string', describe: 'agent name (default: host name)' })
          .option('bpf', {
            type: 'string',
            describe: 'BPF capture filter, e.g. "tcp port 104 or tcp port 2575 or tcp port 1883"',
          })
          .option('snaplen', { type: 'number', describe: 'bytes kept per packet (default 65535)' })
          .option('buffer-size', { type: 'number', describe: 'kernel capture buffer, MiB (default 32)' })
          .option('queue-size', {
            type: 'number',
            describe:
              'queue between capture and pipeline, MiB (default 64): absorbs bursts while the pipeline is busy',
          })
          .option('promisc', {
            type: 'boolean',
            default: true,
            describe: 'promiscuous mode (--no-promisc to disable)',
          })
          .option('immediate', {
            type: 'boolean',
            default: false,
            describe: 'deliver packets at once (lower latency, more CPU)',
          })
          .option('workers', {
            type: 'number',
            default: 1,
            describe: 'capture threads, each with its share of flows (live capture)',
          })
          .option('spool', { type: 'string', describe: 'spool directory for unacknowledged findings' })
          .option('spool-size', {
            type: 'number',
            describe: 'spool cap, MiB (default 64); what happens beyond it: --spool-full',
          })
          .option('spool-full', {
            // Checked by runAgent rather than yargs `choices`, whose error spans several lines.
            type: 'string',
            describe:
              'full spool: drop the oldest unacked findings (default, counted) or stop reading a capture file until acks free room',
          })
          .option('speed', speedOption)
          .option('learned-baseline', {
            type: 'string',
            describe:
              'write what the agent learned as a baseline YAML for review (hourly and at the end; approve devices by setting state: enforced)',
          })
          .option('learning-period', {
            type: 'string',
            describe:
              'learning mode: a device the baseline does not know learns this long (90s, 12h, 7d; 0 = off): its deviations are learned and only high and critical rules alert (default 7d with --interface, 0 with --pcap)',
          })
          .option('log-level', { type: 'string', default: 'info' })
          .conflicts('interface', 'pcap')
          .check((a) => {
            if (!a.interface && !a.pcap) throw new Error('give --interface IF or --pcap FILE');
            if (!a.token && !process.env.WARDWATCH_TOKEN)
              throw new Error('give --token T (or set WARDWATCH_TOKEN)');
            return true;
          }),
      (a) =>
        run(() =>
          runAgent({
            pcap: a.pcap as string[] | undefined,
            interface: a.interface,
            collector: a.collector,
            token: a.token ?? process.env.WARDWATCH_TOKEN ?? '',
            agentId: a['agent-id'],
            spool: a.spool,
            spoolBytes: a['spool-size'] !== undefined ? a['spool-size'] * 1024 * 1024 : undefined,
            spoolFull: a['spool-full'],
            rules: a.rules,
            site: a.site,
            baseline: a.baseline,
            learningPeriod: a['learning-period'],
            learnedBaseline: a['learned-baseline'],
            speed: a.speed,
            logger: makeLogger(a['log-level']),
            signal: signalController().signal,
            bpf: a.bpf,
            snaplen: a.snaplen,
            bufferSize: a['buffer-size'] !== undefined ? a['buffer-size'] * 1024 * 1024 : undefined,
            queueBytes: a['queue-size'] !== undefined ? a['queue-size'] * 1024 * 1024 : undefined,
            promisc: a.promisc,
            immediate: a.immediate,
            workers: a.workers,
            flowMemoryMiB: a['flow-memory'],
            maxFlows: a['max-flows'],
          }),
        ),
    )
    .command(
      'interfaces',
      'list capture devices (needs the native capture binding)',
      (y) => y,
      () =>
        run(() => {
          for (const d of listInterfaces()) {
            const flags = [d.up ? 'up' : 'down', d.running ? 'running' : '', d.loopback ? 'loopback' : '']
              .filter(Boolean)
              .join(',');
            process.stdout.write(`${d.name}\t${flags}\t${d.addresses.join(' ')}\t${d.description}\n`);
          }
          return 0;
        }),
    )
    .command(
      'collector',
      'receive findings from agents; serve /metrics, /healthz and the API',
      (y) =>
        y
          .option('listen', { type: 'string', default: '127.0.0.1:7411', describe: 'HOST:PORT to listen on' })
          .option('db', { type: 'string', default: 'wardwatch.db', describe: 'SQLite database file' })
          .option('tokens', {
            type: 'string',
            describe: 'tokens file: lines "ROLE NAME TOKEN" (agent, read, admin)',
          })
          .option('tls-cert', { type: 'string' })
          .option('tls-key', { type: 'string' })
          .option('tls-ca', { type: 'string', describe: 'CA for client certificates' })
          .option('tls-client-cert', {
            type: 'boolean',
            default: false,
            describe: 'require client certificates',
          })
          .option('retention-days', { type: 'number', describe: 'delete findings older than this' })
          .option('retention-max', { type: 'number', describe: 'keep at most this many findings' })
          .option('export-jsonl', { type: 'string', describe: 'append every new finding to this file' })
          .option('export-format', {
            choices: EXPORT_FORMATS,
            default: 'jsonl' as const,
            describe: 'JSON records (file and syslog body): ours, Elastic Common Schema or OCSF',
          })
          .option('syslog', {
            type: 'string',
            describe:
              'send findings to syslog, udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT (RFC 5425)',
          })
          .option('syslog-ca', { type: 'string', describe: 'CA (PEM) of the tls:// syslog server' })
          .option('cef', { type: 'boolean', default: false, describe: 'syslog body in CEF' })
          .option('log-level', { type: 'string', default: 'info' })
          .implies('tls-cert', 'tls-key'),
      (a) =>
        run(async () => {
          const logger = makeLogger(a['log-level']);
          const syslog = a.syslog ? parseSyslog(a.syslog, a.cef, a['syslog-ca']) : undefined;
          const collector = await startCollector({
            listen: a.listen,
            db: a.db,
            ...(a.tokens ? { tokensFile: a.tokens } : {}),
            ...(a['tls-cert'] && a['tls-key']
              ? {
                  tls: {
                    cert: a['tls-cert'],
                    key: a['tls-key'],
                    ...(a['tls-ca'] ? { ca: a['tls-ca'] } : {}),
                    requestCert: a['tls-client-cert'],
                  },
                }
              : {}),
            ...(a['retention-days'] !== undefined || a['retention-max'] !== undefined
              ? {
                  retention: {
                    ...(a['retention-days'] !== undefined
                      ? { maxAgeSeconds: a['retention-days'] * 86400 }
                      : {}),
                    ...(a['retention-max'] !== undefined ? { maxCount: a['retention-max'] } : {}),
                  },
                }
              : {}),
            ...(a['export-jsonl'] || syslog
              ? {
                  export: {
                    ...(a['export-jsonl'] ? { jsonl: a['export-jsonl'] } : {}),
                    format: a['export-format'],
                    ...(syslog ? { syslog } : {}),
                  },
                }
              : {}),
            logger,
          });
          await new Promise<void>((resolve) =>
            signalController().signal.addEventListener('abort', () => resolve()),
          );
          await collector.close();
          return 0;
        }),
    )
    .command('baseline', 'learn and compare device baselines', (y) =>
      y
        .command(
          'learn <files..>',
          "learn each device's normal behaviour from captures into a YAML baseline",
          (b) =>
            b
              .positional('files', { type: 'string', array: true, demandOption: true })
              .option('out', { type: 'string', demandOption: true, describe: 'baseline file to write' })
              .option('site', {
                type: 'string',
                describe: 'site file (zones and asset names in the baseline)',
              })
              .option('min-learning', {
                type: 'string',
                default: '1h',
                describe:
                  'learning time (90s, 30m, 1h, 2d) the captures must span before volume and feed-stopped checks arm',
              }),
          (a) =>
            run(() =>
              runBaselineLearn({
                files: a.files as string[],
                out: a.out,
                site: a.site,
                minLearning: a.minLearning,
              }),
            ),
        )
        .command(
          'diff <a> <b>',
          'print what changed between two baselines',
          (b) =>
            b
              .positional('a', { type: 'string', demandOption: true })
              .positional('b', { type: 'string', demandOption: true }),
          (a) => run(() => runBaselineDiff(a.a, a.b)),
        )
        .demandCommand(1, 'baseline needs a subcommand: learn or diff'),
    )
    .command('rules', 'check and try detection rules', (y) =>
      y
        .command(
          'validate [dir]',
          'check every rule file; errors name file, line and field',
          (b) =>
            b.positional('dir', { type: 'string', describe: 'rules directory (default: shipped rules)' }),
          (a) => run(() => runRulesValidate(a.dir)),
        )
        .command(
          'test <dir> <files..>',
          'run the rules in DIR over captures and print their findings',
          (b) =>
            b
              .positional('dir', { type: 'string', demandOption: true })
              .positional('files', { type: 'string', array: true, demandOption: true })
              .option('site', { type: 'string' })
              .option('format', { choices: ['jsonl', 'pretty'] as const, default: 'pretty' as const }),
          (a) =>
            run(() =>
              runRulesTest({ dir: a.dir, files: a.files as string[], site: a.site, format: a.format }),
            ),
        )
        .demandCommand(1, 'rules needs a subcommand: validate or test'),
    )
    .command(
      'demo',
      'start a collector and an agent on localhost replaying the bundled capture with incidents',
      (y) =>
        y
          .option('listen', {
            type: 'string',
            default: '127.0.0.1:7411',
            describe: 'collector address (loopback)',
          })
          .option('speed', { ...speedOption, default: 50 })
          .option('exit', { type: 'boolean', default: false, describe: 'exit once every finding is stored' })
          .option('log-level', { type: 'string', default: 'warn' }),
      (a) =>
        run(() =>
          runDemo({
            listen: a.listen,
            speed: a.speed,
            exit: a.exit,
            logger: makeLogger(a['log-level']),
            out: process.stdout,
          }),
        ),
    )
    .option('print-config', {
      type: 'boolean',
      default: false,
      global: true,
      describe: 'print the options as parsed (command line, environment, --config file) and exit',
    })
    .middleware((a) => {
      if (!a['print-config']) return;
      // yargs also fills camelCase and one-letter aliases: show each option once, by its long name.
      const hidden = new Set(['_', '$0', 'print-config', 'token', 'i', 'h']);
      const shown = Object.fromEntries(Object.entries(a).filter(([k]) => !hidden.has(k) && !/[A-Z]/.test(k)));
      process.stdout.write(
        `${JSON.stringify({ command: a._, ...shown, ...(a.token ? { token: '(set)' } : {}) }, null, 2)}\n`,
      );
      process.exit(0);
    })
    .demandCommand(1, 'give a command; see --help')
    // Every option can also come from a YAML file (--config); precedence: command line, environment
    // (see withEnvironment), config file, default.
    .config('config', 'YAML file setting any option by its long name', (file: string) => loadConfigFile(file))
    .strict()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) fail(err);
      process.stderr.write(`wardwatch: ${msg}\nTry 'wardwatch --help'.\n`);
      process.exit(EXIT_BAD_INPUT);
    })
    .parseAsync();
}

let controller: AbortController | null = null;
/** One AbortController for SIGINT/SIGTERM: commands flush and close cleanly when it fires. */
function signalController(): AbortController {
  if (!controller) {
    const c = new AbortController();
    controller = c;
    const onSignal = (): void => {
      if (c.signal.aborted) process.exit(130);
      c.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  return controller;
}

/** Options each command takes from WARDWATCH_<OPTION> variables (e.g. WARDWATCH_TOKEN, WARDWATCH_AGENT_ID). */
const ENV_OPTIONS: Record<string, readonly string[]> = {
  agent: [
    'config',
    'token',
    'collector',
    'agent-id',
    'interface',
    'site',
    'rules',
    'baseline',
    'bpf',
    'spool',
    'spool-size',
    'spool-full',
    'snaplen',
    'buffer-size',
    'workers',
    'flow-memory',
    'max-flows',
    'log-level',
  ],
  collector: [
    'config',
    'listen',
    'db',
    'tokens',
    'tls-cert',
    'tls-key',
    'tls-ca',
    'retention-days',
    'retention-max',
    'export-jsonl',
    'export-format',
    'syslog',
    'syslog-ca',
    'log-level',
  ],
  replay: ['rules', 'site', 'baseline', 'flow-memory', 'max-flows'],
  demo: ['listen', 'log-level'],
};

/**
 * WARDWATCH_* variables become options of the command being run, unless the command line sets them.
 * (yargs' own .env() would add every such variable to every command, which strict mode then rejects.)
 */
function withEnvironment(args: string[]): string[] {
  const names = ENV_OPTIONS[args[0] ?? ''] ?? [];
  const extra: string[] = [];
  for (const name of names) {
    const value = process.env[`WARDWATCH_${name.toUpperCase().replace(/-/g, '_')}`];
    if (value === undefined || value === '') continue;
    if (args.some((a) => a === `--${name}` || a.startsWith(`--${name}=`))) continue;
    extra.push(`--${name}=${value}`);
  }
  return [...args, ...extra];
}

function loadConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `${file}: cannot read config file (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  const doc = parseDocument(text, { prettyErrors: true });
  const first = doc.errors[0];
  if (first) {
    const line = first.linePos?.[0]?.line ?? 0;
    throw new UsageError(`${file}:${line}: ${first.message.split('\n')[0]}`);
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new UsageError(`${file}:1: expected a mapping of option: value`);
  return value as Record<string, unknown>;
}

function parseSyslog(url: string, cef: boolean, ca: string | undefined): SyslogTarget {
  const t = parseSyslogUrl(url);
  if (!t)
    throw new UsageError(`--syslog ${url}: expected udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT`);
  if (ca !== undefined && t.proto !== 'tls') throw new UsageError(`--syslog-ca needs a tls:// --syslog`);
  if (ca !== undefined) {
    try {
      readFileSync(ca);
    } catch (err) {
      throw new UsageError(
        `--syslog-ca ${ca}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  }
  return { ...t, cef, ...(ca !== undefined ? { ca } : {}) };
}

main().catch(fail);
