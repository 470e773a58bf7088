// SIGHUP reloads the rules of a running agent; a broken rules file keeps the old rules and says why.
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURES, REPO_ROOT } from '../helpers/paths.js';
import { BIN, startCollectorProcess, stderrLog, tracked } from '../helpers/processes.js';

const DEMO = path.join(FIXTURES, 'demo/demo.pcap');
const procs = tracked();
afterEach(() => procs.killAll());

describe.skipIf(!existsSync(BIN) || !existsSync(DEMO))('agent SIGHUP', () => {
  it('keeps the old rules on a broken file, then takes the fixed ones', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ww-hup-'));
    const rules = path.join(dir, 'rules');
    cpSync(path.join(REPO_ROOT, 'rules'), rules, { recursive: true });
    writeFileSync(path.join(dir, 'tokens'), 'agent hup1 hup-agent-token\n');
    const { ws } = await startCollectorProcess(dir, { tracker: procs, db: 'db' });
    // Slow replay so the agent is still running while we signal it.
    const agent = procs.spawn(process.execPath, [
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
    ]);
    const log = stderrLog(agent);
    await log.waitFor(/transport: connected/);

    const mqtt = path.join(rules, 'mqtt.yaml');
    const good = readFileSync(mqtt, 'utf8');
    writeFileSync(mqtt, good.replace(/severity: (medium|high)/, 'severity: apocalyptic'));
    agent.kill('SIGHUP');
    const [refused] = await log.waitFor(
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
