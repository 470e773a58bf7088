// Live end to end on the loopback interface: real dcmtk, mosquitto and MLLP traffic between 127.x addresses,
// a live agent, a collector; the expected findings arrive, /metrics counts messages per protocol, no drops.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPcapBinding } from '../../agent/capture/live.js';
import {
  BIN,
  freePort,
  startCollectorProcess,
  tracked,
  waitForPort,
  waitForStderr,
} from '../helpers/processes.js';
import { runMllpSender, startMllpReceiver } from '../tools/mllp/mllp.js';

const TOOLS = [
  '/usr/sbin/mosquitto',
  '/usr/bin/mosquitto_pub',
  '/usr/bin/mosquitto_sub',
  '/usr/bin/dcmqrscp',
  '/usr/bin/findscu',
  '/usr/bin/echoscu',
  '/usr/bin/dump2dcm',
  '/usr/bin/storescu',
];
const missing = TOOLS.filter((t) => !existsSync(t));
const isRoot = process.getuid?.() === 0;
const skipReason = !loadPcapBinding()
  ? 'native capture binding not built'
  : !isRoot
    ? 'live capture needs root (cap_net_raw)'
    : missing.length
      ? `missing tools: ${missing.join(', ')}`
      : !existsSync(BIN)
        ? 'dist/ not built'
        : '';
if (skipReason) console.warn(`live end-to-end test skipped: ${skipReason}`);

// Stop every process this test started, by its handle.
const procs = tracked();
afterAll(() => procs.killAll());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skipReason !== '')('live agent on lo → collector', () => {
  // Two workers both ways of sharing the traffic: the kernel's fanout hash (the default) and a BPF filter each.
  it.each([
    [1, 'hash'],
    [2, 'hash'],
    [2, 'bpf'],
  ] as const)(
    'with %i capture worker(s), --fanout %s: reports wildcard MQTT and DICOM queries, counts messages, drops nothing',
    async (workers, share) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'ww-live-'));
      writeFileSync(path.join(dir, 'tokens'), 'agent live1 live-agent-token\nread soc live-read-token\n');
      const [mqttPort, qrPort, hl7Port] = [await freePort(), await freePort(), await freePort()];

      // Collector.
      const { url, ws } = await startCollectorProcess(dir, { tracker: procs });

      // Peers: a broker, a DICOM query/retrieve SCP with one synthetic study, an MLLP receiver.
      writeFileSync(
        path.join(dir, 'mosquitto.conf'),
        `listener ${mqttPort} 127.0.0.1\nallow_anonymous true\n`,
      );
      procs.spawn('/usr/sbin/mosquitto', ['-c', path.join(dir, 'mosquitto.conf')]);
      mkdirSync(path.join(dir, 'db'));
      writeFileSync(
        path.join(dir, 'dcmqrscp.cfg'),
        `NetworkTCPPort = ${qrPort}\nMaxPDUSize = 16384\nMaxAssociations = 4\n` +
          `HostTable BEGIN\nHostTable END\nVendorTable BEGIN\nVendorTable END\n` +
          `AETable BEGIN\nQRSCP ${path.join(dir, 'db')} RW (10, 16mb) ANY\nAETable END\n`,
      );
      writeFileSync(
        path.join(dir, 'image.dump'),
        '(0008,0016) UI =SecondaryCaptureImageStorage\n' +
          '(0008,0018) UI [1.2.826.0.1.3680043.10.1397.9.3]\n(0008,0060) CS [OT]\n(0010,0010) PN [SYNTHETIC^LIVE]\n' +
          '(0010,0020) LO [SYN0009]\n(0020,000d) UI [1.2.826.0.1.3680043.10.1397.9.1]\n(0020,000e) UI [1.2.826.0.1.3680043.10.1397.9.2]\n',
      );
      expect(
        spawnSync('/usr/bin/dump2dcm', [path.join(dir, 'image.dump'), path.join(dir, 'image.dcm')]).status,
      ).toBe(0);
      procs.spawn('/usr/bin/dcmqrscp', ['-c', path.join(dir, 'dcmqrscp.cfg')], { cwd: dir });
      const hl7 = await startMllpReceiver({ port: hl7Port });
      await waitForPort(mqttPort);
      await waitForPort(qrPort);

      // The live agent, filtered to these ports.
      const agent = procs.spawn(process.execPath, [
        BIN,
        'agent',
        '--interface',
        'lo',
        '--immediate',
        '--workers',
        String(workers),
        '--fanout',
        share,
        '--log-level',
        'info',
        '--bpf',
        `tcp port ${mqttPort} or tcp port ${qrPort} or tcp port ${hl7Port}`,
        // Every host here is new to the agent: without this, learning mode (the live default) holds back the
        // medium findings this test expects. Learning itself is tested in test/engine/learning.test.ts.
        '--learning-period',
        '0',
        '--collector',
        ws,
        '--token',
        'live-agent-token',
        '--agent-id',
        'live1',
        '--spool',
        path.join(dir, 'spool'),
      ]);
      await waitForStderr(
        agent,
        workers > 1 ? new RegExp(`(capture worker ready[^]*){${workers}}`) : /agent: capturing/,
      );

      // Traffic.
      const sub = procs.spawn(
        '/usr/bin/mosquitto_sub',
        [
          '-h',
          '127.0.0.1',
          '-p',
          String(mqttPort),
          '-t',
          '#',
          '-C',
          '1',
          '-W',
          '10',
          '-i',
          'nurse-station-7',
        ],
        { stdio: 'ignore' },
      );
      await sleep(500);
      expect(
        spawnSync('/usr/bin/mosquitto_pub', [
          '-h',
          '127.0.0.1',
          '-p',
          String(mqttPort),
          '-t',
          'ward/3/bed/12/spo2',
          '-m',
          '97',
          '-i',
          'monitor-12',
        ]).status,
      ).toBe(0);
      await new Promise((r) => sub.on('exit', r));
      expect(
        spawnSync('/usr/bin/storescu', [
          '-aet',
          'LOADER',
          '-aec',
          'QRSCP',
          '127.0.0.1',
          String(qrPort),
          path.join(dir, 'image.dcm'),
        ]).status,
      ).toBe(0);
      expect(
        spawnSync('/usr/bin/echoscu', ['-aet', 'ECHOSCU', '-aec', 'QRSCP', '127.0.0.1', String(qrPort)])
          .status,
      ).toBe(0);
      expect(
        spawnSync('/usr/bin/findscu', [
          '-aet',
          'FINDSCU',
          '-aec',
          'QRSCP',
          '-P',
          '-k',
          'QueryRetrieveLevel=PATIENT',
          '-k',
          'PatientName=*',
          '-k',
          'PatientID',
          '127.0.0.1',
          String(qrPort),
        ]).status,
      ).toBe(0);
      await runMllpSender({ port: hl7Port }, [
        {
          mode: 'each',
          blocks: [
            'MSH|^~\\&|MONITOR|WARD3|HIS|HOSP|20261129120000||ORU^R01|LIVE0001|P|2.6\rPID|1||SYN9^^^H||DOE^JANE\rOBX|1|NM|SPO2||97|%\r',
          ],
        },
      ]);
      await hl7.close();

      // Findings arrive at the collector within seconds.
      const want = ['mqtt.wildcard-subscribe', 'dicom.cfind-wildcard'];
      let rules: string[] = [];
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const res = await fetch(`${url}/api/findings?limit=500`, {
          headers: { authorization: 'Bearer live-read-token' },
        });
        rules = ((await res.json()) as { findings: Array<{ rule: string }> }).findings.map((f) => f.rule);
        if (want.every((w) => rules.includes(w))) break;
        await sleep(500);
      }
      expect(rules).toEqual(expect.arrayContaining(want));

      // Stop the agent cleanly: its last heartbeat carries the final counters.
      agent.kill('SIGTERM');
      const code = await new Promise<number | null>((r) => agent.on('exit', (c) => r(c)));
      expect(code).toBe(0);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      const value = (re: RegExp): number => Number(re.exec(metrics)?.[1] ?? 'NaN');
      expect(
        value(/wardwatch_protocol_messages_total\{agent="live1",protocol="mqtt",type="subscribe"\} (\d+)/),
      ).toBeGreaterThanOrEqual(1);
      expect(
        value(
          /wardwatch_protocol_messages_total\{agent="live1",protocol="dicom",type="associate_rq"\} (\d+)/,
        ),
      ).toBeGreaterThanOrEqual(3);
      expect(
        value(/wardwatch_protocol_messages_total\{agent="live1",protocol="hl7",type="message"\} (\d+)/),
      ).toBeGreaterThanOrEqual(2);
      for (const where of ['kernel', 'interface', 'queue']) {
        const drops = new RegExp(`wardwatch_drops_total\\{agent="live1",where="${where}"\\} (\\d+)`).exec(
          metrics,
        );
        expect(Number(drops?.[1] ?? 0), `drops ${where}`).toBe(0);
      }
    },
    120_000,
  );
});
