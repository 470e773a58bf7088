// Collector Prometheus metrics (DESIGN.md "Metrics"): prom-client registry with default process metrics; agents'
// cumulative stats become counter deltas; every label is bounded (agent, protocol, rule, severity, type, reason).
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { SEVERITIES, findingClass, type Finding, type Severity } from '../agent/wire/finding.js';
import type { RuleInfo, StatsMessage } from '../agent/wire/messages.js';
import { KNOWN_MESSAGE_TYPES, isKnownProtocol } from '../agent/wire/protocols.js';
import type { Truncation } from './limits.js';

/** Why an incoming message or connection was refused (the values of the `reason` label). */
export const REJECT_REASONS = [
  'malformed_json',
  'schema',
  'oversize',
  'auth',
  'no_hello',
  'binary',
  'hello_timeout',
  // A second live connection with an agent id already connected (refused, the first one stays):
  'id_in_use',
  // One finding, stats or devices record refused while the rest of the connection's traffic goes on:
  'agent_mismatch',
  'timestamp',
  'counter',
  'unstorable',
] as const;
export type RejectMetricReason = (typeof REJECT_REASONS)[number];

export const DROP_PLACES = ['kernel', 'interface', 'queue', 'spool'] as const;
/** Message kinds a per-agent rate limit may drop. */
export const RATE_LIMITED_TYPES = ['stats', 'devices'] as const;
export type RateLimitedType = (typeof RATE_LIMITED_TYPES)[number];
export const TRUNCATIONS: readonly Truncation[] = ['evidence', 'finding', 'device'];
/** HTTP statuses counted as refusals (a bounded label). */
export const HTTP_REFUSALS = [400, 401, 403, 404, 405, 409, 413] as const;
const FOLDED_LABELS = ['rule', 'protocol', 'type', 'device'] as const;
type FoldedLabel = (typeof FOLDED_LABELS)[number];

/** What agents report as evicted (the `what` label); anything else an agent sends is ignored. */
export const EVICTION_KINDS = [
  'flow_cap',
  'flow_budget',
  'flow_embryonic_timeout',
  'flow_idle_timeout',
  'fragment',
  'device',
  'datagram_cut',
] as const;

/** Distinct values any one label may take; beyond it values fold into "other" so a bad agent cannot explode series. */
const MAX_LABEL_VALUES = 200;
const LABEL_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
/** IPv4, IPv6 or MAC text: such values never become labels. */
const ADDRESS_LIKE =
  /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*|(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2})$/;

class LabelGuard {
  private readonly seen = new Set<string>();
  constructor(private readonly onFold: () => void = () => undefined) {}
  bound(v: string): string {
    if (this.seen.has(v)) return v;
    if (!LABEL_RE.test(v) || this.seen.size >= MAX_LABEL_VALUES) {
      this.onFold();
      return 'other';
    }
    this.seen.add(v);
    return v;
  }
}

type Cumulative = Omit<StatsMessage, 'type'>;

function zeroBySeverity(): Record<Severity, number> {
  return Object.fromEntries(SEVERITIES.map((x) => [x, 0])) as Record<Severity, number>;
}

/**
 * `fn`, whose pending result is shared by the calls made before it settles. prom-client starts the collection of
 * every metric of a scrape at once, so the gauges of one scrape share one read, and the next scrape reads afresh.
 */
export function sharedWhilePending<T>(fn: () => T | Promise<T>): () => Promise<T> {
  let pending: Promise<T> | null = null;
  return () => {
    if (pending !== null) return pending;
    const p = Promise.resolve().then(fn);
    pending = p;
    const settled = (): void => {
      if (pending === p) pending = null;
    };
    p.then(settled, settled);
    return p;
  };
}

/** Open and unacknowledged alert incidents by severity (the store's alertCounts). */
type AlertCounts = { open: Record<Severity, number>; unacknowledged: Record<Severity, number> };

export class CollectorMetrics {
  readonly registry = new Registry();
  private readonly findings: Counter<'rule' | 'severity' | 'agent'>;
  private readonly duplicates: Counter<'agent'>;
  private readonly packets: Counter<'agent'>;
  private readonly bytes: Counter<'agent'>;
  private readonly drops: Counter<'agent' | 'where'>;
  private readonly evictions: Counter<'agent' | 'what'>;
  private readonly parseErrors: Counter<'agent' | 'protocol'>;
  private readonly analyzerErrors: Counter<'agent' | 'protocol'>;
  private readonly messages: Counter<'agent' | 'protocol' | 'type'>;
  private readonly flows: Gauge<'agent'>;
  private readonly agentDevices: Gauge<'agent'>;
  private readonly memory: Gauge<'agent'>;
  private readonly spoolPending: Gauge<'agent'>;
  readonly devices: Gauge;
  private readonly up: Gauge<'agent'>;
  private readonly lastSeen: Gauge<'agent'>;
  private readonly lag: Gauge<'agent'>;
  private readonly rejected: Counter<'reason'>;
  private readonly connections: Counter<'agent'>;
  private readonly exportErrors: Counter<'target'>;
  private readonly retentionDeleted: Counter;
  private readonly archiveFiles: Counter;
  private readonly archiveFindings: Counter;
  private readonly archiveErrors: Counter;
  private readonly rateLimited: Counter<'agent' | 'type'>;
  private readonly truncated: Counter<'what'>;
  private readonly devicesRefused: Counter<'agent'>;
  private readonly folded: Counter<'label'>;
  private readonly httpRefused: Counter<'status'>;
  private readonly rules = new LabelGuard(() => this.folded.inc({ label: 'rule' }));
  private readonly deviceNames = new LabelGuard(() => this.folded.inc({ label: 'device' }));
  private readonly deviceFindings: Counter<'device' | 'severity'>;
  private readonly last = new Map<string, Cumulative>();

  constructor(
    devicesCount: () => number | Promise<number>,
    exposureCounts: () => Record<Severity, number> | Promise<Record<Severity, number>> = zeroBySeverity,
    alertCounts: () => AlertCounts | Promise<AlertCounts> = () => ({
      open: zeroBySeverity(),
      unacknowledged: zeroBySeverity(),
    }),
  ) {
    // Both alert gauges read one aggregation per scrape: it groups every stored alert by incident, and with SQLite
    // it runs on the event loop that also acks agents (50,000 findings: 80 ms each time).
    alertCounts = sharedWhilePending(alertCounts);
    const r = this.registry;
    collectDefaultMetrics({ register: r });
    // Legacy gauges named like counters (promtool flags them); the same values exist without the suffix.
    for (const legacy of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ]) {
      if (r.getSingleMetric(legacy)) r.removeSingleMetric(legacy);
    }
    const reg = [r];
    this.findings = new Counter({
      name: 'wardwatch_findings_total',
      help: 'Alert findings stored (first arrival of each agent and id), by rule, severity and agent; exposures not included.',
      labelNames: ['rule', 'severity', 'agent'],
      registers: reg,
    });
    this.deviceFindings = new Counter({
      name: 'wardwatch_device_findings_total',
      help: 'Alert findings by device asset name from the site file ("unnamed:<vendor>" or "unnamed" otherwise; never an address) and severity.',
      labelNames: ['device', 'severity'],
      registers: reg,
    });
    this.duplicates = new Counter({
      name: 'wardwatch_findings_duplicate_total',
      help: 'Findings received again (resends after a reconnect) and skipped by id.',
      labelNames: ['agent'],
      registers: reg,
    });
    this.packets = new Counter({
      name: 'wardwatch_packets_total',
      help: 'Packets the agent processed.',
      labelNames: ['agent'],
      registers: reg,
    });
    this.bytes = new Counter({
      name: 'wardwatch_bytes_total',
      help: 'Bytes the agent processed.',
      labelNames: ['agent'],
      registers: reg,
    });
    this.drops = new Counter({
      name: 'wardwatch_drops_total',
      help: 'Packets or findings lost before analysis or delivery, by where (kernel, interface, queue, spool).',
      labelNames: ['agent', 'where'],
      registers: reg,
    });
    this.evictions = new Counter({
      name: 'wardwatch_evictions_total',
      help: 'What the agent dropped at a cap or timeout: flows (cap, memory budget, embryonic and idle timeouts), IP fragments, devices.',
      labelNames: ['agent', 'what'],
      registers: reg,
    });
    this.analyzerErrors = new Counter({
      name: 'wardwatch_analyzer_errors_total',
      help: 'Analyzers that threw and were detached from their flow, by protocol; protocol "engine": events the engine threw on. Each is a bug to report.',
      labelNames: ['agent', 'protocol'],
      registers: reg,
    });
    this.parseErrors = new Counter({
      name: 'wardwatch_parse_errors_total',
      help: 'Malformed protocol messages, by protocol.',
      labelNames: ['agent', 'protocol'],
      registers: reg,
    });
    this.messages = new Counter({
      name: 'wardwatch_protocol_messages_total',
      help: 'Protocol messages seen, by protocol and message type (types outside the protocol\'s known set are "other").',
      labelNames: ['agent', 'protocol', 'type'],
      registers: reg,
    });
    this.flows = new Gauge({
      name: 'wardwatch_flows',
      help: 'Flows the agent currently tracks.',
      labelNames: ['agent'],
      registers: reg,
    });
    this.agentDevices = new Gauge({
      name: 'wardwatch_agent_devices',
      help: 'Devices the agent currently knows.',
      labelNames: ['agent'],
      registers: reg,
    });
    this.memory = new Gauge({
      name: 'wardwatch_agent_memory_bytes',
      help: 'Resident memory of the agent process.',
      labelNames: ['agent'],
      registers: reg,
    });
    this.spoolPending = new Gauge({
      name: 'wardwatch_agent_spool_pending',
      help: 'Findings in the agent spool not yet acknowledged.',
      labelNames: ['agent'],
      registers: reg,
    });
    this.devices = new Gauge({
      name: 'wardwatch_devices',
      help: 'Devices in the collector inventory (merged across agents).',
      registers: reg,
      async collect() {
        this.set(await devicesCount());
      },
    });
    this.up = new Gauge({
      name: 'wardwatch_agent_up',
      help: '1 while the agent is connected and authenticated, else 0.',
      labelNames: ['agent'],
      registers: reg,
    });
    this.lastSeen = new Gauge({
      name: 'wardwatch_agent_last_seen_timestamp_seconds',
      help: 'Unix time of the last message from the agent.',
      labelNames: ['agent'],
      registers: reg,
    });
    this.lag = new Gauge({
      name: 'wardwatch_ingest_lag_seconds',
      help: 'How far the agent is behind packet time, as it last reported.',
      labelNames: ['agent'],
      registers: reg,
    });
    this.rejected = new Counter({
      name: 'wardwatch_rejected_messages_total',
      help: 'Messages or connections refused by the collector, by reason.',
      labelNames: ['reason'],
      registers: reg,
    });
    for (const reason of REJECT_REASONS) this.rejected.inc({ reason }, 0);
    this.connections = new Counter({
      name: 'wardwatch_agent_connections_total',
      help: 'Authenticated agent connections (reconnects included).',
      labelNames: ['agent'],
      registers: reg,
    });
    this.exportErrors = new Counter({
      name: 'wardwatch_export_errors_total',
      help: 'Findings an export target failed to take, by target.',
      labelNames: ['target'],
      registers: reg,
    });
    this.retentionDeleted = new Counter({
      name: 'wardwatch_retention_deleted_total',
      help: 'Findings deleted by retention.',
      registers: reg,
    });
    this.archiveFiles = new Counter({
      name: 'wardwatch_archive_files_total',
      help: 'Daily findings archive files written (one per UTC day).',
      registers: reg,
    });
    this.archiveFindings = new Counter({
      name: 'wardwatch_archive_findings_total',
      help: 'Findings written to daily archive files.',
      registers: reg,
    });
    this.archiveErrors = new Counter({
      name: 'wardwatch_archive_errors_total',
      help: 'Daily archive runs that failed (the day stays pending and retention keeps it).',
      registers: reg,
    });
    this.rateLimited = new Counter({
      name: 'wardwatch_rate_limited_total',
      help: 'Stats or devices messages dropped because their agent exceeded its message rate.',
      labelNames: ['agent', 'type'],
      registers: reg,
    });
    this.truncated = new Counter({
      name: 'wardwatch_truncated_total',
      help: "Records stored cut to size: evidence replaced by a marker (too large or too deep), a finding's long or unknown fields, a device record's unknown fields.",
      labelNames: ['what'],
      registers: reg,
    });
    for (const what of TRUNCATIONS) this.truncated.inc({ what }, 0);
    this.devicesRefused = new Counter({
      name: 'wardwatch_devices_refused_total',
      help: 'New device records refused because their agent reached its device cap.',
      labelNames: ['agent'],
      registers: reg,
    });
    this.folded = new Counter({
      name: 'wardwatch_label_values_folded_total',
      help: 'Counts put under "other" because a label value was outside the known set, had bad characters or was beyond the cap (findings for rule and device, stats entries for protocol and type), by label.',
      labelNames: ['label'],
      registers: reg,
    });
    for (const label of FOLDED_LABELS) this.folded.inc({ label }, 0);
    this.httpRefused = new Counter({
      name: 'wardwatch_http_refused_total',
      help: "HTTP requests refused as the client's mistake (400 malformed, 401/403 auth, 404, 405, 409 conflicting triage change or ambiguous id, 413 body too large), by status.",
      labelNames: ['status'],
      registers: reg,
    });
    for (const status of HTTP_REFUSALS) this.httpRefused.inc({ status: String(status) }, 0);
    new Gauge({
      name: 'wardwatch_exposures_open',
      help: 'Exposures (standing conditions of devices) currently stored, by severity; open until retention removes them.',
      labelNames: ['severity'],
      registers: reg,
      async collect() {
        for (const [severity, n] of Object.entries(await exposureCounts())) this.set({ severity }, n);
      },
    });
    // Fed by the triage status, so "is anything critical unacknowledged?" is a gauge's value, not a counter's first
    // increment (which a new series never shows: issue 10). One per incident, by its highest severity.
    new Gauge({
      name: 'wardwatch_alerts_open',
      help: 'Alert incidents neither resolved nor marked false-positive (open or acknowledged), by their highest severity.',
      labelNames: ['severity'],
      registers: reg,
      async collect() {
        for (const [severity, n] of Object.entries((await alertCounts()).open)) this.set({ severity }, n);
      },
    });
    new Gauge({
      name: 'wardwatch_alerts_unacknowledged',
      help: 'Alert incidents nobody has acknowledged, resolved or marked false-positive yet, by their highest severity.',
      labelNames: ['severity'],
      registers: reg,
      async collect() {
        for (const [severity, n] of Object.entries((await alertCounts()).unacknowledged))
          this.set({ severity }, n);
      },
    });
  }

  /**
   * Creates the alert counter series of an agent's announced rules at 0 (issue 10): Prometheus then sees the first
   * finding as an increase from 0 instead of a new series whose first sample is already 1. Exposure rules are not
   * counted by wardwatch_findings_total.
   */
  declareRules(agent: string, rules: readonly RuleInfo[]): void {
    for (const r of rules) {
      if ((r.class ?? 'alert') !== 'alert') continue;
      this.declareSeries(r.id, r.severity, agent);
    }
  }

  /** One alert counter series at 0 (a no-op when it already counts). */
  declareSeries(rule: string, severity: Severity, agent: string): void {
    this.findings.inc({ rule: this.rules.bound(rule), severity, agent }, 0);
  }

  httpRefusal(status: number): void {
    if ((HTTP_REFUSALS as readonly number[]).includes(status))
      this.httpRefused.inc({ status: String(status) });
  }

  rateLimit(agent: string, type: RateLimitedType): void {
    this.rateLimited.inc({ agent, type });
  }

  truncate(what: Truncation): void {
    this.truncated.inc({ what });
  }

  devicesRefusedBy(agent: string, n: number): void {
    if (n > 0) this.devicesRefused.inc({ agent }, n);
  }

  /**
   * Protocol and type labels from the known sets, else "other"; a non-zero increment under "other" is counted
   * as a fold (so applying the same cumulative stats twice counts nothing twice).
   */
  private statsLabels(p: string, t: string | null, inc: number): { protocol: string; type: string } {
    if (!isKnownProtocol(p)) {
      if (inc > 0) this.fold('protocol');
      return { protocol: 'other', type: 'other' };
    }
    if (t === null || KNOWN_MESSAGE_TYPES[p].includes(t)) return { protocol: p, type: t ?? '' };
    if (inc > 0) this.fold('type');
    return { protocol: p, type: 'other' };
  }

  private fold(label: FoldedLabel): void {
    this.folded.inc({ label });
  }

  /**
   * Only an asset name the site file gave (e.g. "pacs") may label a series: never an address. A device without
   * one is `unnamed:<OUI vendor>` when its vendor is known (the dashboard's top devices then tell a stray Raspberry
   * Pi from the rest), else `unnamed`; both share the device label's cap.
   */
  private deviceLabel(name: string | undefined, vendor: string | undefined): string {
    if (name !== undefined && !ADDRESS_LIKE.test(name)) return this.deviceNames.bound(name);
    const v = vendor
      ?.replace(/[^A-Za-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 55);
    return v ? this.deviceNames.bound(`unnamed:${v}`) : 'unnamed';
  }

  reject(reason: RejectMetricReason, n = 1): void {
    this.rejected.inc({ reason }, n);
  }

  exportError(target: 'jsonl' | 'syslog'): void {
    this.exportErrors.inc({ target });
  }

  retention(n: number): void {
    if (n > 0) this.retentionDeleted.inc(n);
  }

  archived(findings: number): void {
    this.archiveFiles.inc();
    this.archiveFindings.inc(findings);
  }

  archiveError(): void {
    this.archiveErrors.inc();
  }

  connected(agent: string, restored?: Cumulative): void {
    this.connections.inc({ agent });
    this.up.set({ agent }, 1);
    this.seen(agent);
    if (restored && !this.last.has(agent)) this.last.set(agent, restored);
  }

  disconnected(agent: string): void {
    this.up.set({ agent }, 0);
  }

  seen(agent: string): void {
    this.lastSeen.set({ agent }, Date.now() / 1000);
  }

  stored(agent: string, fresh: readonly Finding[], received: number): void {
    for (const f of fresh) {
      if (findingClass(f) !== 'alert') continue;
      this.findings.inc({ rule: this.rules.bound(f.rule), severity: f.severity, agent });
      this.deviceFindings.inc({
        device: this.deviceLabel(f.device.name, f.device.vendor),
        severity: f.severity,
      });
    }
    if (received > fresh.length) this.duplicates.inc({ agent }, received - fresh.length);
  }

  /** Cumulative agent counters → counter increments; a value going down means the agent restarted. */
  stats(agent: string, s: Cumulative): void {
    const prev = this.last.get(agent);
    const d = (now: number, before: number | undefined): number =>
      before === undefined ? now : now >= before ? now - before : now;
    this.packets.inc({ agent }, d(s.packets, prev?.packets));
    this.bytes.inc({ agent }, d(s.bytes, prev?.bytes));
    for (const where of ['kernel', 'interface', 'queue'] as const) {
      this.drops.inc({ agent, where }, d(s.drops[where], prev?.drops[where]));
    }
    if (s.spool) this.drops.inc({ agent, where: 'spool' }, d(s.spool.dropped, prev?.spool?.dropped));
    else this.drops.inc({ agent, where: 'spool' }, 0);
    if (s.evictions) {
      for (const what of EVICTION_KINDS) {
        const n = s.evictions[what];
        if (n !== undefined) this.evictions.inc({ agent, what }, d(n, prev?.evictions?.[what]));
      }
    }
    for (const [p, n] of Object.entries(s.analyzer_errors ?? {})) {
      const inc = d(n, prev?.analyzer_errors?.[p]);
      const protocol = p === 'engine' ? 'engine' : this.statsLabels(p, null, inc).protocol;
      this.analyzerErrors.inc({ agent, protocol }, inc);
    }
    for (const [p, n] of Object.entries(s.parse_errors)) {
      const inc = d(n, prev?.parse_errors[p]);
      this.parseErrors.inc({ agent, protocol: this.statsLabels(p, null, inc).protocol }, inc);
    }
    for (const [p, types] of Object.entries(s.messages)) {
      for (const [t, n] of Object.entries(types)) {
        const inc = d(n, prev?.messages[p]?.[t]);
        this.messages.inc({ agent, ...this.statsLabels(p, t, inc) }, inc);
      }
    }
    this.flows.set({ agent }, s.flows);
    this.agentDevices.set({ agent }, s.devices);
    this.memory.set({ agent }, s.memory);
    this.lag.set({ agent }, s.lag_seconds);
    if (s.spool) this.spoolPending.set({ agent }, s.spool.pending);
    this.last.set(agent, s);
    this.seen(agent);
  }

  /** Pre-creates an agent's series at zero so dashboards show "0", not "no data", for a quiet agent. */
  declareAgent(agent: string): void {
    this.up.set({ agent }, 0);
    for (const where of DROP_PLACES) this.drops.inc({ agent, where }, 0);
    this.packets.inc({ agent }, 0);
    this.bytes.inc({ agent }, 0);
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
