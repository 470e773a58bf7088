// Flow records: what the flow table reports when a flow starts and ends (`{"kind":"flow",...}` lines).

export interface FlowEndpoint {
  ip: string;
  port: number;
  mac?: string;
}

export type FlowEndReason = 'fin' | 'rst' | 'timeout' | 'evicted' | 'eof';

export interface FlowRecord {
  kind: 'flow';
  flow: string;
  /**
   * Community ID v1 of the flow's 5-tuple (seed 0), the id Zeek, Suricata and Wireshark give the same flow.
   * Made when first read (a getter on the records the flow table makes), so unprinted records cost no hash.
   */
  readonly community_id?: string | undefined;
  transport: 'tcp' | 'udp' | 'icmp' | 'other';
  /** Application protocol detected (hl7, dicom, mqtt) or null. */
  app: string | null;
  vlan: number | null;
  client: FlowEndpoint;
  server: FlowEndpoint;
  /** How the client side was decided: the SYN sender, or a port heuristic on mid-stream pickup. */
  client_by: 'syn' | 'port' | 'first';
  start: string;
  end: string;
  packets: [number, number];
  bytes: [number, number];
  gaps: number;
  gap_bytes: number;
  end_reason: FlowEndReason;
  /** µs since epoch, for the engine; not serialised. */
  startMicros?: number;
  endMicros?: number;
}

/** Receives one flow's ordered byte streams (TCP) or datagrams (UDP). Views are valid only during the call. */
export interface StreamConsumer {
  onData(dir: 0 | 1, bytes: Uint8Array, ts: number): void;
  /** `len` bytes missing in direction `dir` (never silently glued over). */
  onGap(dir: 0 | 1, len: number, ts: number): void;
  onEnd(dir: 0 | 1, ts: number): void;
  /** Bytes it buffers now (partial messages, probe bytes): counted in the flow table's memory estimate. */
  bufferedBytes?(): number;
  /**
   * Flow-level bypass (issue 12): how many of the next in-order bytes of `dir` the consumer has no use for (a
   * DICOM data set it only counts, an MQTT payload it skips, TLS after the handshake, a flow no analyzer wants;
   * Infinity for the rest of the direction). The stream then counts those bytes and calls onSkip instead of
   * onData: no call chain into the analyzer, no copy. Ordering, gaps and caps are the stream's as before.
   */
  skippable?(dir: 0 | 1): number;
  /** `len` in-order bytes of `dir` went by unseen (never more than skippable() said): account for them. */
  onSkip?(dir: 0 | 1, len: number, ts: number): void;
}

/**
 * Makes a flow's consumer when the flow first needs one (its first payload or FIN). Returned by
 * onFlowStart instead of a consumer, it saves the consumer's memory on the many flows that never carry
 * payload (scans, SYN floods). One function can serve every flow.
 */
export type ConsumerFactory = (flow: FlowInfo) => StreamConsumer | null;

/** What the flow table exposes of a live flow to its consumers. */
export interface FlowInfo {
  readonly id: string;
  /** Community ID v1 of the flow (seed 0), made on first use and kept; undefined for ICMP. */
  readonly communityId?: string | undefined;
  readonly transport: FlowRecord['transport'];
  readonly vlan: number; // -1 untagged
  readonly clientIp: string;
  readonly serverIp: string;
  readonly clientPort: number;
  readonly serverPort: number;
  readonly clientMac: number; // -1 unknown
  readonly serverMac: number;
  readonly startTs: number; // µs
  /** The client's (0) or server's (1) MAC as known when the flow began: only the first sender's, else -1. */
  macAtStart?(side: 0 | 1): number;
  /** Set by the protocol dispatcher once detected. */
  app: string | null;
}

export interface FlowHandlers {
  /** A new flow (first packet). Return its consumer, a factory to make it when payload comes, or null to only count it. */
  onFlowStart(flow: FlowInfo): StreamConsumer | ConsumerFactory | null;
  /** The flow ended (FIN/RST both ways, idle timeout, eviction, end of capture). */
  onFlowEnd(flow: FlowInfo, record: FlowRecord): void;
}
