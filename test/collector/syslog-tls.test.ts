// Syslog over TLS (RFC 5425, octet counting) received by a real rsyslog (Debian's rsyslog + rsyslog-gnutls) on
// 127.0.0.1, with a CA and a server certificate this test makes with openssl. In CI (WARDWATCH_CI) a missing
// rsyslog, gnutls driver or openssl fails instead of skipping.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Exporter } from '../../collector/export.js';
import { formatCef } from '../../collector/export-cef.js';
import { toEcs } from '../../collector/export-schemas.js';
import { CollectorMetrics } from '../../collector/metrics.js';
import { makeFinding, tempDir, waitFor } from './helpers.js';

const CI = process.env.WARDWATCH_CI !== undefined;
const RSYSLOGD = ['/usr/sbin/rsyslogd', '/sbin/rsyslogd'].find((p) => existsSync(p));
const OPENSSL = ['/usr/bin/openssl', '/bin/openssl'].find((p) => existsSync(p));
/** rsyslog-gnutls installs the gtls network stream driver beside rsyslog's other modules. */
function gtlsDriver(): boolean {
  const roots = ['/usr/lib/rsyslog', ...safeList('/usr/lib').map((d) => `/usr/lib/${d}/rsyslog`)];
  return roots.some((r) => existsSync(path.join(r, 'lmnsd_gtls.so')));
}
function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
const HAVE = RSYSLOGD !== undefined && OPENSSL !== undefined && gtlsDriver();

function openssl(dir: string, ...args: string[]): void {
  execFileSync(OPENSSL ?? 'openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** A CA, a server certificate for 127.0.0.1 signed by it, and an unrelated CA. */
function makeCertificates(dir: string): void {
  const req = ['req', '-newkey', 'rsa:2048', '-nodes', '-days', '2'];
  openssl(dir, ...req, '-x509', '-subj', '/CN=wardwatch test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
  openssl(dir, ...req, '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr');
  writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'ext.cnf',
  );
  openssl(dir, ...req, '-x509', '-subj', '/CN=another CA', '-keyout', 'other.key', '-out', 'other.pem');
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect({ host: '127.0.0.1', port }, () => {
      c.destroy();
      resolve(true);
    });
    c.on('error', () => resolve(false));
  });
}

interface Received {
  version: string;
  app: string;
  msgid: string;
  sd: string;
  msg: string;
}

describe('syslog over TLS to rsyslog (RFC 5425)', () => {
  it.runIf(CI)('rsyslog, its gnutls driver and openssl are installed (CI)', () => {
    expect({ rsyslogd: RSYSLOGD, openssl: OPENSSL, gtls: gtlsDriver() }).toEqual({
      rsyslogd: expect.any(String) as unknown,
      openssl: expect.any(String) as unknown,
      gtls: true,
    });
  });

  const dir = HAVE ? tempDir('ww-syslog-tls-') : '';
  const out = path.join(dir, 'received.log');
  let port = 0;
  let rsyslog: ChildProcess | null = null;
  const metrics = new CollectorMetrics(() => 0);

  beforeAll(async () => {
    if (!HAVE) return;
    makeCertificates(dir);
    port = await freePort();
    // Fields rsyslog parsed out of each RFC 5424 message, one line each.
    writeFileSync(
      path.join(dir, 'rsyslog.conf'),
      `global(workDirectory="${dir}"
  defaultNetstreamDriver="gtls"
  defaultNetstreamDriverCAFile="${dir}/ca.pem"
  defaultNetstreamDriverCertFile="${dir}/server.pem"
  defaultNetstreamDriverKeyFile="${dir}/server.key"
  maxMessageSize="64k")
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imtcp" port="${port}" address="127.0.0.1")
template(name="fields" type="string" string="%protocol-version%|%app-name%|%msgid%|%structured-data%|%msg%\\n")
action(type="omfile" file="${out}" template="fields")
`,
    );
    rsyslog = spawn(
      RSYSLOGD ?? 'rsyslogd',
      ['-n', '-f', path.join(dir, 'rsyslog.conf'), '-i', path.join(dir, 'rsyslogd.pid')],
      { stdio: 'ignore' },
    );
    await waitFor(() => accepting(port), 'rsyslog listening');
  });

  afterAll(async () => {
    const r = rsyslog;
    if (r && r.exitCode === null) {
      await new Promise<void>((resolve) => {
        r.once('exit', () => resolve());
        r.kill('SIGTERM');
      });
    }
  });

  function received(): Received[] {
    if (!existsSync(out)) return [];
    return readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const [version = '', app = '', msgid = '', ...rest] = l.split('|');
        const joined = rest.join('|');
        const end = joined.indexOf(']|');
        return { version, app, msgid, sd: joined.slice(0, end + 1), msg: joined.slice(end + 2) };
      });
  }

  it.runIf(HAVE || CI)(
    'delivers ECS JSON and CEF bodies, framed by octet count, checked against the CA',
    async () => {
      const ecs = new Exporter(
        { format: 'ecs', syslog: { host: '127.0.0.1', port, proto: 'tls', ca: path.join(dir, 'ca.pem') } },
        pino({ level: 'silent' }),
        metrics,
      );
      const sent = [
        makeFinding(1, 'ward3', { title: 'ünïcödé title, multi-byte: the frame length counts bytes' }),
        makeFinding(2, 'ward3', { community_id: '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=' }),
        makeFinding(3, 'ward3', { class: 'exposure' }),
      ];
      ecs.write(sent);
      await waitFor(() => received().length >= 3, 'three messages at rsyslog');
      await ecs.close();
      const got = received();
      expect(got.map((g) => [g.version, g.app, g.msgid])).toEqual(
        sent.map((f) => ['1', 'wardwatch', f.rule]),
      );
      for (const [i, f] of sent.entries()) {
        expect(got[i]?.sd).toContain(`id="${f.id}"`);
        expect(JSON.parse(got[i]?.msg ?? '{}')).toEqual(toEcs(f));
      }

      const cef = new Exporter(
        { syslog: { host: '127.0.0.1', port, proto: 'tls', ca: path.join(dir, 'ca.pem'), cef: true } },
        pino({ level: 'silent' }),
        metrics,
      );
      const f4 = makeFinding(4, 'ward3', { device: { ip: 'fd00::17', name: 'ct=1' } });
      cef.write([f4]);
      await waitFor(() => received().length >= 4, 'the CEF message at rsyslog');
      await cef.close();
      expect(received()[3]?.msg).toBe(formatCef(f4));
    },
  );

  it.runIf(HAVE || CI)('refuses a server whose certificate the configured CA did not sign', async () => {
    const logs: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb): void {
        logs.push(chunk.toString());
        cb();
      },
    });
    const before = received().length;
    const wrong = new Exporter(
      { syslog: { host: '127.0.0.1', port, proto: 'tls', ca: path.join(dir, 'other.pem') } },
      pino({ level: 'warn' }, sink),
      metrics,
    );
    wrong.write([makeFinding(90, 'ward3')]);
    await waitFor(() => logs.some((l) => l.includes('export: syslog TLS error')), 'a TLS error logged');
    await wrong.close();
    expect(logs.join('')).toMatch(/self[- ]signed|unable to verify|certificate/i);
    // A finding sent afterwards through the right CA arrives; the refused one never did.
    const right = new Exporter(
      { syslog: { host: '127.0.0.1', port, proto: 'tls', ca: path.join(dir, 'ca.pem') } },
      pino({ level: 'silent' }),
      metrics,
    );
    right.write([makeFinding(91, 'ward3')]);
    await waitFor(() => received().length > before, 'the next message');
    await right.close();
    const ids = received()
      .slice(before)
      .map((g) => /id="([^"]+)"/.exec(g.sd)?.[1]);
    expect(ids).toEqual(['ward3-f91']);
  });
});
