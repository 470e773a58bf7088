// The agent's lifecycle against a real collector process (issue 13 items 1-3): permanent refusals end it with one
// line and exit 2, a collector that never acks bounds a --pcap run (exit 3, findings kept in the spool), a signal's
// exit status says whether everything was delivered, and mutual TLS with the certificates deploy/make-certs.sh makes.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentTransport } from '../../agent/transport/client.js';
import { quietLogger } from '../collector/helpers.js';
import { FIXTURES, REPO_ROOT } from '../helpers/paths.js';
import { BIN, freePort, startCollectorProcess, stderrLog, tracked } from '../helpers/processes.js';

const CAPTURES = [
  path.join(FIXTURES, 'hl7/hl7-pcd-back-to-back-2575.pcap'),
  path.join(FIXTURES, 'dicom/find.pcap'),
];
const SITE = path.join(FIXTURES, 'site.yaml');
const TOKEN = 'agent-token-123';

const children = tracked();
afterEach(() => children.killAll());

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ww-life-'));
  writeFileSync(path.join(dir, 'tokens'), `agent ward3 ${TOKEN}\nread soc read-token-123\n`, { mode: 0o600 });
  return dir;
}

interface Exit {
  code: number;
  stderr: string;
  /** The stderr lines that are not structured (JSON) logs: what the user is told. */
  said: string[];
}

function exited(proc: ChildProcess): Promise<Exit> {
  const log = stderrLog(proc);
  return new Promise((resolve) =>
    proc.on('exit', (code) => {
      const stderr = log.text();
      const said = stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'));
      resolve({ code: code ?? -1, stderr, said });
    }),
  );
}

function spawnAgent(ws: string, dir: string, extra: string[] = [], level = 'warn'): ChildProcess {
  return children.spawn(process.execPath, [
    BIN,
    'agent',
    '--collector',
    ws,
    '--spool',
    path.join(dir, 'spool'),
    '--site',
    SITE,
    '--log-level',
    level,
    ...extra,
  ]);
}

const pcapArgs = (id = 'ward3', token = TOKEN): string[] => [
  '--pcap',
  ...CAPTURES,
  '--agent-id',
  id,
  '--token',
  token,
];

describe.skipIf(!existsSync(BIN) || !CAPTURES.every((c) => existsSync(c)))('agent lifecycle', () => {
  it('a wrong token: one line naming the cause, exit 2 (no retries)', async () => {
    const dir = tempDir();
    const { ws } = await startCollectorProcess(dir, { tracker: children });
    const r = await exited(spawnAgent(ws, dir, pcapArgs('ward3', 'not-the-token-1')));
    expect(r.code, r.stderr).toBe(2);
    expect(r.said).toEqual([
      'wardwatch: the collector refused the agent: bad token for agent ward3 (not in the tokens file)',
    ]);
  });

  it('a read token used by an agent: refused for its role', async () => {
    const dir = tempDir();
    const { ws } = await startCollectorProcess(dir, { tracker: children });
    const r = await exited(spawnAgent(ws, dir, pcapArgs('ward3', 'read-token-123')));
    expect(r.code, r.stderr).toBe(2);
    expect(r.said).toEqual([
      'wardwatch: the collector refused the agent: the token of agent ward3 has role read, not agent',
    ]);
  });

  it('collector down with --pcap: waits --ack-timeout, exit 3 naming the findings left in the spool', async () => {
    const dir = tempDir();
    const port = await freePort();
    const r = await exited(spawnAgent(`ws://127.0.0.1:${port}`, dir, [...pcapArgs(), '--ack-timeout', '2']));
    expect(r.code, r.stderr).toBe(3);
    expect(r.said).toHaveLength(1);
    expect(r.said[0]).toMatch(
      /^wardwatch: the collector did not acknowledge (\d+) findings within 2s \(--ack-timeout\); they stay in the spool .*spool and are sent at the next start$/,
    );
    // The transient failure was logged with its reason, not only a close code.
    expect(r.stderr).toMatch(/"reason":"[^"]*ECONNREFUSED[^"]*".*cannot reach the collector, retrying/);
    // The next start delivers them.
    const { url, ws } = await startCollectorProcess(dir, { tracker: children });
    const again = await exited(spawnAgent(ws, dir, pcapArgs()));
    expect(again.code, again.stderr).toBe(0);
    const n = Number(/acknowledge (\d+) findings/.exec(r.said[0] ?? '')?.[1]);
    const res = await fetch(`${url}/api/findings?limit=1000`, {
      headers: { authorization: 'Bearer read-token-123' },
    });
    expect(((await res.json()) as { findings: unknown[] }).findings.length).toBe(n);
  });

  it('SIGINT with unacked findings: exit 3 and how many stay in the spool', async () => {
    const dir = tempDir();
    const port = await freePort();
    const proc = spawnAgent(`ws://127.0.0.1:${port}`, dir, [...pcapArgs(), '--ack-timeout', '600'], 'info');
    const done = exited(proc);
    await stderrLog(proc).waitFor(/capture done, waiting for acks/);
    proc.kill('SIGINT');
    const r = await done;
    expect(r.code, r.stderr).toBe(3);
    expect(r.said).toHaveLength(1);
    expect(r.said[0]).toMatch(
      /^wardwatch: stopped with \d+ findings not acknowledged by the collector; they stay in the spool .* and are sent at the next start$/,
    );
  });

  it('a second live connection with the same agent id is refused, the first one stays', async () => {
    const dir = tempDir();
    const { ws } = await startCollectorProcess(dir, { tracker: children });
    const first = await AgentTransport.open({
      url: ws,
      token: TOKEN,
      agent: 'ward3',
      version: 't',
      logger: quietLogger,
      spoolDir: mkdtempSync(path.join(tmpdir(), 'ww-life-spool-')),
    });
    try {
      await new Promise<void>((resolve) => {
        const poll = (): void => {
          if (first.stats().connected) resolve();
          else setTimeout(poll, 20);
        };
        poll();
      });
      const r = await exited(spawnAgent(ws, dir, pcapArgs()));
      expect(r.code, r.stderr).toBe(2);
      expect(r.said).toEqual(['wardwatch: agent id ward3 is already connected from 127.0.0.1']);
      expect(first.stats().connected).toBe(true);
      expect(first.stats().connects).toBe(1);
    } finally {
      await first.close();
    }
  });
});

/** A TLS collector process; resolves its port from the startup line, and its stderr so far. */
async function startTlsCollector(
  dir: string,
  certs: string,
  extra: string[] = [],
): Promise<{ port: number; log: () => string }> {
  const proc = children.spawn(process.execPath, [
    BIN,
    'collector',
    '--listen',
    '127.0.0.1:0',
    '--db',
    path.join(dir, 'db.sqlite'),
    '--tokens',
    path.join(dir, 'tokens'),
    '--tls-cert',
    path.join(certs, 'collector.crt'),
    '--tls-key',
    path.join(certs, 'collector.key'),
    ...extra,
  ]);
  const log = stderrLog(proc);
  const [, port] = await log.waitFor(/"url":"https:\/\/127\.0\.0\.1:(\d+)"/);
  return { port: Number(port), log: () => log.text() };
}

function countFindings(port: number, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    https
      .get(
        `https://127.0.0.1:${port}/api/findings?limit=1000`,
        { ca, headers: { authorization: 'Bearer read-token-123' } },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve((JSON.parse(body) as { findings: unknown[] }).findings.length));
        },
      )
      .on('error', reject);
  });
}

describe.skipIf(!existsSync(BIN) || !existsSync('/usr/bin/openssl'))(
  'mutual TLS with deploy/make-certs.sh',
  () => {
    const MAKE_CERTS = path.join(REPO_ROOT, 'deploy/make-certs.sh');
    const makeCerts = (dir: string, ...agents: string[]): void => {
      execFileSync('sh', [MAKE_CERTS, dir, 'localhost,127.0.0.1', ...agents], { stdio: 'ignore' });
    };

    it('delivers findings over wss:// with client certificates; refuses a wrong CA, no certificate, another CN', async () => {
      const dir = tempDir();
      const certs = path.join(dir, 'certs');
      makeCerts(certs, 'ward3', 'ward9');
      const { port, log } = await startTlsCollector(dir, certs, [
        '--tls-ca',
        path.join(certs, 'ca.crt'),
        '--tls-client-cert',
      ]);
      const wss = `wss://127.0.0.1:${port}`;
      const tlsArgs = (id: string): string[] => [
        '--tls-ca',
        path.join(certs, 'ca.crt'),
        '--tls-cert',
        path.join(certs, `agent-${id}.crt`),
        '--tls-key',
        path.join(certs, `agent-${id}.key`),
      ];

      const ok = await exited(spawnAgent(wss, dir, [...pcapArgs(), ...tlsArgs('ward3')]));
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.said).toEqual([]);
      expect(await countFindings(port, readFileSync(path.join(certs, 'ca.crt')))).toBeGreaterThan(0);

      // Another CA: the collector's certificate does not verify.
      const other = path.join(dir, 'other');
      makeCerts(other, 'ward3');
      const wrongCa = await exited(
        spawnAgent(wss, path.join(dir, 'x'), [
          ...pcapArgs(),
          '--tls-ca',
          path.join(other, 'ca.crt'),
          '--tls-cert',
          path.join(certs, 'agent-ward3.crt'),
          '--tls-key',
          path.join(certs, 'agent-ward3.key'),
        ]),
      );
      expect(wrongCa.code, wrongCa.stderr).toBe(2);
      expect(wrongCa.said).toHaveLength(1);
      expect(wrongCa.said[0]).toMatch(
        new RegExp(
          `^wardwatch: --collector ${wss}: TLS: .*\\((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\\)$`,
        ),
      );

      // No client certificate: the collector says why (403), the agent exits 2 with it.
      const noCert = await exited(
        spawnAgent(wss, path.join(dir, 'y'), [...pcapArgs(), '--tls-ca', path.join(certs, 'ca.crt')]),
      );
      expect(noCert.code, noCert.stderr).toBe(2);
      expect(noCert.said).toEqual([
        `wardwatch: --collector ${wss}: HTTP 403: no client certificate (the agent needs --tls-cert and --tls-key)`,
      ]);

      // A certificate from another CA: the collector logs the TLS reason in one line, the agent prints it.
      const foreign = await exited(
        spawnAgent(wss, path.join(dir, 'w'), [
          ...pcapArgs(),
          '--tls-ca',
          path.join(certs, 'ca.crt'),
          '--tls-cert',
          path.join(other, 'agent-ward3.crt'),
          '--tls-key',
          path.join(other, 'agent-ward3.key'),
        ]),
      );
      expect(foreign.code, foreign.stderr).toBe(2);
      const refusedLine = /"msg":"ingest: client certificate refused: ([A-Z_]+)"/.exec(log());
      expect(refusedLine, log()).not.toBeNull();
      expect(foreign.said).toEqual([
        `wardwatch: --collector ${wss}: HTTP 403: client certificate refused: ${refusedLine?.[1]}`,
      ]);
      expect(log()).toContain(
        '"msg":"ingest: no client certificate (the agent needs --tls-cert and --tls-key)"',
      );

      // A certificate of another agent: its CN is not the agent id of the hello.
      const otherCn = await exited(
        spawnAgent(wss, path.join(dir, 'z'), [...pcapArgs(), ...tlsArgs('ward9')]),
      );
      expect(otherCn.code, otherCn.stderr).toBe(2);
      expect(otherCn.said).toEqual([
        'wardwatch: the collector refused the agent: client certificate CN ward9 is not agent id ward3',
      ]);
    });
  },
);
