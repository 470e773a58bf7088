// Ordinary user mistakes (issue 13 item 5): each is exit 2 and exactly one line on stderr naming what to fix —
// the option, the variable, the file and line. Nothing here may end in a stack trace or exit 70.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, REPO_ROOT } from '../helpers/paths.js';

const BIN = path.join(REPO_ROOT, 'dist/bin/wardwatch.js');
const CAPTURE = path.join(FIXTURES, 'dicom/find.pcap');
/** A capture whose findings reach high but not critical (MQTT 3.1.1 session with a wildcard subscription). */
const HIGH = path.join(FIXTURES, 'mqtt/mqtt311-session.pcap');
const NOWHERE = 'ws://127.0.0.1:9';

/** The environment without WARDWATCH_* variables, so a stray one in the developer's shell changes nothing. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WARDWATCH_')));
  return { ...env, ...extra };
}

function ww(args: string[], extraEnv: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    cwd: REPO_ROOT,
    env: cleanEnv(extraEnv),
    timeout: 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const dir = mkdtempSync(path.join(tmpdir(), 'ww-mistakes-'));
function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface Mistake {
  what: string;
  args: string[];
  env?: Record<string, string>;
  /** What the one line must name (each pattern must match). */
  names: RegExp[];
}

const missing = path.join(dir, 'absent');
const siteUnknownRole = file(
  'site-role.yaml',
  'name: Test\nassets:\n  pacs:\n    ip: [10.20.40.10]\n    roles: [dicom-wizard]\n',
);
const brokenRules = path.join(dir, 'rules');
mkdirSync(brokenRules);
writeFileSync(
  path.join(brokenRules, 'x.yaml'),
  'rules:\n  - id: x.one\n    title: t\n    severity: catastrophic\n',
);
const badBaseline = file('baseline.yaml', 'version: 99\ndevices: []\n');
const tokensBad = file('tokens', '# roles\nagent a1 token-token-1\nroot r1 token-token-2\n');
const cfgUnknown = file('agent.yaml', 'interface: eth1\ncollector: ws://127.0.0.1:9\nsped: 3\n');
const cfgSyntax = file('syntax.yaml', 'interface: eth1\npcap: [a.pcap\n');
const cfgBadValue = file('workers.yaml', '# agent\nworkers: 0\n');
const cfgBadFlag = file('cef.yaml', 'cef: maybe\n');
const cfgOtherCommand = file('db.yaml', 'db: /var/lib/wardwatch/wardwatch.db\n');
const agent = (...more: string[]): string[] => ['agent', '--pcap', CAPTURE, '--collector', NOWHERE, ...more];

const MISTAKES: Mistake[] = [
  { what: 'agent without --token', args: agent(), names: [/--token/, /WARDWATCH_TOKEN/] },
  {
    what: 'agent with neither --interface nor --pcap',
    args: ['agent', '--collector', NOWHERE, '--token', 't'],
    names: [/--interface/, /--pcap/],
  },
  {
    what: 'agent with an invalid collector URL',
    args: ['agent', '--pcap', CAPTURE, '--collector', 'foo', '--token', 't'],
    names: [/--collector foo/, /ws:\/\//],
  },
  {
    what: 'agent without --collector',
    args: ['agent', '--pcap', CAPTURE, '--token', 't'],
    names: [/collector/],
  },
  {
    what: 'agent with both --interface and --pcap',
    args: [...agent('--token', 't'), '--interface', 'lo'],
    names: [/interface/, /pcap/],
  },
  { what: '--workers 0', args: agent('--token', 't', '--workers', '0'), names: [/--workers 0/] },
  {
    what: 'a bad --learning-period',
    args: agent('--token', 't', '--learning-period', 'soon'),
    names: [/--learning-period soon/, /duration/],
  },
  {
    what: 'agent --pcap of a missing file',
    args: ['agent', '--pcap', missing, '--collector', NOWHERE, '--token', 't'],
    names: [new RegExp(escape(missing))],
  },
  {
    what: 'agent with an unknown role in the site file',
    args: agent('--token', 't', '--site', siteUnknownRole),
    names: [new RegExp(`${escape(siteUnknownRole)}:5:`), /dicom-wizard/],
  },
  {
    what: 'collector --db in a missing directory',
    args: ['collector', '--db', path.join(dir, 'no/such/dir/w.db')],
    names: [/--db/, new RegExp(escape(path.join(dir, 'no/such/dir')))],
  },
  {
    what: 'collector --listen nonsense',
    args: ['collector', '--listen', 'nonsense'],
    names: [/--listen nonsense/],
  },
  {
    what: 'collector --tokens of a missing file',
    args: ['collector', '--tokens', missing, '--db', ':memory:'],
    names: [/--tokens/, new RegExp(escape(missing))],
  },
  {
    what: 'collector --tokens with an unknown role',
    args: ['collector', '--tokens', tokensBad, '--db', ':memory:', '--listen', '127.0.0.1:0'],
    names: [new RegExp(`${escape(tokensBad)}:3:`), /root/],
  },
  {
    what: 'collector --tls-cert without --tls-key',
    args: ['collector', '--tls-cert', tokensBad],
    names: [/--tls-cert/, /--tls-key/],
  },
  {
    what: 'collector --syslog http://x',
    args: ['collector', '--syslog', 'http://x'],
    names: [/--syslog http:\/\/x/],
  },
  {
    what: 'collector --retention-days -3',
    args: ['collector', '--retention-days', '-3'],
    names: [/--retention-days -3/],
  },
  {
    what: 'collector --archive-dir in a missing directory',
    args: ['collector', '--archive-dir', '/nonexistent/wardwatch-archive'],
    names: [/--archive-dir \/nonexistent\/wardwatch-archive/, /not found/],
  },
  {
    what: 'collector --log-level loud',
    args: ['collector', '--log-level', 'loud'],
    names: [/--log-level loud/],
  },
  {
    what: 'replay --fail-on nonsense',
    args: ['replay', CAPTURE, '--fail-on', 'nonsense'],
    names: [/--fail-on nonsense/, /critical/],
  },
  { what: 'replay --speed -1', args: ['replay', CAPTURE, '--speed', '-1'], names: [/--speed -1/] },
  {
    what: 'replay --format xml',
    args: ['replay', CAPTURE, '--format', 'xml'],
    names: [/--format xml/, /jsonl/],
  },
  {
    what: 'a misspelt option',
    args: ['replay', CAPTURE, '--sped', '3'],
    names: [/--sped/, /did you mean --speed/],
  },
  {
    what: 'an option of another command',
    args: ['replay', CAPTURE, '--snaplen', '96'],
    names: [/--snaplen/, /option of agent/],
  },
  { what: 'replay without a capture file', args: ['replay'], names: [/capture file/, /replay FILE/] },
  { what: 'replay of a missing file', args: ['replay', missing], names: [new RegExp(escape(missing))] },
  {
    what: 'replay --site of a missing file',
    args: ['replay', CAPTURE, '--site', missing],
    names: [new RegExp(escape(missing)), /site file/],
  },
  {
    what: 'replay --rules of a missing directory',
    args: ['replay', CAPTURE, '--rules', missing],
    names: [new RegExp(escape(missing)), /rules directory/],
  },
  {
    what: 'replay --rules with a broken rule file',
    args: ['replay', CAPTURE, '--rules', brokenRules],
    names: [/x\.yaml:\d+:/, /catastrophic|severity/],
  },
  {
    what: 'replay --baseline of an unsupported version',
    args: ['replay', CAPTURE, '--baseline', badBaseline],
    names: [new RegExp(`${escape(badBaseline)}:1:`), /version/],
  },
  {
    what: 'baseline learn --min-learning x',
    args: ['baseline', 'learn', CAPTURE, '--out', path.join(dir, 'b.yaml'), '--min-learning', 'x'],
    names: [/--min-learning x/],
  },
  {
    what: 'baseline learn into a missing directory',
    args: ['baseline', 'learn', CAPTURE, '--out', path.join(dir, 'nodir/b.yaml')],
    names: [new RegExp(escape(path.join(dir, 'nodir')))],
  },
  {
    what: 'baseline diff of a missing file',
    args: ['baseline', 'diff', missing, badBaseline],
    names: [new RegExp(escape(missing))],
  },
  {
    what: 'baseline show of a missing file',
    args: ['baseline', 'show', missing],
    names: [new RegExp(escape(missing))],
  },
  {
    what: 'rules validate of a missing directory',
    args: ['rules', 'validate', missing],
    names: [new RegExp(escape(missing))],
  },
  {
    what: 'an unknown key in --config',
    args: ['agent', '--config', cfgUnknown, '--token', 't'],
    names: [new RegExp(`${escape(cfgUnknown)}:3:`), /sped/, /speed/],
  },
  {
    what: 'a key of another command in --config',
    args: ['agent', '--config', cfgOtherCommand, '--token', 't'],
    names: [new RegExp(`${escape(cfgOtherCommand)}:1:`), /db/, /collector/],
  },
  {
    what: 'a YAML syntax error in --config',
    args: ['agent', '--config', cfgSyntax, '--token', 't'],
    names: [new RegExp(`${escape(cfgSyntax)}:\\d+:`)],
  },
  {
    what: 'a bad value in --config',
    args: [...agent('--token', 't'), '--config', cfgBadValue],
    names: [/--workers 0/, new RegExp(`${escape(cfgBadValue)}:2`)],
  },
  {
    what: 'a missing --config file',
    args: ['agent', '--config', missing],
    names: [new RegExp(escape(missing)), /config file/],
  },
  {
    what: 'a bad value from the environment',
    args: agent('--token', 't'),
    env: { WARDWATCH_WORKERS: '0' },
    names: [/--workers 0/, /WARDWATCH_WORKERS/],
  },
  {
    what: 'a bad boolean from the environment',
    args: ['collector'],
    env: { WARDWATCH_CEF: 'maybe' },
    names: [/--cef maybe/, /WARDWATCH_CEF/],
  },
  {
    what: 'a bad boolean in --config',
    args: ['collector', '--config', cfgBadFlag],
    names: [new RegExp(`${escape(cfgBadFlag)}:1:`), /cef/],
  },
  { what: 'an unknown command', args: ['frobnicate'], names: [/frobnicate/, /replay/] },
  { what: 'an unknown subcommand', args: ['baseline', 'frob'], names: [/baseline frob/, /baseline learn/] },
  { what: 'demo --speed 0', args: ['demo', '--speed', '0'], names: [/--speed 0/] },
];

describe.skipIf(!existsSync(BIN))('user mistakes: exit 2, one line naming what to fix', () => {
  it('lists at least 20 of them', () => {
    expect(MISTAKES.length).toBeGreaterThanOrEqual(20);
  });

  it.each(MISTAKES.map((m) => [m.what, m] as const))('%s', (_, m) => {
    const r = ww(m.args, m.env);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(r.code, r.stderr).toBe(2);
    expect(lines, r.stderr).toHaveLength(1);
    const line = lines[0] ?? '';
    expect(line).toMatch(/^wardwatch: /);
    for (const re of m.names) expect(line).toMatch(re);
  });
});

describe.skipIf(!existsSync(BIN))('options from the environment', () => {
  it('WARDWATCH_FAIL_ON=high takes effect for replay; the command line wins over it', () => {
    expect(ww(['replay', HIGH]).code).toBe(0);
    expect(ww(['replay', HIGH], { WARDWATCH_FAIL_ON: 'high' }).code).toBe(1);
    expect(ww(['replay', HIGH, '--fail-on', 'critical'], { WARDWATCH_FAIL_ON: 'high' }).code).toBe(0);
    // find.pcap has medium findings only.
    expect(ww(['replay', CAPTURE], { WARDWATCH_FAIL_ON: 'high' }).code).toBe(0);
    expect(ww(['replay', CAPTURE], { WARDWATCH_FAIL_ON: 'medium' }).code).toBe(1);
  });

  it('an unknown WARDWATCH_ variable is a warning naming the nearest option, not an error', () => {
    const r = ww(['replay', CAPTURE], { WARDWATCH_SPEEED: '2', WARDWATCH_DB: 'x.db' });
    expect(r.code).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('wardwatch: warning: '));
    expect(warnings).toHaveLength(2);
    expect(warnings.join('\n')).toMatch(/WARDWATCH_SPEEED.*did you mean WARDWATCH_SPEED/);
    expect(warnings.join('\n')).toMatch(/WARDWATCH_DB.*option of collector/);
  });

  it('precedence: command line over environment over --config file', () => {
    const cfg = file('precedence.yaml', 'agent-id: from-file\nformat: pretty\nspeed: 3\n');
    const shown = (args: string[], env: Record<string, string>) =>
      JSON.parse(ww(['replay', CAPTURE, '--config', cfg, '--print-config', ...args], env).stdout) as Record<
        string,
        unknown
      >;
    const fileOnly = shown([], {});
    expect([fileOnly['agent-id'], fileOnly.format, fileOnly.speed]).toEqual(['from-file', 'pretty', 3]);
    const env = shown([], { WARDWATCH_AGENT_ID: 'from-env', WARDWATCH_SPEED: '5' });
    expect([env['agent-id'], env.format, env.speed]).toEqual(['from-env', 'pretty', 5]);
    const cli = shown(['--agent-id', 'from-cli'], { WARDWATCH_AGENT_ID: 'from-env' });
    expect(cli['agent-id']).toBe('from-cli');
  });

  it('a boolean from the environment: WARDWATCH_PROMISC=false, unless --promisc says otherwise', () => {
    const base = ['agent', '--interface', 'eth1', '--collector', NOWHERE, '--print-config'];
    const env = { WARDWATCH_TOKEN: 't', WARDWATCH_PROMISC: 'false' };
    expect(JSON.parse(ww(base, env).stdout).promisc).toBe(false);
    expect(JSON.parse(ww([...base, '--promisc'], env).stdout).promisc).toBe(true);
  });
});

describe.skipIf(!existsSync(BIN))('help', () => {
  it('demo --help states one default for --speed', () => {
    const help = ww(['demo', '--help']).stdout;
    const speed = help.slice(help.indexOf('--speed'), help.indexOf('--exit'));
    expect(speed).toContain('[default: 50]');
    expect(speed).not.toMatch(/as fast as possible/);
  });
});
