// Rule and site files: every error names file, line and field; validateRules reports them all in one pass.
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../agent/engine/config-error.js';
import {
  loadRules,
  parseRuleTexts,
  validateRules,
  validateRulesDir,
} from '../../agent/engine/rules/rules.js';
import { loadSite, parseSite } from '../../agent/engine/site/site.js';

const HEAD = `rules:
  - id: x.one
    title: One rule
    severity: high
    description: Something.
`;

function errorsOf(text: string, file = 'x.yaml'): string[] {
  return parseRuleTexts([{ file, text }]).errors.map((e) => e.message);
}

describe('rule file errors', () => {
  const cases: [string, string, RegExp][] = [
    [
      'unknown rule key',
      `${HEAD}    colour: red\n    match: { proto: mqtt }\n`,
      /^x\.yaml:6: rule x\.one: field colour: unknown key/,
    ],
    [
      'bad severity',
      HEAD.replace('severity: high', 'severity: urgent') + '    match: { proto: mqtt }\n',
      /^x\.yaml:4: rule x\.one: field severity: one of info, low/,
    ],
    [
      'unknown operator',
      `${HEAD}    match:\n      fields.topic: { like: x }\n`,
      /^x\.yaml:7: rule x\.one: field match\.fields\.topic\.like: unknown operator "like"/,
    ],
    [
      'bad regex',
      `${HEAD}    match:\n      fields.topic: { regex: '(' }\n`,
      /^x\.yaml:7: rule x\.one: field match\.fields\.topic\.regex: bad regular expression/,
    ],
    [
      'unknown field root',
      `${HEAD}    match:\n      payload: x\n`,
      /^x\.yaml:7: rule x\.one: field match\.payload: unknown field "payload"/,
    ],
    [
      'bad endpoint key',
      `${HEAD}    match:\n      src.hostname: x\n`,
      /^x\.yaml:7: .*src has ip, port, mac, zone/,
    ],
    [
      'unknown list',
      `${HEAD}    match:\n      fields.topic: { glob: { list: nope } }\n`,
      /^x\.yaml:7: rule x\.one: field match: list "nope" is not declared/,
    ],
    ['missing match', HEAD, /^x\.yaml:2: rule x\.one: field match: required/],
    [
      'missing title',
      HEAD.replace('    title: One rule\n', '') + '    match: { proto: mqtt }\n',
      /^x\.yaml:2: rule x\.one: field title: required/,
    ],
    [
      'bad attack id',
      `${HEAD}    attack: [T1234x]\n    match: { proto: mqtt }\n`,
      /^x\.yaml:6: rule x\.one: field attack: "T1234x" is not an ATT&CK/,
    ],
    [
      'bad scenario',
      `${HEAD}    scenarios: [Z9]\n    match: { proto: mqtt }\n`,
      /^x\.yaml:6: rule x\.one: field scenarios: "Z9"/,
    ],
    [
      'bad threshold count',
      `${HEAD}    match: { proto: mqtt }\n    threshold: { count: 0, window: 1m }\n`,
      /^x\.yaml:7: rule x\.one: field threshold\.count: an integer/,
    ],
    [
      'bad duration',
      `${HEAD}    match: { proto: mqtt }\n    threshold: { count: 2, window: soon }\n`,
      /^x\.yaml:7: rule x\.one: field threshold\.window: expected a duration/,
    ],
    [
      'bad cidr',
      `${HEAD}    match:\n      dst.ip: { cidr: 10.0.0.0/40 }\n`,
      /^x\.yaml:7: rule x\.one: field match\.dst\.ip\.cidr: "10\.0\.0\.0\/40"/,
    ],
    [
      'bad operator inside some',
      `${HEAD}    match:\n      fields.q:\n        some: { key: { near: x } }\n`,
      /^x\.yaml:8: rule x\.one: field match\.fields\.q\.some\.key\.near: unknown operator/,
    ],
    ['YAML syntax', 'rules:\n  - id: x\n   bad: [\n', /^x\.yaml:\d+: YAML syntax/],
    [
      'baseline rule with match',
      `rules:\n  - id: baseline.x\n    kind: baseline\n    title: Base x\n    severity: low\n    description: A deviation.\n    match: { proto: mqtt }\n`,
      /^x\.yaml:7: rule baseline\.x: field match: baseline rules have no match/,
    ],
  ];
  for (const [name, text, re] of cases) {
    it(name, () => {
      const errs = errorsOf(text);
      expect(errs.length, errs.join('\n')).toBeGreaterThan(0);
      expect(errs[0]).toMatch(re);
    });
  }

  it('enforces the id prefix of shipped file names', () => {
    expect(errorsOf(`${HEAD}    match: { proto: mqtt }\n`, 'rules/mqtt.yaml')[0]).toMatch(
      /^rules\/mqtt\.yaml:2: rule x\.one: field id: ids in this file start with "mqtt\."/,
    );
  });

  it('reports duplicate ids across files with both places', () => {
    const text = `${HEAD}    match: { proto: mqtt }\n`;
    const errs = parseRuleTexts([
      { file: 'a.yaml', text },
      { file: 'b.yaml', text },
    ]).errors.map((e) => e.message);
    expect(errs).toEqual(['b.yaml:2: rule x.one: field id: duplicate, first defined at a.yaml:2']);
  });

  it('reports every bad rule in one pass and keeps the good ones', () => {
    const text = `rules:
  - id: a.ok
    title: Fine rule
    severity: low
    description: Fine.
    match: { proto: mqtt }
  - id: a.bad1
    title: Bad one
    severity: nope
    description: Bad.
    match: { proto: mqtt }
  - id: a.bad2
    title: Bad two
    severity: low
    description: Bad.
    match:
      fields.x: { between: 1 }
`;
    const { set, errors } = parseRuleTexts([{ file: 'm.yaml', text }]);
    expect(set.rules.map((r) => r.id)).toEqual(['a.ok']);
    expect(errors.map((e) => `${e.file}:${e.line}`)).toEqual(['m.yaml:9', 'm.yaml:17']);
  });

  describe('on disk', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ww-rules-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    it('loadRules throws a ConfigError naming the file and line; validateRules lists all', () => {
      writeFileSync(path.join(dir, 'good.yaml'), `${HEAD}    match: { proto: mqtt }\n`);
      writeFileSync(
        path.join(dir, 'bad.yaml'),
        `rules:\n  - id: y.one\n    title: Y one\n    severity: high\n    description: Y.\n    match:\n      fields.a: { gt: x }\n`,
      );
      let err: unknown;
      try {
        loadRules(dir);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toBe(
        `${path.join(dir, 'bad.yaml')}:7: rule y.one: field match.fields.a.gt: expected a number`,
      );
      expect(validateRules(dir)).toHaveLength(1);
      const v = validateRulesDir(dir);
      expect(v.files).toHaveLength(2);
      expect(v.rules).toBe(1);
    });
    it('a missing directory is a ConfigError too', () => {
      expect(validateRules(path.join(dir, 'none'))[0]?.message).toMatch(
        /none:0: cannot read directory: ENOENT/,
      );
    });
  });
});

describe('site file errors', () => {
  it('unknown top-level key names file and line', () => {
    expect(() => parseSite('name: x\nzones:\n  a: [10.0.0.0/8]\nbogus: 1\n', 's.yaml')).toThrow(
      /^s\.yaml:4: unknown key "bogus" in the site file/,
    );
  });
  it('unknown asset key', () => {
    expect(() => parseSite('assets:\n  pacs:\n    ip: [10.0.0.1]\n    ae: [X]\n', 's.yaml')).toThrow(
      /^s\.yaml:4: unknown key "ae" in assets\.pacs/,
    );
  });
  it('bad CIDR and bad IP', () => {
    expect(() => parseSite('zones:\n  a: [10.0.0.0/33]\n', 's.yaml')).toThrow(
      /^s\.yaml:2: zones\.a\[0\]: "10\.0\.0\.0\/33"/,
    );
    expect(() => parseSite('assets:\n  a:\n    ip: [10.0.0.300]\n', 's.yaml')).toThrow(
      /^s\.yaml:3: assets\.a\.ip\[0\]/,
    );
  });
  it('reserved zone names and undefined allow zones', () => {
    expect(() => parseSite('zones:\n  internet: [1.0.0.0/8]\n', 's.yaml')).toThrow(
      /^s\.yaml:2: zones\.internet: "internet" is reserved/,
    );
    expect(() => parseSite('allow:\n  - rule: x\n    zone: nowhere\n', 's.yaml')).toThrow(
      /^s\.yaml:2: allow: zone "nowhere"/,
    );
  });
  it('loadSite on a missing file', () => {
    expect(() => loadSite('/nonexistent/site.yaml')).toThrow(
      /^\/nonexistent\/site\.yaml:0: cannot read: ENOENT/,
    );
  });
});
