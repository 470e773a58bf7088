// Collector-side caps and plausibility checks on what agents send (issue 11): evidence size and depth, sane
// timestamps and counters, per-agent message rate. Pure functions and small classes; the ingest counts each outcome.
import type { Finding } from '../agent/wire/finding.js';
import type { DeviceRecord, StatsMessage } from '../agent/wire/messages.js';
import { parseTs } from '../agent/wire/time.js';

export interface IngestLimits {
  /** Largest serialized evidence of one finding, bytes; beyond it the evidence is replaced by a marker. */
  maxEvidenceBytes: number;
  /** Deepest nesting of evidence (an object or array is one level); beyond it the evidence is replaced. */
  maxEvidenceDepth: number;
  /** Largest serialized finding after the evidence cap; beyond it long fields are shortened. */
  maxFindingBytes: number;
  /** Devices one agent may add to the inventory; further new devices are refused (counted). */
  maxDevicesPerAgent: number;
  /** Stats and devices messages per second per agent (token bucket rate) ... */
  messagesPerSecond: number;
  /** ... and the bucket's size (a burst after connecting: stats, devices in chunks). */
  messageBurst: number;
  /** Stats and device records are written in one transaction this often, ms. */
  flushIntervalMs: number;
  /** Distinct devices waiting for a flush, per agent (at least maxDevicesPerAgent); further ones are dropped (counted). */
  maxPendingDevices: number;
  /** Device records written per flush; the rest wait for the next one, 50 ms later (keeps each write short). */
  maxDevicesPerFlush: number;
}

export const DEFAULT_LIMITS: IngestLimits = {
  maxEvidenceBytes: 16 * 1024,
  maxEvidenceDepth: 8,
  maxFindingBytes: 64 * 1024,
  maxDevicesPerAgent: 10_000,
  messagesPerSecond: 20,
  messageBurst: 200,
  flushIntervalMs: 1000,
  maxPendingDevices: 20_000,
  maxDevicesPerFlush: 2_000,
};

/** Earliest plausible time of anything an agent reports (µs): 2000-01-01T00:00:00Z. */
export const MIN_TS_US = Date.UTC(2000, 0, 1) * 1000;
/** How far ahead of the collector's clock a time may be (µs): one day. */
export const MAX_FUTURE_US = 86_400 * 1_000_000;
/** Largest counter accepted: integers above it lose precision as doubles. */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER;

/** True when `text` is an RFC 3339 UTC time between 2000 and one day after `nowMs`. */
export function saneTs(text: string, nowMs: number): boolean {
  const us = parseTs(text);
  return Number.isFinite(us) && us >= MIN_TS_US && us <= nowMs * 1000 + MAX_FUTURE_US;
}

/** Every counter of a stats message is finite and ≤ 2^53 − 1 (the wire schema already requires ≥ 0). */
export function saneStats(s: Omit<StatsMessage, 'type'>): boolean {
  const ok = (n: number): boolean => Number.isFinite(n) && n <= MAX_COUNTER;
  if (![s.packets, s.bytes, s.flows, s.devices, s.memory, s.lag_seconds].every(ok)) return false;
  if (![s.drops.kernel, s.drops.interface, s.drops.queue].every(ok)) return false;
  if (s.spool && ![s.spool.bytes, s.spool.pending, s.spool.dropped].every(ok)) return false;
  if (!Object.values(s.parse_errors).every(ok)) return false;
  for (const types of Object.values(s.messages)) if (!Object.values(types).every(ok)) return false;
  return true;
}

/** Every time of a device record is sane (first/last seen, each attribute's sighting). */
export function saneDevice(d: DeviceRecord, nowMs: number): boolean {
  if (d.first_seen !== undefined && !saneTs(d.first_seen, nowMs)) return false;
  if (d.last_seen !== undefined && !saneTs(d.last_seen, nowMs)) return false;
  return (d.attributes ?? []).every((a) => saneTs(a.seen, nowMs));
}

export type Truncation = 'evidence' | 'finding' | 'device';

/** Fields a newer agent may add beside the known ones are kept when small and shallow, else dropped (counted). */
const MAX_EXTRA_FIELDS = 16;
const MAX_EXTRA_DEPTH = 4;
const MAX_EXTRA_BYTES = 1024;

/**
 * Copies the known keys of `o` and the unknown ones that are small and shallow (the wire schema ignores unknown
 * fields, so without this a field nested 20,000 deep would reach JSON.stringify and fail a shared commit).
 * Returns the copy and whether anything was dropped.
 */
function pick<T extends object>(o: T, known: readonly string[]): { value: T; dropped: boolean } {
  const out: Record<string, unknown> = {};
  let dropped = false;
  let extras = 0;
  for (const [k, v] of Object.entries(o)) {
    if (known.includes(k)) {
      out[k] = v;
    } else if (
      ++extras <= MAX_EXTRA_FIELDS &&
      jsonDepth(v, MAX_EXTRA_DEPTH) <= MAX_EXTRA_DEPTH &&
      (jsonBytes(v) ?? Number.POSITIVE_INFINITY) <= MAX_EXTRA_BYTES
    ) {
      out[k] = v;
    } else {
      dropped = true;
    }
  }
  return { value: out as T, dropped };
}

const ENDPOINT_KEYS = ['ip', 'port', 'mac', 'vendor', 'name'];
const FINDING_KEYS = [
  'kind',
  'id',
  'ts',
  'rule',
  'severity',
  'title',
  'attack',
  'proto',
  'device',
  'peer',
  'initiator',
  'direction',
  'flow',
  'community_id',
  'evidence',
  'count',
  'agent',
  'class',
  'incident',
];
const DEVICE_KEYS = [
  'id',
  'ip',
  'mac',
  'vendor',
  'name',
  'first_seen',
  'last_seen',
  'protocols',
  'attributes',
];
const ATTRIBUTE_KEYS = ['name', 'value', 'source', 'seen'];

/** A device record with only what is safe to store (see pick); `cut` when something was dropped. */
export function cleanDevice(d: DeviceRecord): { device: DeviceRecord; cut: boolean } {
  const r = pick(d, DEVICE_KEYS);
  let cut = r.dropped;
  if (d.attributes) {
    r.value.attributes = d.attributes.map((a) => {
      const x = pick(a, ATTRIBUTE_KEYS);
      cut ||= x.dropped;
      return x.value;
    });
  }
  return { device: r.value, cut };
}

/** The known fields of a stats message only (it is stored whole; unknown fields there have no use). */
export function cleanStats(s: Omit<StatsMessage, 'type'>): Omit<StatsMessage, 'type'> {
  const out: Omit<StatsMessage, 'type'> = {
    packets: s.packets,
    bytes: s.bytes,
    drops: { kernel: s.drops.kernel, interface: s.drops.interface, queue: s.drops.queue },
    parse_errors: s.parse_errors,
    messages: s.messages,
    flows: s.flows,
    devices: s.devices,
    memory: s.memory,
    lag_seconds: s.lag_seconds,
  };
  if (s.ts !== undefined) out.ts = s.ts;
  if (s.spool) out.spool = { bytes: s.spool.bytes, pending: s.spool.pending, dropped: s.spool.dropped };
  return out;
}

/**
 * Deepest nesting of `v`, walked without recursion (JSON.stringify recurses and throws on deep input); stops as
 * soon as `limit` is exceeded or more than `maxNodes` values were visited (returns Infinity for "unknown").
 */
export function jsonDepth(v: unknown, limit: number, maxNodes = 50_000): number {
  const stack: Array<[unknown, number]> = [[v, 0]];
  let deepest = 0;
  let nodes = 0;
  while (stack.length > 0) {
    const [x, d] = stack.pop() as [unknown, number];
    if (++nodes > maxNodes) return Number.POSITIVE_INFINITY;
    if (typeof x !== 'object' || x === null) continue;
    const depth = d + 1;
    if (depth > deepest) deepest = depth;
    if (deepest > limit) return deepest;
    for (const c of Array.isArray(x) ? x : Object.values(x as Record<string, unknown>)) {
      if (typeof c === 'object' && c !== null) stack.push([c, depth]);
    }
  }
  return deepest;
}

/** Serialized size in bytes, or null when the value cannot be serialized (too deep for the stack). */
function jsonBytes(v: unknown): number | null {
  try {
    return Buffer.byteLength(JSON.stringify(v) ?? '');
  } catch {
    return null;
  }
}

/** An exposure's `first_seen`/`last_seen` survive a truncation so its time range stays right. */
function keptTimes(e: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['first_seen', 'last_seen']) {
    const v = e[k];
    if (typeof v === 'string' && v.length <= 64) out[k] = v;
  }
  return out;
}

/**
 * Applies the evidence and finding caps: an evidence too deep or too large becomes
 * `{"_truncated": true, "reason": "depth"|"size", "bytes": N}`; a finding still too large has its long strings
 * and attack list shortened. Returns the finding to store (a copy when changed) and what was cut.
 */
export function capFinding(
  f: Finding,
  limits: Pick<IngestLimits, 'maxEvidenceBytes' | 'maxEvidenceDepth' | 'maxFindingBytes'>,
): { finding: Finding; cut: Truncation[] } {
  const cut: Truncation[] = [];
  // Unknown fields (top level and in endpoints) are kept only when small and shallow.
  const top = pick(f, FINDING_KEYS);
  const device = pick(f.device, ENDPOINT_KEYS);
  const peer = f.peer ? pick(f.peer, ENDPOINT_KEYS) : null;
  let out = f;
  if (top.dropped || device.dropped || peer?.dropped) {
    out = { ...top.value, device: device.value };
    if (peer) out.peer = peer.value;
    cut.push('finding');
  }
  f = out;
  const depth = jsonDepth(f.evidence, limits.maxEvidenceDepth);
  // Past the node budget the depth is unknown: serializing may still overflow the stack, which jsonBytes catches.
  const tooDeep = depth > limits.maxEvidenceDepth && depth !== Number.POSITIVE_INFINITY;
  const bytes = tooDeep ? null : jsonBytes(f.evidence);
  if (tooDeep || bytes === null || bytes > limits.maxEvidenceBytes) {
    out = {
      ...f,
      evidence: {
        _truncated: true,
        reason: bytes === null ? 'depth' : 'size',
        ...(bytes !== null ? { bytes } : {}),
        ...keptTimes(f.evidence),
      },
    };
    cut.push('evidence');
  }
  if ((jsonBytes(out) ?? Number.POSITIVE_INFINITY) > limits.maxFindingBytes) {
    const short = (s: string | undefined, n: number): string | undefined =>
      s === undefined ? undefined : s.length > n ? `${s.slice(0, n)}…` : s;
    const ep = (e: Finding['device']): Finding['device'] => {
      const r: Finding['device'] = { ip: e.ip.slice(0, 64) };
      if (e.port !== undefined) r.port = e.port;
      for (const k of ['mac', 'vendor', 'name'] as const) {
        const v = short(e[k], 128);
        if (v !== undefined) r[k] = v;
      }
      return r;
    };
    const g: Finding = {
      ...out,
      title: short(out.title, 512) ?? '',
      attack: out.attack.slice(0, 16).map((a) => short(a, 32) ?? ''),
      device: ep(out.device),
    };
    if (out.peer) g.peer = ep(out.peer);
    if (out.flow !== undefined) g.flow = short(out.flow, 256) ?? '';
    // Whatever else makes it this large (extra fields) goes.
    const only: Record<string, unknown> = {};
    for (const k of FINDING_KEYS) if (k in g) only[k] = (g as unknown as Record<string, unknown>)[k];
    out = only as unknown as Finding;
    if (!cut.includes('finding')) cut.push('finding');
  }
  return { finding: out, cut };
}

/** Token bucket: `rate` tokens a second up to `burst`; `take` spends one when there is one. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now = Date.now(),
  ) {
    this.tokens = burst;
    this.last = now;
  }
  take(now = Date.now()): boolean {
    if (!this.peek(now)) return false;
    this.tokens -= 1;
    return true;
  }
  /** True when a token is there (refilled to `now`), without spending it. */
  peek(now = Date.now()): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    return this.tokens >= 1;
  }
}
