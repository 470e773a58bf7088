// Protocol detection per flow (by port, then by content probe) and the sink that turns analyzer output into event records.
import type { FlowInfo, StreamConsumer } from '../reassembly/types.js';
import { macToString } from '../decode/addr.js';
import { formatTs } from '../wire/time.js';
import type {
  Analyzer,
  AnalyzerSink,
  AnalyzerSpec,
  Direction,
  EventEndpoint,
  EventFields,
  EventRecord,
  ProtoName,
} from './types.js';

/** Bytes kept per direction while no analyzer has claimed the flow yet. */
const PROBE_BUFFER_CAP = 512;
/** Data callbacks per flow after which an undecided flow is given up as "not ours". */
const PROBE_ATTEMPTS_CAP = 8;

export interface ProtocolCounters {
  /** Messages by protocol and type, e.g. counts.mqtt.publish. */
  messages: Record<string, Record<string, number>>;
  parseErrors: Record<string, number>;
  anomalies: Record<string, number>;
  confirmed: Record<string, number>;
  violations: Record<string, number>;
  /** Analyzers that threw and were detached from their flow (a bug, never hostile input's fault alone). */
  analyzerErrors: Record<string, number>;
}

export function createProtocolCounters(specs: readonly AnalyzerSpec[]): ProtocolCounters {
  const counters: ProtocolCounters = {
    messages: {},
    parseErrors: {},
    anomalies: {},
    confirmed: {},
    violations: {},
    analyzerErrors: {},
  };
  for (const s of specs) {
    counters.messages[s.proto] = {};
    counters.parseErrors[s.proto] = 0;
    counters.confirmed[s.proto] = 0;
    counters.violations[s.proto] = 0;
    counters.analyzerErrors[s.proto] = 0;
  }
  return counters;
}

export type PortMap = ReadonlyMap<number, AnalyzerSpec>;

/** Server port → analyzer, from each spec's defaults plus the site's extra ports. */
export function buildPortMap(
  specs: readonly AnalyzerSpec[],
  extraPorts: Partial<Record<ProtoName, readonly number[]>> = {},
): PortMap {
  const map = new Map<number, AnalyzerSpec>();
  for (const spec of specs) {
    for (const port of spec.defaultPorts) map.set(port, spec);
  }
  // Site ports win over defaults: the hospital knows its own network.
  for (const spec of specs) {
    for (const port of extraPorts[spec.proto] ?? []) map.set(port, spec);
  }
  return map;
}

/** The analyzer a flow gets by its server port (else its client port), or undefined. */
export function analyzerByPort(portMap: PortMap, flow: FlowInfo): AnalyzerSpec | undefined {
  return portMap.get(flow.serverPort) ?? portMap.get(flow.clientPort);
}

/**
 * One per TCP flow that carries payload (the flow table makes it on the first payload or FIN). Chooses an
 * analyzer (server-port match first, else a content probe on either direction's first bytes), feeds it,
 * and detaches it on violation.
 */
export class FlowDispatcher implements StreamConsumer {
  private analyzer: Analyzer | null = null;
  private spec: AnalyzerSpec | null = null;
  private undecided = true;
  private attempts = 0;
  private readonly probeBuf: [Uint8Array | null, Uint8Array | null] = [null, null];

  constructor(
    private readonly flow: FlowInfo,
    private readonly specs: readonly AnalyzerSpec[],
    portMap: PortMap,
    private readonly emit: (ev: EventRecord) => void,
    private readonly counters: ProtocolCounters,
    private readonly form: EventForm = PRINTED_EVENTS,
  ) {
    const byPort = analyzerByPort(portMap, flow);
    if (byPort) this.attach(byPort, true);
  }

  onData(dir: Direction, bytes: Uint8Array, ts: number): void {
    if (this.analyzer) {
      try {
        this.analyzer.onData(dir, bytes, ts);
      } catch {
        this.fail();
      }
      return;
    }
    if (!this.undecided || bytes.length === 0) return;
    const before = this.probeBuf[dir];
    const buf = this.appendProbe(dir, bytes);
    let needMore = false;
    for (const spec of this.specs) {
      const verdict = spec.probe(dir, buf);
      if (verdict === 'match') {
        const analyzer = this.attach(spec);
        this.probeBuf[0] = this.probeBuf[1] = null;
        // The analyzer gets this direction's earlier bytes and then the whole chunk (the probe buffer is
        // capped, the chunk is not). The other direction's earlier bytes came before the analyzer existed.
        try {
          if (before) analyzer.onData(dir, before, ts);
          analyzer.onData(dir, bytes, ts);
        } catch {
          this.fail();
        }
        return;
      }
      if (verdict === 'need_more') needMore = true;
    }
    this.attempts++;
    if (!needMore || this.attempts >= PROBE_ATTEMPTS_CAP || buf.length >= PROBE_BUFFER_CAP) {
      this.undecided = false;
      this.probeBuf[0] = this.probeBuf[1] = null;
    }
  }

  /**
   * Bypass: what the analyzer says it would only count; a flow without an analyzer for good (none matched, or it
   * was detached) wants nothing more. While probing every byte is needed.
   */
  skippable(dir: Direction): number {
    const a = this.analyzer;
    if (a === null) return this.undecided ? 0 : Infinity;
    if (a.skippable === undefined) return 0;
    try {
      return a.skippable(dir);
    } catch {
      this.fail();
      return Infinity;
    }
  }

  onSkip(dir: Direction, len: number, ts: number): void {
    try {
      this.analyzer?.onSkip?.(dir, len, ts);
    } catch {
      this.fail();
    }
  }

  onGap(dir: Direction, len: number, ts: number): void {
    if (!this.analyzer) {
      this.probeBuf[dir] = null;
      return;
    }
    try {
      this.analyzer.onGap(dir, len, ts);
    } catch {
      this.fail();
    }
  }

  onEnd(dir: Direction, ts: number): void {
    try {
      this.analyzer?.onEnd(dir, ts);
    } catch {
      this.fail();
    }
  }

  /**
   * An analyzer threw (issue 12: one exception used to abort the rest of a capture, and would crash a live
   * agent): it is detached from this flow and counted; the capture and every other flow go on.
   */
  private fail(): void {
    const proto = this.spec?.proto;
    if (proto) this.counters.analyzerErrors[proto] = (this.counters.analyzerErrors[proto] ?? 0) + 1;
    this.analyzer = null;
    this.undecided = false;
  }

  bufferedBytes(): number {
    return (
      (this.analyzer?.bufferedBytes() ?? 0) +
      (this.probeBuf[0]?.length ?? 0) +
      (this.probeBuf[1]?.length ?? 0)
    );
  }

  private appendProbe(dir: Direction, bytes: Uint8Array): Uint8Array {
    const prev = this.probeBuf[dir];
    const room = PROBE_BUFFER_CAP - (prev?.length ?? 0);
    const take = bytes.subarray(0, Math.max(0, room));
    const next = new Uint8Array((prev?.length ?? 0) + take.length);
    if (prev) next.set(prev, 0);
    next.set(take, prev?.length ?? 0);
    this.probeBuf[dir] = next;
    return next;
  }

  /** `byPort`: the flow's protocol was known from its first packet, so its events name the endpoints as then known. */
  private attach(spec: AnalyzerSpec, byPort = false): Analyzer {
    this.spec = spec;
    this.flow.app = spec.proto;
    const analyzer = spec.create(this.createSink(spec.proto, byPort));
    this.analyzer = analyzer;
    return analyzer;
  }

  private createSink(proto: ProtoName, byPort: boolean): AnalyzerSink {
    const flow = this.flow;
    const counters = this.counters;
    // Attached by port, the analyzer used to be made with the flow, when only the first sender's MAC was
    // known; it is made later now (on the first payload) but its events still say what they always said.
    const macAt = byPort ? flow.macAtStart?.bind(flow) : undefined;
    const client = endpoint(flow.clientIp, flow.clientPort, macAt ? macAt(0) : flow.clientMac);
    const server = endpoint(flow.serverIp, flow.serverPort, macAt ? macAt(1) : flow.serverMac);
    const emit = this.emit;
    const form = this.form;
    const record = (dir: Direction, ts: number, type: string, fields: EventFields): void => {
      const src = dir === 0 ? client : server;
      const dst = dir === 0 ? server : client;
      emit(eventRecord(form, ts, proto, type, src, dst, flow, fields));
    };
    return countingSink(proto, counters, record, () => {
      if (this.spec?.proto === proto) {
        this.analyzer = null;
        this.spec = null;
        this.undecided = false;
        this.flow.app = null;
      }
    });
  }
}

/**
 * The sink every analyzer kind reports to: counts messages, anomalies (parse errors when malformed), confirmations
 * and violations per protocol, and hands each event to `record`. `onViolation` is what giving up means for the
 * caller (a stream dispatcher detaches the analyzer; a datagram one judges each datagram alone).
 */
export function countingSink(
  proto: ProtoName,
  counters: ProtocolCounters,
  record: (dir: Direction, ts: number, type: string, fields: EventFields) => void,
  onViolation: () => void = () => undefined,
): AnalyzerSink {
  const messages = (counters.messages[proto] ??= {});
  return {
    event: (dir, ts, type, fields) => {
      messages[type] = (messages[type] ?? 0) + 1;
      record(dir, ts, type, fields);
    },
    anomaly: (dir, ts, code, malformed, fields) => {
      counters.anomalies[code] = (counters.anomalies[code] ?? 0) + 1;
      if (malformed) counters.parseErrors[proto] = (counters.parseErrors[proto] ?? 0) + 1;
      record(dir, ts, 'anomaly', { code, ...(fields ?? {}) });
    },
    confirm: () => {
      counters.confirmed[proto] = (counters.confirmed[proto] ?? 0) + 1;
    },
    violation: () => {
      counters.violations[proto] = (counters.violations[proto] ?? 0) + 1;
      onViolation();
    },
  };
}

/**
 * How event records are made (issue 12, typed events): for printing (`replay --events`: the RFC 3339 time and the
 * Community ID on the record), or for a pipeline whose events never leave it (the agent, `replay` without
 * `--events`, a baseline learner), where time is `tsMicros` and the Community ID is made from `flowInfo` only when a
 * finding names the flow.
 */
export interface EventForm {
  printed: boolean;
  timeText(micros: number): string;
}

export const PRINTED_EVENTS: EventForm = { printed: true, timeText: eventTs };
export const INSIDE_EVENTS: EventForm = { printed: false, timeText: () => '' };

/**
 * One event record in its form. The Community ID is a SHA-1 per flow: on a printed record it is made now, else the
 * record carries its flow and the id is made only if a finding names the flow.
 */
export function eventRecord(
  form: EventForm,
  ts: number,
  proto: ProtoName,
  type: string,
  src: EventEndpoint,
  dst: EventEndpoint,
  flow: FlowInfo,
  fields: EventFields,
): EventRecord {
  return form.printed
    ? {
        kind: 'event',
        ts: form.timeText(ts),
        proto,
        type,
        src,
        dst,
        flow: flow.id,
        community_id: flow.communityId,
        fields,
        tsMicros: ts,
      }
    : { kind: 'event', ts: '', proto, type, src, dst, flow: flow.id, fields, tsMicros: ts, flowInfo: flow };
}

/** The last event time and its text: the messages of one segment share their packet's time. */
let lastTsMicros = Number.NaN;
let lastTsText = '';

export function eventTs(micros: number): string {
  if (micros !== lastTsMicros) {
    lastTsMicros = micros;
    lastTsText = formatTs(micros);
  }
  return lastTsText;
}

export function endpoint(ip: string, port: number, mac: number): { ip: string; port: number; mac?: string } {
  return mac >= 0 ? { ip, port, mac: macToString(mac) } : { ip, port };
}
