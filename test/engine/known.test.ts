// "Known" means known to the site (assets, lists) or to the approved baseline (issue 9), and one role vocabulary.
import { describe, expect, it } from 'vitest';
import { Engine } from '../../agent/engine/engine.js';
import { parseRuleTexts } from '../../agent/engine/rules/rules.js';
import { createBaselineChecker } from '../../agent/engine/baselines/baseline-check.js';
import type { Baseline, DeviceBaseline } from '../../agent/engine/baselines/baseline-model.js';
import type { Finding } from '../../agent/wire/finding.js';
import { isIncidentSummary } from '../../agent/engine/findings/incidents.js';
import type { EventRecord } from '../../agent/protocols/types.js';
import { ev, rulesFrom, siteFrom } from './helpers.js';

const RULES = rulesFrom(`lists:
  dicom-known-aes: []
rules:
  - id: t.unknown-ae
    title: Unknown calling AE
    severity: high
    attack: [T0846]
    scenarios: [D1]
    description: test
    match:
      proto: dicom
      type: associate_rq
      fields.calling_ae: { unknown_to: [site, baseline] }
  - id: t.unknown-dest
    title: Unknown move destination
    severity: high
    attack: [T0846]
    scenarios: [D5]
    description: test
    match:
      proto: dicom
      type: dimse
      fields.move_destination: { unknown_to: { to: [site], list: dicom-known-aes } }
`);

const SITE = `zones:
  imaging: [10.20.40.0/24]
assets:
  ct:
    ip: [10.20.40.21]
    roles: [dicom-modality]
    dicom_ae: [CT_ROOM1]
  viewer:
    ip: [10.20.40.31]
    roles: [dicom-viewer]
    dicom_ae: [VIEWER1]
lists:
  dicom-known-aes: [ROUTER_AE]
`;

function device(ip: string, over: Partial<DeviceBaseline>): DeviceBaseline {
  const r = { min: 0, max: 0 };
  return {
    ip,
    macs: [],
    peers: [],
    volume: {
      hours: 1,
      active_hours: [],
      messages_per_hour: r,
      bytes_per_hour: r,
      rejects_per_hour: r,
      naks_per_hour: r,
    },
    ...over,
  };
}

function findingsOf(events: EventRecord[], opts: { site?: string; baseline?: Baseline } = {}): Finding[] {
  const out: Finding[] = [];
  const engine = new Engine(
    {
      site: opts.site ? siteFrom(opts.site) : null,
      rules: RULES,
      baseline: opts.baseline ? createBaselineChecker(opts.baseline) : null,
      agentId: 'a',
    },
    (f) => out.push(f),
  );
  for (const e of events) engine.onEvent(e);
  engine.flush();
  return out.filter((f) => f.rule.startsWith('t.') && !isIncidentSummary(f));
}

const assoc = (calling: string, src: string): EventRecord =>
  ev(
    'dicom',
    'associate_rq',
    { calling_ae: calling, called_ae: 'PACS_MAIN' },
    { src, dst: '10.20.40.10', dport: 104 },
  );

describe('known_to / unknown_to', () => {
  it("an AE title is known when the calling host's site asset names it, and only for that host", () => {
    expect(findingsOf([assoc('CT_ROOM1', '10.20.40.21')], { site: SITE })).toEqual([]);
    // the same AE title from another address is not known to the site: a spoofed title is reported
    const spoofed = findingsOf([assoc('CT_ROOM1', '10.20.30.99')], { site: SITE });
    expect(spoofed.map((f) => [f.rule, f.device.ip])).toEqual([['t.unknown-ae', '10.20.30.99']]);
  });

  it('a value in the site list is known for every host', () => {
    expect(findingsOf([assoc('ROUTER_AE', '10.20.30.99')], { site: SITE })).toEqual([]);
  });

  it("a value in the device's approved baseline is known, without any site", () => {
    const baseline: Baseline = {
      version: 1,
      learned_from: '2026-11-28T10:00:00Z',
      learned_to: '2026-11-28T11:00:00Z',
      devices: [
        device('10.20.40.21', {
          dicom: {
            ae_titles: ['CT_ROOM1'],
            ae_pairs: [],
            sop_classes: [],
            commands: [],
            move_destinations: [],
            implementations: [],
          },
        }),
      ],
    };
    expect(findingsOf([assoc('CT_ROOM1', '10.20.40.21')], { baseline })).toEqual([]);
    expect(findingsOf([assoc('CT_ROOM2', '10.20.40.21')], { baseline }).map((f) => f.rule)).toEqual([
      't.unknown-ae',
    ]);
    // nothing is known without a site or a baseline
    expect(findingsOf([assoc('CT_ROOM1', '10.20.40.21')]).map((f) => f.rule)).toEqual(['t.unknown-ae']);
  });

  it('a baseline set while the engine runs judges the next events (issue 10: approved sets pushed by the collector)', () => {
    const out: Finding[] = [];
    const engine = new Engine({ site: null, rules: RULES, baseline: null, agentId: 'a' }, (f) => out.push(f));
    const at = (h: number): EventRecord => {
      const e = assoc('CT_ROOM1', '10.20.40.21');
      const ts = (e.tsMicros ?? 0) + h * 3_600_000_000;
      return { ...e, tsMicros: ts, ts: new Date(ts / 1000).toISOString() };
    };
    const reported = (): number =>
      out.filter((f) => f.rule === 't.unknown-ae' && !isIncidentSummary(f)).length;
    engine.onEvent(at(0));
    expect(reported()).toBe(1);
    const baseline: Baseline = {
      version: 1,
      learned_from: '',
      learned_to: '',
      devices: [
        device('10.20.40.21', {
          dicom: {
            ae_titles: ['CT_ROOM1'],
            ae_pairs: [],
            sop_classes: [],
            commands: [],
            move_destinations: [],
            implementations: [],
          },
        }),
      ],
    };
    engine.setBaseline(createBaselineChecker(baseline));
    engine.onEvent(at(3));
    engine.flush();
    expect(reported()).toBe(1);
  });

  it('a move destination is known when any asset of the site names it (the list given by the rule too)', () => {
    const move = (dest: string): EventRecord =>
      ev(
        'dicom',
        'dimse',
        { command: 'C-MOVE-RQ', move_destination: dest },
        { src: '10.20.40.31', dst: '10.20.40.10' },
      );
    expect(findingsOf([move('VIEWER1'), move('ROUTER_AE')], { site: SITE })).toEqual([]);
    expect(findingsOf([move('EXT_ARCHIVE')], { site: SITE }).map((f) => f.rule)).toEqual(['t.unknown-dest']);
  });

  it('refuses known_to on a path without knowledge, naming file, line and the paths that have it', () => {
    const { errors } = parseRuleTexts([
      {
        file: 'bad.yaml',
        text: `rules:
  - id: t.bad
    title: Bad
    severity: low
    description: test
    match:
      proto: dicom
      fields.abstract_syntaxes: { known_to: [site] }
`,
      },
    ]);
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringMatching(
        /^bad\.yaml:8: .*known_to is not available for "fields\.abstract_syntaxes" \(paths: fields\.calling_ae,/,
      ),
    ]);
  });

  it('refuses an unknown source', () => {
    const { errors } = parseRuleTexts([
      {
        file: 'bad.yaml',
        text: `rules:
  - id: t.bad
    title: Bad
    severity: low
    description: test
    match:
      fields.calling_ae: { unknown_to: [site, memory] }
`,
      },
    ]);
    expect(errors[0]?.message).toMatch(/bad\.yaml:7: .*unknown source "memory" \(sources: site, baseline\)/);
  });
});

describe('one role vocabulary', () => {
  it('an unknown role in the site file is an error naming file, line and the known roles', () => {
    expect(() =>
      siteFrom(`assets:
  lis:
    ip: [10.20.50.7]
    roles: [lab, result-sender]
`),
    ).toThrow(
      /^site\.yaml:4: assets\.lis\.roles\[1\]: unknown role "result-sender" \(known roles: dicom-scp, .*lab.*\)/,
    );
  });

  it('roles imply the roles rules ask for (a LIS is a result sender, an engine places orders)', () => {
    const site = siteFrom(`assets:
  lis: { ip: [10.20.50.7], roles: [lab] }
  engine: { ip: [10.20.50.5], roles: [hl7-engine] }
`);
    expect(site.assets.find((a) => a.name === 'lis')?.roles).toEqual(['lab', 'hl7-result-sender']);
    expect(site.assets.find((a) => a.name === 'engine')?.roles).toEqual(
      expect.arrayContaining(['hl7-result-sender', 'hl7-order-placer', 'hl7-adt-source']),
    );
  });

  it('a rule comparing asset_role with an unknown role, literally or through its list, does not load', () => {
    const { errors } = parseRuleTexts([
      {
        file: 'r.yaml',
        text: `lists:
  senders: [hl7-result-sender, result-gateway]
rules:
  - id: t.roles
    title: Roles
    severity: low
    description: test
    match:
      src.asset_role: { not_in: { list: senders } }
      dst.asset_role: pacs
`,
      },
    ]);
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^r\.yaml:9: rule t\.roles: list senders: unknown role "result-gateway"/),
      expect.stringMatching(/^r\.yaml:10: rule t\.roles: field match\.dst\.asset_role: unknown role "pacs"/),
    ]);
  });
});
