// SIGHUP reloads the rules of a running agent; a broken rules file keeps the old rules and says why.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURES, REPO_ROOT } from '../helpers/paths.js';

const BIN = path.join(REPO_ROOT, 'dist/bin/wardwatch.js');
const DEMO = path.join(FIXTURES, 'demo/demo.pcap');
const procs: ChildProcess[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) if (p.exitCode === null) p.kill('SIGKILL');
});

function collect(p: ChildProcess): { text: () => string; waitFor: (re: RegExp) => Promise<string> } {
  let buf = '';
  const waiters: Array<() => void> = [];
  p.stderr?.on('data', (d: Buffer) => {
    buf += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  const waitFor = (re: RegExp): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timeout waiting for ${re}: ${buf.slice(-1500)}`)),
        30_000,
      );
      const check = (): void => {
        const m = re.exec(buf);
        if (m) {
          clearTimeout(timer);
          resolve(m[0]);
        } else waiters.push(check);
      };
      check();
    });
  return { text: () => buf, waitFor };
}

describe.skipIf(!existsSync(BIN) || !existsSync(DEMO))('agent SIGHUP', () => {
  it('keeps the old rules on a broken file, then takes the fixed ones', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ww-hup-'));
    const rules = path.join(dir, 'rules');
    cpSync(path.join(REPO_ROOT, 'rules'), rules, { recursive: true });
    writeFileSync(path.join(dir, 'tokens'), 'agent hup1 hup-agent-token\n');
    const collector = spawn(
      process.execPath,
      [
        BIN,
        'collector',
        '--listen',
        '127.0.0.1:0',
        '--db',
        path.join(dir, 'db'),
        '--tokens',
        path.join(dir, 'tokens'),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    procs.push(collector);
    const ws = await collect(collector).waitFor(/ws:\/\/127\.0\.0\.1:\d+/);
    // Slow replay so the agent is still running while we signal it.
    const agent = spawn(
      process.execPath,
      [
        BIN,
        'agent',
        '--pcap',
        DEMO,
        '--speed',
        '2',
        '--collector',
        ws,
        '--token',
        'hup-agent-token',
        '--agent-id',
        'hup1',
        '--spool',
        path.join(dir, 'spool'),
        '--rules',
        rules,
        '--site',
        path.join(FIXTURES, 'site.yaml'),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    procs.push(agent);
    const log = collect(agent);
    await log.waitFor(/transport: connected/);

    const mqtt = path.join(rules, 'mqtt.yaml');
    const good = readFileSync(mqtt, 'utf8');
    writeFileSync(mqtt, good.replace(/severity: (medium|high)/, 'severity: apocalyptic'));
    agent.kill('SIGHUP');
    const refused = await log.waitFor(
      /rules not reloaded, keeping the previous ones: [^"]*mqtt\.yaml:\d+[^"]*/,
    );
    expect(refused).toMatch(/mqtt\.yaml:\d+: rule [a-z.-]+: field severity/);
    expect(agent.exitCode).toBeNull();

    writeFileSync(mqtt, good);
    agent.kill('SIGHUP');
    await log.waitFor(/agent: rules reloaded/);
    agent.kill('SIGINT');
    const code = await new Promise<number | null>((r) => agent.on('exit', (c) => r(c)));
    expect(code).toBe(0);
  });
});
