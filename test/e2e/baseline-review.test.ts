// Baseline review end to end (issue 10 item 3) with real processes on loopback: an agent replays a normal day and
// uploads what it learned; the devices are approved (CLI and API); the next agent receives the approved set from the
// collector and reports a SOP class outside it; that deviation approved in one call, the next replay no longer reports
// it; the approved set exported by the CLI is a --baseline file replay agrees with; with the collector down an agent
// enforces the copy it stored beside its spool.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBaselineYaml } from '../../agent/engine/baselines/baseline-yaml.js';
import { waitFor } from '../collector/helpers.js';
import { FIXTURES } from '../helpers/paths.js';
import {
  BIN,
  startCollectorProcess,
  stderrLog,
  tracked,
  type CollectorProcess,
} from '../helpers/processes.js';

const NORMAL = path.join(FIXTURES, 'scenarios/normal.pcap');
const NEW_SOP = path.join(FIXTURES, 'scenarios/dicom-new-sop-class.pcap');
const SITE = path.join(FIXTURES, 'site.yaml');
const ADMIN = 'admin-token-123';
const READ = 'read-token-123';
const AGENTS = ['ward1', 'ward2', 'ward3'];

const children = tracked();
afterAll(() => children.killAll());

interface Found {
  id: string;
  rule: string;
  device: { ip: string };
  evidence: Record<string, unknown>;
}

async function api<T>(col: CollectorProcess, method: string, p: string, body?: unknown): Promise<T> {
  const r = await fetch(`${col.url}${p}`, {
    method,
    headers: {
      authorization: `Bearer ${method === 'GET' ? READ : ADMIN}`,
      'content-type': 'application/json',
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  expect(r.status, `${method} ${p}`).toBe(200);
  return (await r.json()) as T;
}

/** `wardwatch agent --pcap FILE` as agent `id`; resolves with its exit code and stderr (info logs). */
async function runAgent(
  ws: string,
  dir: string,
  id: string,
  file: string,
  extra: string[] = [],
): Promise<{ code: number; log: string }> {
  const proc = children.spawn(process.execPath, [
    BIN,
    'agent',
    '--pcap',
    file,
    '--collector',
    ws,
    '--token',
    `${id}-token-123`,
    '--agent-id',
    id,
    '--spool',
    path.join(dir, `spool-${id}`),
    '--site',
    SITE,
    '--log-level',
    'info',
    ...extra,
  ]);
  const log = stderrLog(proc);
  const code = await new Promise<number>((resolve) => proc.on('exit', (c) => resolve(c ?? -1)));
  return { code, log: log.text() };
}

const findingsOf = async (col: CollectorProcess, agent: string): Promise<Found[]> =>
  (await api<{ findings: Found[] }>(col, 'GET', `/api/findings?agent=${agent}&limit=1000`)).findings;

const CAN_RUN = existsSync(BIN) && existsSync(NORMAL) && existsSync(NEW_SOP);
if (!CAN_RUN) console.warn('baseline review e2e skipped: needs npm run build and fixtures/scenarios');

describe.skipIf(!CAN_RUN)('baseline review end to end', () => {
  it('learns, approves, pushes, stops reporting what was approved, and survives the collector being away', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ww-e2e-baseline-'));
    writeFileSync(
      path.join(dir, 'tokens'),
      [
        ...AGENTS.map((a) => `agent ${a} ${a}-token-123`),
        `admin biomed ${ADMIN}`,
        `read soc ${READ}`,
        '',
      ].join('\n'),
    );
    const col = await startCollectorProcess(dir, { tracker: children });

    // 1. A normal day, learned and uploaded at the agent's end; its devices reach the inventory.
    expect((await runAgent(col.ws, dir, 'ward1', NORMAL)).code).toBe(0);
    let learned: Array<{ device: string; learned_version: number | null }> = [];
    await waitFor(async () => {
      learned = (await api<{ baselines: typeof learned }>(col, 'GET', '/api/baselines')).baselines;
      return learned.length > 0;
    }, 'the learned upload');
    expect(learned.every((b) => b.learned_version === 1)).toBe(true);
    await waitFor(async () => {
      const devices = (await api<{ devices: Array<{ ip?: string }> }>(col, 'GET', '/api/devices')).devices;
      return learned.every((b) => devices.some((d) => d.ip === b.device));
    }, 'the inventory');

    // 2. Every device approved whole: the first with the CLI, the rest through the API.
    const [first, ...rest] = learned.map((b) => b.device);
    const cli = spawnSync(
      process.execPath,
      [
        BIN,
        'baseline',
        'approve',
        '--collector',
        col.url,
        '--token',
        ADMIN,
        '--device',
        first ?? '',
        '--all',
      ],
      { encoding: 'utf8' },
    );
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stderr).toMatch(/approved version 1, 0 item\(s\) to review/);
    for (const d of rest) await api(col, 'POST', `/api/baselines/${d}/approve`, { all: true });

    // 3. The next agent gets the approved set on connect, before its first packet, and reports the new SOP class.
    const run2 = await runAgent(col.ws, dir, 'ward2', NEW_SOP);
    expect(run2.code).toBe(0);
    expect(run2.log).toMatch(/approved baselines applied/);
    const sop = (await findingsOf(col, 'ward2')).filter((f) => f.rule === 'baseline.new-sop-class');
    expect(sop.length).toBeGreaterThan(0);

    // 4. "Approve into baseline" on that finding; the next replay no longer reports it.
    const deviation = sop[0] as Found;
    const approved = await api<{ device: string; applied: string[] }>(
      col,
      'POST',
      `/api/findings/${deviation.id}/approve-baseline`,
      { agent: 'ward2', comment: 'new modality option, change 881' },
    );
    expect(approved.device).toBe(deviation.device.ip);
    expect(approved.applied).toEqual([`dicom.sop_classes|${String(deviation.evidence.sop_class)}`]);
    const run3 = await runAgent(col.ws, dir, 'ward3', NEW_SOP);
    expect(run3.code).toBe(0);
    const after = await findingsOf(col, 'ward3');
    expect(
      after.filter(
        (f) =>
          f.rule === 'baseline.new-sop-class' &&
          f.device.ip === deviation.device.ip &&
          f.evidence.sop_class === deviation.evidence.sop_class,
      ),
    ).toEqual([]);
    // Uploads of an unchanged device make no new learned version; the approvals made one each.
    const versions = await api<{ versions: Array<{ kind: string }> }>(
      col,
      'GET',
      `/api/baselines/${deviation.device.ip}`,
    );
    expect(versions.versions.filter((v) => v.kind === 'approved').length).toBe(2);

    // 5. The approved set exported by the CLI is a --baseline file that offline replay agrees with.
    const exported = path.join(dir, 'approved.yaml');
    const exp = spawnSync(
      process.execPath,
      [BIN, 'baseline', 'export', '--collector', col.url, '--token', READ, '--out', exported],
      { encoding: 'utf8' },
    );
    expect(exp.status, exp.stderr).toBe(0);
    const file = parseBaselineYaml(readFileSync(exported, 'utf8'), exported);
    expect(file.devices.length).toBe(learned.length);
    const replay = spawnSync(
      process.execPath,
      [BIN, 'replay', NEW_SOP, '--site', SITE, '--baseline', exported],
      {
        encoding: 'utf8',
      },
    );
    expect(replay.status).toBe(0);
    expect(replay.stdout).not.toContain(`"sop_class":"${String(deviation.evidence.sop_class)}"`);

    // 6. The collector goes away: an agent enforces the approved copy stored beside its spool. ward2 stored the set
    // before the deviation was approved, ward3 after: started offline from copies of each, the first reports the SOP
    // class and the second does not.
    const stored = (id: string): string => path.join(dir, `spool-${id}.approved-baseline.json`);
    expect(parseBaselineYaml(readFileSync(stored('ward3'), 'utf8'), stored('ward3')).devices.length).toBe(
      learned.length,
    );
    copyFileSync(stored('ward2'), stored('ward8'));
    copyFileSync(stored('ward3'), stored('ward9'));
    col.proc.kill('SIGTERM');
    await new Promise((resolve) => col.proc.on('exit', resolve));
    const spooled = (id: string): string =>
      readdirSync(path.join(dir, `spool-${id}`), { recursive: true })
        .map((f) => path.join(dir, `spool-${id}`, String(f)))
        .filter((f) => statSync(f).isFile())
        .map((f) => readFileSync(f, 'utf8'))
        .join('\n');
    for (const [id, reports] of [
      ['ward8', true],
      ['ward9', false],
    ] as const) {
      const offline = await runAgent(col.ws, dir, id, NEW_SOP, ['--ack-timeout', '1']);
      expect(offline.log).toMatch(/enforcing the approved baselines stored at the last run/);
      expect(spooled(id).includes('"rule":"baseline.new-sop-class"'), id).toBe(reports);
    }
  }, 120_000);
});
