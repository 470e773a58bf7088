// The analyzer interface every protocol folder implements, and the protocol event record (DESIGN.md "Protocol event").

export type ProtoName = 'hl7' | 'dicom' | 'mqtt';

/** 0 = from the flow's client (the side that sent SYN), 1 = from the server. */
export type Direction = 0 | 1;

/** Field values allowed in events: metadata only, never patient values. */
export type FieldValue = string | number | boolean | null | FieldValue[] | { [k: string]: FieldValue };
export type EventFields = Record<string, FieldValue>;

/** Where an analyzer reports. One sink per flow; the pipeline adds endpoints and flow id. */
export interface AnalyzerSink {
  /** A protocol event, e.g. type "publish" with its DESIGN.md fields. */
  event(dir: Direction, ts: number, type: string, fields: EventFields): void;
  /**
   * An anomaly (code like "mqtt.missing_connect"), emitted as an event of type "anomaly" with
   * fields {code, ...fields}. `malformed` counts it as a parse error of the protocol.
   */
  anomaly(dir: Direction, ts: number, code: string, malformed: boolean, fields?: EventFields): void;
  /** The analyzer is sure it speaks this protocol (first well-formed message). */
  confirm(): void;
  /** The stream is not this protocol after all; the pipeline detaches the analyzer. */
  violation(reason: string): void;
}

/**
 * One instance per flow. `bytes` is a view valid only during the call: copy what you keep.
 * Must never throw on any input and must keep its buffers under its limits.
 */
export interface Analyzer {
  onData(dir: Direction, bytes: Uint8Array, ts: number): void;
  /** `len` bytes are missing from direction `dir` (capture loss, mid-stream pickup is not a gap). */
  onGap(dir: Direction, len: number, ts: number): void;
  /** No more data from `dir` (FIN, RST, timeout, end of capture). */
  onEnd(dir: Direction, ts: number): void;
  /** Bytes currently buffered by this analyzer (for caps and metrics). */
  bufferedBytes(): number;
}

export type ProbeResult = 'match' | 'no' | 'need_more';

export interface AnalyzerSpec {
  proto: ProtoName;
  /** Well-known ports (server side). */
  defaultPorts: readonly number[];
  /** Detection by content, on the first bytes a direction sent. */
  probe(dir: Direction, bytes: Uint8Array): ProbeResult;
  create(sink: AnalyzerSink): Analyzer;
  /** Every anomaly code this analyzer can emit (a test checks each has a rule). */
  anomalyCodes: readonly string[];
}

export interface EventEndpoint {
  ip: string;
  port: number;
  mac?: string;
}

/** The JSON line `wardwatch replay --events` prints for a protocol event. */
export interface EventRecord {
  kind: 'event';
  ts: string;
  proto: ProtoName;
  type: string;
  src: EventEndpoint;
  dst: EventEndpoint;
  flow: string;
  /** Community ID v1 of the flow (seed 0). */
  community_id?: string | undefined;
  fields: EventFields;
  /** Packet time in µs, for the engine; not serialised. */
  tsMicros?: number;
}
