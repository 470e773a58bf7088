// Turns rule hits into Finding records (DESIGN.md "Finding"): stable ids, one finding per rule+device+peer per window with a count, a rate limit per rule, redacted evidence.
import { createHash } from 'node:crypto';
import type { Direction, Endpoint, Finding, FindingClass, Initiator, Severity } from '../../wire/finding.js';
import { formatTs } from '../../wire/time.js';

export interface FindingRule {
  id: string;
  title: string;
  severity: Severity;
  attack: string[];
  dedupMicros: number;
  class: FindingClass;
  rateLimit: { count: number; perMicros: number };
}

export interface Occurrence {
  ts: number;
  proto: string;
  device: Endpoint;
  peer?: Endpoint;
  /** With `peer`: which side opened the connection, when known (wire/finding.ts). */
  initiator?: Initiator;
  direction?: Direction;
  flow?: string;
  /** Community ID v1 of that flow. */
  community_id?: string;
  evidence: Record<string, unknown>;
  /** What makes two occurrences "the same finding" besides the rule (default device ip/mac + peer ip). */
  dedupKey?: string;
  /** Occurrences this report stands for (a threshold crossing stands for the events in its window). */
  count?: number;
}

export interface FindingStats {
  emitted: number;
  folded: number;
  summaries: number;
  rateLimited: number;
  windowsEvicted: number;
  openWindows: number;
}

interface Window {
  key: string;
  start: number;
  end: number;
  count: number;
  initial: number;
  last: number;
  first: Finding;
}

/** Object keys that may hold patient data or secrets: never copied into evidence. */
const DENY_KEY =
  /pass(word|code|phrase)?$|secret|token|payload|patient|^pid$|birth|^dob$|ssn|^mrn$|obx_?value|observation|^values?$|phone|address_line|street/i;
const MAX_TEXT = 128;
const MAX_ITEMS = 16;
const MAX_RATE_KEYS = 4096;

/** A bounded, redacted copy: strings cut, arrays cut, denied keys dropped, depth limited. */
export function redactEvidence(v: unknown, depth = 0): unknown {
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'string') return v.length > MAX_TEXT ? `${v.slice(0, MAX_TEXT)}…` : v;
  if (depth >= 3 || typeof v !== 'object') return undefined;
  if (Array.isArray(v))
    return v
      .slice(0, MAX_ITEMS)
      .map((x) => redactEvidence(x, depth + 1))
      .filter((x) => x !== undefined);
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const [k, x] of Object.entries(v)) {
    if (DENY_KEY.test(k) || n >= MAX_ITEMS) continue;
    const r = redactEvidence(x, depth + 1);
    if (r !== undefined) {
      out[k] = r;
      n++;
    }
  }
  return out;
}

export function isDeniedKey(k: string): boolean {
  return DENY_KEY.test(k);
}

export function findingId(parts: (string | number)[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
}

/** What makes two occurrences of a rule "the same finding" (Occurrence.dedupKey, or the default). */
export function dedupKeyOf(rule: FindingRule, occ: Occurrence): string {
  return occ.dedupKey ?? defaultDedupKey(rule, occ.device.ip, occ.device.mac, occ.peer?.ip);
}

/**
 * The dedup key of an occurrence without its own: an exposure belongs to the device whatever peer showed it, an
 * alert to the device and that peer. The reporter asks it before building the occurrence (FindingSink.admit).
 */
export function defaultDedupKey(
  rule: FindingRule,
  ip: string,
  mac: string | undefined,
  peerIp: string | undefined,
): string {
  return rule.class === 'exposure' ? `${ip}|${mac ?? ''}` : `${ip}|${mac ?? ''}|${peerIp ?? ''}`;
}

/**
 * The first occurrence is emitted at once with count 1; repeats inside the rule's dedup window are
 * folded. When a window with repeats closes, one summary finding (its own id) carries the total count.
 */
export class FindingSink {
  private readonly windows = new Map<string, Window>();
  private readonly rate = new Map<string, { bucket: number; n: number }>();
  private nextExpiry = Number.POSITIVE_INFINITY;
  readonly stats: FindingStats = {
    emitted: 0,
    folded: 0,
    summaries: 0,
    rateLimited: 0,
    windowsEvicted: 0,
    openWindows: 0,
  };

  constructor(
    private readonly agentId: string,
    private readonly onFinding: (f: Finding) => void,
    private readonly maxWindows = 50000,
  ) {}

  report(rule: FindingRule, occ: Occurrence): void {
    const dk = dedupKeyOf(rule, occ);
    const key = this.admit(rule, dk, occ.ts);
    if (key !== null) this.emit(rule, key, dk, occ);
  }

  /**
   * The part of report() that needs only the rule, the dedup key (dedupKeyOf) and the time: folds a repeat
   * into its open window or counts it rate-limited and gives null, else gives the window key for emit(). A
   * caller that would build the occurrence only for emit() (most threshold crossings fold) builds it after.
   */
  admit(rule: FindingRule, dk: string, ts: number): string | null {
    const key = `${rule.id}|${dk}`;
    const w = this.windows.get(key);
    if (w) {
      if (ts < w.end) {
        w.count += 1; // a folded repeat is one more occurrence, even for a threshold crossing again
        if (ts > w.last) w.last = ts;
        this.stats.folded++;
        return null;
      }
      this.close(w);
      this.windows.delete(key);
    }
    const bucket = Math.floor(ts / rule.rateLimit.perMicros);
    const r = this.rate.get(rule.id);
    if (r && r.bucket === bucket) {
      if (r.n >= rule.rateLimit.count) {
        this.stats.rateLimited++;
        return null;
      }
      r.n++;
    } else {
      // One entry per rule id; deviation codes come from outside the rule files, so bound them too.
      if (!r && this.rate.size >= MAX_RATE_KEYS) this.rate.clear();
      this.rate.set(rule.id, { bucket, n: 1 });
    }
    return key;
  }

  /** The finding of an occurrence admit() let through (`key` its answer, `dk` and occ.ts what it was asked). */
  emit(rule: FindingRule, key: string, dk: string, occ: Occurrence): void {
    const n = occ.count ?? 1;
    const f: Finding = {
      kind: 'finding',
      id: findingId([this.agentId, rule.id, dk, occ.ts]),
      ts: formatTs(occ.ts),
      rule: rule.id,
      severity: rule.severity,
      title: rule.title,
      attack: [...rule.attack],
      proto: occ.proto,
      device: occ.device,
      evidence: redactEvidence(occ.evidence) as Record<string, unknown>,
      count: n,
      agent: this.agentId,
      class: rule.class,
    };
    if (occ.peer) {
      f.peer = occ.peer;
      if (occ.initiator !== undefined) f.initiator = occ.initiator;
      if (occ.direction !== undefined) f.direction = occ.direction;
    }
    if (occ.flow) f.flow = occ.flow;
    if (occ.community_id !== undefined) f.community_id = occ.community_id;
    if (this.windows.size >= this.maxWindows) {
      const oldest = this.windows.values().next();
      if (!oldest.done) {
        this.close(oldest.value);
        this.windows.delete(oldest.value.key);
        this.stats.windowsEvicted++;
      }
    }
    const end = occ.ts + rule.dedupMicros;
    this.windows.set(key, { key, start: occ.ts, end, count: n, initial: n, last: occ.ts, first: f });
    if (end < this.nextExpiry) this.nextExpiry = end;
    this.stats.openWindows = this.windows.size;
    this.stats.emitted++;
    this.onFinding(f);
  }

  /** Close windows whose end is at or before `now` (packet time). */
  advance(now: number): void {
    if (now < this.nextExpiry) return;
    let next = Number.POSITIVE_INFINITY;
    for (const [k, w] of this.windows) {
      if (w.end <= now) {
        this.close(w);
        this.windows.delete(k);
      } else if (w.end < next) next = w.end;
    }
    this.nextExpiry = next;
    this.stats.openWindows = this.windows.size;
  }

  /** End of input: close every window (summaries for those with repeats). */
  flush(): void {
    for (const w of this.windows.values()) this.close(w);
    this.windows.clear();
    this.nextExpiry = Number.POSITIVE_INFINITY;
    this.stats.openWindows = 0;
  }

  private close(w: Window): void {
    if (w.count <= w.initial) return;
    const f: Finding = {
      ...w.first,
      id: findingId([w.first.id, 'summary']),
      ts: formatTs(w.last),
      count: w.count,
      evidence: {
        ...w.first.evidence,
        first_seen: w.first.ts,
        last_seen: formatTs(w.last),
        repeat_of: w.first.id,
      },
    };
    this.stats.summaries++;
    this.onFinding(f);
  }
}
