// Agent ⇄ collector WebSocket messages and their validators (DESIGN.md "Agent ⇄ collector", "Finding").
// A leaf: imports nothing of ours outside wire/. Validators are hand-written (no ajv): they are a few
// dozen lines, run on every message at ingest, and give bounded reason codes the collector counts.
import {
  DIRECTIONS,
  FINDING_CLASSES,
  INITIATORS,
  SEVERITIES,
  type Endpoint,
  type Finding,
  type FindingClass,
  type Severity,
} from './finding.js';
import { deviceProblem, type ArmedChecks, type DeviceBaseline } from './baseline.js';
import { parseTs } from './time.js';

/** Bumped only on an incompatible change; unknown fields are ignored so additions need no bump. */
export const WIRE_PROTOCOL = 1;

/** Hard caps a validator enforces on any message (beside the collector's maxPayload). */
export const WIRE_LIMITS = {
  maxFindingsPerBatch: 10_000,
  maxDevicesPerMessage: 100_000,
  maxString: 4096,
  maxIdLength: 256,
  maxLabelKeys: 256,
  maxRulesPerHello: 2000,
  maxBaselineDevicesPerMessage: 10_000,
  /** An approved set comes in at most this many `baseline` parts. */
  maxBaselineParts: 10_000,
} as const;

export interface HelloMessage {
  type: 'hello';
  agent: string;
  version: string;
  token: string;
  /** Wire protocol version the agent speaks; absent means 1. */
  proto?: number;
  /**
   * The rules the agent runs (issue 10): the collector names, describes and pre-creates metric series for them.
   * Optional and ignored by older collectors (unknown fields are), so neither side needs the other's version.
   */
  rules?: RuleInfo[];
}

/** What a collector needs to know of a rule: no match logic, only what a person triaging its findings reads. */
export interface RuleInfo {
  id: string;
  title: string;
  severity: Severity;
  attack: string[];
  description: string;
  remediation: string;
  class?: FindingClass;
}

/** A rule's announced description and nothing else of what it carries (a compiled rule, a stored row). */
export function ruleInfoOf(r: RuleInfo): RuleInfo {
  return {
    id: r.id,
    title: r.title,
    severity: r.severity,
    attack: r.attack,
    description: r.description,
    remediation: r.remediation,
    ...(r.class !== undefined ? { class: r.class } : {}),
  };
}

export interface WelcomeMessage {
  type: 'welcome';
  /** Collector software version. */
  version: string;
  proto?: number;
}

export interface FindingsMessage {
  type: 'findings';
  /** Per-agent, monotonically increasing; the collector acks the highest one stored. */
  seq: number;
  findings: Finding[];
}

export interface DropCounts {
  kernel: number;
  interface: number;
  queue: number;
}

export interface SpoolCounts {
  bytes: number;
  pending: number;
  dropped: number;
}

/** Cumulative counters since the agent started (the collector turns them into deltas). */
export interface StatsMessage {
  type: 'stats';
  ts?: string;
  packets: number;
  bytes: number;
  drops: DropCounts;
  /** protocol → malformed messages. */
  parse_errors: Record<string, number>;
  /** protocol → analyzers that threw and were detached from their flow; `engine` → events the engine threw on. */
  analyzer_errors?: Record<string, number>;
  /** protocol → message type → count. */
  messages: Record<string, Record<string, number>>;
  flows: number;
  devices: number;
  /** Resident memory of the agent, bytes. */
  memory: number;
  /** How far behind packet time the agent's processing is, seconds. */
  lag_seconds: number;
  spool?: SpoolCounts;
  /**
   * What the agent's caps pushed out, by cause: flow_cap, flow_budget, flow_embryonic_timeout,
   * flow_idle_timeout, fragment, device, datagram_cut (UDP datagrams cut at the identity analyzers' 16 KiB, issue 15).
   * Optional: older agents do not send it.
   */
  evictions?: Record<string, number>;
}

/** One attribute of a device's identity with its provenance (DESIGN.md "Device identity"). */
export interface DeviceAttribute {
  /** e.g. vendor, dicom_ae, hl7_app, udi, mqtt_client_id. */
  name: string;
  value: string;
  /** Protocol field that gave it, e.g. "dicom.calling_ae". */
  source: string;
  seen: string;
}

export interface DeviceRecord {
  /** Stable key across agents: the MAC when known, else the IP. */
  id: string;
  ip?: string;
  mac?: string;
  vendor?: string;
  name?: string;
  first_seen?: string;
  last_seen?: string;
  protocols?: string[];
  attributes?: DeviceAttribute[];
  /** learning: deviations are learned, only high and critical rules alert (issue 9); enforced: everything alerts. */
  baseline_state?: 'learning' | 'enforced';
  /** Since when the device is in that state. */
  baseline_since?: string;
}

export interface DevicesMessage {
  type: 'devices';
  devices: DeviceRecord[];
}

/**
 * What the agent learned (issue 10 "Baseline review"), one document per device, sent every 5 minutes and at
 * shutdown in chunks under the message cap; the collector keeps a new version of a device only when it changed.
 */
export interface BaselinesMessage {
  type: 'baselines';
  learned_from?: string;
  learned_to?: string;
  armed?: ArmedChecks;
  devices: DeviceBaseline[];
}

/**
 * The collector's approved baselines (issue 10): sent on connect and after every approval, split into `parts`
 * messages of the same `version` (numbered from 0 by `part`); the agent applies the set once it holds every part.
 */
export interface BaselineMessage {
  type: 'baseline';
  /** Version of the approved set: grows with every approval. */
  version: number;
  part: number;
  parts: number;
  armed?: ArmedChecks;
  devices: DeviceBaseline[];
}

export interface AckMessage {
  type: 'ack';
  seq: number;
}

export interface ErrorMessage {
  type: 'error';
  reason: string;
}

export type AgentMessage = HelloMessage | FindingsMessage | StatsMessage | DevicesMessage | BaselinesMessage;
export type CollectorMessage = WelcomeMessage | AckMessage | ErrorMessage | BaselineMessage;
export type WireMessage = AgentMessage | CollectorMessage;

/** Bounded reason codes (used as a metric label). */
export type RejectReason = 'malformed_json' | 'schema';

export type Validation<T> = { ok: true; value: T } | { ok: false; reason: RejectReason; detail: string };

type Obj = Record<string, unknown>;

class SchemaError extends Error {}

function fail(path: string, what: string): never {
  throw new SchemaError(`${path}: ${what}`);
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, path: string): Obj {
  if (!isObj(v)) fail(path, 'expected an object');
  return v;
}

function str(o: Obj, key: string, path: string, max: number = WIRE_LIMITS.maxString): string {
  const v = o[key];
  if (typeof v !== 'string') fail(`${path}.${key}`, 'expected a string');
  if (v.length > max) fail(`${path}.${key}`, `longer than ${max}`);
  return v;
}

function nonEmpty(o: Obj, key: string, path: string, max: number = WIRE_LIMITS.maxString): string {
  const v = str(o, key, path, max);
  if (v.length === 0) fail(`${path}.${key}`, 'empty');
  return v;
}

function optStr(o: Obj, key: string, path: string): void {
  if (o[key] !== undefined) str(o, key, path);
}

function count(o: Obj, key: string, path: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(`${path}.${key}`, 'expected a number ≥ 0');
  return v;
}

function integer(o: Obj, key: string, path: string, min: number, max: number): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail(`${path}.${key}`, `expected an integer in [${min}, ${max}]`);
  }
  return v;
}

function ts(o: Obj, key: string, path: string): void {
  const v = str(o, key, path, 64);
  if (Number.isNaN(parseTs(v))) fail(`${path}.${key}`, 'expected an RFC 3339 UTC timestamp');
}

function optTs(o: Obj, key: string, path: string): void {
  if (o[key] !== undefined) ts(o, key, path);
}

function strArray(o: Obj, key: string, path: string, maxItems: number): void {
  const v = o[key];
  if (!Array.isArray(v)) fail(`${path}.${key}`, 'expected an array');
  if (v.length > maxItems) fail(`${path}.${key}`, `more than ${maxItems} items`);
  for (const [i, s] of v.entries()) {
    if (typeof s !== 'string' || s.length > WIRE_LIMITS.maxString)
      fail(`${path}.${key}[${i}]`, 'expected a string');
  }
}

function countMap(v: unknown, path: string): void {
  const o = obj(v, path);
  const keys = Object.keys(o);
  if (keys.length > WIRE_LIMITS.maxLabelKeys) fail(path, `more than ${WIRE_LIMITS.maxLabelKeys} keys`);
  for (const k of keys) count(o, k, path);
}

function checkEndpoint(v: unknown, path: string): void {
  const o = obj(v, path);
  str(o, 'ip', path, 64);
  if (o.port !== undefined) integer(o, 'port', path, 0, 65535);
  optStr(o, 'mac', path);
  optStr(o, 'vendor', path);
  optStr(o, 'name', path);
}

function checkFinding(v: unknown, path: string): Finding {
  const o = obj(v, path);
  if (o.kind !== 'finding') fail(`${path}.kind`, 'expected "finding"');
  nonEmpty(o, 'id', path, WIRE_LIMITS.maxIdLength);
  ts(o, 'ts', path);
  nonEmpty(o, 'rule', path, 128);
  if (!(SEVERITIES as readonly unknown[]).includes(o.severity)) fail(`${path}.severity`, 'unknown severity');
  str(o, 'title', path);
  strArray(o, 'attack', path, 64);
  str(o, 'proto', path, 32);
  checkEndpoint(o.device, `${path}.device`);
  if (o.peer !== undefined) checkEndpoint(o.peer, `${path}.peer`);
  optStr(o, 'flow', path);
  optStr(o, 'community_id', path);
  if (o.initiator !== undefined && !(INITIATORS as readonly unknown[]).includes(o.initiator))
    fail(`${path}.initiator`, 'expected "device" or "peer"');
  if (o.direction !== undefined && !(DIRECTIONS as readonly unknown[]).includes(o.direction))
    fail(`${path}.direction`, 'expected "inbound", "outbound", "internal" or "external"');
  obj(o.evidence, `${path}.evidence`);
  if (o.count !== undefined) integer(o, 'count', path, 0, Number.MAX_SAFE_INTEGER);
  nonEmpty(o, 'agent', path, 128);
  if (o.class !== undefined && !(FINDING_CLASSES as readonly unknown[]).includes(o.class))
    fail(`${path}.class`, 'expected "alert" or "exposure"');
  if (o.incident !== undefined) nonEmpty(o, 'incident', path, WIRE_LIMITS.maxIdLength);
  return o as unknown as Finding;
}

function checkDevice(v: unknown, path: string): void {
  const o = obj(v, path);
  nonEmpty(o, 'id', path, WIRE_LIMITS.maxIdLength);
  for (const k of ['ip', 'mac', 'vendor', 'name']) optStr(o, k, path);
  optTs(o, 'first_seen', path);
  optTs(o, 'last_seen', path);
  if (o.protocols !== undefined) strArray(o, 'protocols', path, 64);
  if (o.attributes !== undefined) {
    const a = o.attributes;
    if (!Array.isArray(a) || a.length > 1024) fail(`${path}.attributes`, 'expected an array of ≤ 1024');
    for (const [i, at] of a.entries()) {
      const p = `${path}.attributes[${i}]`;
      const ao = obj(at, p);
      nonEmpty(ao, 'name', p, 128);
      str(ao, 'value', p);
      str(ao, 'source', p, 128);
      ts(ao, 'seen', p);
    }
  }
}

function checkRules(v: unknown, path: string): void {
  if (!Array.isArray(v)) fail(path, 'expected an array');
  if (v.length > WIRE_LIMITS.maxRulesPerHello) fail(path, `more than ${WIRE_LIMITS.maxRulesPerHello} rules`);
  for (const [i, r] of v.entries()) {
    const p = `${path}[${i}]`;
    const o = obj(r, p);
    nonEmpty(o, 'id', p, 128);
    str(o, 'title', p);
    if (!(SEVERITIES as readonly unknown[]).includes(o.severity)) fail(`${p}.severity`, 'unknown severity');
    strArray(o, 'attack', p, 64);
    str(o, 'description', p);
    str(o, 'remediation', p);
    if (o.class !== undefined && !(FINDING_CLASSES as readonly unknown[]).includes(o.class))
      fail(`${p}.class`, 'expected "alert" or "exposure"');
  }
}

function checkArmed(v: unknown, path: string): void {
  const o = obj(v, path);
  for (const k of ['volume', 'feed_stopped'])
    if (typeof o[k] !== 'boolean') fail(`${path}.${k}`, 'expected a boolean');
  if (o.min_learning_s !== undefined) count(o, 'min_learning_s', path);
}

function checkBaselineDevices(o: Obj): void {
  const d = o.devices;
  if (!Array.isArray(d)) fail('$.devices', 'expected an array');
  if (d.length > WIRE_LIMITS.maxBaselineDevicesPerMessage) fail('$.devices', 'too many devices');
  for (const [i, x] of d.entries()) {
    const problem = deviceProblem(x, `$.devices[${i}]`);
    if (problem) throw new SchemaError(problem);
  }
  if (o.armed !== undefined) checkArmed(o.armed, '$.armed');
}

function checkMessage(v: unknown): WireMessage {
  const o = obj(v, '$');
  switch (o.type) {
    case 'hello':
      nonEmpty(o, 'agent', '$', 128);
      str(o, 'version', '$', 64);
      str(o, 'token', '$', 512);
      if (o.proto !== undefined) integer(o, 'proto', '$', 1, 1000);
      if (o.rules !== undefined) checkRules(o.rules, '$.rules');
      break;
    case 'welcome':
      str(o, 'version', '$', 64);
      if (o.proto !== undefined) integer(o, 'proto', '$', 1, 1000);
      break;
    case 'findings': {
      integer(o, 'seq', '$', 1, Number.MAX_SAFE_INTEGER);
      const f = o.findings;
      if (!Array.isArray(f)) fail('$.findings', 'expected an array');
      if (f.length > WIRE_LIMITS.maxFindingsPerBatch) fail('$.findings', 'batch too large');
      for (const [i, x] of f.entries()) checkFinding(x, `$.findings[${i}]`);
      break;
    }
    case 'stats': {
      optTs(o, 'ts', '$');
      for (const k of ['packets', 'bytes', 'flows', 'devices', 'memory', 'lag_seconds']) count(o, k, '$');
      const d = obj(o.drops, '$.drops');
      for (const k of ['kernel', 'interface', 'queue']) count(d, k, '$.drops');
      countMap(o.parse_errors, '$.parse_errors');
      if (o.analyzer_errors !== undefined) countMap(o.analyzer_errors, '$.analyzer_errors');
      const m = obj(o.messages, '$.messages');
      if (Object.keys(m).length > WIRE_LIMITS.maxLabelKeys) fail('$.messages', 'too many protocols');
      for (const [p, types] of Object.entries(m)) countMap(types, `$.messages.${p}`);
      if (o.spool !== undefined) {
        const s = obj(o.spool, '$.spool');
        for (const k of ['bytes', 'pending', 'dropped']) count(s, k, '$.spool');
      }
      if (o.evictions !== undefined) countMap(o.evictions, '$.evictions');
      break;
    }
    case 'devices': {
      const d = o.devices;
      if (!Array.isArray(d)) fail('$.devices', 'expected an array');
      if (d.length > WIRE_LIMITS.maxDevicesPerMessage) fail('$.devices', 'too many devices');
      for (const [i, x] of d.entries()) checkDevice(x, `$.devices[${i}]`);
      break;
    }
    case 'baselines':
      optTs(o, 'learned_from', '$');
      optTs(o, 'learned_to', '$');
      checkBaselineDevices(o);
      break;
    case 'baseline': {
      integer(o, 'version', '$', 0, Number.MAX_SAFE_INTEGER);
      const parts = integer(o, 'parts', '$', 1, WIRE_LIMITS.maxBaselineParts);
      integer(o, 'part', '$', 0, parts - 1);
      checkBaselineDevices(o);
      break;
    }
    case 'ack':
      integer(o, 'seq', '$', 0, Number.MAX_SAFE_INTEGER);
      break;
    case 'error':
      str(o, 'reason', '$');
      break;
    default:
      fail('$.type', 'unknown message type');
  }
  return o as unknown as WireMessage;
}

function run<T>(f: () => T): Validation<T> {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    if (e instanceof SchemaError) return { ok: false, reason: 'schema', detail: e.message };
    throw e;
  }
}

/** Validates one Finding (as the engine emits it or the collector receives it). */
export function validateFinding(v: unknown): Validation<Finding> {
  return run(() => checkFinding(v, '$'));
}

/** Validates an already-parsed message of any type. */
export function validateMessage(v: unknown): Validation<WireMessage> {
  return run(() => checkMessage(v));
}

/** Validates a message the collector receives: only agent → collector types are accepted. */
export function validateAgentMessage(v: unknown): Validation<AgentMessage> {
  const r = validateMessage(v);
  if (!r.ok) return r;
  const t = r.value.type;
  if (t === 'hello' || t === 'findings' || t === 'stats' || t === 'devices' || t === 'baselines')
    return { ok: true, value: r.value };
  return { ok: false, reason: 'schema', detail: `$.type: ${t} is not sent by agents` };
}

/** Validates a message the agent receives. */
export function validateCollectorMessage(v: unknown): Validation<CollectorMessage> {
  const r = validateMessage(v);
  if (!r.ok) return r;
  const t = r.value.type;
  if (t === 'welcome' || t === 'ack' || t === 'error' || t === 'baseline')
    return { ok: true, value: r.value };
  return { ok: false, reason: 'schema', detail: `$.type: ${t} is not sent by collectors` };
}

/**
 * V8's JSON errors quote the input ("Unexpected token 'P', "PID|1||DOE^JANE" is not valid JSON"): only the
 * position is kept, so a misdirected HL7 message never reaches a log or an error reply.
 */
function jsonErrorDetail(e: unknown, length: number): string {
  const m = /position (\d+)/.exec(e instanceof Error ? e.message : '');
  return m ? `not valid JSON at position ${m[1]} of ${length}` : `not valid JSON (${length} characters)`;
}

/** Parses JSON text then validates it; never throws on input. */
export function parseAgentMessage(text: string): Validation<AgentMessage> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: 'malformed_json', detail: jsonErrorDetail(e, text.length) };
  }
  return validateAgentMessage(v);
}

export function parseCollectorMessage(text: string): Validation<CollectorMessage> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: 'malformed_json', detail: jsonErrorDetail(e, text.length) };
  }
  return validateCollectorMessage(v);
}

export type { Endpoint, Finding };
