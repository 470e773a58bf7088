// docs/ is the contract users read (issue 13 item 8): these checks keep it in step with the code where that is cheap —
// metric names, command options, the rules each scenario lists, and links that resolve.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { COMMAND_OPTIONS, GLOBAL } from '../../bin/options.js';
import { CollectorMetrics } from '../../collector/metrics.js';
import { REPO_ROOT } from '../helpers/paths.js';

const DOCS = path.join(REPO_ROOT, 'docs');
const read = (file: string): string => readFileSync(path.join(DOCS, file), 'utf8');

describe('docs/', () => {
  it('metrics.md names exactly the wardwatch_* metrics the collector exports', async () => {
    const metrics = new CollectorMetrics(() => 0);
    const exported = (await metrics.registry.getMetricsAsJSON())
      .map((m) => m.name)
      .filter((n) => n.startsWith('wardwatch_'));
    const documented = [...read('metrics.md').matchAll(/`(wardwatch_[a-z_]+)`/g)].map((m) => m[1]);
    expect(new Set(documented)).toEqual(new Set(exported));
  });

  it('cli.md lists every option of every command', () => {
    const cli = read('cli.md');
    for (const [command, options] of Object.entries({ ...COMMAND_OPTIONS, global: GLOBAL })) {
      for (const name of Object.keys(options)) expect(cli, `${command} --${name}`).toContain(`\`--${name}\``);
    }
  });

  it("scenarios.md lists, in each scenario's row, every shipped rule that names the scenario", () => {
    const rows = new Map<string, string>();
    for (const line of read('scenarios.md').split('\n')) {
      const m = /^\| ([DHMG]\d+) +\|/.exec(line);
      if (m?.[1]) rows.set(m[1], line);
    }
    expect(rows.size).toBe(13 + 12 + 10 + 4);
    const dir = path.join(REPO_ROOT, 'rules');
    let checked = 0;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
      const doc = parse(readFileSync(path.join(dir, file), 'utf8')) as {
        rules?: Array<{ id: string; scenarios?: string[] }>;
      };
      for (const rule of doc.rules ?? []) {
        for (const s of rule.scenarios ?? []) {
          expect(rows.get(s), `${s} row`).toContain(`\`${rule.id}\``);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(39);
  });

  it('links from the README and between docs resolve; the README cites no absent design files', () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    expect(readme).not.toMatch(/DESIGN\.md|SCENARIOS\.md/);
    const sources: Array<[string, string]> = [
      [REPO_ROOT, readme],
      ...readdirSync(DOCS)
        .filter((f) => f.endsWith('.md'))
        .map((f): [string, string] => [DOCS, read(f)]),
    ];
    let links = 0;
    for (const [base, text] of sources) {
      for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1] ?? '';
        if (/^[a-z]+:/.test(target)) continue;
        expect(existsSync(path.join(base, target)), target).toBe(true);
        links++;
      }
    }
    expect(links).toBeGreaterThan(10);
  });
});
