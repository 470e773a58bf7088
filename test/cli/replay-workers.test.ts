// `wardwatch replay --workers N` as a user runs it (the built CLI: worker threads run compiled code): the findings
// of per-flow and per-host-pair rules are those of one pipeline, the output is the same bytes every run, and a bad
// file or a bad option ends the replay with its exit status.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FIXTURES } from '../helpers/paths.js';
import { BIN } from '../helpers/processes.js';

const SCENARIOS = path.join(FIXTURES, 'scenarios');
const SITE = path.join(FIXTURES, 'site.yaml');
const manifest = parse(readFileSync(path.join(SCENARIOS, 'manifest.yaml'), 'utf8')) as {
  captures: { file: string; baseline?: string }[];
};

/**
 * The shipped rules whose state spans more than one host pair, so that with the traffic shared by IP pair each
 * worker sees a part of it (README "Replaying on several cores" says the same):
 * - thresholds keyed by one address, counting over its peers: sweeps, scans, bursts, harvests, guessing;
 * - hl7.replay: one control id on two connections, which may be between other hosts;
 * - device-level signals (first clinical message, client id moved, implementation, version or MAC changed): each
 *   worker keeps its own device table;
 * - baseline deviations of a device's profile (a new service, SOP class, command, topic...; rates, volumes, feeds):
 *   each worker checks, and reports once, what it saw of the device. Only those of a host pair are whole.
 */
const CROSS_HOST_RULES = new Set([
  'dicom.ae-enumeration',
  'dicom.echo-sweep',
  'dicom.cfind-harvest',
  'hl7.query-burst',
  'mqtt.auth-failures',
  'mqtt.publish-burst',
  'network.host-scan',
  'hl7.replay',
  'mqtt.client-id-takeover',
  'network.unlisted-clinical-device',
  'dicom.implementation-changed',
  'hl7.version-changed',
  'network.ip-mac-change',
]);
const PAIR_BASELINE_RULES = new Set(['baseline.new-peer', 'baseline.new-ae-pair']);

function perPair(rule: string): boolean {
  return rule.startsWith('baseline.') ? PAIR_BASELINE_RULES.has(rule) : !CROSS_HOST_RULES.has(rule);
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function replay(args: readonly string[]): Run {
  const r = spawnSync(process.execPath, [BIN, 'replay', ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Json = Record<string, unknown> & { rule: string; evidence: Record<string, unknown> };

/**
 * Findings that must be the same with any number of workers, as sorted JSON: not of a cross-host rule, not an
 * incident summary, and without the incident id (incidents group a device's findings, per worker).
 */
function perFlow(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Json)
    .filter((f) => perPair(f.rule) && f.evidence.incident_rules === undefined)
    .map(({ incident: _incident, ...rest }) => JSON.stringify(rest))
    .sort();
}

const dir = mkdtempSync(path.join(tmpdir(), 'ww-replay-workers-cli-'));
const learned = path.join(dir, 'normal-baseline.yaml');

describe.skipIf(!existsSync(BIN))('replay --workers', () => {
  it('learns the baseline the baseline-driven scenarios are replayed against', () => {
    const r = spawnSync(
      process.execPath,
      [
        BIN,
        'baseline',
        'learn',
        path.join(SCENARIOS, 'normal.pcap'),
        '--site',
        SITE,
        '--min-learning',
        '300',
        '--out',
        learned,
      ],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
  });

  // Every scenario capture in one replay: fewer processes, and more hosts and flows meeting in one flow table.
  const files = manifest.captures.map((c) => path.join(SCENARIOS, c.file));
  const events = (r: Run): string[] => r.stdout.split('\n').filter((l) => l.startsWith('{"kind":"event"'));
  const counts = (s: string): string | undefined =>
    /packets, .* flows, .*messages: [^,]*(, [a-z0-9]+ \d+)*/.exec(s)?.[0];

  it.each([false, true])(
    'reports the findings of per-flow and per-host-pair rules as one pipeline does (baseline: %s)',
    (baseline) => {
      const args = [...files, '--site', SITE, ...(baseline ? ['--baseline', learned] : [])];
      const one = replay([...args, '--workers', '1']);
      const two = replay([...args, '--workers', '2']);
      expect(one.status, one.stderr).toBe(0);
      expect(two.status, two.stderr).toBe(0);
      expect(perFlow(one.stdout).length).toBeGreaterThan(100);
      expect(perFlow(two.stdout)).toEqual(perFlow(one.stdout));
      // The same packets, flows and messages were counted.
      expect(counts(two.stderr)).toBe(counts(one.stderr));
    },
  );

  it('prints the same bytes every run (2 and 3 workers), and the events of one pipeline in its order', () => {
    const args = [...files, '--site', SITE, '--baseline', learned, '--events'];
    const one = replay([...args, '--workers', '1']);
    expect(one.status, one.stderr).toBe(0);
    expect(events(one).length).toBeGreaterThan(1000);
    for (const n of ['2', '3']) {
      const a = replay([...args, '--workers', n]);
      const b = replay([...args, '--workers', n]);
      expect(a.status, a.stderr).toBe(0);
      expect(b.stdout).toBe(a.stdout);
      expect(events(a)).toEqual(events(one));
    }
  });

  it('reports a truncated file with exit 2, after the frames before the fault', () => {
    const whole = readFileSync(path.join(SCENARIOS, 'normal.pcap'));
    const cut = path.join(dir, 'cut.pcap');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    const one = replay([cut, '--workers', '1']);
    const two = replay([cut, '--workers', '2']);
    expect(one.status).toBe(2);
    expect(two.status).toBe(2);
    expect(two.stderr).toMatch(
      new RegExp(`wardwatch: ${cut.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: packet \\d+ at byte \\d+`),
    );
    const packets = (s: string) => /(\d+) packets/.exec(s)?.[1];
    expect(packets(two.stderr)).toBe(packets(one.stderr));
    expect(Number(packets(two.stderr))).toBeGreaterThan(0);
  });

  it.each([
    [['--workers', '0'], /--workers 0/],
    [['--workers', '65'], /--workers 65: expected 1 to 64/],
    [['--workers', '2', '--speed', '10'], /--speed paces one pipeline/],
    // Loaded by the workers only: their error is still the user's, on one line, exit 2.
    [
      ['--workers', '2', '--rules', '/nonexistent-rules'],
      /^wardwatch: \/nonexistent-rules: rules directory not found\n$/,
    ],
  ])('refuses %j with exit 2', (opts, message) => {
    const r = replay([path.join(SCENARIOS, 'normal.pcap'), ...opts]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });
});
