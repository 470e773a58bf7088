// An approval reaches a live agent with several capture workers without a restart (issue 10 with --workers): the
// collector pushes the approved set on connect, the pool hands it to every worker's engine, and a connection the
// set does not know is reported as a baseline deviation. Before, the set was stored and applied only at the next start.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPcapBinding } from '../../agent/capture/live.js';
import { BIN, freePort, startCollectorProcess, tracked, waitForStderr } from '../helpers/processes.js';
import { runMllpSender, startMllpReceiver } from '../tools/mllp/mllp.js';

const isRoot = process.getuid?.() === 0;
const skipReason = !loadPcapBinding()
  ? 'native capture binding not built'
  : !isRoot
    ? 'live capture needs root (cap_net_raw)'
    : !existsSync(BIN)
      ? 'dist/ not built'
      : '';
if (skipReason) console.warn(`live baseline push test skipped: ${skipReason}`);

const procs = tracked();
afterAll(() => procs.killAll());

const READ = 'push-read-token';
const ADMIN = 'push-admin-token';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const HL7 =
  'MSH|^~\\&|MONITOR|WARD3|HIS|HOSP|20261203120000||ORU^R01|PUSH0001|P|2.6\rPID|1||SYN9^^^H||DOE^JANE\rOBX|1|NM|SPO2||97|%\r';

describe.skipIf(skipReason !== '')('approved baselines pushed to a live agent with --workers 2', () => {
  it('are applied by the capture workers without a restart and judge the next connection', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ww-push-'));
    writeFileSync(
      path.join(dir, 'tokens'),
      `agent push1 push-agent-token\nread soc ${READ}\nadmin biomed ${ADMIN}\n`,
      { mode: 0o600 },
    );
    const col = await startCollectorProcess(dir, { tracker: procs });
    const [known, unknown] = [await freePort(), await freePort()];
    const agentArgs = [
      BIN,
      'agent',
      '--interface',
      'lo',
      '--immediate',
      '--workers',
      '2',
      '--log-level',
      'info',
      '--bpf',
      `tcp port ${known} or tcp port ${unknown}`,
      '--learning-period',
      '0',
      '--collector',
      col.ws,
      '--token',
      'push-agent-token',
      '--agent-id',
      'push1',
      '--spool',
      path.join(dir, 'spool'),
    ];

    // 1. A first run makes 127.0.0.1 a device the collector knows (devices are uploaded when the agent stops).
    const first = procs.spawn(process.execPath, agentArgs);
    await waitForStderr(first, /(capture worker ready[^]*){2}/);
    const rx1 = await startMllpReceiver({ port: known });
    await runMllpSender({ port: known }, [{ mode: 'each', blocks: [HL7] }]);
    await rx1.close();
    await sleep(500);
    first.kill('SIGTERM');
    expect(await new Promise<number | null>((r) => first.on('exit', (c) => r(c)))).toBe(0);

    let known127 = false;
    for (let i = 0; i < 40 && !known127; i++) {
      const r = await fetch(`${col.url}/api/devices/127.0.0.1`, {
        headers: { authorization: `Bearer ${READ}` },
      });
      known127 = r.status === 200;
      if (!known127) await sleep(250);
    }
    expect(known127, 'the collector knows 127.0.0.1 after the first run').toBe(true);

    // 2. The biomedical engineer approves 127.0.0.1 as talking to the HL7 receiver on `known` only.
    const put = await fetch(`${col.url}/api/baselines/127.0.0.1`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        ip: '127.0.0.1',
        peers: [
          { address: '127.0.0.1', port: known, protocol: 'hl7', role: 'client' },
          { address: '127.0.0.1', port: known, protocol: 'hl7', role: 'server' },
        ],
      }),
    });
    expect(put.status, await put.clone().text()).toBe(200);

    // 3. The next run receives the set on connect and hands it to both workers, without a restart of theirs.
    const second = procs.spawn(process.execPath, agentArgs);
    await waitForStderr(
      second,
      /approved baselines applied by a capture worker[^]*approved baselines applied by a capture worker/,
    );

    // 4. A connection to a port the set does not know is a deviation; the known one is not.
    const rx2 = await startMllpReceiver({ port: unknown });
    await runMllpSender({ port: unknown }, [{ mode: 'each', blocks: [HL7] }]);
    await rx2.close();
    let rules: string[] = [];
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const res = await fetch(`${col.url}/api/findings?limit=500&class=all&agent=push1`, {
        headers: { authorization: `Bearer ${READ}` },
      });
      rules = ((await res.json()) as { findings: Array<{ rule: string }> }).findings.map((f) => f.rule);
      if (rules.some((r) => r.startsWith('baseline.'))) break;
      await sleep(500);
    }
    expect(rules.filter((r) => r.startsWith('baseline.'))).not.toEqual([]);
    second.kill('SIGTERM');
    expect(await new Promise<number | null>((r) => second.on('exit', (c) => r(c)))).toBe(0);
  }, 120_000);
});
