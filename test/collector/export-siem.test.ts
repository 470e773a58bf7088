// SIEM-native records (issue 14): ECS and OCSF checked against the trimmed schemas in collector/schemas/, on the
// findings of our scenario captures and on edge cases; CEF with every standard key, escaping and length limits.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { evidenceSummary, formatCef } from '../../collector/export-cef.js';
import { formatRecord, toEcs, toOcsf } from '../../collector/export-schemas.js';
import { formatSyslog } from '../../collector/export.js';
import { replayFiles } from '../../agent/pipeline.js';
import { loadRules } from '../../agent/engine/rules/rules.js';
import { loadSite } from '../../agent/engine/site/site.js';
import type { Finding } from '../../agent/wire/finding.js';
import { FIXTURES, REPO_ROOT } from '../helpers/paths.js';
import { makeFinding, tempDir, waitFor } from './helpers.js';
import { openTestAgent, startTestCollector } from '../helpers/collector.js';
import { validate, type Schema } from './json-schema-lite.js';

const SCHEMAS = path.join(REPO_ROOT, 'collector', 'schemas');
const ecsSchema = JSON.parse(readFileSync(path.join(SCHEMAS, 'ecs-finding.schema.json'), 'utf8')) as Schema;
const ocsfSchema = JSON.parse(
  readFileSync(path.join(SCHEMAS, 'ocsf-detection-finding.schema.json'), 'utf8'),
) as Schema;

const CID = '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=';

/** Every string anywhere in a JSON value. */
function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (typeof v === 'object' && v !== null) for (const x of Object.values(v)) strings(x, out);
  return out;
}

/** Strings an export may add that the finding does not hold: schema vocabulary, dates, links, labels. */
const VOCABULARY = new Set([
  ...['alert', 'exposure', 'network', 'intrusion_detection', 'info', 'wardwatch', 'wardwatch.finding', 'ids'],
  ...['MITRE ATT&CK for ICS', 'tcp', 'udp', 'ipv4', 'ipv6', '8.11.0', '1.4.0', '0.1.0', 'Findings'],
  ...['Detection Finding', 'Detection Finding: Create', 'Detection Finding: Update', 'Create', 'Update'],
  ...['Informational', 'Low', 'Medium', 'High', 'Critical', 'New', 'Rule', 'security_control'],
  ...['IP Address', 'MAC Address', 'Hostname'],
  ...['inbound', 'outbound', 'internal', 'external', 'Inbound', 'Outbound', 'Lateral', 'Other'],
]);

/** The export adds no text of its own beyond the vocabulary: no payload can have crept in. */
function foreignStrings(exported: unknown, f: Finding): string[] {
  const own = new Set(strings(f).map((s) => s.toLowerCase().replace(/-/g, ':')));
  return strings(exported).filter(
    (s) =>
      !own.has(s.toLowerCase().replace(/-/g, ':')) &&
      !VOCABULARY.has(s) &&
      !/^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/.test(s) &&
      !/^https:\/\/attack\.mitre\.org\/techniques\/T\d{4}\/$/.test(s) &&
      !/^evidences\[0\]\.(src|dst)_endpoint\.(ip|mac|name)$/.test(s),
  );
}

describe('ECS and OCSF on the findings of our scenario captures', () => {
  const findings: Finding[] = [];
  beforeAll(async () => {
    const site = loadSite(path.join(FIXTURES, 'site.yaml'));
    const rules = loadRules(path.join(REPO_ROOT, 'rules'));
    const dir = path.join(FIXTURES, 'scenarios');
    const files = readFileSync(path.join(dir, 'manifest.yaml'), 'utf8')
      .split('\n')
      .map((l) => /^\s+- file: (\S+\.pcap)$/.exec(l)?.[1])
      .filter((f): f is string => f !== undefined);
    for (const file of files) {
      await replayFiles(
        [path.join(dir, file)],
        { site, rules, agentId: 'ward3' },
        {
          onFinding: (f) => findings.push(f),
        },
      );
    }
  });

  it('every finding validates as ECS and as an OCSF Detection Finding, and adds no text of its own', () => {
    expect(findings.length).toBeGreaterThan(50);
    for (const f of findings) {
      const ecs = toEcs(f);
      const ocsf = toOcsf(f);
      expect(validate(ecsSchema, ecs), f.id).toEqual([]);
      expect(validate(ocsfSchema, ocsf), f.id).toEqual([]);
      expect(foreignStrings(ecs, f), f.id).toEqual([]);
      expect(foreignStrings(ocsf, f), f.id).toEqual([]);
    }
    // Exposures, incidents, findings with and without a flow are all among them.
    expect(findings.some((f) => f.class === 'exposure')).toBe(true);
    expect(findings.some((f) => f.incident !== undefined && f.incident !== f.id)).toBe(true);
    expect(findings.some((f) => f.community_id !== undefined)).toBe(true);
    expect(findings.some((f) => f.flow === undefined)).toBe(true);
    console.info(`ECS and OCSF: ${findings.length} scenario findings validated`);
  });

  it('the incident-closing record keeps its opener community_id and is an OCSF Update', () => {
    const closing = findings.filter((f) => 'incident_rules' in f.evidence);
    expect(closing.length).toBeGreaterThan(0);
    for (const c of closing) {
      const opener = findings.find((f) => f.id === c.incident);
      expect(opener).toBeDefined();
      expect(c.community_id).toBe(opener?.community_id);
      expect(toOcsf(c)).toMatchObject({ activity_id: 2, type_uid: 200402 });
    }
  });
});

describe('ECS record', () => {
  it('maps a finding to the ECS fields a SIEM reads', () => {
    const f = makeFinding(7, 'ward3', {
      severity: 'high',
      rule: 'mqtt.command-unexpected-client',
      title: 'MQTT command from an unexpected client',
      attack: ['T0855', 'T0836'],
      device: { ip: '10.20.30.17', port: 51000, mac: '00:1a:2b:3c:4d:5e', name: 'pump-07' },
      peer: { ip: '10.20.60.2', port: 1883, name: 'broker-1' },
      community_id: CID,
      incident: 'ward3-f1',
      count: 3,
    });
    const e = toEcs(f, '1.2.3');
    expect(validate(ecsSchema, e)).toEqual([]);
    expect(e).toMatchObject({
      '@timestamp': f.ts,
      event: {
        kind: 'alert',
        category: ['network', 'intrusion_detection'],
        type: ['info'],
        severity: 8,
        id: f.id,
      },
      rule: { id: 'mqtt.command-unexpected-client', name: f.title, description: f.title },
      threat: { framework: 'MITRE ATT&CK for ICS', technique: { id: ['T0855', 'T0836'] } },
      source: { ip: '10.20.30.17', port: 51000, mac: '00-1A-2B-3C-4D-5E' },
      destination: { ip: '10.20.60.2', port: 1883 },
      network: { transport: 'tcp', protocol: 'mqtt', community_id: CID, type: 'ipv4' },
      observer: { name: 'ward3', type: 'ids', vendor: 'wardwatch', product: 'wardwatch', version: '1.2.3' },
      related: { ip: ['10.20.30.17', '10.20.60.2'] },
      host: { name: 'pump-07' },
      labels: { class: 'alert', incident: 'ward3-f1' },
    });
  });

  it('leaves out what the finding does not have, and refuses a field the schema does not list', () => {
    const f = makeFinding(1, 'a', { attack: [], evidence: {} });
    delete f.peer;
    delete f.flow;
    const e = toEcs(f);
    expect(validate(ecsSchema, e)).toEqual([]);
    expect(e).not.toHaveProperty('threat');
    expect(e).not.toHaveProperty('destination');
    // host is the device the finding is about, whatever side opened the connection.
    expect(e.host).toEqual({ ip: [f.device.ip] });
    expect(validate(ecsSchema, { ...e, source: { ip: '10.0.0.1', mac: '00:1a:2b:3c:4d:5e' } })).toEqual([
      '$.source.mac: "00:1a:2b:3c:4d:5e" does not match ^[0-9A-F]{2}(-[0-9A-F]{2}){5}$',
    ]);
    expect(validate(ecsSchema, { ...e, payload: 'x' })).toEqual(['$: unexpected field payload']);
  });
});

describe('OCSF Detection Finding', () => {
  it('maps class, activity, severity, time, finding_info, endpoints, attacks and observables', () => {
    const f = makeFinding(8, 'ward3', {
      severity: 'critical',
      device: { ip: 'fd00::17', port: 4242, mac: '00:1a:2b:3c:4d:5e', name: 'ct-1' },
      peer: { ip: 'fd00::2', port: 104 },
      proto: 'dicom',
      community_id: CID,
    });
    const o = toOcsf(f, '1.2.3');
    expect(validate(ocsfSchema, o)).toEqual([]);
    expect(o).toMatchObject({
      class_uid: 2004,
      category_uid: 2,
      activity_id: 1,
      type_uid: 200401,
      severity_id: 5,
      severity: 'Critical',
      time: Date.UTC(2026, 10, 28, 10, 0, 0) + 8,
      is_alert: true,
      metadata: {
        version: '1.4.0',
        product: { name: 'wardwatch', vendor_name: 'wardwatch', version: '1.2.3' },
      },
      finding_info: { uid: f.id, title: f.title, types: [f.rule, 'alert'] },
      attacks: [{ technique: { uid: 'T0846' } }],
      evidences: [
        {
          src_endpoint: { ip: 'fd00::17', port: 4242, mac: '00:1a:2b:3c:4d:5e', name: 'ct-1' },
          dst_endpoint: { ip: 'fd00::2', port: 104 },
          connection_info: { community_uid: CID, protocol_name: 'tcp', protocol_num: 6 },
        },
      ],
    });
    expect(o.observables).toEqual([
      { name: 'evidences[0].src_endpoint.ip', type_id: 2, type: 'IP Address', value: 'fd00::17' },
      { name: 'evidences[0].src_endpoint.mac', type_id: 3, type: 'MAC Address', value: '00:1a:2b:3c:4d:5e' },
      { name: 'evidences[0].src_endpoint.name', type_id: 1, type: 'Hostname', value: 'ct-1' },
      { name: 'evidences[0].dst_endpoint.ip', type_id: 2, type: 'IP Address', value: 'fd00::2' },
    ]);
    // Severities 1..5 and an exposure is no alert.
    const ids = (['info', 'low', 'medium', 'high', 'critical'] as const).map(
      (severity) => toOcsf(makeFinding(1, 'a', { severity })).severity_id,
    );
    expect(ids).toEqual([1, 2, 3, 4, 5]);
    expect(toOcsf(makeFinding(1, 'a', { class: 'exposure' })).is_alert).toBe(false);
  });

  it('the export formats: jsonl is our finding with class, ecs and ocsf the mapped records', () => {
    const f = makeFinding(2);
    expect(formatRecord(f, 'jsonl')).toEqual({ ...f, class: 'alert' });
    expect(formatRecord(f, 'ecs')).toEqual(toEcs(f));
    expect(formatRecord(f, 'ocsf')).toEqual(toOcsf(f));
    const body = formatSyslog(f, { hostname: 'h', format: 'ocsf' }).split('] ').slice(1).join('] ');
    expect(JSON.parse(body)).toEqual(toOcsf(f));
  });
});

describe('direction: source is the side that opened the connection (issue 13)', () => {
  const inside = { ip: '10.20.40.10', name: 'pacs', mac: '00:1a:2b:3c:4d:5e' };
  const outside = { ip: '198.51.100.7', port: 40548 };
  const inbound = makeFinding(7, 'ward3', {
    device: inside,
    peer: outside,
    initiator: 'peer',
    direction: 'inbound',
  });
  const outbound = makeFinding(8, 'ward3', {
    device: inside,
    peer: { ip: '203.0.113.80', port: 6661 },
    initiator: 'device',
    direction: 'outbound',
  });

  it('ECS: an inbound finding has the Internet host as source and the device as host', () => {
    const e = toEcs(inbound) as Record<string, Record<string, unknown>>;
    expect(validate(ecsSchema, e)).toEqual([]);
    expect(e.source).toMatchObject({ ip: outside.ip, port: outside.port });
    expect(e.destination).toMatchObject({ ip: inside.ip });
    expect(e.network?.direction).toBe('inbound');
    expect(e.host).toEqual({ ip: [inside.ip], name: 'pacs' });
    const o = toEcs(outbound) as Record<string, Record<string, unknown>>;
    expect(o.source).toMatchObject({ ip: inside.ip });
    expect(o.destination).toMatchObject({ ip: '203.0.113.80', port: 6661 });
    expect(o.network?.direction).toBe('outbound');
  });

  it('OCSF: src_endpoint is the initiator and connection_info says the direction', () => {
    const r = toOcsf(inbound) as { evidences: Record<string, Record<string, unknown>>[] };
    expect(validate(ocsfSchema, r)).toEqual([]);
    const ev = r.evidences[0];
    expect(ev?.src_endpoint).toMatchObject({ ip: outside.ip });
    expect(ev?.dst_endpoint).toMatchObject({ ip: inside.ip, name: 'pacs' });
    expect(ev?.connection_info).toMatchObject({ direction_id: 1, direction: 'Inbound' });
    const o = toOcsf({ ...outbound, direction: 'internal' }) as typeof r;
    expect(o.evidences[0]?.src_endpoint).toMatchObject({ ip: inside.ip });
    expect(o.evidences[0]?.connection_info).toMatchObject({ direction_id: 3, direction: 'Lateral' });
  });

  it('CEF: src/shost are the initiator, deviceDirection 0 inbound and 1 outbound', () => {
    const line = formatCef(inbound);
    expect(line).toContain(`src=${outside.ip}`);
    expect(line).toContain(`spt=${outside.port}`);
    expect(line).toContain(`dst=${inside.ip}`);
    expect(line).toContain('dhost=pacs');
    expect(line).toContain('deviceDirection=0');
    const out = formatCef(outbound);
    expect(out).toContain(`src=${inside.ip}`);
    expect(out).toContain('shost=pacs');
    expect(out).toContain('deviceDirection=1');
    expect(formatCef({ ...outbound, direction: 'internal' })).not.toContain('deviceDirection');
  });

  it('without an initiator (older agents) the device stays the source', () => {
    const old = { ...inbound };
    delete old.initiator;
    delete old.direction;
    expect((toEcs(old) as Record<string, unknown>).source).toMatchObject({ ip: inside.ip });
    expect(formatCef(old)).toContain(`src=${inside.ip}`);
  });
});

describe('collector --export-format', () => {
  it.each(['ecs', 'ocsf'] as const)(
    'writes each newly stored finding once as %s to the JSON lines file',
    async (format) => {
      const dir = tempDir();
      const jsonl = path.join(dir, 'findings.jsonl');
      const col = await startTestCollector({ dir, export: { jsonl, format } });
      const t = await openTestAgent(col.wsUrl);
      const sent = Array.from({ length: 5 }, (_, i) =>
        makeFinding(i, 'agent-a', {
          community_id: CID,
          device: { ip: `10.20.30.${i + 1}`, name: `pump-0${i}` },
        }),
      );
      for (const f of [...sent, ...sent]) t.send(f);
      await t.drain();
      const lines = (): string[] => {
        try {
          return readFileSync(jsonl, 'utf8')
            .split('\n')
            .filter((l) => l !== '');
        } catch {
          return [];
        }
      };
      await waitFor(() => lines().length >= 5, 'five export lines');
      await t.close();
      await col.close();
      const records = lines().map((l) => JSON.parse(l) as Record<string, unknown>);
      const schema = format === 'ecs' ? ecsSchema : ocsfSchema;
      for (const r of records) expect(validate(schema, r)).toEqual([]);
      const expected = sent.map((f) => (format === 'ecs' ? toEcs(f) : toOcsf(f)));
      expect(records).toEqual(expect.arrayContaining(expected));
      expect(records.length).toBe(5);
    },
  );
});

/** CEF extension `key=value` pairs (values end where the next unescaped ` key=` starts). */
function extensions(cef: string): Map<string, string> {
  const body = cef
    .split(/(?<!\\)\|/)
    .slice(7)
    .join('|');
  const out = new Map<string, string>();
  const re = /(?:^| )([A-Za-z0-9]+)=((?:\\.|[^\\])*?)(?= [A-Za-z0-9]+=|$)/g;
  for (const m of body.matchAll(re)) out.set(m[1] ?? '', m[2] ?? '');
  return out;
}

describe('CEF complete', () => {
  it('carries every standard key for IPv4 and its labels', () => {
    const f = makeFinding(3, 'ward3', {
      severity: 'medium',
      device: { ip: '10.20.30.17', port: 51000, mac: '00:1a:2b:3c:4d:5e', name: 'pump-07' },
      peer: { ip: '10.20.60.2', port: 1883, mac: '00:aa:bb:cc:dd:ee', name: 'broker-1' },
      community_id: CID,
      incident: 'ward3-f1',
      count: 4,
      attack: ['T0855', 'T0836'],
      evidence: {
        topic: 'ward3/pump-07/cmd',
        client_id: 'pump-07',
        first_seen: '2026-11-28T09:59:00.000000Z',
      },
    });
    const x = extensions(formatCef(f, '1.0.0'));
    expect(Object.fromEntries(x)).toEqual({
      rt: String(Date.UTC(2026, 10, 28, 10, 0, 0) + 3),
      start: String(Date.UTC(2026, 10, 28, 9, 59, 0)),
      end: String(Date.UTC(2026, 10, 28, 10, 0, 0) + 3),
      cnt: '4',
      externalId: f.id,
      msg: f.title,
      cat: 'alert/mqtt',
      act: 'alert',
      app: 'mqtt',
      proto: 'TCP',
      src: '10.20.30.17',
      spt: '51000',
      smac: '00:1a:2b:3c:4d:5e',
      shost: 'pump-07',
      dst: '10.20.60.2',
      dpt: '1883',
      dmac: '00:aa:bb:cc:dd:ee',
      dhost: 'broker-1',
      dvchost: 'ward3',
      cs1Label: 'attack',
      cs1: 'T0855,T0836',
      cs2Label: 'agent',
      cs2: 'ward3',
      cs3Label: 'evidence',
      cs3: 'topic\\=ward3/pump-07/cmd; client_id\\=pump-07; first_seen\\=2026-11-28T09:59:00.000000Z',
      cs4Label: 'class',
      cs4: 'alert',
      cs5Label: 'rule',
      cs5: f.rule,
      cs6Label: 'incident',
      cs6: 'ward3-f1',
      flexString1Label: 'community_id',
      flexString1: CID.replace('=', '\\='),
      flexString2Label: 'flow',
      flexString2: 'flow-3',
    });
  });

  it('puts IPv6 addresses in c6a1/c6a3 with labels, never in src/dst', () => {
    const f = makeFinding(4, 'a', {
      device: { ip: 'fd00::17', port: 4242 },
      peer: { ip: '2001:db8::2', port: 104 },
      proto: 'dicom',
      class: 'exposure',
    });
    const x = extensions(formatCef(f));
    expect(x.has('src')).toBe(false);
    expect(x.has('dst')).toBe(false);
    expect(x.get('c6a1')).toBe('fd00::17');
    expect(x.get('c6a1Label')).toBe('Source IPv6 Address');
    expect(x.get('c6a3')).toBe('2001:db8::2');
    expect(x.get('c6a3Label')).toBe('Destination IPv6 Address');
    expect(x.get('act')).toBe('report');
    expect(x.get('cat')).toBe('exposure/dicom');
    // No incident, no label without it.
    expect(x.has('cs6')).toBe(false);
    expect(x.has('cs6Label')).toBe(false);
  });

  it('escapes header and extension values and keeps one line', () => {
    const f = makeFinding(5, 'a', {
      rule: 'r|x\\y',
      title: 'pipe | back\\slash\nnext line',
      device: { ip: '10.0.0.1', name: 'a=b\\c\r\nd' },
      evidence: { 'k=|': 'v\\=\n' },
    });
    const cef = formatCef(f);
    expect(cef).not.toMatch(/[\r\n]/);
    const head = cef.split(/(?<!\\)\|/);
    expect(head.slice(4, 7)).toEqual(['r\\|x\\\\y', 'pipe \\| back\\\\slash next line', '1']);
    const x = extensions(cef);
    expect(x.get('shost')).toBe('a\\=b\\\\c\\nd');
    expect(x.get('msg')).toBe('pipe | back\\\\slash\\nnext line');
    expect(x.get('cs3')).toBe('k\\=|\\=v\\\\\\=\\n');
  });

  it('cuts values to their key limits: cs* and msg 1023, act 63, header name 512', () => {
    const long = 'x'.repeat(5000);
    const f = makeFinding(6, 'a', {
      title: long,
      evidence: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`key${i}`, long])),
      agent: 'y'.repeat(2000),
    });
    const cef = formatCef(f);
    const x = extensions(cef);
    expect(x.get('msg')?.length).toBe(1023);
    // The limit is on the value; its escaping (here `key0\=`) may add characters on the wire.
    const cs3 = (x.get('cs3') ?? '').replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
    expect(cs3.length).toBe(1023);
    expect(cs3.endsWith('…')).toBe(true);
    expect(x.get('cs2')?.length).toBe(1023);
    expect(cef.split(/(?<!\\)\|/)[5]?.length).toBe(512);
    // An escape sequence is never cut in half: the cut happens before escaping.
    const eq = extensions(formatCef(makeFinding(6, 'a', { title: '='.repeat(2000) }))).get('msg') ?? '';
    expect(eq).toMatch(/^(\\=)+…$/);
    expect(evidenceSummary(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, i])))).toMatch(
      /; …$/,
    );
  });
});
