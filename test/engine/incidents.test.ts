// One incident, one alert (issue 9): IncidentFolder on hand-made findings.
import { describe, expect, it } from 'vitest';
import { IncidentFolder, isIncidentSummary, opensIncident } from '../../agent/engine/findings/incidents.js';
import type { Finding, Severity } from '../../agent/wire/finding.js';
import { formatTs } from '../../agent/wire/time.js';
import { SEC, T0 } from './helpers.js';

let n = 0;
function finding(
  rule: string,
  device: string,
  peer: string | undefined,
  ts: number,
  severity: Severity = 'medium',
): Finding {
  const f: Finding = {
    kind: 'finding',
    id: `id${++n}`,
    ts: formatTs(ts),
    rule,
    severity,
    title: rule,
    attack: [],
    proto: 'tcp',
    device: { ip: device },
    evidence: {},
    agent: 'a',
    class: 'alert',
  };
  if (peer) f.peer = { ip: peer, port: 104 };
  return f;
}

describe('IncidentFolder', () => {
  it('folds alerts that involve the actor within the quiet time, and opens a new incident after it', () => {
    const summaries: Finding[] = [];
    const folder = new IncidentFolder((f) => summaries.push(f));
    const a = finding('r.sweep', '10.0.0.99', '10.0.0.1', T0);
    const b = finding('r.new-device', '10.0.0.2', '10.0.0.99', T0 + 60 * SEC, 'high'); // a target answering
    const c = finding('r.other', '10.0.0.5', '10.0.0.6', T0 + 61 * SEC); // unrelated hosts
    const d = finding('r.sweep', '10.0.0.99', '10.0.0.3', T0 + 60 * 60 * SEC); // an hour later
    for (const f of [a, b, c, d]) {
      folder.advance(Date.parse(f.ts) * 1000);
      folder.mark(f);
    }
    folder.flush();
    expect([a, b, c, d].map(opensIncident)).toEqual([true, false, true, true]);
    expect(b.incident).toBe(a.id);
    expect(folder.stats).toMatchObject({ opened: 3, folded: 1 });
    // the first incident left one record that updates its alert: two rules, the highest severity
    expect(summaries).toHaveLength(1);
    const s = summaries[0];
    expect([s?.incident, s?.severity, s?.evidence.incident_rules, s?.evidence.peers]).toEqual([
      a.id,
      'high',
      ['r.new-device', 'r.sweep'],
      2,
    ]);
    expect(s && isIncidentSummary(s)).toBe(true);
    expect(s && opensIncident(s)).toBe(false);
  });

  it('does not chain two actors through a hub they both talk to (the broker, the PACS)', () => {
    const folder = new IncidentFolder();
    const dashboard = finding('r.wildcard', '10.0.0.30', '10.0.0.2', T0);
    const laptop = finding('r.unlisted', '10.0.0.99', '10.0.0.2', T0 + SEC);
    folder.mark(dashboard);
    folder.mark(laptop);
    expect([opensIncident(dashboard), opensIncident(laptop)]).toEqual([true, true]);
  });

  it('leaves exposures alone and attaches a repeat summary to the incident of what it repeats', () => {
    const folder = new IncidentFolder();
    const first = finding('r.x', '10.0.0.9', undefined, T0);
    folder.mark(first);
    const exposure = {
      ...finding('r.cleartext', '10.0.0.9', undefined, T0 + SEC),
      class: 'exposure' as const,
    };
    folder.mark(exposure);
    expect(exposure.incident).toBeUndefined();
    const repeat = {
      ...finding('r.x', '10.0.0.9', undefined, T0 + 3 * 3600 * SEC),
      evidence: { repeat_of: first.id },
    };
    folder.mark(repeat);
    expect(repeat.incident).toBe(first.id);
  });

  it('is bounded: the oldest open incident is closed when the cap is reached, and counted', () => {
    const folder = new IncidentFolder(undefined, { maxOpen: 2 });
    for (let i = 0; i < 5; i++) folder.mark(finding('r', `10.1.0.${i}`, undefined, T0 + i * SEC));
    expect(folder.openCount).toBe(2);
    expect(folder.stats.evicted).toBe(3);
  });
});
