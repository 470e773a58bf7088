// End to end on loopback: `wardwatch collector` and `wardwatch agent --pcap` as real processes; the collector stores exactly what `replay` prints.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { parseBaselineYaml } from '../../agent/engine/baselines/baseline-yaml.js';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURES } from '../helpers/paths.js';
import { BIN, startCollectorProcess, tracked } from '../helpers/processes.js';

const CAPTURES = [
  path.join(FIXTURES, 'hl7/hl7-pcd-back-to-back-2575.pcap'),
  path.join(FIXTURES, 'hl7/hl7-coalesced-and-split-2575.pcap'),
  path.join(FIXTURES, 'dicom/find.pcap'),
];
const SITE = path.join(FIXTURES, 'site.yaml');

const children = tracked();
afterEach(() => children.killAll());

function runAgent(ws: string, dir: string, files: string[], extra: string[] = []): Promise<number> {
  const proc = children.spawn(
    process.execPath,
    [
      BIN,
      'agent',
      '--pcap',
      ...files,
      '--collector',
      ws,
      '--token',
      'agent-token-123',
      '--agent-id',
      'ward3',
      '--spool',
      path.join(dir, 'spool'),
      '--site',
      SITE,
      '--log-level',
      'warn',
      ...extra,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return new Promise((resolve) => proc.on('exit', (code) => resolve(code ?? -1)));
}

describe.skipIf(!existsSync(BIN) || !CAPTURES.every((c) => existsSync(c)))('agent → collector', () => {
  it('stores every finding replay prints, once, with the agent id', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ww-e2e-'));
    writeFileSync(path.join(dir, 'tokens'), 'agent ward3 agent-token-123\nread soc read-token-123\n');
    const replay = spawnSync(
      process.execPath,
      [BIN, 'replay', ...CAPTURES, '--site', SITE, '--agent-id', 'ward3'],
      { encoding: 'utf8' },
    );
    expect(replay.status).toBe(0);
    const expected = replay.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { id: string; rule: string; agent: string } & Record<string, unknown>);
    expect(expected.length).toBeGreaterThan(0);

    const { url, ws } = await startCollectorProcess(dir, { tracker: children });
    expect(await runAgent(ws, dir, CAPTURES)).toBe(0);
    // A second run of the same agent resends nothing new: findings are stored exactly once by id.
    expect(await runAgent(ws, dir, CAPTURES)).toBe(0);

    const res = await fetch(`${url}/api/findings?limit=1000`, {
      headers: { authorization: 'Bearer read-token-123' },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      findings: Array<{ id: string; rule: string; agent: string } & Record<string, unknown>>;
    };
    // Same agent id, so the same ids: the stored findings are exactly the printed ones.
    const canon = (f: Record<string, unknown>) => JSON.stringify(sortKeys(f));
    expect(body.findings.map(canon).sort()).toEqual(expected.map(canon).sort());
    expect(new Set(body.findings.map((f) => f.id)).size).toBe(body.findings.length);
    expect(body.findings.every((f) => f.agent === 'ward3')).toBe(true);

    const unauth = await fetch(`${url}/api/findings`);
    expect(unauth.status).toBe(401);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(
      /wardwatch_protocol_messages_total\{agent="ward3",protocol="hl7",type="message"\} \d+/,
    );
    expect(metrics).toMatch(/wardwatch_packets_total\{agent="ward3"\} \d+/);
  });

  it('writes what it learned as a baseline for review (--learned-baseline), every device marked learning', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ww-e2e-'));
    writeFileSync(path.join(dir, 'tokens'), 'agent ward3 agent-token-123\n');
    const { ws } = await startCollectorProcess(dir, { tracker: children });
    const out = path.join(dir, 'learned.yaml');
    expect(await runAgent(ws, dir, CAPTURES, ['--learned-baseline', out])).toBe(0);
    const learned = parseBaselineYaml(readFileSync(out, 'utf8'), out);
    expect(learned.devices.length).toBeGreaterThan(0);
    expect(learned.devices.every((d) => d.state === 'learning' && typeof d.since === 'string')).toBe(true);
    // The agent learned the same as `baseline learn` on the same captures.
    const learn = spawnSync(
      process.execPath,
      [BIN, 'baseline', 'learn', ...CAPTURES, '--site', SITE, '--out', path.join(dir, 'cli.yaml')],
      { encoding: 'utf8' },
    );
    expect(learn.status).toBe(0);
    const cli = parseBaselineYaml(readFileSync(path.join(dir, 'cli.yaml'), 'utf8'), 'cli.yaml');
    expect(learned.devices.map((d) => d.ip)).toEqual(cli.devices.map((d) => d.ip));
  });
});

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, x]) => [k, sortKeys(x)]),
    );
  }
  return v;
}
