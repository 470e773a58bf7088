// One incident, one alert (issue 9): alerts that share a host and follow each other closely are one incident.
import { severityRank, type Finding, type Severity } from '../../wire/finding.js';
import { BoundedMap } from '../../wire/bounded-map.js';
import { formatTs, parseTs } from '../../wire/time.js';
import { findingId } from './findings.js';

export interface IncidentLimits {
  /** An incident stays open while its findings come less than this far apart (packet time, µs). */
  quietMicros: number;
  /** ...and never longer than this from its first finding, so a busy host does not hold one incident forever. */
  maxMicros: number;
  /** Open incidents kept; the oldest is closed when a new one would exceed it. */
  maxOpen: number;
  /** Finding ids remembered to attach late repeat summaries to their incident. */
  maxIds: number;
}

export const DEFAULT_INCIDENT_LIMITS: IncidentLimits = {
  quietMicros: 15 * 60e6,
  maxMicros: 2 * 3_600e6,
  maxOpen: 10_000,
  maxIds: 100_000,
};

export interface IncidentStats {
  /** Alerts that opened an incident (what pages a person). */
  opened: number;
  /** Alerts folded into an open incident (repeats, other rules, other targets of the same actor). */
  folded: number;
  /** Incidents closed early because too many were open. */
  evicted: number;
  /** Incident summaries emitted (an incident of two or more findings, when it closes). */
  summaries: number;
}

/** Distinct values an incident keeps for its summary; beyond it only the count grows. */
const MAX_KEPT = 16;

interface Incident {
  id: string;
  hosts: string[];
  start: number;
  last: number;
  severity: Severity;
  opener: Finding;
  findings: number;
  rules: Set<string>;
  /** Hosts involved besides the opener's device (scan targets, peers), counted up to a bound. */
  targets: Set<string>;
  ports: Set<number>;
  /** Largest distinct count a threshold finding of the incident reported (hosts or ports a scan reached). */
  distinctMax: number;
}

/**
 * Marks each alert with the incident it belongs to. An incident is opened by an alert; its actor is that alert's
 * device. Later alerts whose device or peer is the actor join it while it is open (the actor's other findings, and
 * the hosts answering it: sweep targets, the PACS it probed); a repeat summary joins the incident of the finding it
 * repeats. Exposures are not incidents and pass untouched.
 */
export class IncidentFolder {
  private readonly lim: IncidentLimits;
  /** actor host → its open incident. */
  private readonly byHost = new Map<string, Incident>();
  /** Open incidents by id (insertion order: the oldest first, for eviction). */
  private readonly open = new Map<string, Incident>();
  private readonly incidentOf: BoundedMap<string, string>;
  readonly stats: IncidentStats = { opened: 0, folded: 0, evicted: 0, summaries: 0 };
  private nextCheck = Number.POSITIVE_INFINITY;

  /** `emit` receives each incident's summary when the incident closes (a record that updates the alert). */
  constructor(
    private readonly emit: (f: Finding) => void = () => undefined,
    limits: Partial<IncidentLimits> = {},
  ) {
    this.lim = { ...DEFAULT_INCIDENT_LIMITS, ...limits };
    this.incidentOf = new BoundedMap(this.lim.maxIds);
  }

  /** Packet time moved on: close incidents that went quiet (their summaries are emitted). */
  advance(now: number): void {
    if (now < this.nextCheck) return;
    let next = Number.POSITIVE_INFINITY;
    for (const inc of [...this.open.values()]) {
      const end = Math.min(inc.last + this.lim.quietMicros, inc.start + this.lim.maxMicros);
      if (end <= now) this.close(inc);
      else if (end < next) next = end;
    }
    this.nextCheck = next;
  }

  /** End of input: close every incident. */
  flush(): void {
    for (const inc of [...this.open.values()]) this.close(inc);
    this.nextCheck = Number.POSITIVE_INFINITY;
  }

  get openCount(): number {
    return this.open.size;
  }

  mark(f: Finding): void {
    if (f.class === 'exposure') return;
    const ts = parseTs(f.ts);
    const repeatOf = typeof f.evidence.repeat_of === 'string' ? f.evidence.repeat_of : undefined;
    const viaRepeat = repeatOf !== undefined ? this.incidentOf.get(repeatOf) : undefined;
    if (viaRepeat !== undefined) {
      f.incident = viaRepeat;
      this.stats.folded++;
      const inc = this.openById(viaRepeat);
      if (inc) this.join(inc, f, ts, true);
      return;
    }
    const inc = this.find(f, ts);
    if (inc) {
      f.incident = inc.id;
      this.join(inc, f, ts);
      this.stats.folded++;
    } else {
      f.incident = f.id;
      this.openIncident(f, ts);
      this.stats.opened++;
    }
    this.remember(f.id, f.incident);
  }

  private openById(id: string): Incident | undefined {
    return this.open.get(id);
  }

  private join(inc: Incident, f: Finding, ts: number, repeat = false): void {
    if (ts > inc.last) inc.last = ts;
    if (severityRank(f.severity) > severityRank(inc.severity)) inc.severity = f.severity;
    // A repeat summary's count includes the occurrence its first finding already brought.
    inc.findings += repeat ? Math.max(0, (f.count ?? 1) - 1) : (f.count ?? 1);
    if (inc.rules.size < MAX_KEPT) inc.rules.add(f.rule);
    this.addTargets(inc, f);
  }

  private addTargets(inc: Incident, f: Finding): void {
    const d = f.evidence.distinct_count;
    if (typeof d === 'number' && d > inc.distinctMax) inc.distinctMax = d;
    for (const e of [f.device, f.peer]) {
      if (!e || e.ip === inc.opener.device.ip) continue;
      if (inc.targets.size < 4096) inc.targets.add(e.ip);
      if (e.port !== undefined && inc.ports.size < MAX_KEPT) inc.ports.add(e.port);
    }
  }

  private find(f: Finding, ts: number): Incident | undefined {
    for (const host of [f.device.ip, f.peer?.ip]) {
      if (host === undefined) continue;
      const inc = this.byHost.get(host);
      if (!inc) continue;
      if (ts - inc.last > this.lim.quietMicros || ts - inc.start > this.lim.maxMicros) {
        this.close(inc);
        continue;
      }
      return inc;
    }
    return undefined;
  }

  private openIncident(f: Finding, ts: number): void {
    if (this.open.size >= this.lim.maxOpen) {
      const oldest = this.open.values().next();
      if (!oldest.done) {
        this.close(oldest.value);
        this.stats.evicted++;
      }
    }
    // The actor is the opener's device only: joining through its peer too would chain every host that talks
    // to a hub (a broker, the PACS) into one incident and hide a second, unrelated actor.
    const hosts = [f.device.ip];
    const inc: Incident = {
      id: f.id,
      hosts,
      start: ts,
      last: ts,
      severity: f.severity,
      opener: f,
      findings: f.count ?? 1,
      rules: new Set([f.rule]),
      targets: new Set(),
      ports: new Set(),
      distinctMax: 0,
    };
    this.addTargets(inc, f);
    this.open.set(inc.id, inc);
    const end = ts + this.lim.quietMicros;
    if (end < this.nextCheck) this.nextCheck = end;
    for (const h of hosts) {
      const prev = this.byHost.get(h);
      // A host already in another open incident stays there: the newer incident is reached through its other host.
      if (!prev) this.byHost.set(h, inc);
    }
  }

  private close(inc: Incident): void {
    if (!this.open.delete(inc.id)) return;
    for (const h of inc.hosts) if (this.byHost.get(h) === inc) this.byHost.delete(h);
    // One rule against one peer is already told by that rule's own repeat summary.
    if (inc.rules.size < 2 && inc.targets.size < 2) return;
    // The alert, updated: what the incident amounted to (rules, targets, ports, first and last time).
    const o = inc.opener;
    const summary: Finding = {
      ...o,
      id: findingId([o.id, 'incident']),
      ts: formatTs(inc.last),
      severity: inc.severity,
      count: inc.findings,
      incident: o.id,
      evidence: {
        incident_rules: [...inc.rules].sort(),
        peers: inc.targets.size,
        ...(inc.distinctMax > 0 ? { distinct_max: inc.distinctMax } : {}),
        ports: [...inc.ports].sort((a, b) => a - b),
        first_seen: formatTs(inc.start),
        last_seen: formatTs(inc.last),
      },
    };
    this.stats.summaries++;
    this.emit(summary);
  }

  private remember(id: string, incident: string): void {
    this.incidentOf.set(id, incident);
  }
}

/** The record an incident leaves when it closes (it updates the opening alert with what the incident amounted to). */
export function isIncidentSummary(f: Finding): boolean {
  return f.evidence.incident_rules !== undefined;
}

/** An alert that opened an incident: what a SOC counts as one alert (the rest update it). */
export function opensIncident(f: Finding): boolean {
  return (f.class ?? 'alert') === 'alert' && (f.incident === undefined || f.incident === f.id);
}
