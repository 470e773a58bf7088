// The parsed form of a rule (rules/README.md): what the loader builds, the validator checks and the matcher runs.
import type { FindingClass, Severity } from '../../wire/finding.js';
import type { Cidr } from '../site/ip.js';
import type { KnowledgeSource } from './knowledge.js';

export type Scalar = string | number | boolean;
export type Operand = { kind: 'values'; values: Scalar[] } | { kind: 'list'; list: string; line: number };

export type Op =
  | { op: 'equals'; value: Scalar }
  | { op: 'in' | 'not_in' | 'glob' | 'cidr' | 'zone'; operand: Operand }
  | { op: 'regex'; source: string }
  | { op: 'exists'; value: boolean }
  | { op: 'some'; match: MatchNode }
  | { op: 'known_to' | 'unknown_to'; sources: KnowledgeSource[]; list: string | null }
  | { op: 'lt' | 'gt' | 'gte' | 'lte'; value: number };

export type MatchNode =
  | { kind: 'all'; items: MatchNode[] }
  | { kind: 'any'; items: MatchNode[] }
  | { kind: 'not'; item: MatchNode }
  | { kind: 'field'; path: string; segs: string[]; ops: Op[]; line: number };

export interface ThresholdDef {
  count: number;
  windowMicros: number;
  by: string[][];
  byText: string[];
  distinct: string[][] | null;
  distinctText: string[];
}

export interface SuppressDef {
  ip: Cidr[];
  mac: string[];
  zone: string[];
  asset: string[];
}

export interface RuleDef {
  id: string;
  kind: 'match' | 'baseline';
  title: string;
  severity: Severity;
  attack: string[];
  scenarios: string[];
  description: string;
  remediation: string;
  file: string;
  line: number;
  match: MatchNode | null;
  /** Values of `match.proto` / `match.type` (for indexing); empty = any. */
  protos: string[];
  types: string[];
  threshold: ThresholdDef | null;
  suppress: SuppressDef[];
  device: 'src' | 'dst';
  dedupMicros: number;
  /** alert: an event that pages; exposure: a standing condition of the device, reported once and kept current. */
  class: FindingClass;
  rateLimit: { count: number; perMicros: number };
  needsSite: boolean;
  enabled: boolean;
}
