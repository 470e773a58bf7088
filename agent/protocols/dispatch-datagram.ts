// UDP datagrams and non-IP frames to the identity analyzers: a per-flow datagram analyzer chosen by port, and link frames by `accepts`.
import { macToString } from '../decode/addr.js';
import type { FlowInfo, StreamConsumer } from '../reassembly/types.js';
import {
  countingSink,
  endpoint,
  eventRecord,
  PRINTED_EVENTS,
  type EventForm,
  type ProtocolCounters,
} from './dispatch.js';
import type {
  AnalyzerSink,
  DatagramAnalyzer,
  DatagramAnalyzerSpec,
  Direction,
  EventEndpoint,
  EventFields,
  EventRecord,
  LinkAnalyzerSpec,
  LinkFrame,
  ProtoName,
} from './types.js';

/**
 * Bytes of one datagram an analyzer is given; the rest is not read (and counted in `datagramsCut`). Larger
 * than any jumbo frame: only reassembled IP fragments reach it.
 */
export const MAX_DATAGRAM = 16 * 1024;

/** What the identity plumbing counts beside the per-protocol counters. */
export interface IdentityCounters {
  /** Datagrams cut at MAX_DATAGRAM before their analyzer saw them. */
  datagramsCut: number;
  /** Non-IP frames some link analyzer accepted. */
  linkFrames: number;
}

export function createIdentityCounters(): IdentityCounters {
  return { datagramsCut: 0, linkFrames: 0 };
}

/** Adds the identity protocols to counters made by createProtocolCounters (which takes stream specs only). */
export function addProtocols(counters: ProtocolCounters, protos: readonly ProtoName[]): void {
  for (const p of protos) {
    counters.messages[p] ??= {};
    counters.parseErrors[p] ??= 0;
    counters.confirmed[p] ??= 0;
    counters.violations[p] ??= 0;
    counters.analyzerErrors[p] ??= 0;
  }
}

export type DatagramPortMap = ReadonlyMap<number, DatagramAnalyzerSpec>;

export function buildDatagramPortMap(
  specs: readonly DatagramAnalyzerSpec[],
  extraPorts: Partial<Record<ProtoName, readonly number[]>> = {},
): DatagramPortMap {
  const map = new Map<number, DatagramAnalyzerSpec>();
  for (const spec of specs) for (const port of spec.defaultPorts) map.set(port, spec);
  for (const spec of specs) for (const port of extraPorts[spec.proto] ?? []) map.set(port, spec);
  return map;
}

/** The datagram analyzer a UDP flow gets by its server port, else its client port. */
export function datagramAnalyzerByPort(
  map: DatagramPortMap,
  flow: FlowInfo,
): DatagramAnalyzerSpec | undefined {
  return map.get(flow.serverPort) ?? map.get(flow.clientPort);
}

/**
 * One per UDP flow whose port names a datagram analyzer: the flow table's consumer, holding only the analyzer
 * (stateless per datagram), so a flow costs no buffer. An analyzer that throws is detached and counted.
 */
export class DatagramDispatcher implements StreamConsumer {
  private analyzer: DatagramAnalyzer | null;

  constructor(
    private readonly flow: FlowInfo,
    private readonly spec: DatagramAnalyzerSpec,
    private readonly emit: (ev: EventRecord) => void,
    private readonly counters: ProtocolCounters,
    private readonly identity: IdentityCounters,
    private readonly form: EventForm = PRINTED_EVENTS,
  ) {
    flow.app = spec.proto;
    this.analyzer = spec.create(this.sink());
  }

  onData(dir: Direction, bytes: Uint8Array, ts: number): void {
    if (this.analyzer === null) return;
    let payload = bytes;
    if (payload.length > MAX_DATAGRAM) {
      this.identity.datagramsCut++;
      payload = payload.subarray(0, MAX_DATAGRAM);
    }
    try {
      this.analyzer.onDatagram(dir, payload, ts);
    } catch {
      const p = this.spec.proto;
      this.counters.analyzerErrors[p] = (this.counters.analyzerErrors[p] ?? 0) + 1;
      this.analyzer = null;
    }
  }

  onGap(): void {}

  onEnd(): void {}

  bufferedBytes(): number {
    return 0;
  }

  private sink(): AnalyzerSink {
    const { flow, counters, emit } = this;
    // Endpoints as known at each datagram: a UDP flow learns its server's MAC only when the server speaks.
    // Datagram analyzers never give a flow up (each datagram is judged alone): a violation is only counted.
    return countingSink(this.spec.proto, counters, (dir, ts, type, fields) => {
      const client = endpoint(flow.clientIp, flow.clientPort, flow.clientMac);
      const server = endpoint(flow.serverIp, flow.serverPort, flow.serverMac);
      const proto = this.spec.proto;
      const src = dir === 0 ? client : server;
      const dst = dir === 0 ? server : client;
      emit(eventRecord(this.form, ts, proto, type, src, dst, flow, fields));
    });
  }
}

/**
 * A non-IP frame to the first link analyzer that accepts it. Its events have no flow: src is the sender's MAC
 * with ip "" and port 0; dst is the frame's (multicast) destination MAC likewise.
 */
export function dispatchLinkFrame(
  frame: LinkFrame,
  ts: number,
  specs: readonly LinkAnalyzerSpec[],
  emit: (ev: EventRecord) => void,
  counters: ProtocolCounters,
  identity: IdentityCounters,
  form: EventForm = PRINTED_EVENTS,
): void {
  for (const spec of specs) {
    if (!spec.accepts(frame)) continue;
    identity.linkFrames++;
    const proto = spec.proto;
    const src: EventEndpoint = { ip: '', port: 0, mac: macToString(frame.srcMac) };
    const dst: EventEndpoint = { ip: '', port: 0, mac: macToString(frame.dstMac) };
    const out = (type: string, fields: EventFields): void =>
      emit({ kind: 'event', ts: form.timeText(ts), proto, type, src, dst, flow: '', fields, tsMicros: ts });
    let r: ReturnType<LinkAnalyzerSpec['decode']>;
    try {
      r = spec.decode(frame);
    } catch {
      counters.analyzerErrors[proto] = (counters.analyzerErrors[proto] ?? 0) + 1;
      return;
    }
    if ('anomaly' in r) {
      counters.anomalies[r.anomaly] = (counters.anomalies[r.anomaly] ?? 0) + 1;
      if (r.malformed) counters.parseErrors[proto] = (counters.parseErrors[proto] ?? 0) + 1;
      out('anomaly', { code: r.anomaly });
      return;
    }
    const messages = (counters.messages[proto] ??= {});
    messages[r.type] = (messages[r.type] ?? 0) + 1;
    out(r.type, r.fields);
    const cut = r.cut ?? 0;
    if (cut > 0) {
      const code = `${proto}.limit_exceeded`;
      counters.anomalies[code] = (counters.anomalies[code] ?? 0) + 1;
      out('anomaly', { code, cut });
    }
    return;
  }
}
