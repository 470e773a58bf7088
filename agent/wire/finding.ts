// The Finding record (DESIGN.md "Finding"): what the engine produces, the agent sends and the collector stores.

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/**
 * alert: an event that pages a person; exposure: a standing condition of a device, kept current (issue 9): a
 * cleartext MQTT password, an anonymous login, cleartext PHI across zones, reported once, then updated with new
 * ids carrying `count` (occurrences since the previous report) and evidence `first_seen`/`last_seen`.
 * Absent means `alert`, so agents that predate the field keep working.
 */
export const FINDING_CLASSES = ['alert', 'exposure'] as const;
export type FindingClass = (typeof FINDING_CLASSES)[number];

/** The class of a finding, `alert` when the field is absent. */
export function findingClass(f: { class?: FindingClass }): FindingClass {
  return f.class ?? 'alert';
}

/**
 * Which endpoint of a finding opened the connection it comes from (the flow's client): `device` or `peer`.
 * A finding's `device` is the hospital host it is about, not the sender, so without this an inbound
 * association from the Internet read as the device connecting out (issue 13).
 */
export const INITIATORS = ['device', 'peer'] as const;
export type Initiator = (typeof INITIATORS)[number];

/**
 * The connection seen from the site's boundary (the Internet zone of the site file): `inbound` an Internet
 * host opened it to a site host, `outbound` a site host to the Internet, `internal` both inside, `external`
 * both outside. The words ECS `network.direction` uses.
 */
export const DIRECTIONS = ['inbound', 'outbound', 'internal', 'external'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export interface Endpoint {
  ip: string;
  port?: number;
  mac?: string;
  vendor?: string;
  name?: string;
}

export interface Finding {
  kind: 'finding';
  /** Globally unique and stable across resends: the same input gives the same id. */
  id: string;
  ts: string;
  rule: string;
  severity: Severity;
  title: string;
  attack: string[];
  proto: string;
  device: Endpoint;
  peer?: Endpoint;
  /**
   * With `peer`, when the engine knows the flow's client: which side opened the connection. Absent for a
   * finding about the device alone (no peer, a threshold over many peers) and in records of older agents.
   */
  initiator?: Initiator;
  /** With `initiator`: the connection seen from the site's boundary. */
  direction?: Direction;
  flow?: string;
  /**
   * Community ID v1 (https://github.com/corelight/community-id-spec, seed 0) of the flow, present when `flow`
   * is: the id Zeek, Suricata, Arkime and Wireshark give the same connection. Incident summaries keep their
   * opener's. Absent in records of older agents.
   */
  community_id?: string;
  /** Matched fields only; never patient values. */
  evidence: Record<string, unknown>;
  /** Number of occurrences folded into this finding within its window (for an exposure: since its last report). */
  count?: number;
  agent: string;
  /** Absent in records of older agents: read as `alert`. */
  class?: FindingClass;
  /**
   * Alerts only: the id of the alert this finding belongs to. The finding that opens an incident carries its
   * own id; repeats and further findings of the same incident (same hosts, close in time) carry the opener's,
   * so they update one alert instead of paging again.
   */
  incident?: string;
}
