// Replays every scenario capture of fixtures/scenarios/manifest.yaml with the shipped rules, the example site and (where
// the manifest says so) a baseline learned from normal traffic; each docs/scenarios.md id must be reported (issue 4).
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadRules, type RuleSet } from '../../agent/engine/rules/rules.js';
import { loadSite, type Site } from '../../agent/engine/site/site.js';
import type { Baseline } from '../../agent/engine/baselines/baseline-model.js';
import { formatBaselineYaml, parseBaselineYaml } from '../../agent/engine/baselines/baseline-yaml.js';
import { severityRank, type Finding } from '../../agent/wire/finding.js';
import { FIXTURES, REPO_ROOT } from '../helpers/paths.js';
import { Baselines, manifest, type Entry } from './helpers.js';

const ALL_IDS = [
  ...Array.from({ length: 13 }, (_, i) => `D${i + 1}`),
  ...Array.from({ length: 12 }, (_, i) => `H${i + 1}`),
  ...Array.from({ length: 10 }, (_, i) => `M${i + 1}`),
  ...Array.from({ length: 4 }, (_, i) => `G${i + 1}`),
];

let site: Site;
let rules: RuleSet;
const scenariosOf = new Map<string, string[]>();
const baselines = new Baselines();
const results = new Map<string, Finding[]>();

const learn = (file: string): Promise<Baseline> => baselines.learn(file, site);
const replay = (entry: Entry, withBaseline: boolean): Promise<Finding[]> =>
  baselines.replay(entry.file, withBaseline ? entry.baseline : undefined, site, rules, 'test');

const describeLine = (f: Finding): string =>
  `${f.rule} (${f.severity}) ${f.device.ip}${f.peer ? ` → ${f.peer.ip}` : ''}`;

beforeAll(async () => {
  site = loadSite(path.join(FIXTURES, 'site.yaml'));
  rules = loadRules(path.join(REPO_ROOT, 'rules'));
  for (const r of rules.rules) scenariosOf.set(r.id, r.scenarios);
  for (const e of manifest.captures) results.set(e.file, await replay(e, true));
}, 60_000);

describe('scenario captures', () => {
  it('the manifest covers every scenario of docs/scenarios.md', () => {
    const covered = new Set(manifest.captures.flatMap((e) => e.scenarios));
    expect(ALL_IDS.filter((id) => !covered.has(id))).toEqual([]);
  });

  const cases = manifest.captures.flatMap((e) => e.scenarios.map((s) => [s, e.file] as const));
  it.each(cases)('%s fires on %s', (scenario, file) => {
    const findings = results.get(file) ?? [];
    const tagged = findings.filter((f) => (scenariosOf.get(f.rule) ?? []).includes(scenario));
    expect(
      tagged.length,
      `no finding tagged ${scenario} in ${file}; got: ${findings.map(describeLine).join(', ') || 'none'}`,
    ).toBeGreaterThan(0);
  });

  it('lists the scenarios that do not fire (summary)', () => {
    const missing = cases.filter(
      ([s, file]) => !(results.get(file) ?? []).some((f) => (scenariosOf.get(f.rule) ?? []).includes(s)),
    );
    expect(
      missing.map(([s, f]) => `${s}:${f}`),
      'scenarios without a tagged finding',
    ).toEqual([]);
  });

  for (const e of manifest.captures.filter((x) => x.normal)) {
    it(`${e.file} gives no finding at or above medium, with its own baseline`, async () => {
      const loud = (results.get(e.file) ?? []).filter(
        (f) => severityRank(f.severity) >= severityRank('medium'),
      );
      expect(loud.map(describeLine)).toEqual([]);
      const noBaseline = (await replay(e, false)).filter(
        (f) => severityRank(f.severity) >= severityRank('medium'),
      );
      expect(noBaseline.map(describeLine)).toEqual([]);
    });
  }

  it('a normal capture learned and replayed against its own baseline gives no deviation', async () => {
    const normal = manifest.captures.find((x) => x.normal);
    expect(normal).toBeDefined();
    if (!normal) return;
    const findings = await replay({ ...normal, baseline: normal.file }, true);
    expect(findings.filter((f) => f.rule.startsWith('baseline.')).map(describeLine)).toEqual([]);
  });

  it('the baseline learned from normal traffic round-trips through YAML and names the site assets', async () => {
    const normal = manifest.captures.find((x) => x.normal);
    if (!normal) throw new Error('no normal capture in the manifest');
    const b = await learn(normal.file);
    expect(parseBaselineYaml(formatBaselineYaml(b), 'normal.yaml')).toEqual(b);
    const pacs = b.devices.find((d) => d.ip === '10.20.40.10');
    expect(pacs?.zone).toBe('imaging');
    expect(pacs?.dicom?.ae_titles).toContain('PACS_MAIN');
    // The OUI vendor is written for the reviewer (issue 10 item 2: a Siemens CT must say Siemens).
    expect(b.devices.find((d) => d.ip === '10.20.40.21')?.vendor).toMatch(/^Siemens/);
    expect(pacs?.vendor).toMatch(/^Super Micro/);
    const monitor = b.devices.find((d) => d.ip === '10.20.30.17');
    expect(monitor?.hl7?.sent.find((t) => t.type === 'ORU^R01')?.median_interval_s).toBeGreaterThan(30);
  });
});
