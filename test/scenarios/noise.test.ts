// Quiet on a normal day (issue 9): alerts a SOC would be paged for, per normal day and per attack capture.
// "Alerts" are findings of class alert that open an incident; repeats and further findings of the same incident
// update it, and exposures are listed apart. The figures printed here are the README's "Noise" section.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadRules, type RuleSet } from '../../agent/engine/rules/rules.js';
import { loadSite, parseSite, type Site } from '../../agent/engine/site/site.js';
import { isIncidentSummary, opensIncident } from '../../agent/engine/findings/incidents.js';
import type { Finding } from '../../agent/wire/finding.js';
import { FIXTURES, REPO_ROOT } from '../helpers/paths.js';
import { Baselines, manifest } from './helpers.js';

const siteText = readFileSync(path.join(FIXTURES, 'site.yaml'), 'utf8');
// A site written from the docs: every asset with roles, AE titles, HL7 apps and client ids, but no lists.
const siteWithoutLists = parseSite(
  siteText.slice(0, siteText.indexOf('\nlists:')),
  'site-without-lists.yaml',
);

let site: Site;
let rules: RuleSet;
const scenariosOf = new Map<string, string[]>();
const baselines = new Baselines();

const replay = (file: string, baselineFrom: string | undefined, s: Site = site): Promise<Finding[]> =>
  baselines.replay(file, baselineFrom, s, rules, 'noise');

const alerts = (fs: Finding[]): Finding[] => fs.filter(opensIncident);
const exposures = (fs: Finding[]): Finding[] => fs.filter((f) => f.class === 'exposure');
const line = (f: Finding): string =>
  `${f.rule} (${f.severity}) ${f.device.ip}${f.peer ? ` → ${f.peer.ip}` : ''}`;

beforeAll(() => {
  site = loadSite(path.join(FIXTURES, 'site.yaml'));
  rules = loadRules(path.join(REPO_ROOT, 'rules'));
  for (const r of rules.rules) scenariosOf.set(r.id, r.scenarios);
});

describe('a normal day is quiet', () => {
  it('the training day replayed with its own baseline gives 0 alerts, with or without the site lists', async () => {
    for (const s of [site, siteWithoutLists]) {
      const fs = await replay('normal.pcap', 'normal.pcap', s);
      expect(alerts(fs).map(line), s.file).toEqual([]);
    }
  });

  it('another normal day (other hour, other patients, more volume) gives at most 3 alerts', async () => {
    for (const s of [site, siteWithoutLists]) {
      const fs = await replay('normal-day2.pcap', 'normal.pcap', s);
      const a = alerts(fs);
      console.log(`normal-day2 (${s.file}): ${a.length} alerts, ${exposures(fs).length} exposures`);
      expect(a.length, a.map(line).join(', ')).toBeLessThanOrEqual(3);
      // Every alert record names its incident, an incident that some counted alert opened; exposures name none.
      const opened = new Set(a.map((f) => f.id));
      for (const f of fs) {
        if (f.class === 'exposure') expect(f.incident).toBeUndefined();
        else expect(opened.has(f.incident ?? ''), `${f.rule} ${f.id}`).toBe(true);
      }
    }
  });
});

describe('one incident, one alert', () => {
  const attacks = manifest.captures.filter((e) => !e.normal);
  it.each(attacks.map((e) => [e.file, e] as const))(
    '%s: at most 3 alerts, and they carry the scenario',
    async (_file, e) => {
      const fs = await replay(e.file, e.baseline);
      const a = alerts(fs);
      console.log(`${e.file}: ${a.length} alerts, ${exposures(fs).length} exposures, ${fs.length} records`);
      expect(a.length, a.map(line).join(', ')).toBeLessThanOrEqual(3);
      // The scenario's rule fired inside one of these alerts' incidents (or as an exposure).
      const opened = new Set(a.map((f) => f.id));
      for (const s of e.scenarios) {
        const tagged = fs.filter((f) => (scenariosOf.get(f.rule) ?? []).includes(s));
        expect(tagged.length, `${s} in ${e.file}`).toBeGreaterThan(0);
        expect(
          tagged.some((f) => f.class === 'exposure' || opened.has(f.incident ?? '')),
          `${s} in ${e.file}`,
        ).toBe(true);
      }
    },
  );

  it('a scan folds into one alert: targets that only answered are not new devices', async () => {
    const fs = await replay('net-scan.pcap', 'normal.pcap');
    expect(alerts(fs)).toHaveLength(1);
    const incident = alerts(fs)[0]?.id;
    expect(fs.every((f) => f.incident === incident)).toBe(true);
    const newDevices = fs.filter((f) => f.rule === 'baseline.new-device' && !isIncidentSummary(f));
    expect(newDevices.map((f) => f.device.ip)).toEqual(['10.20.30.99']);
    // The incident's closing record updates the alert with what the scan amounted to.
    const summary = fs.find(isIncidentSummary);
    expect(summary?.incident).toBe(incident);
    expect(summary?.evidence.incident_rules).toEqual(
      expect.arrayContaining(['network.host-scan', 'network.port-scan']),
    );
    expect(summary?.evidence.distinct_max).toBeGreaterThanOrEqual(20);
    expect(summary?.severity).toBe('high');
  });
});

describe('exposures are not alerts', () => {
  it('cleartext MQTT passwords are reported once per device as an exposure and kept current', async () => {
    const fs = await replay('mqtt-password-guessing.pcap', undefined);
    const ex = exposures(fs).filter((f) => f.rule === 'mqtt.cleartext-password');
    expect(ex.length).toBeGreaterThan(0);
    expect(new Set(ex.map((f) => f.device.ip)).size).toBe(
      ex.filter((f) => f.evidence.repeat_of === undefined).length,
    );
    expect(ex.every((f) => f.incident === undefined)).toBe(true);
    const update = ex.find((f) => f.evidence.repeat_of !== undefined);
    expect(update?.count).toBeGreaterThan(1);
    expect(update?.evidence.first_seen).toBeDefined();
  });
});
