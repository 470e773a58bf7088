// The `wardwatch` executable as a user runs it: exit statuses, one-line errors naming the file, JSON lines on stdout.
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, HAVE_SHARED, REPO_ROOT, SHARED_CAPTURES } from '../helpers/paths.js';

const BIN = path.join(REPO_ROOT, 'dist/bin/wardwatch.js');
const DICOM_FIND = path.join(FIXTURES, 'dicom/find.pcap');
const HL7_PCD = path.join(FIXTURES, 'hl7/hl7-pcd-back-to-back-2575.pcap');

function ww(args: string[], opts: { cwd?: string } = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    cwd: opts.cwd ?? REPO_ROOT,
    timeout: 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function tmp(): string {
  return mkdtempSync(path.join(tmpdir(), 'ww-cli-'));
}

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe.skipIf(!existsSync(BIN))('wardwatch CLI', () => {
  it('prints help for every command and exits 0', () => {
    for (const cmd of [
      [],
      ['replay'],
      ['agent'],
      ['collector'],
      ['baseline', 'learn'],
      ['rules', 'validate'],
      ['demo'],
    ]) {
      const r = ww([...cmd, '--help']);
      expect(r.code, `${cmd.join(' ')} --help`).toBe(0);
      expect(r.stdout).toContain('wardwatch');
    }
    expect(ww(['replay', '--help']).stdout).toContain('--fail-on');
  });

  it('exits 2 with a usage line on an unknown command or option', () => {
    const r = ww(['replay', DICOM_FIND, '--bogus-option']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^wardwatch: .*bogus-option/m);
  });

  it('replays our DICOM fixture: events as JSON lines, flow lines, summary on stderr', () => {
    const r = ww(['replay', DICOM_FIND, '--events']);
    expect(r.code).toBe(0);
    const lines = jsonLines(r.stdout);
    const events = lines.filter((l) => l.kind === 'event');
    expect(events.some((e) => e.proto === 'dicom' && e.type === 'associate_rq')).toBe(true);
    expect(events.some((e) => e.type === 'dimse')).toBe(true);
    expect(lines.some((l) => l.kind === 'flow' && l.app === 'dicom')).toBe(true);
    for (const e of events) {
      expect(e).toHaveProperty('flow');
      expect(String(e.ts)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      expect(e).not.toHaveProperty('tsMicros');
    }
    expect(r.stderr).toMatch(/^replay: 1 file, \d+ packets/m);
  });

  it('never prints the fake patient values our HL7 fixture carries', () => {
    const r = ww(['replay', HL7_PCD, '--events']);
    expect(r.code).toBe(0);
    const msgs = jsonLines(r.stdout).filter((l) => l.kind === 'event' && l.proto === 'hl7');
    expect(msgs.length).toBeGreaterThan(0);
    // Every message of the fixture carries patient segments; their values must not leave the analyzer.
    expect(r.stdout).not.toMatch(/DOE|JANE|JOHN|SMITH/);
  });

  it('a truncated capture: valid packets processed, then exit 2 with FILE: packet N at byte B', () => {
    const dir = tmp();
    const cut = path.join(dir, 'cut.pcap');
    copyFileSync(DICOM_FIND, cut);
    truncateSync(cut, statSync(cut).size - 7);
    const r = ww(['replay', cut, '--events']);
    expect(r.code).toBe(2);
    const errLine = r.stderr.split('\n').find((l) => l.startsWith('wardwatch: '));
    expect(errLine).toMatch(
      new RegExp(`^wardwatch: ${cut.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: packet \\d+ at byte \\d+: .+`),
    );
    expect(jsonLines(r.stdout).some((l) => l.type === 'associate_rq')).toBe(true);
  });

  it('wrong magic and a missing file are one-line errors with exit 2', () => {
    const dir = tmp();
    const bad = path.join(dir, 'notes.pcap');
    writeFileSync(bad, 'this is not a capture file at all\n');
    const r1 = ww(['replay', bad]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toContain(`${bad}: packet 1 at byte 0:`);
    const r2 = ww(['replay', path.join(dir, 'absent.pcap')]);
    expect(r2.code).toBe(2);
    expect(r2.stderr.trim()).toBe(`wardwatch: ${path.join(dir, 'absent.pcap')}: capture file not found`);
  });

  it('a bad site file names the file and line, exit 2', () => {
    const dir = tmp();
    const site = path.join(dir, 'site.yaml');
    writeFileSync(site, 'name: Test\nzones:\n  imaging: [10.20.40.0/24]\ncolour: blue\n');
    const r = ww(['replay', DICOM_FIND, '--site', site]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${site}:4:`);
  });

  it('--fail-on exits 1 only when a finding reaches the severity', () => {
    const all = ww(['replay', DICOM_FIND, '--site', path.join(FIXTURES, 'site.yaml')]);
    expect(all.code).toBe(0);
    const findings = jsonLines(all.stdout).filter((l) => l.kind === 'finding');
    const r = ww(['replay', DICOM_FIND, '--site', path.join(FIXTURES, 'site.yaml'), '--fail-on', 'info']);
    expect(r.code).toBe(findings.length > 0 ? 1 : 0);
    const none = ww([
      'replay',
      DICOM_FIND,
      '--site',
      path.join(FIXTURES, 'site.yaml'),
      '--fail-on',
      'critical',
    ]);
    const critical = findings.some((f) => f.severity === 'critical');
    expect(none.code).toBe(critical ? 1 : 0);
  });

  it('rules validate accepts the shipped rules and rejects a broken file with file:line', () => {
    expect(ww(['rules', 'validate']).code).toBe(0);
    const dir = tmp();
    writeFileSync(
      path.join(dir, 'x.yaml'),
      'rules:\n  - id: x.one\n    title: t\n    severity: catastrophic\n',
    );
    const r = ww(['rules', 'validate', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/x\.yaml:\d+:/);
  });

  it('baseline learn writes a baseline; then replay with it on the same traffic is quiet about deviations', () => {
    const dir = tmp();
    const out = path.join(dir, 'baseline.yaml');
    const learn = ww(['baseline', 'learn', DICOM_FIND, '--out', out]);
    expect(learn.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/devices:/);
    const r = ww(['replay', DICOM_FIND, '--baseline', out]);
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout).filter((l) => String(l.rule).startsWith('baseline.'))).toEqual([]);
    const diff = ww(['baseline', 'diff', out, out]);
    expect(diff.code).toBe(0);
    expect(diff.stdout).toBe('');
    // The file keeps UIDs with the standard's name as a comment; `show` prints the names (issue 10).
    expect(readFileSync(out, 'utf8')).toMatch(
      /- 1\.2\.840\.10008\.5\.1\.4\.1\.2\.2\.1 # Study Root Query\/Retrieve Information Model - FIND\n/,
    );
    const show = ww(['baseline', 'show', out]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(
      /^ {2}dicom implementation: 1\.2\.276\.0\.7230010\.3\.0\.3\.6\.7 OFFIS_DCMTK_367: DCMTK \(OFFIS\)$/m,
    );
  });

  it('baseline learn into a missing directory fails before writing anything', () => {
    const dir = tmp();
    const r = ww(['baseline', 'learn', DICOM_FIND, '--out', path.join(dir, 'no/such/dir/b.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^wardwatch: .*does not exist/m);
  });

  it('a collector whose port is taken says so in one line and exits 2', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as net.AddressInfo).port;
    const dir = tmp();
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(
        process.execPath,
        [BIN, 'collector', '--listen', `127.0.0.1:${port}`, '--db', path.join(dir, 'db')],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('exit', (code) => resolve({ code, stderr }));
    });
    busy.close();
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('wardwatch: '));
    expect(lines).toEqual([expect.stringMatching(/EADDRINUSE.*choose another --listen/)]);
    expect(r.stderr).not.toMatch(/\bat \w+ \(/);
  });

  it.skipIf(!HAVE_SHARED)('replays every shared capture with exit 0', () => {
    const files = ['mqtt', 'dicom', 'hl7', 'other'].flatMap((d) =>
      readdir(path.join(SHARED_CAPTURES, d))
        .filter((f) => /\.pcap(ng)?$/.test(f))
        .map((f) => path.join(SHARED_CAPTURES, d, f)),
    );
    expect(files.length).toBeGreaterThan(40);
    const r = ww(['replay', ...files]);
    expect(r.stderr).not.toMatch(/wardwatch: /);
    expect(r.code).toBe(0);
  });
});

function readdir(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}
