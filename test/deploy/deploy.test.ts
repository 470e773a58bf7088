// deploy/: Prometheus config and alert rules pass promtool, a real scrape passes `promtool check metrics`, and every
// metric a dashboard panel or an alert queries is one the collector exports.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { RunningCollector } from '../../collector/main.js';
import { makeFinding, waitFor } from '../collector/helpers.js';
import { openTestAgent, startTestCollector } from '../helpers/collector.js';
import { REPO_ROOT } from '../helpers/paths.js';

const DEPLOY = path.join(REPO_ROOT, 'deploy');
const PROM = path.join(DEPLOY, 'prometheus');
const HAVE_PROMTOOL = spawnSync('promtool', ['--version']).status === 0;

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
const alerts = YAML.parse(readFileSync(path.join(PROM, 'alerts.yml'), 'utf8')) as {
  groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
};

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
