// Shared helpers for collector and transport tests: synthetic findings, tokens files, child processes, polling.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import type { Finding, Severity } from '../../agent/wire/finding.js';
import { formatTs } from '../../agent/wire/time.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const TS_REGISTER = path.join(HERE, 'ts-register.mjs');

export const quietLogger = pino({ level: process.env.WW_TEST_LOG ?? 'silent' });

const SEVS: Severity[] = ['info', 'low', 'medium', 'high', 'critical'];

export function makeFinding(i: number, agent = 'agent-a', over: Partial<Finding> = {}): Finding {
  return {
    kind: 'finding',
    id: `${agent}-f${i}`,
    ts: formatTs(Date.UTC(2026, 10, 28, 10, 0, 0) * 1000 + i * 1000),
    rule: `test.rule-${i % 3}`,
    severity: SEVS[i % SEVS.length] as Severity,
    title: `synthetic finding ${i}`,
    attack: ['T0846'],
    proto: 'mqtt',
    device: { ip: `10.20.30.${(i % 200) + 1}`, mac: '00:1a:2b:3c:4d:5e' },
    peer: { ip: '10.20.60.2', port: 1883 },
    flow: `flow-${i}`,
    evidence: { topic_filter: '#' },
    agent,
    ...over,
  };
}

export function tempDir(prefix = 'ww-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export const TOKENS = {
  agentA: 'tok-agent-a-0001',
  agentB: 'tok-agent-b-0002',
  read: 'tok-read-0003',
  admin: 'tok-admin-0004',
};

export function writeTokens(dir: string): string {
  const file = path.join(dir, 'tokens');
  writeFileSync(
    file,
    [
      '# role name token',
      `agent agent-a ${TOKENS.agentA}`,
      `agent agent-b ${TOKENS.agentB}  # second agent`,
      `read soc ${TOKENS.read}`,
      `admin biomed ${TOKENS.admin}`,
      '',
    ].join('\n'),
  );
  return file;
}

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface Child {
  proc: ChildProcess;
  /** Resolves with the first stdout line that parses as JSON. */
  first: Promise<Record<string, unknown>>;
  lines: string[];
  exited: Promise<number | null>;
}

/** Runs a TypeScript entry under node with our loader; stdout lines are collected, stderr passed through when WW_TEST_LOG is set. */
export function spawnTs(entry: string, args: string[], env: Record<string, string> = {}): Child {
  const proc = spawn(process.execPath, ['--import', TS_REGISTER, entry, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', process.env.WW_TEST_LOG ? 'inherit' : 'ignore'],
  });
  const lines: string[] = [];
  let buf = '';
  const first = new Promise<Record<string, unknown>>((resolve, reject) => {
    proc.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        try {
          resolve(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not JSON: keep collecting
        }
      }
    });
    proc.on('exit', (code) => reject(new Error(`${path.basename(entry)} exited (${code}) before reporting`)));
  });
  first.catch(() => undefined);
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, first, lines, exited };
}

export async function stopChild(c: Child | null, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!c || c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  c.proc.kill(signal);
  await c.exited;
}
