// deploy/: Prometheus config and alert rules pass promtool, a real scrape passes `promtool check metrics`, and every
// metric a dashboard panel or an alert queries is one the collector exports.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { RunningCollector } from '../../collector/main.js';
import { makeFinding, tempDir, waitFor } from '../collector/helpers.js';
import { openTestAgent, startTestCollector } from '../helpers/collector.js';
import { REPO_ROOT } from '../helpers/paths.js';

const DEPLOY = path.join(REPO_ROOT, 'deploy');
const PROM = path.join(DEPLOY, 'prometheus');
const HAVE_PROMTOOL = spawnSync('promtool', ['--version']).status === 0;
const HAVE_AMTOOL = spawnSync('amtool', ['--version']).status === 0;
const AM = path.join(DEPLOY, 'alertmanager');

function promtool(args: string[], input?: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { cwd: PROM, input, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: Array<{ expr: string }>;
}

const dashboard = JSON.parse(
  readFileSync(path.join(DEPLOY, 'grafana/dashboards/wardwatch.json'), 'utf8'),
) as {
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; current?: { value: string }; query?: unknown }> };
};
interface AlertRule {
  alert: string;
  expr: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
const alerts = YAML.parse(readFileSync(path.join(PROM, 'alerts.yml'), 'utf8')) as {
  groups: Array<{ rules: AlertRule[] }>;
};
const allAlerts = alerts.groups.flatMap((g) => g.rules);

function metricNames(expr: string): string[] {
  // Identifiers followed by a selector, a range or the end of a term, minus PromQL functions and keywords.
  const names = expr.match(/\b(?:wardwatch_[a-z0-9_]+|up|process_[a-z0-9_]+|nodejs_[a-z0-9_]+)\b/g) ?? [];
  return [...new Set(names)];
}

let col: RunningCollector;
let scrape = '';

beforeAll(async () => {
  col = await startTestCollector();
  const t = await openTestAgent(col.wsUrl, {
    statsIntervalMs: 20,
    getStats: () => ({
      packets: 10,
      bytes: 1000,
      drops: { kernel: 1, interface: 0, queue: 0 },
      parse_errors: { mqtt: 1 },
      messages: { mqtt: { publish: 3 } },
      flows: 2,
      devices: 1,
      memory: 1e7,
      lag_seconds: 0,
      spool: { bytes: 0, pending: 0, dropped: 0 },
    }),
  });
  for (let i = 0; i < 10; i++)
    t.send(makeFinding(i, 'agent-a', i === 0 ? { device: { ip: '10.20.40.10', name: 'pacs' } } : {}));
  await t.drain();
  await waitFor(
    async () =>
      (await (await fetch(`${col.url}/metrics`)).text()).includes(
        'wardwatch_packets_total{agent="agent-a"} 10',
      ),
    'stats',
  );
  scrape = await (await fetch(`${col.url}/metrics`)).text();
  await t.close();
});

afterAll(async () => {
  await col.close();
});

describe.skipIf(!HAVE_PROMTOOL)('promtool', () => {
  it('accepts the scrape configs (and the rule file they load)', () => {
    for (const file of ['prometheus.yml', 'compose-prometheus.yml'].filter((f) =>
      existsSync(path.join(PROM, f)),
    )) {
      const r = promtool(['check', 'config', file]);
      expect(r.out).toContain('SUCCESS');
      expect(r.status, file).toBe(0);
    }
  });

  it('accepts the alert rules and their unit tests pass', () => {
    const r = promtool(['check', 'rules', 'alerts.yml']);
    expect(r.status, r.out).toBe(0);
    const t = promtool(['test', 'rules', 'alerts.test.yml']);
    expect(t.status, t.out).toBe(0);
  });

  it('accepts a real scrape of the collector with `promtool check metrics`', () => {
    const r = promtool(['check', 'metrics'], scrape);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('dashboard and alerts use real metrics', () => {
  it('every metric queried by a panel or an alert is exported by the collector', () => {
    const types = new Set([...scrape.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string));
    // Counters are declared by their family name; samples of histograms carry suffixes.
    const known = (n: string): boolean =>
      types.has(n) ||
      n === 'up' ||
      ['_bucket', '_sum', '_count'].some((s) => n.endsWith(s) && types.has(n.slice(0, -s.length)));
    const queried: Array<[string, string]> = [];
    for (const p of dashboard.panels)
      for (const t of p.targets ?? []) for (const n of metricNames(t.expr)) queried.push([p.title, n]);
    for (const g of alerts.groups)
      for (const r of g.rules) for (const n of metricNames(r.expr)) queried.push([r.alert, n]);
    expect(queried.length).toBeGreaterThan(20);
    const missing = queried.filter(([, n]) => !known(n));
    expect(missing).toEqual([]);
    // The labels the queries group by exist on those series.
    expect(scrape).toMatch(/wardwatch_drops_total\{agent="agent-a",where="kernel"\} 1/);
    expect(scrape).toMatch(/wardwatch_device_findings_total\{device="pacs",severity="info"\} 1/);
  });

  it('panels are well formed: unique ids, the templated datasource, a query each', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels.filter((x) => x.type !== 'row')) {
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
    }
    const ds = YAML.parse(
      readFileSync(path.join(DEPLOY, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8'),
    ) as {
      datasources: Array<{ uid: string }>;
    };
    const tmpl = dashboard.templating.list.find((v) => v.name === 'datasource');
    expect(tmpl?.current?.value).toBe(ds.datasources[0]?.uid);
    // Health sits next to findings: the dashboard has panels for drops and parse errors as well as findings.
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join('\n');
    for (const m of [
      'wardwatch_findings_total',
      'wardwatch_drops_total',
      'wardwatch_parse_errors_total',
      'wardwatch_agent_up',
      'wardwatch_protocol_messages_total',
    ]) {
      expect(exprs).toContain(m);
    }
  });
});

describe('alerts reach someone (issue 13 item 7)', () => {
  it('every alert links its runbook section, and every runbook section is an alert', () => {
    const doc = readFileSync(path.join(REPO_ROOT, 'docs/runbooks.md'), 'utf8');
    const sections = [...doc.matchAll(/^## (\S+)$/gm)].map((m) => m[1] as string);
    expect(sections.sort()).toEqual(allAlerts.map((a) => a.alert).sort());
    for (const a of allAlerts) {
      expect(a.annotations.runbook, a.alert).toBe(`docs/runbooks.md#${a.alert.toLowerCase()}`);
      expect(['page', 'ticket'], a.alert).toContain(a.labels.severity);
    }
  });

  it('every aggregation keeps the site and instance labels', () => {
    let checked = 0;
    for (const a of allAlerts) {
      for (const m of a.expr.matchAll(/\b(?:sum|count|max|min|avg) by \(([^)]*)\)/g)) {
        const by = (m[1] ?? '').split(',').map((x) => x.trim());
        expect(by, `${a.alert}: ${m[0]}`).toEqual(expect.arrayContaining(['site', 'instance']));
        checked++;
      }
      // Vector matching must not drop them either.
      for (const m of a.expr.matchAll(/\bon \(([^)]*)\)/g)) {
        if ((m[1] ?? '').trim() === '') continue; // "on ()": a scalar-like guard
        expect(
          (m[1] ?? '').split(',').map((x) => x.trim()),
          `${a.alert}: ${m[0]}`,
        ).toEqual(expect.arrayContaining(['site', 'instance']));
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it("finding alerts link the console's view of those alerts", () => {
    for (const name of [
      'WardwatchCriticalFinding',
      'WardwatchHighFindings',
      'WardwatchCriticalUnacknowledged',
    ]) {
      const a = allAlerts.find((x) => x.alert === name);
      expect(a?.annotations.console_path, name).toMatch(/^\/\?view=alerts&severity=(critical|high)&/);
    }
  });

  it('Prometheus sends alerts to Alertmanager, and compose runs it with its config and template', () => {
    for (const [file, target] of [
      ['prometheus.yml', 'localhost:9093'],
      ['compose-prometheus.yml', 'alertmanager:9093'],
    ] as const) {
      const cfg = YAML.parse(readFileSync(path.join(PROM, file), 'utf8')) as {
        alerting?: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> };
        scrape_configs: Array<{ static_configs: Array<{ labels?: Record<string, string> }> }>;
      };
      expect(cfg.alerting?.alertmanagers[0]?.static_configs[0]?.targets, file).toEqual([target]);
      expect(cfg.scrape_configs[0]?.static_configs[0]?.labels?.site, file).toBeTruthy();
    }
    const compose = YAML.parse(readFileSync(path.join(DEPLOY, 'compose.yaml'), 'utf8')) as {
      services: Record<string, { volumes?: string[]; command?: string[] }>;
    };
    const am = compose.services.alertmanager;
    expect(am?.volumes).toEqual(
      expect.arrayContaining([
        './alertmanager/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro',
        './alertmanager/wardwatch.tmpl:/etc/alertmanager/wardwatch.tmpl:ro',
      ]),
    );
    expect(am?.command).toContain('--config.file=/etc/alertmanager/alertmanager.yml');
  });

  describe.skipIf(!HAVE_AMTOOL)('amtool', () => {
    it('accepts the Alertmanager config, which routes pages and tickets to different receivers', () => {
      const r = spawnSync('amtool', ['check-config', 'alertmanager.yml'], { cwd: AM, encoding: 'utf8' });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      for (const [labels, receiver] of [
        [['severity=page', 'alertname=WardwatchSpanDark', 'site=ward-a'], 'on-call'],
        [['severity=ticket', 'alertname=WardwatchHighFindings', 'site=ward-a'], 'soc-queue'],
      ] as const) {
        const t = spawnSync(
          'amtool',
          ['config', 'routes', 'test', '--config.file=alertmanager.yml', ...labels],
          { cwd: AM, encoding: 'utf8' },
        );
        expect(t.stdout.trim(), t.stderr).toBe(receiver);
      }
    });

    it('the notification text links the runbook and the console with full URLs, for every alert', () => {
      const tmpl = readFileSync(path.join(AM, 'wardwatch.tmpl'), 'utf8');
      const consoleUrl = /define "wardwatch\.console_url" }}([^{]+){{/.exec(tmpl)?.[1] ?? '?';
      const docsUrl = /define "wardwatch\.docs_url" }}([^{]+){{/.exec(tmpl)?.[1] ?? '?';
      const data = {
        receiver: 'on-call',
        status: 'firing',
        alerts: allAlerts.map((a) => ({
          status: 'firing',
          labels: {
            alertname: a.alert,
            site: 'ward-a',
            instance: 'collector:7411',
            agent: 'icu-3',
            rule: 'r.x',
          },
          annotations: {
            summary: `summary of ${a.alert}`,
            description: 'd',
            runbook: a.annotations.runbook,
            ...(a.annotations.console_path
              ? { console_path: '/?view=alerts&severity=critical&rule=r.x' }
              : {}),
          },
        })),
        groupLabels: {},
        commonLabels: {},
        commonAnnotations: {},
        externalURL: 'http://alertmanager:9093',
      };
      const dir = tempDir('ww-am-');
      const file = path.join(dir, 'data.json');
      writeFileSync(file, JSON.stringify(data));
      const r = spawnSync(
        'amtool',
        [
          'template',
          'render',
          '--template.glob=wardwatch.tmpl',
          '--template.text={{ template "wardwatch.text" . }}',
          `--template.data=${file}`,
        ],
        { cwd: AM, encoding: 'utf8' },
      );
      expect(r.status, r.stderr).toBe(0);
      for (const a of allAlerts) {
        expect(r.stdout).toContain(
          `summary of ${a.alert}\nsite ward-a, collector collector:7411, agent icu-3`,
        );
        expect(r.stdout).toContain(`Runbook: ${docsUrl}/runbooks.md#${a.alert.toLowerCase()}`);
      }
      const consoleLinks = r.stdout.split('\n').filter((l) => l.startsWith('Console: '));
      expect(consoleLinks).toHaveLength(allAlerts.filter((a) => a.annotations.console_path).length);
      for (const l of consoleLinks)
        expect(l).toBe(`Console: ${consoleUrl}/?view=alerts&severity=critical&rule=r.x`);
    });
  });
});

describe('dashboard: sites, new today, top devices', () => {
  it('has a site variable and every wardwatch selector of every panel filters by it', () => {
    const site = dashboard.templating.list.find((v) => v.name === 'site');
    expect(JSON.stringify(site?.query)).toContain('label_values(wardwatch_agent_up, site)');
    const agent = dashboard.templating.list.find((v) => v.name === 'agent');
    expect(JSON.stringify(agent?.query)).toContain('site=~\\"$site\\"');
    let selectors = 0;
    for (const p of dashboard.panels)
      for (const t of p.targets ?? [])
        for (const m of t.expr.matchAll(/\b(wardwatch_[a-z0-9_]+)(\{[^}]*\})?/g)) {
          expect(m[2] ?? '', `${p.title}: ${t.expr}`).toContain('site=~"$site"');
          selectors++;
        }
    expect(selectors).toBeGreaterThan(30);
  });

  it('shows what is new today and top devices with the unnamed ones', () => {
    const titles = dashboard.panels.map((p) => p.title);
    const devices = dashboard.panels.find((p) => p.title.startsWith('New today: devices'));
    expect(devices?.targets?.[0]?.expr).toMatch(/wardwatch_devices\{[^}]*\} offset 1d/);
    const rules = dashboard.panels.find((p) => p.title.startsWith('New today: rules'));
    expect(rules?.targets?.[0]?.expr).toMatch(
      /> 0 unless .*wardwatch_findings_total\{[^}]*\} offset 1d\) > 0/,
    );
    const top = dashboard.panels.find((p) => p.title.startsWith('Top devices'));
    expect(top?.targets?.[0]?.expr).toContain('wardwatch_device_findings_total');
    expect(top?.targets?.[0]?.expr).not.toContain('unnamed');
    expect(titles.filter((t) => t.startsWith('New today'))).toHaveLength(2);
  });
});
