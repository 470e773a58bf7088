#!/usr/bin/env node
// The one wardwatch executable: yargs commands that hand over to agent/ or collector/ (demo starts both).
// Options are declared in bin/options.ts; environment variables and --config files in bin/environment.ts.
// The agent, collector and demo are imported when their command runs: `replay` and `rules` do not load the
// database drivers, the WebSocket transport or the capture binding.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { EXIT_BAD_INPUT } from '../agent/engine-inputs.js';
import {
  runBaselineDiff,
  runBaselineShow,
  runBaselineLearn,
  runReplay,
  runRulesTest,
  runRulesValidate,
} from '../agent/cli/commands.js';
import { UserError } from '../agent/wire/errors.js';
import type { SyslogTarget } from '../collector/export.js';
import type { CollectorOptions } from '../collector/main.js';
import { isPostgresUrl, redactDb } from '../collector/db-url.js';
import {
  applyEnvironment,
  checkCommand,
  checkOptionNames,
  commandOf,
  loadConfigFile,
} from './environment.js';
import {
  AGENT,
  BASELINE_APPROVE,
  BASELINE_EXPORT,
  BASELINE_LEARN,
  COLLECTOR,
  DEMO,
  GLOBAL,
  REPLAY,
  RULES_TEST,
  SYSLOG_URL,
} from './options.js';

/** Exit status of a bug (EX_SOFTWARE): anything that is not the user's mistake. */
const EXIT_INTERNAL = 70;

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

/** The one line a user mistake is: several errors found in one pass show the first and how many more. */
function oneLine(message: string): string {
  const [first = '', ...rest] = message.split('\n').filter((l) => l.trim() !== '');
  return rest.length === 0 ? first : `${first} (and ${rest.length} more)`;
}

function usage(message: string): never {
  process.stderr.write(`wardwatch: ${message}\n`);
  process.exit(EXIT_BAD_INPUT);
}

/** A user's mistake (UserError, by type) is one line and exit 2; anything else is a bug and says so. */
function fail(err: unknown): never {
  if (err instanceof UserError) usage(oneLine(err.message));
  // The environment refused something (a port in use, a file not readable): say what, not a stack.
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (err instanceof Error && typeof code === 'string' && SYSTEM_HINTS[code] !== undefined)
    usage(`${err.message}${SYSTEM_HINTS[code]}`);
  process.stderr.write(
    `wardwatch: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(EXIT_INTERNAL);
}

function run(task: () => Promise<number> | number): void {
  Promise.resolve()
    .then(task)
    .then((code) => {
      process.exitCode = code;
    })
    .catch(fail);
}

/** A file named by an option must exist before a service starts, not when the first client arrives. */
function requireFile(option: string, file: string): void {
  if (!existsSync(file)) throw new UserError(`--${option} ${file}: file not found`);
  if (statSync(file).isDirectory()) throw new UserError(`--${option} ${file}: is a directory`);
}

/** A file wardwatch creates (a database, an export) needs its directory. */
function requireDirectoryOf(option: string, file: string): void {
  const dir = path.dirname(path.resolve(file));
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UserError(`--${option} ${file}: directory ${dir} does not exist`);
}

/** A directory wardwatch writes into (the archive) must exist and be one. */
function requireDirectory(option: string, dir: string): void {
  if (!existsSync(dir)) throw new UserError(`--${option} ${dir}: directory not found`);
  if (!statSync(dir).isDirectory()) throw new UserError(`--${option} ${dir}: not a directory`);
}

/**
 * Capture files are declared optional so that their absence gets a sentence of ours (yargs would say "Not
 * enough non-option arguments"); the usage line still shows them as required.
 */
const needFiles =
  (command: string, usage: string) =>
  (a: { files?: unknown }): true => {
    if (!Array.isArray(a.files) || a.files.length === 0)
      throw new UserError(`${command}: give at least one capture file (wardwatch ${usage})`);
    return true;
  };

const REPLAY_ABOUT = 'read pcap/pcapng files (gzip too) and print findings as JSON lines; summary on stderr';

function replayCommand(y: Argv): Argv {
  return y.command(
    'replay [files..]',
    REPLAY_ABOUT,
    (b) =>
      b
        .usage(`$0 replay FILE... [options]\n\n${REPLAY_ABOUT}`)
        .options(REPLAY)
        .positional('files', { type: 'string', array: true, describe: 'capture files (pcap, pcapng, gzip)' })
        .check(needFiles('replay', 'replay FILE...'))
        .example('$0 replay ward3.pcap --site site.yaml', 'findings for one capture')
        .example('$0 replay ward3.pcap --events --format pretty | less', 'every protocol message, readable')
        .example(
          '$0 replay big.pcap --workers 2',
          'two pipelines on two cores (see README for what differs)',
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
          failOn: a['fail-on'],
          speed: a.speed,
          agentId: a['agent-id'],
          flowMemoryMiB: a['flow-memory'],
          maxFlows: a['max-flows'],
          workers: a.workers,
        }),
      ),
  );
}

function agentCommand(y: Argv): Argv {
  return y.command(
    'agent',
    'run the pipeline on a capture file (or interface) and stream findings to a collector',
    (b) =>
      b
        .options(AGENT)
        .conflicts('interface', 'pcap')
        .check((a) => {
          if (!a.interface && !a.pcap) throw new UserError('agent: give --interface IF or --pcap FILE');
          if (!a.token) throw new UserError('agent: --token T is missing (or set WARDWATCH_TOKEN)');
          return true;
        }),
    (a) =>
      run(async () =>
        (await import('../agent/run-agent.js')).runAgent({
          pcap: a.pcap,
          interface: a.interface,
          collector: a.collector,
          token: a.token ?? '',
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
          fanout: a.fanout,
          flowMemoryMiB: a['flow-memory'],
          maxFlows: a['max-flows'],
          ackTimeoutS: a['ack-timeout'],
          tlsCa: a['tls-ca'],
          tlsCert: a['tls-cert'],
          tlsKey: a['tls-key'],
        }),
      ),
  );
}

function interfacesCommand(y: Argv): Argv {
  return y.command(
    'interfaces',
    'list capture devices (needs the native capture binding)',
    (b) => b,
    () =>
      run(async () => {
        const { listInterfaces } = await import('../agent/capture/live.js');
        for (const d of listInterfaces()) {
          const flags = [d.up ? 'up' : 'down', d.running ? 'running' : '', d.loopback ? 'loopback' : '']
            .filter(Boolean)
            .join(',');
          process.stdout.write(`${d.name}\t${flags}\t${d.addresses.join(' ')}\t${d.description}\n`);
        }
        return 0;
      }),
  );
}

function collectorCommand(y: Argv): Argv {
  return y.command(
    'collector',
    'receive findings from agents; serve /metrics, /healthz and the API',
    (b) =>
      b.options(COLLECTOR).check((a) => {
        if ((a['tls-cert'] === undefined) !== (a['tls-key'] === undefined))
          throw new UserError('collector: --tls-cert and --tls-key go together');
        return true;
      }),
    (a) =>
      run(async () => {
        // Files are checked before anything starts, so a typo is the first and only thing said.
        if (a.db !== ':memory:' && !isPostgresUrl(a.db)) requireDirectoryOf('db', a.db);
        if (a['export-jsonl'] !== undefined) requireDirectoryOf('export-jsonl', a['export-jsonl']);
        if (a['archive-dir'] !== undefined) requireDirectory('archive-dir', a['archive-dir']);
        for (const option of ['tokens', 'tls-cert', 'tls-key', 'tls-ca', 'syslog-ca'] as const) {
          const file = a[option];
          if (file !== undefined) requireFile(option, file);
        }
        const options: CollectorOptions = { listen: a.listen, db: a.db, logger: makeLogger(a['log-level']) };
        if (a.tokens !== undefined) options.tokensFile = a.tokens;
        if (a['tls-cert'] !== undefined && a['tls-key'] !== undefined)
          options.tls = {
            cert: a['tls-cert'],
            key: a['tls-key'],
            ...(a['tls-ca'] !== undefined ? { ca: a['tls-ca'] } : {}),
            requestCert: a['tls-client-cert'],
          };
        if (a['retention-days'] !== undefined || a['retention-max'] !== undefined)
          options.retention = {
            ...(a['retention-days'] !== undefined ? { maxAgeSeconds: a['retention-days'] * 86400 } : {}),
            ...(a['retention-max'] !== undefined ? { maxCount: a['retention-max'] } : {}),
          };
        if (a['archive-dir'] !== undefined) options.archive = { dir: a['archive-dir'] };
        const syslog = a.syslog !== undefined ? parseSyslog(a.syslog, a.cef, a['syslog-ca']) : undefined;
        if (a['syslog-ca'] !== undefined && syslog?.proto !== 'tls')
          throw new UserError('collector: --syslog-ca needs a tls:// --syslog');
        if (a['export-jsonl'] !== undefined || syslog)
          options.export = {
            ...(a['export-jsonl'] !== undefined ? { jsonl: a['export-jsonl'] } : {}),
            format: a['export-format'],
            ...(syslog ? { syslog } : {}),
          };
        const { startCollector } = await import('../collector/main.js');
        const collector = await startCollector(options);
        await new Promise<void>((resolve) =>
          signalController().signal.addEventListener('abort', () => resolve()),
        );
        await collector.close();
        return 0;
      }),
  );
}

const LEARN_ABOUT = "learn each device's normal behaviour from captures into a YAML baseline";

function baselineCommand(y: Argv): Argv {
  return y.command('baseline', 'learn, compare, approve and export device baselines', (b) =>
    b
      .command(
        'learn [files..]',
        LEARN_ABOUT,
        (c) =>
          c
            .usage(`$0 baseline learn FILE... --out FILE [options]\n\n${LEARN_ABOUT}`)
            .options(BASELINE_LEARN)
            .positional('files', { type: 'string', array: true, describe: 'capture files' })
            .check(needFiles('baseline learn', 'baseline learn FILE... --out FILE')),
        (a) =>
          run(() =>
            runBaselineLearn({
              files: a.files as string[],
              out: a.out,
              site: a.site,
              minLearning: a['min-learning'],
            }),
          ),
      )
      .command(
        'diff <a> <b>',
        'print what changed between two baselines',
        (c) =>
          c
            .positional('a', { type: 'string', demandOption: true, describe: 'the older baseline file' })
            .positional('b', { type: 'string', demandOption: true, describe: 'the newer baseline file' }),
        (a) => run(() => runBaselineDiff(a.a, a.b)),
      )
      .command(
        'show <file>',
        'print a baseline one line per entry, with DICOM names',
        (c) => c.positional('file', { type: 'string', demandOption: true, describe: 'the baseline file' }),
        (a) => run(() => runBaselineShow(a.file)),
      )
      .command(
        'approve',
        "approve items of a device's learned baseline at the collector (admin token)",
        (c) =>
          c
            .usage('$0 baseline approve --collector URL --token T --device D (--all | --item ID... | --list)')
            .options(BASELINE_APPROVE)
            .example(
              '$0 baseline approve --collector http://127.0.0.1:7411 --token T --device 10.20.40.21 --list',
              'what is to review',
            )
            .example(
              '$0 baseline approve --collector http://127.0.0.1:7411 --token T --device 10.20.40.21 --all',
              'approve the device',
            ),
        (a) =>
          run(async () =>
            (await import('../agent/cli/baseline-remote.js')).runBaselineApprove({
              collector: a.collector,
              token: a.token,
              device: a.device,
              ...(a.all !== undefined ? { all: a.all } : {}),
              ...(a.item !== undefined ? { item: a.item.map(String) } : {}),
              ...(a.list !== undefined ? { list: a.list } : {}),
              ...(a.comment !== undefined ? { comment: a.comment } : {}),
            }),
          ),
      )
      .command(
        'export',
        'write the approved baselines from the collector as a --baseline YAML file',
        (c) =>
          c
            .usage('$0 baseline export --collector URL --token T [--device D] [--out FILE]')
            .options(BASELINE_EXPORT),
        (a) =>
          run(async () =>
            (await import('../agent/cli/baseline-remote.js')).runBaselineExport({
              collector: a.collector,
              token: a.token,
              ...(a.device !== undefined ? { device: a.device } : {}),
              ...(a.out !== undefined ? { out: a.out } : {}),
            }),
          ),
      )
      .demandCommand(1, 'baseline needs a subcommand: learn, diff, show, approve or export'),
  );
}

const RULES_TEST_ABOUT = 'run the rules in DIR over captures and print their findings';

function rulesCommand(y: Argv): Argv {
  return y.command('rules', 'check and try detection rules', (b) =>
    b
      .command(
        'validate [dir]',
        'check every rule file; errors name file, line and field',
        (c) => c.positional('dir', { type: 'string', describe: 'rules directory (default: shipped rules)' }),
        (a) => run(() => runRulesValidate(a.dir)),
      )
      .command(
        'test <dir> [files..]',
        RULES_TEST_ABOUT,
        (c) =>
          c
            .usage(`$0 rules test DIR FILE... [options]\n\n${RULES_TEST_ABOUT}`)
            .options(RULES_TEST)
            .positional('dir', { type: 'string', demandOption: true, describe: 'rules directory' })
            .positional('files', { type: 'string', array: true, describe: 'capture files' })
            .check(needFiles('rules test', 'rules test DIR FILE...')),
        (a) =>
          run(() => runRulesTest({ dir: a.dir, files: a.files as string[], site: a.site, format: a.format })),
      )
      .demandCommand(1, 'rules needs a subcommand: validate or test'),
  );
}

function demoCommand(y: Argv): Argv {
  return y.command(
    'demo',
    'start a collector and an agent on localhost replaying the bundled capture with incidents',
    (b) => b.options(DEMO),
    (a) =>
      run(async () =>
        (await import('./demo.js')).runDemo({
          listen: a.listen,
          speed: a.speed,
          exit: a.exit,
          logger: makeLogger(a['log-level']),
          out: process.stdout,
        }),
      ),
  );
}

/** --print-config: the options as parsed, each once by its long name, the token only as "(set)", no database password. */
function printConfig(a: Record<string, unknown>): void {
  if (!a['print-config']) return;
  // yargs also fills camelCase and one-letter aliases: show each option once, by its long name.
  const hidden = new Set(['_', '$0', 'print-config', 'token', 'i', 'h']);
  const shown = Object.fromEntries(Object.entries(a).filter(([k]) => !hidden.has(k) && !/[A-Z]/.test(k)));
  process.stdout.write(
    `${JSON.stringify(
      {
        command: a._,
        ...shown,
        ...(a.token ? { token: '(set)' } : {}),
        // A PostgreSQL URL may hold a password: shown as ***, like the collector's log line.
        ...(typeof a.db === 'string' ? { db: redactDb(a.db) } : {}),
      },
      null,
      2,
    )}\n`,
  );
  process.exit(0);
}

async function main(): Promise<void> {
  // A reader that went away (`| head`) is not an error of ours.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  const { args, warnings } = applyEnvironment(hideBin(process.argv), process.env);
  for (const w of warnings) process.stderr.write(`${w}\n`);
  checkCommand(args);
  checkOptionNames(args, commandOf(args));
  let cli = yargs(args)
    .scriptName('wardwatch')
    .usage(
      '$0 <command> [options]\n\nPassive anomaly detection for hospital medical-device networks (HL7 v2, DICOM, MQTT).',
    );
  for (const add of [
    replayCommand,
    agentCommand,
    interfacesCommand,
    collectorCommand,
    baselineCommand,
    rulesCommand,
    demoCommand,
  ])
    cli = add(cli);
  await cli
    .option('print-config', { ...GLOBAL['print-config'], global: true })
    .middleware(printConfig)
    .demandCommand(1, 'give a command; see --help')
    // Precedence: command line, environment (added to the command line by applyEnvironment), config file, default.
    .config('config', GLOBAL.config.describe, (file: string) => loadConfigFile(file, args))
    .strict()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg: string | null, err: Error | undefined) => {
      // yargs reports its own checks and our validators (which it rethrows as YError, message kept) here.
      if (err instanceof UserError || (err !== undefined && err.name !== 'YError')) fail(err);
      usage(oneLine((msg ?? err?.message ?? 'bad command line').replace(/:\n\s*/g, ': ')));
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

function parseSyslog(url: string, cef: boolean, ca: string | undefined): SyslogTarget {
  const m = SYSLOG_URL.exec(url);
  if (!m)
    throw new UserError(`--syslog ${url}: expected udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT`);
  return {
    proto: m[1] as SyslogTarget['proto'],
    host: (m[2] ?? '').replace(/^\[|\]$/g, ''),
    port: Number(m[3]),
    cef,
    ...(ca !== undefined ? { ca } : {}),
  };
}

main().catch(fail);
