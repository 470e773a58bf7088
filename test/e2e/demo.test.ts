// The README's first command: `wardwatch demo` starts a collector and an agent on localhost and prints the stored findings.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, REPO_ROOT } from '../helpers/paths.js';

const BIN = path.join(REPO_ROOT, 'dist/bin/wardwatch.js');
const DEMO = path.join(FIXTURES, 'demo/demo.pcap');

function runDemo(args: string[], onLine?: (line: string, kill: (sig: NodeJS.Signals) => void) => void) {
  const proc = spawn(process.execPath, [BIN, 'demo', '--listen', '127.0.0.1:0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => {
    const text = d.toString();
    out += text;
    for (const line of text.split('\n')) onLine?.(line, (sig) => proc.kill(sig));
  });
  proc.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), 90_000);
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    }),
  );
}

describe.skipIf(!existsSync(BIN) || !existsSync(DEMO))('wardwatch demo', () => {
  it('prints where the collector is and the incidents the collector stored, then exits with --exit', async () => {
    const r = await runDemo(['--exit', '--speed', '1000']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^wardwatch demo: collector at http:\/\/127\.0\.0\.1:\d+$/m);
    expect(r.out).toMatch(/metrics: +http:\/\/127\.0\.0\.1:\d+\/metrics/);
    for (const rule of [
      'mqtt.wildcard-subscribe',
      'mqtt.anonymous-accepted',
      'dicom.cfind-wildcard',
      'hl7.internet',
    ]) {
      expect(r.out, rule).toContain(` ${rule}: `);
    }
    const stored = /demo: (\d+) findings stored by the collector\./.exec(r.out);
    const lines = r.out
      .split('\n')
      .filter((l) => /^\d{4}-\d\d-\d\dT.*Z (INFO|LOW|MEDIUM|HIGH|CRITICAL) /.test(l));
    expect(Number(stored?.[1])).toBe(lines.length);
    // No patient data in what the demo shows.
    expect(r.out).not.toMatch(/DOE|JANE|SMITH/);
  });

  it('keeps serving after the replay and stops cleanly on Ctrl-C', async () => {
    let sent = false;
    const r = await runDemo(['--speed', '1000'], (line, kill) => {
      if (!sent && line.includes('press Ctrl-C')) {
        sent = true;
        kill('SIGINT');
      }
    });
    expect(sent).toBe(true);
    expect(r.code).toBe(0);
  });
});
