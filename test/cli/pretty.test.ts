// Findings say who opened the connection and read as a sentence (issue 13 item 4): checked on every scenario
// capture against the flow table's own client/server decision, and the pretty form against the finding it prints.
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { adviceFrom, formatPretty, type AdviceLookup } from '../../agent/cli/output.js';
import { loadRules, type RuleSet } from '../../agent/engine/rules/rules.js';
import { loadSite, SiteIndex, type Site } from '../../agent/engine/site/site.js';
import { replayFiles } from '../../agent/pipeline.js';
import type { FlowRecord } from '../../agent/reassembly/types.js';
import type { Finding } from '../../agent/wire/finding.js';
import { validateFinding } from '../../agent/wire/messages.js';
import { FIXTURES, REPO_ROOT } from '../helpers/paths.js';
import { DIR, manifest } from '../scenarios/helpers.js';

interface Run {
  findings: Finding[];
  flows: Map<string, FlowRecord>;
}

let site: Site;
let rules: RuleSet;
let advice: AdviceLookup;
const runs = new Map<string, Run>();

beforeAll(async () => {
  site = loadSite(path.join(FIXTURES, 'site.yaml'));
  rules = loadRules(path.join(REPO_ROOT, 'rules'));
  advice = adviceFrom(rules.rules);
  for (const e of manifest.captures) {
    const run: Run = { findings: [], flows: new Map() };
    const summary = await replayFiles(
      [path.join(DIR, e.file)],
      { site, rules, agentId: 'test' },
      { onFinding: (f) => run.findings.push(f), onFlow: (r) => run.flows.set(r.flow, r) },
    );
    expect(summary.error).toBeNull();
    runs.set(e.file, run);
  }
}, 60_000);

const all = (): Finding[] => [...runs.values()].flatMap((r) => r.findings);

/** The first finding of `rule` in a scenario capture. */
function find(file: string, rule: string): Finding {
  const f = runs.get(file)?.findings.find((x) => x.rule === rule);
  if (!f) throw new Error(`${file}: no ${rule} finding`);
  return f;
}

describe('direction of a finding', () => {
  it('agrees with the flow table on who opened the connection, on every scenario capture', () => {
    let checked = 0;
    for (const [file, run] of runs) {
      for (const f of run.findings) {
        if (f.initiator === undefined || f.flow === undefined) continue;
        const flow = run.flows.get(f.flow);
        if (!flow || !f.peer) continue;
        // Incidents' closing records may name the opener's flow while the device is another side: skip them.
        if (f.device.ip !== flow.client.ip && f.device.ip !== flow.server.ip) continue;
        const client = f.initiator === 'device' ? f.device.ip : f.peer.ip;
        expect(client, `${file} ${f.rule} ${f.id}`).toBe(flow.client.ip);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  it('an association from the Internet to the PACS is inbound, opened by the Internet host', () => {
    const f = find('dicom-internet.pcap', 'dicom.internet-association');
    expect(f.device.name).toBe('pacs');
    expect(f.initiator).toBe('peer');
    expect(f.direction).toBe('inbound');
    const line = formatPretty(f, advice);
    const peerAt = line.indexOf(f.peer?.ip ?? '?');
    expect(peerAt).toBeGreaterThan(0);
    expect(line.indexOf(' connected inbound to pacs (10.20.40.10)')).toBeGreaterThan(peerAt);
  });

  it('HL7 from a monitor gateway to a public address is outbound, opened by the device', () => {
    const f = find('hl7-external-ip.pcap', 'hl7.internet');
    expect(f.initiator).toBe('device');
    expect(f.direction).toBe('outbound');
    const line = formatPretty(f, advice);
    expect(line).toContain(`${f.device.name ?? '?'} (${f.device.ip}`);
    expect(line.indexOf(f.device.ip)).toBeLessThan(line.indexOf(' connected outbound to '));
    expect(line.indexOf(' connected outbound to ')).toBeLessThan(line.indexOf(f.peer?.ip ?? '?'));
  });

  it('traffic between two site zones is internal, and a finding without a peer has no direction', () => {
    const every = all();
    const internal = every.filter((f) => f.direction === 'internal');
    expect(internal.length).toBeGreaterThan(0);
    const index = new SiteIndex(site);
    for (const f of internal) {
      expect(index.zoneOf(f.device.ip)).not.toBe('internet');
      expect(index.zoneOf(f.peer?.ip ?? '')).not.toBe('internet');
    }
    for (const f of every.filter((x) => x.direction === 'inbound' || x.direction === 'outbound')) {
      const opener = f.initiator === 'device' ? f.device.ip : (f.peer?.ip ?? '');
      expect(index.zoneOf(opener) === 'internet').toBe(f.direction === 'inbound');
    }
    for (const f of every.filter((x) => x.peer === undefined)) {
      expect(f.initiator).toBeUndefined();
      expect(f.direction).toBeUndefined();
    }
  });

  it('the wire accepts the fields and refuses values outside their sets', () => {
    const f = find('dicom-internet.pcap', 'dicom.internet-association');
    expect(validateFinding(JSON.parse(JSON.stringify(f))).ok).toBe(true);
    expect(validateFinding({ ...f, initiator: 'src' }).ok).toBe(false);
    expect(validateFinding({ ...f, direction: 'ingress' }).ok).toBe(false);
  });
});

describe('pretty findings', () => {
  it('read as one line with the rule, the hosts, their names and vendors, the evidence and the advice', () => {
    const every = all();
    expect(every.length).toBeGreaterThan(100);
    for (const f of every) {
      const line = formatPretty(f, advice);
      const why = `${f.rule} ${f.id}: ${line}`;
      expect(line, why).not.toMatch(/[\n\r]/);
      expect(line.startsWith(`${f.ts} ${f.severity.toUpperCase()}`), why).toBe(true);
      expect(line, why).toContain(`${f.rule}: ${f.title}`);
      for (const e of [f.device, f.peer]) {
        if (!e) continue;
        expect(line, why).toContain(e.ip);
        if (e.name !== undefined) expect(line, why).toContain(`${e.name} (${e.ip}`);
        if (e.vendor !== undefined) expect(line, why).toContain(e.vendor.slice(0, 40));
      }
      const keys = Object.keys(f.evidence).filter(
        (k) => !['first_seen', 'last_seen', 'repeat_of'].includes(k),
      );
      for (const k of keys.slice(0, 8)) expect(line, why).toContain(`${k} `);
      const def = rules.rules.find((r) => r.id === f.rule);
      const say = def ? (def.remediation || def.description).trim() : '';
      if (say) expect(line, why).toContain(`Advice: ${say.slice(0, 60)}`);
      if ((f.count ?? 1) > 1) expect(line, why).toContain(`seen ${f.count} times`);
    }
  });

  it('names the AE title a stranger called with (D1)', () => {
    const f = find('dicom-unknown-scu.pcap', 'dicom.unknown-calling-ae');
    const ae = f.evidence.calling_ae;
    expect(typeof ae).toBe('string');
    expect(formatPretty(f, advice)).toContain(`calling_ae ${String(ae)}`);
  });

  it('escapes control characters from the wire and does not guess who connected when unknown', () => {
    const f = find('dicom-internet.pcap', 'dicom.internet-association');
    const hostile: Finding = {
      ...f,
      device: { ip: '10.0.0.1', name: 'a\nFORGED 2026 CRITICAL' },
      evidence: { calling_ae: 'X\u001b[2J' },
    };
    delete hostile.initiator;
    delete hostile.direction;
    const line = formatPretty(hostile);
    expect(line).not.toContain('\n');
    expect(line).not.toContain('\u001b');
    expect(line).toContain('a\\x0aFORGED');
    expect(line).toContain('calling_ae X\\x1b[2J');
    expect(line).not.toContain('connected');
    expect(line).toContain(`on a\\x0aFORGED 2026 CRITICAL (10.0.0.1), with ${f.peer?.ip ?? '?'}`);
    expect(line).not.toContain('Advice:');
  });

  it('never throws, stays one line and lets no control character through, whatever the strings (property)', () => {
    const text = fc.string({ unit: 'binary', maxLength: 300 });
    const endpoint = fc.record(
      { ip: text, port: fc.integer({ min: 0, max: 65535 }), name: text, vendor: text },
      { requiredKeys: ['ip'] },
    );
    fc.assert(
      fc.property(
        endpoint,
        fc.option(endpoint, { nil: undefined }),
        fc.dictionary(text, fc.oneof(text, fc.integer(), fc.array(text, { maxLength: 4 }))),
        fc.constantFrom('device', 'peer', undefined),
        text,
        (device, peer, evidence, initiator, title) => {
          const f: Finding = {
            ...find('dicom-internet.pcap', 'dicom.internet-association'),
            device,
            evidence,
            title,
          };
          if (peer) f.peer = peer;
          else delete f.peer;
          if (initiator) f.initiator = initiator;
          else delete f.initiator;
          const line = formatPretty(f, advice);
          // eslint-disable-next-line no-control-regex
          expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
          expect(line.length).toBeLessThan(8000);
        },
      ),
      { numRuns: 300 },
    );
  });
});
