// Shapes of the collector API the console reads (collector/README.md "HTTP"). Duplicated rather than imported: the
// console is built for the browser on its own and must not pull in server modules.

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const STATUSES = ['open', 'acknowledged', 'resolved', 'false-positive'] as const;
export type Status = (typeof STATUSES)[number];

export interface Endpoint {
  ip: string;
  port?: number;
  mac?: string;
  vendor?: string;
  name?: string;
}

export interface Finding {
  id: string;
  ts: string;
  rule: string;
  severity: Severity;
  title: string;
  attack: string[];
  proto: string;
  device: Endpoint;
  peer?: Endpoint;
  flow?: string;
  evidence: Record<string, unknown>;
  count?: number;
  agent: string;
  class?: 'alert' | 'exposure';
  incident?: string;
}

export interface Incident {
  agent: string;
  incident: string;
  opener: Finding;
  severity: Severity;
  findings: number;
  occurrences: number;
  first_seen: string;
  last_seen: string;
  rules: string[];
  status: Status;
  status_by: string | null;
  status_at: string | null;
  comment: string;
}

export interface Rule {
  id: string;
  title: string;
  severity: Severity;
  attack: string[];
  description: string;
  remediation: string;
  class?: 'alert' | 'exposure';
  agents: string[];
}

export interface DeviceAttribute {
  name: string;
  value: string;
  source: string;
  seen: string;
}

export interface Device {
  id: string;
  ip?: string;
  mac?: string;
  vendor?: string;
  name?: string;
  first_seen?: string;
  last_seen?: string;
  protocols?: string[];
  attributes?: DeviceAttribute[];
  baseline_state?: string;
  agents: string[];
  exposures?: Exposure[];
}

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
  count: number;
  evidence: Record<string, unknown>;
  finding: string;
}

export interface AuditEntry {
  seq: number;
  at: string;
  by: string;
  agent: string;
  /** An incident id, or `baseline:DEVICE` for a baseline review change. */
  incident: string;
  /** A triage status, or for a baseline change `learned` → `approved` | `rejected`. */
  from: Status | string;
  to: Status | string;
  comment: string;
}

export type ReviewStatus = 'new' | 'approved' | 'changed' | 'rejected' | 'gone';

/** One item of a device's learned-vs-approved baseline review (agent/wire/baseline.ts ReviewItem). */
export interface ReviewItem {
  id: string;
  facet: string;
  label: string;
  status: ReviewStatus;
}

export interface BaselineSummary {
  device: string;
  learned_version: number | null;
  approved_version: number | null;
  learned_by: string | null;
  approved_by: string | null;
  approved_at: string | null;
  updated_at: string;
  learned: { name?: string; vendor?: string; zone?: string } | null;
}

export interface BaselineReview extends BaselineSummary {
  items: ReviewItem[];
  versions: Array<{ version: number; kind: string; by: string; at: string; agent: string | null }>;
}

export interface FindingDetail {
  finding: Finding;
  rule: Rule | null;
  device: Device | null;
  peer: Device | null;
  incident: {
    agent: string;
    incident: string;
    status: Status;
    by: string | null;
    at: string | null;
    comment: string;
    findings: Finding[];
    audit: AuditEntry[];
  } | null;
}

export interface Me {
  name: string;
  role: 'read' | 'admin';
  csrf: string;
}
