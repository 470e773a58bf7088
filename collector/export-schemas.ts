// A finding in the shapes SIEMs already parse: Elastic Common Schema (ECS 8.11) and OCSF 1.4 Detection Finding
// (class 2004). Field lists and the trimmed JSON Schemas the tests check them against: collector/schemas/.
// Only what the finding holds goes out: the agent already redacted its evidence (no patient values).
import { WARDWATCH_VERSION } from '../agent/wire/version.js';
import {
  findingClass,
  type Direction,
  type Endpoint,
  type Finding,
  type Severity,
} from '../agent/wire/finding.js';
import { parseTs } from '../agent/wire/time.js';
import { sourceAndDestination, timeRange, transportOf } from './export-cef.js';

export const EXPORT_FORMATS = ['jsonl', 'ecs', 'ocsf'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const ECS_VERSION = '8.11.0';
export const OCSF_VERSION = '1.4.0';
const ATTACK_FRAMEWORK = 'MITRE ATT&CK for ICS';

/** The same scale as CEF's header severity, so both exports rank a finding alike. */
const NUMERIC_SEVERITY: Record<Severity, number> = { info: 1, low: 3, medium: 5, high: 8, critical: 10 };
/** OCSF severity_id: 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical. */
const OCSF_SEVERITY: Record<Severity, [number, string]> = {
  info: [1, 'Informational'],
  low: [2, 'Low'],
  medium: [3, 'Medium'],
  high: [4, 'High'],
  critical: [5, 'Critical'],
};

/** ECS writes MAC addresses as RFC 7042 says: upper-case octets joined by hyphens. */
export function ecsMac(mac: string): string {
  return mac.toUpperCase().replace(/:/g, '-');
}

function techniqueRef(id: string): string {
  // Sub-techniques (T1234.001) live under /techniques/T1234/001/.
  return `https://attack.mitre.org/techniques/${id.replace('.', '/')}/`;
}

type Json = Record<string, unknown>;

/** Drops undefined members so the record carries only what the finding has. */
function compact<T extends Json>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

function ecsEndpoint(e: Endpoint | undefined): Json | undefined {
  if (!e) return undefined;
  return compact({
    ip: e.ip,
    address: e.ip,
    port: e.port,
    mac: e.mac !== undefined ? ecsMac(e.mac) : undefined,
  });
}

/** OCSF connection_info.direction_id: 1 Inbound, 2 Outbound, 3 Lateral, 99 Other (both ends outside the site). */
const OCSF_DIRECTION: Record<Direction, [number, string]> = {
  inbound: [1, 'Inbound'],
  outbound: [2, 'Outbound'],
  internal: [3, 'Lateral'],
  external: [99, 'Other'],
};

/**
 * ECS: the side that opened the connection is `source` (sourceAndDestination), `network.direction` the
 * finding's direction; `host` is always the device the finding is about (its address and asset name),
 * `observer` the agent that saw it. wardwatch's own fields (class, flow, evidence) go under `wardwatch.*`.
 */
export function toEcs(f: Finding, version = WARDWATCH_VERSION): Json {
  const cls = findingClass(f);
  const transport = transportOf(f.proto);
  const ends = sourceAndDestination(f);
  const ips = [...new Set([f.device.ip, ...(f.peer ? [f.peer.ip] : [])])];
  const { start, end } = timeRange(f);
  const iso = (us: number): string | undefined =>
    Number.isNaN(us) ? undefined : new Date(us / 1000).toISOString();
  return compact({
    '@timestamp': f.ts,
    ecs: { version: ECS_VERSION },
    message: f.title,
    event: compact({
      kind: 'alert',
      category: ['network', 'intrusion_detection'],
      type: ['info'],
      severity: NUMERIC_SEVERITY[f.severity],
      id: f.id,
      code: f.rule,
      module: 'wardwatch',
      dataset: 'wardwatch.finding',
      provider: f.agent,
      start: iso(start),
      end: iso(end),
    }),
    rule: compact({
      id: f.rule,
      name: f.title,
      description: f.title,
      category: f.proto,
      ruleset: 'wardwatch',
    }),
    threat:
      f.attack.length > 0
        ? {
            framework: ATTACK_FRAMEWORK,
            technique: { id: [...f.attack], reference: f.attack.map(techniqueRef) },
          }
        : undefined,
    source: ecsEndpoint(ends.src),
    destination: ecsEndpoint(ends.dst),
    network: compact({
      direction: f.direction,
      transport,
      protocol: f.proto.toLowerCase(),
      community_id: f.community_id,
      type: f.device.ip.includes(':') ? 'ipv6' : 'ipv4',
    }),
    observer: { name: f.agent, type: 'ids', vendor: 'wardwatch', product: 'wardwatch', version },
    host: compact({ ip: [f.device.ip], name: f.device.name }),
    related: { ip: ips },
    labels: compact({ class: cls, incident: f.incident }),
    wardwatch: compact({
      class: cls,
      severity: f.severity,
      count: f.count,
      flow: f.flow,
      incident: f.incident,
      initiator: f.initiator,
      evidence: f.evidence,
    }),
  });
}

function ocsfEndpoint(e: Endpoint | undefined): Json | undefined {
  if (!e) return undefined;
  return compact({ ip: e.ip, port: e.port, mac: e.mac, name: e.name });
}

/**
 * OCSF Detection Finding: `activity_id` 1 (Create) for a new finding, 2 (Update) for a record that updates
 * an earlier one (a repeat summary, or an incident's closing summary). The endpoints and the connection
 * (Community ID as `community_uid`) are the finding's evidence artifacts (`evidences[0]`), where OCSF 1.1+
 * puts them for this class; ATT&CK is in `attacks` (Security Control profile) and `finding_info.attacks`.
 */
export function toOcsf(f: Finding, version = WARDWATCH_VERSION): Json {
  const cls = findingClass(f);
  const ts = parseTs(f.ts);
  const { start, end } = timeRange(f);
  const update =
    (f.incident !== undefined && f.incident !== f.id) || typeof f.evidence.repeat_of === 'string';
  const activityId = update ? 2 : 1;
  const [severityId, severity] = OCSF_SEVERITY[f.severity];
  const attacks = f.attack.map((id) => ({ technique: { uid: id } }));
  const transport = transportOf(f.proto);
  const observables: Json[] = [];
  const observe = (name: string, typeId: number, type: string, value: string | undefined): void => {
    if (value !== undefined) observables.push({ name, type_id: typeId, type, value });
  };
  const { src, dst } = sourceAndDestination(f);
  const direction = f.direction !== undefined ? OCSF_DIRECTION[f.direction] : undefined;
  observe('evidences[0].src_endpoint.ip', 2, 'IP Address', src.ip);
  observe('evidences[0].src_endpoint.mac', 3, 'MAC Address', src.mac);
  observe('evidences[0].src_endpoint.name', 1, 'Hostname', src.name);
  observe('evidences[0].dst_endpoint.ip', 2, 'IP Address', dst?.ip);
  observe('evidences[0].dst_endpoint.mac', 3, 'MAC Address', dst?.mac);
  observe('evidences[0].dst_endpoint.name', 1, 'Hostname', dst?.name);
  const ms = (us: number): number | undefined => (Number.isNaN(us) ? undefined : Math.floor(us / 1000));
  return compact({
    activity_id: activityId,
    activity_name: update ? 'Update' : 'Create',
    category_uid: 2,
    category_name: 'Findings',
    class_uid: 2004,
    class_name: 'Detection Finding',
    type_uid: 2004 * 100 + activityId,
    type_name: `Detection Finding: ${update ? 'Update' : 'Create'}`,
    severity_id: severityId,
    severity,
    time: ms(ts),
    start_time: ms(start),
    end_time: ms(end),
    count: f.count,
    message: f.title,
    status_id: 1,
    status: 'New',
    is_alert: cls === 'alert',
    metadata: compact({
      version: OCSF_VERSION,
      product: { name: 'wardwatch', vendor_name: 'wardwatch', version },
      profiles: ['security_control'],
      uid: f.id,
      correlation_uid: f.incident,
      log_name: cls,
    }),
    finding_info: compact({
      uid: f.id,
      title: f.title,
      types: [f.rule, cls],
      analytic: { uid: f.rule, name: f.rule, type_id: 1, type: 'Rule' },
      attacks: attacks.length > 0 ? attacks : undefined,
      first_seen_time: ms(start),
      last_seen_time: ms(end),
    }),
    attacks: attacks.length > 0 ? attacks : undefined,
    evidences: [
      compact({
        src_endpoint: ocsfEndpoint(src),
        dst_endpoint: ocsfEndpoint(dst),
        connection_info:
          f.community_id !== undefined || transport !== undefined || direction !== undefined
            ? compact({
                community_uid: f.community_id,
                direction_id: direction?.[0],
                direction: direction?.[1],
                protocol_name: transport,
                protocol_num: transport === 'tcp' ? 6 : transport === 'udp' ? 17 : undefined,
              })
            : undefined,
        data: f.evidence,
      }),
    ],
    observables,
    unmapped: compact({
      agent: f.agent,
      flow: f.flow,
      proto: f.proto,
      class: cls,
      device_ip: f.device.ip,
      initiator: f.initiator,
    }),
  });
}

/** One export line's object in the chosen format (`jsonl`: the finding with its class spelled out). */
export function formatRecord(f: Finding, format: ExportFormat, version = WARDWATCH_VERSION): Json | Finding {
  if (format === 'ecs') return toEcs(f, version);
  if (format === 'ocsf') return toOcsf(f, version);
  return { ...f, class: findingClass(f) };
}
