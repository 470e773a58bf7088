// A finding as one CEF record (Micro Focus ArcSight "Implementing ArcSight Common Event Format", rev. 25): header
// escaping, the standard extension keys a SIEM maps without a custom parser, and each value cut to its key's limit.
import { WARDWATCH_VERSION } from '../agent/wire/version.js';
import { findingClass, type Endpoint, type Finding, type Severity } from '../agent/wire/finding.js';
import { parseTs } from '../agent/wire/time.js';

const CEF_SEVERITY: Record<Severity, number> = { info: 1, low: 3, medium: 5, high: 8, critical: 10 };

/** Value length limits of the CEF guide's extension dictionary (characters); keys not listed get 1023. */
const KEY_LIMIT: Readonly<Record<string, number>> = {
  act: 63,
  app: 31,
  proto: 31,
  externalId: 40,
  smac: 17,
  dmac: 17,
  src: 15,
  dst: 15,
  dvchost: 100,
};
const DEFAULT_LIMIT = 1023;
/** Header limits: Signature ID 1023, Name 512 (CEF guide, "Header information"). */
const NAME_LIMIT = 512;
const SIGNATURE_LIMIT = 1023;
/** Evidence entries listed in the summary before "…". */
const MAX_EVIDENCE_ITEMS = 24;

/** Cut to at most `max` characters without splitting a surrogate pair; "…" marks a cut. */
export function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max - 1;
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${s.slice(0, end)}…`;
}

/** Header fields: backslash and pipe escaped, line breaks become spaces. */
export function cefHeader(s: string): string {
  return s
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ');
}

/** Extension values: backslash and equals escaped, line breaks as \n (pipes need no escape here). */
export function cefValue(s: string): string {
  return s
    .replace(/\\/g, '\\\\')
    .replace(/=/g, '\\=')
    .replace(/\r\n|\r|\n/g, '\\n');
}

function scalar(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map(scalar).join(',');
  return JSON.stringify(v);
}

/**
 * The finding's evidence as `key=value; key=value` (arrays comma-joined, objects as JSON), at most 1023
 * characters. Evidence is already redacted by the agent (no patient values); nothing else is added here.
 */
export function evidenceSummary(evidence: Record<string, unknown>): string {
  const parts: string[] = [];
  const entries = Object.entries(evidence);
  for (const [k, v] of entries.slice(0, MAX_EVIDENCE_ITEMS)) parts.push(`${k}=${scalar(v)}`);
  if (entries.length > MAX_EVIDENCE_ITEMS) parts.push('…');
  return cut(parts.join('; '), DEFAULT_LIMIT);
}

/** Transport of a finding's protocol: the clinical protocols we decode all run over TCP. */
export function transportOf(proto: string): 'tcp' | 'udp' | undefined {
  const p = proto.toLowerCase();
  if (p === 'udp' || p === 'dns') return 'udp';
  if (p === 'tcp' || p === 'hl7' || p === 'dicom' || p === 'mqtt') return 'tcp';
  return undefined;
}

/** `first_seen`/`last_seen` of a summary's evidence, else the finding's own time (µs). */
export function timeRange(f: Finding): { start: number; end: number } {
  const ts = parseTs(f.ts);
  const first = typeof f.evidence.first_seen === 'string' ? parseTs(f.evidence.first_seen) : Number.NaN;
  const last = typeof f.evidence.last_seen === 'string' ? parseTs(f.evidence.last_seen) : Number.NaN;
  return { start: Number.isNaN(first) ? ts : first, end: Number.isNaN(last) ? ts : last };
}

function ms(us: number): number | undefined {
  return Number.isNaN(us) ? undefined : Math.floor(us / 1000);
}

/**
 * The finding's two endpoints as source and destination. Source is the side that opened the connection
 * (`initiator`), as ECS, OCSF, CEF and Zeek use the words; when the finding does not say (no peer, or an older
 * agent), the device is the source, as before issue 13.
 */
export function sourceAndDestination(f: Finding): { src: Endpoint; dst: Endpoint | undefined } {
  if (f.peer && f.initiator === 'peer') return { src: f.peer, dst: f.device };
  return { src: f.device, dst: f.peer };
}

export function formatCef(f: Finding, version = WARDWATCH_VERSION): string {
  const cls = findingClass(f);
  const v6 = (ip: string | undefined): boolean => ip !== undefined && ip.includes(':');
  // src is the side that opened the connection (CEF, like ECS and OCSF, means the initiator); shost/dhost follow.
  const { src: d, dst: p } = sourceAndDestination(f);
  const { start, end } = timeRange(f);
  const transport = transportOf(f.proto);
  const ext: Array<[string, string | number | undefined]> = [
    ['rt', ms(parseTs(f.ts))],
    ['start', ms(start)],
    ['end', ms(end)],
    ['cnt', f.count],
    ['externalId', f.id],
    ['msg', f.title],
    ['cat', `${cls}/${f.proto}`],
    // wardwatch only listens: nothing is blocked; an alert pages, an exposure is a standing condition's report.
    ['act', cls === 'alert' ? 'alert' : 'report'],
    ['app', f.proto],
    ['proto', transport?.toUpperCase()],
    ['src', v6(d.ip) ? undefined : d.ip],
    ['c6a1', v6(d.ip) ? d.ip : undefined],
    ['c6a1Label', v6(d.ip) ? 'Source IPv6 Address' : undefined],
    ['spt', d.port],
    ['smac', d.mac],
    ['shost', d.name],
    ['dst', p && !v6(p.ip) ? p.ip : undefined],
    ['c6a3', p && v6(p.ip) ? p.ip : undefined],
    ['c6a3Label', p && v6(p.ip) ? 'Destination IPv6 Address' : undefined],
    ['dpt', p?.port],
    ['dmac', p?.mac],
    ['dhost', p?.name],
    // deviceDirection: 0 inbound, 1 outbound; CEF has no word for traffic that stays inside or outside.
    ['deviceDirection', f.direction === 'inbound' ? 0 : f.direction === 'outbound' ? 1 : undefined],
    ['dvchost', f.agent],
    ['cs1Label', 'attack'],
    ['cs1', f.attack.join(',')],
    ['cs2Label', 'agent'],
    ['cs2', f.agent],
    ['cs3Label', 'evidence'],
    ['cs3', evidenceSummary(f.evidence)],
    ['cs4Label', 'class'],
    ['cs4', cls],
    ['cs5Label', 'rule'],
    ['cs5', f.rule],
    ['cs6Label', 'incident'],
    ['cs6', f.incident],
    ['flexString1Label', f.community_id !== undefined ? 'community_id' : undefined],
    ['flexString1', f.community_id],
    ['flexString2Label', f.flow !== undefined ? 'flow' : undefined],
    ['flexString2', f.flow],
  ];
  const present = ext.filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== '');
  const keys = new Set(present.map(([k]) => k));
  // A label only beside its value.
  const body = present
    .filter(([k]) => !k.endsWith('Label') || keys.has(k.slice(0, -'Label'.length)))
    .map(([k, v]) => `${k}=${cefValue(cut(String(v), KEY_LIMIT[k] ?? DEFAULT_LIMIT))}`)
    .join(' ');
  const head = [
    'CEF:0',
    'wardwatch',
    'wardwatch',
    cefHeader(version),
    cefHeader(cut(f.rule, SIGNATURE_LIMIT)),
    cefHeader(cut(f.title, NAME_LIMIT)),
    String(CEF_SEVERITY[f.severity]),
  ];
  return `${head.join('|')}|${body}`;
}
