// The collector's store contract (issue 14.4): one async interface, implemented on SQLite (store-sqlite.ts, one
// collector, zero setup) and on PostgreSQL (store-pg.ts, several collectors sharing one database). The row and query
// types, the triage workflow and the pure helpers both backends share live here.
import {
  SEVERITIES,
  severityRank,
  type Endpoint,
  type Finding,
  type FindingClass,
  type Severity,
} from '../agent/wire/finding.js';
import type { DeviceBaseline } from '../agent/wire/baseline.js';
import type { DeviceAttribute, DeviceRecord, RuleInfo, StatsMessage } from '../agent/wire/messages.js';
import { formatTs, parseTs } from '../agent/wire/time.js';

export interface RetentionOptions {
  /** Findings received longer ago than this are deleted. */
  maxAgeSeconds?: number;
  /** At most this many findings are kept (newest by arrival). */
  maxCount?: number;
}

export interface FindingQuery {
  limit?: number;
  cursor?: string;
  since?: string;
  until?: string;
  /** Minimum severity. */
  severity?: Severity;
  rule?: string;
  /** Matches device IP, MAC or name. */
  device?: string;
  /** Matches any host involved: the device's IP, MAC or name, or the peer's IP (issue 13: the side that connected). */
  host?: string;
  agent?: string;
  /** Which findings: alerts, exposure reports, or all (the default here; the HTTP API defaults to alerts). */
  class?: FindingClass | 'all';
}

export interface ExposureQuery {
  limit?: number;
  cursor?: string;
  /** Minimum severity. */
  severity?: Severity;
  rule?: string;
  /** Matches device IP, MAC or name. */
  device?: string;
  agent?: string;
}

/** A standing condition of a device, aggregated over its exposure findings. */
export interface Exposure {
  agent: string;
  rule: string;
  severity: Severity;
  title: string;
  proto: string;
  device: Endpoint;
  peer?: Endpoint;
  first_seen: string;
  last_seen: string;
  /** Occurrences: the sum of the counts of every exposure finding stored (each id once). */
  count: number;
  /** Evidence of the latest report. */
  evidence: Record<string, unknown>;
  /** Id of the latest report. */
  finding: string;
}

export interface AgentRow {
  name: string;
  version: string | null;
  first_seen: string;
  last_seen: string;
  last_seq: number;
  connected: boolean;
  stats: Omit<StatsMessage, 'type'> | null;
}

export interface StoredDevice extends DeviceRecord {
  agents: string[];
  /** The device's exposures, newest first, at most MAX_DEVICE_EXPOSURES. */
  exposures?: Exposure[];
  /** Present and true when the device has more exposures than listed. */
  exposures_truncated?: boolean;
}

export interface DeviceMergeResult {
  /** Records merged (new devices and updates). */
  merged: number;
  /** New devices refused because the agent reached its device cap. */
  refused: number;
}

/** A device's baseline as the review sees it: the latest learned and approved versions. */
export interface BaselineRow {
  device: string;
  learned: DeviceBaseline | null;
  approved: DeviceBaseline | null;
  learned_version: number | null;
  approved_version: number | null;
  /** The agent that uploaded the latest learned version. */
  learned_by: string | null;
  approved_by: string | null;
  approved_at: string | null;
  updated_at: string;
}

export const BASELINE_KINDS = ['learned', 'approved'] as const;
export type BaselineKind = (typeof BASELINE_KINDS)[number];

/** One stored version of a device's baseline. */
export interface BaselineVersion {
  device: string;
  version: number;
  kind: BaselineKind;
  by: string;
  at: string;
  /** The agent that uploaded it (learned versions); null for a person's approval. */
  agent: string | null;
}

/** What an approval or rejection audit entry records instead of a triage status. */
export type BaselineAction = 'learned' | 'approved' | 'rejected';

/** Triage states of an alert (kept per incident: an incident's updates share its opener's status). */
export const TRIAGE_STATUSES = ['open', 'acknowledged', 'resolved', 'false-positive'] as const;
export type TriageStatus = (typeof TRIAGE_STATUSES)[number];

/**
 * Allowed moves: open → acknowledged → resolved | false-positive (open may skip acknowledging), and back to open
 * from anywhere (a resolved incident that turns out not to be). Moving to the current status is a no-op.
 */
export const TRANSITIONS: Record<TriageStatus, readonly TriageStatus[]> = {
  open: ['acknowledged', 'resolved', 'false-positive'],
  acknowledged: ['resolved', 'false-positive', 'open'],
  resolved: ['open'],
  'false-positive': ['open'],
};

export class TransitionError extends Error {}

export const INCIDENT_SORTS = ['time', 'severity', 'rule', 'findings'] as const;
export type IncidentSort = (typeof INCIDENT_SORTS)[number];

export interface IncidentQuery {
  limit?: number;
  offset?: number;
  since?: string;
  until?: string;
  /** Minimum severity of the findings counted. */
  severity?: Severity;
  rule?: string;
  device?: string;
  agent?: string;
  /** A zone named in the findings' evidence (src.zone, dst.zone or zone). */
  zone?: string;
  status?: TriageStatus[];
  /** Free text, case-insensitive, in the rule id or the title. */
  q?: string;
  sort?: IncidentSort;
  order?: 'asc' | 'desc';
}

/** One incident (or a lone alert): its opener, how many alerts it holds and its triage state. */
export interface IncidentRow {
  agent: string;
  incident: string;
  /** The alert that opened it (the latest alert of the incident when the opener is gone by retention). */
  opener: Finding;
  severity: Severity;
  findings: number;
  /** Occurrences: the sum of the alerts' counts (a closing summary restates them: not counted). */
  occurrences: number;
  first_seen: string;
  last_seen: string;
  rules: string[];
  status: TriageStatus;
  status_by: string | null;
  status_at: string | null;
  comment: string;
}

export interface TriageState {
  status: TriageStatus;
  by: string | null;
  at: string | null;
  comment: string;
}

export interface AuditEntry {
  seq: number;
  at: string;
  by: string;
  agent: string;
  incident: string;
  /** Triage statuses; for a baseline change (incident `baseline:DEVICE`), `learned` → `approved` or `rejected`. */
  from: TriageStatus | BaselineAction;
  to: TriageStatus | BaselineAction;
  comment: string;
}

export interface StoredRule extends RuleInfo {
  /** Agents that announced this rule. */
  agents: string[];
  updated_at: string;
}

export const MAX_LIMIT = 1000;
/** Exposures listed inside each device of /api/devices. */
export const MAX_DEVICE_EXPOSURES = 20;
/** Attributes kept per device: beyond it the oldest-seen are evicted. */
const MAX_ATTRIBUTES = 256;

export function nowIso(): string {
  return new Date().toISOString();
}

export function encodeCursor(tsUs: number, seq: number): string {
  return Buffer.from(`${tsUs}:${seq}`).toString('base64url');
}

/** A page size as the API takes it: whole, at least 1, at most MAX_LIMIT, `dflt` when not given. */
export function pageLimit(limit: number | undefined, dflt = 100): number {
  return Math.max(1, Math.min(MAX_LIMIT, Math.floor(limit ?? dflt)));
}

/**
 * Keyset paging, newest first: rows strictly after `cursor` in (time, tiebreak) order. Both stores write `?`
 * placeholders; an unreadable cursor is the client's mistake.
 */
export function addCursor(
  cursor: string | undefined,
  timeCol: string,
  tieCol: string,
  where: string[],
  args: Array<string | number>,
): void {
  if (cursor === undefined) return;
  const c = decodeCursor(cursor);
  if (!c) throw new BadQueryError('bad cursor');
  where.push(`(${timeCol} < ? OR (${timeCol} = ? AND ${tieCol} < ?))`);
  args.push(c.tsUs, c.tsUs, c.seq);
}

export function decodeCursor(c: string): { tsUs: number; seq: number } | null {
  const m = /^(-?\d+):(\d+)$/.exec(Buffer.from(c, 'base64url').toString('utf8'));
  if (!m) return null;
  return { tsUs: Number(m[1]), seq: Number(m[2]) };
}

export class BadQueryError extends Error {}

export interface ExposureRow {
  rowid: number;
  agent: string;
  rule: string;
  severity: number;
  first_us: number;
  last_us: number;
  count: number;
  json: string;
}

export function toExposure(r: ExposureRow): Exposure {
  const f = JSON.parse(r.json) as Finding;
  const e: Exposure = {
    agent: r.agent,
    rule: r.rule,
    severity: SEVERITIES[r.severity] ?? f.severity,
    title: f.title,
    proto: f.proto,
    device: f.device,
    first_seen: formatTs(r.first_us),
    last_seen: formatTs(r.last_us),
    count: r.count,
    evidence: f.evidence,
    finding: f.id,
  };
  if (f.peer) e.peer = f.peer;
  return e;
}

export function normaliseDevice(d: DeviceRecord): DeviceRecord {
  const out: DeviceRecord = { ...d };
  if (d.attributes) out.attributes = capAttributes(d.attributes);
  return out;
}

function capAttributes(a: DeviceAttribute[]): DeviceAttribute[] {
  if (a.length <= MAX_ATTRIBUTES) return a;
  return [...a].sort((x, y) => (x.seen < y.seen ? 1 : -1)).slice(0, MAX_ATTRIBUTES);
}

function minTs(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return parseTs(a) <= parseTs(b) ? a : b;
}

function maxTs(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return parseTs(a) >= parseTs(b) ? a : b;
}

/** Newer scalar values win; attributes are keyed by (name, value, source) keeping the latest sighting. */
export function mergeDevice(old: DeviceRecord, d: DeviceRecord): DeviceRecord {
  const newer = (parseTs(d.last_seen ?? '') || 0) >= (parseTs(old.last_seen ?? '') || 0);
  const out: DeviceRecord = { ...(newer ? { ...old, ...d } : { ...d, ...old }), id: old.id };
  const first = minTs(old.first_seen, d.first_seen);
  const last = maxTs(old.last_seen, d.last_seen);
  if (first !== undefined) out.first_seen = first;
  if (last !== undefined) out.last_seen = last;
  if (old.protocols || d.protocols)
    out.protocols = [...new Set([...(old.protocols ?? []), ...(d.protocols ?? [])])].sort();
  if (old.attributes || d.attributes) {
    const m = new Map<string, DeviceAttribute>();
    for (const a of [...(old.attributes ?? []), ...(d.attributes ?? [])]) {
      const k = `${a.name}\u0000${a.value}\u0000${a.source}`;
      const prev = m.get(k);
      if (!prev || parseTs(a.seen) > parseTs(prev.seen)) m.set(k, a);
    }
    out.attributes = capAttributes([...m.values()]);
  }
  return out;
}

/** The filters findings and incidents share (time range, severity floor, rule, agent, device), on columns of `t`. */
export function addFindingFilters(
  q: { since?: string; until?: string; severity?: Severity; rule?: string; agent?: string; device?: string },
  t: '' | 'f.',
  where: string[],
  args: Array<string | number>,
): void {
  for (const [key, op] of [
    ['since', '>='],
    ['until', '<'],
  ] as const) {
    const v = q[key];
    if (v === undefined) continue;
    const us = parseTs(v);
    if (Number.isNaN(us)) throw new BadQueryError(`bad ${key}: expected an RFC 3339 UTC time`);
    where.push(`${t}ts_us ${op} ?`);
    args.push(us);
  }
  if (q.severity !== undefined) {
    where.push(`${t}severity >= ?`);
    args.push(severityRank(q.severity));
  }
  for (const key of ['rule', 'agent'] as const) {
    const v = q[key];
    if (v === undefined) continue;
    where.push(`${t}${key} = ?`);
    args.push(v);
  }
  if (q.device !== undefined) {
    where.push(`(${t}device_ip = ? OR ${t}device_mac = ? OR ${t}device_name = ?)`);
    args.push(q.device, q.device, q.device);
  }
}

/** A batch of one agent's findings as the ingest hands it to the store. */
export interface StoreBatch {
  agent: string;
  seq: number;
  findings: readonly Finding[];
}

/**
 * What the collector needs of its database. Every write that returns has committed (an ack may follow it); every
 * method rejects instead of throwing. SQLite answers from one process; PostgreSQL may be shared by several
 * collectors, so its writes lock what two of them could change at once.
 */
export interface Store {
  /** Which backend: `sqlite` or `postgres` (logs and the bench). */
  readonly kind: 'sqlite' | 'postgres';
  /**
   * Stores a batch in one transaction and returns the findings that were new (duplicates by (agent, id) are
   * skipped). When this resolves, the transaction is committed: the caller may ack.
   */
  storeBatch(agent: string, seq: number, findings: readonly Finding[]): Promise<Finding[]>;
  /** Several agents' batches in one transaction (group commit); new findings per batch. */
  storeBatches(batches: readonly StoreBatch[]): Promise<Finding[][]>;
  queryFindings(q: FindingQuery): Promise<{ findings: Finding[]; next: string | null }>;
  /** Exposures newest sighting first, filtered and paged like findings. */
  queryExposures(q: ExposureQuery): Promise<{ exposures: Exposure[]; next: string | null }>;
  /** Exposures stored, by severity (every severity present, 0 when none). */
  exposureCounts(): Promise<Record<Severity, number>>;
  countFindings(): Promise<number>;
  /** Every stored finding id in arrival order (tests and tooling). */
  findingIds(): Promise<string[]>;
  recordHello(agent: string, version: string): Promise<void>;
  recordStats(agent: string, stats: Omit<StatsMessage, 'type'>): Promise<void>;
  /** The latest stats of each agent and pending device records, in one transaction; device merge outcome per agent. */
  flushPending(
    stats: ReadonlyMap<string, Omit<StatsMessage, 'type'>>,
    devices: ReadonlyMap<string, readonly DeviceRecord[]>,
    maxDevicesPerAgent: number,
  ): Promise<Map<string, DeviceMergeResult>>;
  listAgents(connected: ReadonlySet<string>): Promise<AgentRow[]>;
  /** Merges an agent's device records into the inventory; an agent adds at most `maxPerAgent` devices. */
  mergeDevices(
    agent: string,
    devices: readonly DeviceRecord[],
    maxPerAgent?: number,
  ): Promise<DeviceMergeResult>;
  /** Devices an agent has added to the inventory. */
  agentDeviceCount(agent: string): Promise<number>;
  /** Devices by id, each with its exposures (matched by IP or MAC, newest first, at most MAX_DEVICE_EXPOSURES). */
  listDevices(limit?: number): Promise<StoredDevice[]>;
  /** One device by its id, IP or MAC, with its exposures; null when unknown. */
  getDevice(key: string): Promise<StoredDevice | null>;
  countDevices(): Promise<number>;
  /** Rules an agent announced in its hello: the latest announcement of a rule id wins, its agents accumulate. */
  putRules(agent: string, rules: readonly RuleInfo[]): Promise<void>;
  listRules(): Promise<StoredRule[]>;
  getRule(id: string): Promise<StoredRule | null>;
  /** The (rule, severity, agent) series the alert counters must show from the start. */
  alertSeries(): Promise<Array<{ rule: string; severity: Severity; agent: string }>>;
  /** Findings with this id (one per agent that produced it), or only the given agent's. */
  getFindings(id: string, agent?: string): Promise<Finding[]>;
  /** Every alert of an incident, oldest first. */
  incidentFindings(agent: string, incident: string): Promise<Finding[]>;
  triageOf(agent: string, incident: string): Promise<TriageState>;
  /** The incident key of an alert; null for unknown or exposures. */
  incidentOf(agent: string, id: string): Promise<string | null>;
  /**
   * Moves the incidents of the given alerts to `to`, in one transaction: all or nothing, each change audited.
   * Rejects with TransitionError for a move the workflow does not allow, BadQueryError for an unknown alert.
   */
  setStatus(
    items: ReadonlyArray<{ agent: string; id: string }>,
    to: TriageStatus,
    by: string,
    comment: string,
  ): Promise<{ changed: Array<{ agent: string; incident: string; from: TriageStatus }>; unchanged: number }>;
  /** Status changes, newest first; `before` pages (the seq of the last entry seen). */
  listAudit(q: {
    limit?: number;
    before?: number;
    agent?: string;
    incident?: string;
  }): Promise<{ audit: AuditEntry[]; next: number | null }>;
  queryIncidents(q: IncidentQuery): Promise<{ incidents: IncidentRow[]; total: number }>;
  alertCounts(): Promise<{ open: Record<Severity, number>; unacknowledged: Record<Severity, number> }>;
  /** Every device with a baseline version, learned or approved, by address. */
  listBaselines(): Promise<BaselineRow[]>;
  getBaseline(device: string): Promise<BaselineRow | null>;
  latestBaseline(
    device: string,
    kind: BaselineKind,
  ): Promise<(BaselineVersion & { document: DeviceBaseline; text: string }) | null>;
  /** Versions of a device's baselines, newest first (without their documents). */
  baselineVersions(device: string, limit?: number): Promise<BaselineVersion[]>;
  /** Stores `doc` as the next version of the device's `kind` baseline unless it equals the latest. */
  putBaselineVersion(
    device: string,
    kind: BaselineKind,
    doc: DeviceBaseline,
    by: string,
    agent: string | null,
  ): Promise<{ version: number; created: boolean }>;
  /** An agent's learned upload, one transaction: how many devices got a new version. */
  putLearnedBaselines(agent: string, devices: readonly DeviceBaseline[]): Promise<number>;
  /**
   * Called after each new approved version, whichever collector sharing the database stored it (PostgreSQL:
   * LISTEN/NOTIFY), so every connected agent gets the approved set.
   */
  onApproved(listener: () => void): void;
  /** Ids of the review items reviewers rejected for the device. */
  rejectedItems(device: string): Promise<Set<string>>;
  /** Remembers rejected items; an approval of one of them later takes it back out of this list. */
  setRejected(device: string, items: readonly string[], rejected: boolean, by: string): Promise<void>;
  /** One audit entry per reviewed item (incident `baseline:DEVICE`). */
  auditBaseline(
    device: string,
    by: string,
    to: BaselineAction,
    items: readonly string[],
    comment: string,
  ): Promise<void>;
  /** Every device's latest approved baseline, and the version of the whole set: what agents enforce. */
  approvedSet(): Promise<{ version: number; devices: DeviceBaseline[] }>;
  /** Applies retention; returns how many findings were deleted. */
  applyRetention(r: RetentionOptions, nowMs?: number): Promise<number>;
  /** The daily archive: findings received in [fromUs, toUs) by arrival, a page after `after`. */
  findingsReceived(
    fromUs: number,
    toUs: number,
    after: { receivedUs: number; seq: number } | null,
    limit: number,
  ): Promise<{ receivedUs: number; seq: number; json: string }[]>;
  /** The earliest arrival stored (µs, null when empty) and how many arrived at or after `sinceUs`. */
  receivedSpan(sinceUs: number): Promise<{ oldestUs: number | null; since: number }>;
  /** Resolves when the database answers (/healthz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
