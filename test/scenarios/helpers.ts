// The scenario manifest and how the scenario tests learn baselines and replay captures with the shipped rules.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { parse } from 'yaml';
import { replayFiles } from '../../agent/pipeline.js';
import type { RuleSet } from '../../agent/engine/rules/rules.js';
import { SiteIndex, type Site } from '../../agent/engine/site/site.js';
import { BaselineLearner } from '../../agent/engine/baselines/baseline-learn.js';
import { createBaselineChecker } from '../../agent/engine/baselines/baseline-check.js';
import type { Baseline } from '../../agent/engine/baselines/baseline-model.js';
import type { Finding } from '../../agent/wire/finding.js';
import { FIXTURES } from '../helpers/paths.js';

export interface Entry {
  file: string;
  scenarios: string[];
  baseline?: string;
  normal?: boolean;
}

export const DIR = path.join(FIXTURES, 'scenarios');
export const manifest = parse(readFileSync(path.join(DIR, 'manifest.yaml'), 'utf8')) as { captures: Entry[] };

/** Learns (once per capture and site) a baseline; normal.pcap is ten minutes long, so checks arm after five. */
export class Baselines {
  private readonly cache = new Map<string, Baseline>();

  async learn(file: string, site: Site): Promise<Baseline> {
    const key = `${file}|${site.file}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    const index = new SiteIndex(site);
    const learner = new BaselineLearner({
      zoneOf: (ip) => index.zoneOf(ip),
      nameOf: (ip) => index.assetOf(ip)?.name,
      isDevice: (ip) => index.zoneOf(ip) !== 'internet',
      minLearningS: 300,
    });
    const summary = await replayFiles([path.join(DIR, file)], { site, observers: [learner] }, {});
    expect(summary.error).toBeNull();
    const b = learner.result();
    this.cache.set(key, b);
    return b;
  }

  /** The findings of one capture, with a baseline learned from `baselineFrom` when given. */
  async replay(
    file: string,
    baselineFrom: string | undefined,
    site: Site,
    rules: RuleSet,
    agentId: string,
  ): Promise<Finding[]> {
    const index = new SiteIndex(site);
    const baseline = baselineFrom
      ? createBaselineChecker(await this.learn(baselineFrom, site), {
          isDevice: (ip) => index.zoneOf(ip) !== 'internet',
        })
      : null;
    const findings: Finding[] = [];
    const summary = await replayFiles(
      [path.join(DIR, file)],
      { site, rules, baseline, agentId },
      { onFinding: (f) => findings.push(f) },
    );
    expect(summary.error).toBeNull();
    return findings;
  }
}
