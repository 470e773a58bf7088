// One incident, one alert (issue 9): alerts that share a host and follow each other closely are one incident.
import { severityRank, type Finding, type Severity } from '../wire/finding.js';
import { parseTs } from '../wire/time.js';

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
}

interface Incident {
  id: string;
  hosts: string[];
  start: number;
  last: number;
  severity: Severity;
}

/**
 * Marks each alert with the incident it belongs to. An incident is opened by an alert and joined by later
 * alerts that involve one of its opener's hosts (device or peer) while it is open; a repeat summary joins the
 * incident of the finding it repeats. Exposures are not incidents and pass untouched.
 */
export class IncidentFolder {
  private readonly lim: IncidentLimits;
  /** host → open incidents that involve it (an incident appears under each of its opener's hosts). */
  private readonly byHost = new Map<string, Incident>();
  private readonly open = new Set<Incident>();
  private readonly incidentOf = new Map<string, string>();
  readonly stats: IncidentStats = { opened: 0, folded: 0, evicted: 0 };

  constructor(limits: Partial<IncidentLimits> = {}) {
    this.lim = { ...DEFAULT_INCIDENT_LIMITS, ...limits };
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
      this.touch(f, ts);
      return;
    }
    const inc = this.find(f, ts);
    if (inc) {
      f.incident = inc.id;
      if (ts > inc.last) inc.last = ts;
      if (severityRank(f.severity) > severityRank(inc.severity)) inc.severity = f.severity;
      this.stats.folded++;
    } else {
      f.incident = f.id;
      this.openIncident(f, ts);
      this.stats.opened++;
    }
    this.remember(f.id, f.incident);
  }

  private touch(f: Finding, ts: number): void {
    const inc = this.byHost.get(f.device.ip);
    if (inc && inc.id === f.incident && ts > inc.last) inc.last = ts;
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
    const hosts = f.peer ? [f.device.ip, f.peer.ip] : [f.device.ip];
    const inc: Incident = { id: f.id, hosts, start: ts, last: ts, severity: f.severity };
    this.open.add(inc);
    for (const h of hosts) {
      const prev = this.byHost.get(h);
      // A host already in another open incident stays there: the newer incident is reached through its other host.
      if (!prev) this.byHost.set(h, inc);
    }
  }

  private close(inc: Incident): void {
    this.open.delete(inc);
    for (const h of inc.hosts) if (this.byHost.get(h) === inc) this.byHost.delete(h);
  }

  private remember(id: string, incident: string): void {
    if (this.incidentOf.size >= this.lim.maxIds) {
      const oldest = this.incidentOf.keys().next();
      if (!oldest.done) this.incidentOf.delete(oldest.value);
    }
    this.incidentOf.set(id, incident);
  }
}

/** An alert that opened an incident: what a SOC counts as one alert (the rest update it). */
export function opensIncident(f: Finding): boolean {
  return (f.class ?? 'alert') === 'alert' && (f.incident === undefined || f.incident === f.id);
}
