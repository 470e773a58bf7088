// The shipped rule packs: valid, every scenario covered, every analyzer anomaly code and baseline code has a rule.
import path from 'node:path';
import { BASELINE_CODES } from '../../agent/engine/baselines/baseline-model.js';
import { describe, expect, it } from 'vitest';
import { loadRules, validateRulesDir } from '../../agent/engine/rules/rules.js';
import { loadSite } from '../../agent/engine/site/site.js';
import { REPO_ROOT, FIXTURES } from '../helpers/paths.js';
import { PROTOCOL_SCHEMAS } from '../../agent/protocols/registry.js';

const RULES = path.join(REPO_ROOT, 'rules');
const SET = loadRules(RULES);

const ALL_SCENARIOS = [
  ...Array.from({ length: 13 }, (_, i) => `D${i + 1}`),
  ...Array.from({ length: 12 }, (_, i) => `H${i + 1}`),
  ...Array.from({ length: 10 }, (_, i) => `M${i + 1}`),
  ...Array.from({ length: 4 }, (_, i) => `G${i + 1}`),
];

describe('shipped rules', () => {
  it('validate without errors', () => {
    const v = validateRulesDir(RULES);
    expect(v.errors.map((e) => e.message)).toEqual([]);
    expect(v.files.map((f) => path.basename(f))).toEqual([
      'anomalies.yaml',
      'baseline.yaml',
      'dicom.yaml',
      'hl7.yaml',
      'mqtt.yaml',
      'network.yaml',
      'tls.yaml',
    ]);
    expect(v.rules).toBeGreaterThan(100);
  });

  it('cover every scenario of docs/scenarios.md with at least one rule or baseline code', () => {
    const set = SET;
    const covered = new Set(set.rules.flatMap((r) => r.scenarios));
    expect(ALL_SCENARIOS.filter((s) => !covered.has(s))).toEqual([]);
    expect(ALL_SCENARIOS).toHaveLength(39);
  });

  it('give every rule a title, description, and ATT&CK ids on scenario rules except hygiene ones', () => {
    const set = SET;
    for (const r of set.rules) {
      expect(r.title.length, r.id).toBeGreaterThan(5);
      expect(r.description.length, r.id).toBeGreaterThan(10);
    }
    const noAttack = set.rules
      .filter((r) => r.scenarios.length > 0 && r.attack.length === 0)
      .map((r) => r.id);
    // H12 (config drift) has no ATT&CK match in docs/scenarios.md.
    expect(noAttack.every((id) => /version|processing-id/.test(id))).toBe(true);
  });

  // Every protocol in the registry: a protocol added without its anomaly rules fails here.
  it.each(
    PROTOCOL_SCHEMAS.filter((p) => Object.keys(p.anomalies).length > 0).map((p) => [p.proto, p] as const),
  )('have a rule for every %s anomaly code', (_proto, schema) => {
    const byCode = new Map<string, string>();
    for (const r of SET.rules) {
      if (!r.match || r.match.kind !== 'all') continue;
      for (const i of r.match.items) {
        if (i.kind === 'field' && i.path === 'fields.code')
          for (const op of i.ops) if (op.op === 'equals') byCode.set(String(op.value), r.id);
      }
    }
    expect(Object.keys(schema.anomalies).filter((c) => !byCode.has(c))).toEqual([]);
  });

  it('cover every protocol of the registry', () => {
    expect(PROTOCOL_SCHEMAS.map((p) => p.proto)).toEqual(
      expect.arrayContaining(['hl7', 'dicom', 'mqtt', 'tls']),
    );
  });

  it('have a kind: baseline rule with scenarios for every deviation code the checker can emit, and no other', () => {
    // BASELINE_CODES is compiler-checked against every code baseline-check.ts emits; the rule holds the words.
    const rules = SET.rules.filter((r) => r.kind === 'baseline');
    const ids = rules.map((r) => r.id).sort();
    expect(ids).toEqual([...BASELINE_CODES].sort());
    for (const r of rules) expect(r.scenarios.length, `${r.id} names its scenarios`).toBeGreaterThan(0);
  });

  it('load the example site file', () => {
    const site = loadSite(path.join(FIXTURES, 'site.yaml'));
    expect(site.zones.map((z) => z.name)).toEqual([
      'medical-devices',
      'imaging',
      'clinical-servers',
      'iot-services',
      'guest',
    ]);
    expect(site.assets.find((a) => a.name === 'pacs')?.dicomAe).toEqual(['PACS_MAIN']);
  });
});
