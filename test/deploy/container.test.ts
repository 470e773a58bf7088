// No container engine runs here: check the Dockerfile and compose file statically, and run what their commands run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../helpers/paths.js';
import { BIN, startCollectorProcess, stderrLog, tracked } from '../helpers/processes.js';

const DOCKERFILE = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
const DEPLOY = path.join(REPO_ROOT, 'deploy');
const children = tracked();
afterEach(() => children.killAll());

/** Dockerfile instructions with continuation lines joined. */
function instructions(): Array<{ op: string; args: string }> {
  return DOCKERFILE.replace(/\\\n/g, ' ')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'))
    .map((l) => {
      const m = /^(\w+)\s+(.*)$/.exec(l.trim());
      return { op: (m?.[1] ?? '').toUpperCase(), args: m?.[2] ?? '' };
    });
}

describe('Dockerfile', () => {
  it('is multi-stage, runs as a non-root user, has a healthcheck and the wardwatch entrypoint', () => {
    const ins = instructions();
    expect(ins.filter((i) => i.op === 'FROM')).toHaveLength(2);
    const users = ins.filter((i) => i.op === 'USER');
    expect(users.at(-1)?.args).toBe('node');
    expect(ins.some((i) => i.op === 'HEALTHCHECK')).toBe(true);
    const entry = ins.find((i) => i.op === 'ENTRYPOINT');
    expect(JSON.parse(entry?.args ?? '[]')).toEqual(['tini', '--', 'node', '/app/dist/bin/wardwatch.js']);
    // The runtime stage gets libpcap only, no compiler.
    const runtime = DOCKERFILE.slice(DOCKERFILE.lastIndexOf('FROM '));
    expect(runtime).toMatch(/libpcap0\.8/);
    expect(runtime).not.toMatch(/\bg\+\+|libpcap-dev|\bmake\b/);
  });

  it('copies only paths that exist in the repository', () => {
    for (const i of instructions().filter((x) => x.op === 'COPY' && !x.args.startsWith('--from'))) {
      const parts = i.args.split(/\s+/);
      for (const src of parts.slice(0, -1)) {
        expect(existsSync(path.join(REPO_ROOT, src)), `COPY ${src}`).toBe(true);
      }
    }
  });

  it('the healthcheck command passes against a running collector and fails without one', async () => {
    const hc = instructions().find((i) => i.op === 'HEALTHCHECK')?.args ?? '';
    const cmd = JSON.parse(hc.slice(hc.indexOf('CMD') + 3).trim()) as string[];
    expect(cmd[0]).toBe('node');
    const dir = mkdtempSync(path.join(tmpdir(), 'ww-hc-'));
    writeFileSync(path.join(dir, 'tokens'), 'agent a1 token-token-1\n');
    const { port, proc } = await startCollectorProcess(dir, { tracker: children, db: 'db' });
    const run = (p: number) =>
      spawnSync(process.execPath, cmd.slice(1), { env: { ...process.env, WARDWATCH_HEALTH_PORT: String(p) } })
        .status;
    expect(run(port)).toBe(0);
    proc.kill('SIGTERM');
    await new Promise((r) => proc.on('exit', r));
    expect(run(port)).toBe(1);
  });

  it.skipIf(!existsSync('/usr/bin/openssl'))(
    'the healthcheck command passes against a collector serving TLS with client certificates',
    async () => {
      const hc = instructions().find((i) => i.op === 'HEALTHCHECK')?.args ?? '';
      const cmd = JSON.parse(hc.slice(hc.indexOf('CMD') + 3).trim()) as string[];
      const dir = mkdtempSync(path.join(tmpdir(), 'ww-hc-tls-'));
      writeFileSync(path.join(dir, 'tokens'), 'agent a1 token-token-1\n', { mode: 0o600 });
      const certs = path.join(dir, 'tls');
      // The certificate names another host: the probe of 127.0.0.1 must not depend on it.
      execFileSync('sh', [path.join(DEPLOY, 'make-certs.sh'), certs, 'collector.example.org'], {
        stdio: 'ignore',
      });
      const proc = children.spawn(process.execPath, [
        BIN,
        'collector',
        '--listen',
        '127.0.0.1:0',
        '--db',
        path.join(dir, 'db'),
        '--tokens',
        path.join(dir, 'tokens'),
        '--tls-cert',
        path.join(certs, 'collector.crt'),
        '--tls-key',
        path.join(certs, 'collector.key'),
        '--tls-ca',
        path.join(certs, 'ca.crt'),
        '--tls-client-cert',
      ]);
      const [, port = ''] = await stderrLog(proc).waitFor(/"url":"https:\/\/127\.0\.0\.1:(\d+)"/);
      const r = spawnSync(process.execPath, cmd.slice(1), {
        env: { ...process.env, WARDWATCH_HEALTH_PORT: port },
      });
      expect(r.status).toBe(0);
    },
  );

  it('uses a maintained Node LTS image (22 or later) in both stages', () => {
    const froms = instructions().filter((i) => i.op === 'FROM');
    for (const f of froms) expect(Number(/^node:(\d+)/.exec(f.args)?.[1])).toBeGreaterThanOrEqual(22);
  });
});

describe('deploy/compose.yaml', () => {
  const compose = parse(readFileSync(path.join(DEPLOY, 'compose.yaml'), 'utf8')) as {
    services: Record<
      string,
      {
        command?: string[];
        volumes?: string[];
        network_mode?: string;
        cap_add?: string[];
        cap_drop?: string[];
      }
    >;
  };

  it('has agent, collector, prometheus, alertmanager and grafana; the agent on the host network with capture capabilities only', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'agent',
      'alertmanager',
      'collector',
      'grafana',
      'prometheus',
    ]);
    const agent = compose.services.agent;
    expect(agent?.network_mode).toBe('host');
    expect(agent?.cap_drop).toEqual(['ALL']);
    expect(agent?.cap_add?.sort()).toEqual(['NET_ADMIN', 'NET_RAW']);
  });

  it("mounts files that exist (secrets and the site file are the operator's, and the header says so)", () => {
    const header = readFileSync(path.join(DEPLOY, 'compose.yaml'), 'utf8');
    for (const svc of Object.values(compose.services)) {
      for (const v of svc.volumes ?? []) {
        const src = v.split(':')[0] ?? '';
        if (!src.startsWith('./')) continue;
        if (src.includes('site.yaml')) {
          expect(header).toContain('deploy/site.yaml');
          continue;
        }
        expect(existsSync(path.join(DEPLOY, src)), v).toBe(true);
      }
    }
    expect(header).toContain('deploy/secrets/tokens');
    expect(header).toContain('deploy/make-certs.sh');
  });

  it('agent and collector speak mutual TLS; Grafana takes its admin password from a secret', () => {
    const text = readFileSync(path.join(DEPLOY, 'compose.yaml'), 'utf8');
    const doc = parse(text) as {
      services: Record<string, { command?: string[]; environment?: Record<string, string> }>;
    };
    const collector = doc.services.collector?.command ?? [];
    expect(collector).toEqual(
      expect.arrayContaining(['--tls-cert', '--tls-key', '--tls-ca', '--tls-client-cert']),
    );
    const agent = doc.services.agent?.command ?? [];
    expect(agent[agent.indexOf('--collector') + 1]).toMatch(/^wss:\/\//);
    expect(agent).toEqual(expect.arrayContaining(['--tls-ca', '--tls-cert', '--tls-key']));
    const grafana = doc.services.grafana?.environment ?? {};
    expect(grafana.GF_SECURITY_ADMIN_PASSWORD__FILE).toBe('/run/secrets/grafana_admin_password');
    expect(grafana.GF_SECURITY_ADMIN_PASSWORD).toBeUndefined();
  });

  it("the services' wardwatch commands are valid command lines", () => {
    for (const name of ['collector', 'agent']) {
      const cmd = (compose.services[name]?.command ?? []).map((a) =>
        a.replace(/\$\{MIRROR_IF:-(\w+)\}/, '$1'),
      );
      // --print-config validates the command line (unknown or missing options fail), then prints it.
      const r = spawnSync(process.execPath, [BIN, ...cmd, '--print-config'], {
        encoding: 'utf8',
        env: { ...process.env, WARDWATCH_TOKEN: 'from-env-file' },
      });
      expect(r.status, `${name}: ${r.stderr}`).toBe(0);
      expect(JSON.parse(r.stdout).command).toEqual([name]);
    }
  });

  it.skipIf(!existsSync('/usr/bin/promtool'))('the compose Prometheus config passes promtool', () => {
    const r = spawnSync(
      '/usr/bin/promtool',
      ['check', 'config', path.join(DEPLOY, 'prometheus/compose-prometheus.yml')],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});

describe('deploy/wardwatch.example.yaml', () => {
  it('is a valid --config file for the agent command', () => {
    const r = spawnSync(
      process.execPath,
      [BIN, 'agent', '--config', path.join(DEPLOY, 'wardwatch.example.yaml'), '--print-config'],
      { encoding: 'utf8', env: { ...process.env, WARDWATCH_TOKEN: 'secret-value' } },
    );
    expect(r.status, r.stderr).toBe(0);
    const shown = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(shown.interface).toBe('eth1');
    expect(shown['buffer-size']).toBe(64);
    // The token came from the environment and is never printed.
    expect(shown.token).toBe('(set)');
    expect(r.stdout).not.toContain('secret-value');
  });

  it('the environment overrides the file, the command line overrides both', () => {
    const file = path.join(DEPLOY, 'wardwatch.example.yaml');
    const env = { ...process.env, WARDWATCH_TOKEN: 't', WARDWATCH_AGENT_ID: 'from-env' };
    const a = spawnSync(process.execPath, [BIN, 'agent', '--config', file, '--print-config'], {
      encoding: 'utf8',
      env,
    });
    expect(JSON.parse(a.stdout)['agent-id']).toBe('from-env');
    const b = spawnSync(
      process.execPath,
      [BIN, 'agent', '--config', file, '--agent-id', 'cli', '--print-config'],
      {
        encoding: 'utf8',
        env,
      },
    );
    expect(JSON.parse(b.stdout)['agent-id']).toBe('cli');
    const bad = path.join(mkdtempSync(path.join(tmpdir(), 'ww-cfg-')), 'bad.yaml');
    writeFileSync(bad, 'interface: eth1\ncollector: ws://127.0.0.1:9\nbogus: 1\n');
    const c = spawnSync(process.execPath, [BIN, 'agent', '--config', bad, '--print-config'], {
      encoding: 'utf8',
      env,
    });
    expect(c.status).toBe(2);
    expect(c.stderr).toMatch(/bad\.yaml:3: bogus: not an option of agent/);
  });
});

describe.skipIf(!existsSync('/usr/bin/systemd-analyze'))('deploy/systemd', () => {
  it('units pass systemd-analyze verify and keep the agent unprivileged', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ww-sd-'));
    const agent = readFileSync(path.join(DEPLOY, 'systemd/wardwatch-agent@.service'), 'utf8');
    writeFileSync(path.join(dir, 'wardwatch-agent@eth1.service'), agent);
    writeFileSync(
      path.join(dir, 'wardwatch-collector.service'),
      readFileSync(path.join(DEPLOY, 'systemd/wardwatch-collector.service')),
    );
    const r = spawnSync(
      '/usr/bin/systemd-analyze',
      ['verify', '--man=no', 'wardwatch-agent@eth1.service', 'wardwatch-collector.service'],
      {
        cwd: dir,
        encoding: 'utf8',
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(agent).toMatch(/^AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN$/m);
    expect(agent).not.toMatch(/^User=root/m);
    // The token comes from the environment file, never from the command line (it would show in `ps`).
    expect(agent).not.toMatch(/^ExecStart=.*--token/m);
  });
});
