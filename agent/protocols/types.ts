// The analyzer interface every protocol folder implements, and the protocol event record (DESIGN.md "Protocol event").

/**
 * Every protocol an analyzer may report. The clinical three run on TCP streams; `tls` on TCP streams on any port;
 * the identity protocols (issue 15) on UDP datagrams (`dhcp`, `dhcpv6`, `mdns`, `ssdp`, `wsd`) or link-layer
 * frames (`lldp`, `cdp`).
 */
export type ProtoName =
  'hl7' | 'dicom' | 'mqtt' | 'tls' | 'dhcp' | 'dhcpv6' | 'mdns' | 'ssdp' | 'wsd' | 'lldp' | 'cdp';

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
  /**
   * Bypass (issue 12): how many of the next bytes of `dir` the analyzer would only count or step over (DICOM
   * data-set fragments it does not read, an MQTT payload being skipped, TLS after the handshake); Infinity when it
   * wants nothing more of that direction. Reassembly then calls onSkip for them instead of onData.
   */
  skippable?(dir: Direction): number;
  /** `len` bytes of `dir` went by, at most what skippable() said: the same accounting as onData would do. */
  onSkip?(dir: Direction, len: number, ts: number): void;
}

export type ProbeResult = 'match' | 'no' | 'need_more';

export interface AnalyzerSpec {
  proto: ProtoName;
  /** Well-known ports (server side). */
  defaultPorts: readonly number[];
  /** Detection by content, on the first bytes a direction sent. */
  probe(dir: Direction, bytes: Uint8Array): ProbeResult;
  create(sink: AnalyzerSink): Analyzer;
  /** The protocol's events, their fields and its anomaly codes: the one description every other part reads. */
  schema: ProtocolSchema;
}

export interface EventEndpoint {
  ip: string;
  port: number;
  mac?: string;
}

/** The JSON line `wardwatch replay --events` prints for a protocol event. */
export interface EventRecord {
  kind: 'event';
  /**
   * RFC 3339 text, made only when the record leaves the pipeline (PipelineOutput.onEvent: `replay --events`);
   * '' inside a pipeline that prints no events. Code inside reads tsMicros.
   */
  ts: string;
  proto: ProtoName;
  type: string;
  src: EventEndpoint;
  dst: EventEndpoint;
  flow: string;
  /** Community ID v1 of the flow (seed 0), on printed records (else see flowInfo). */
  community_id?: string | undefined;
  fields: EventFields;
  /** Packet time in µs: the time inside the pipeline (engine, learners); not serialised. */
  tsMicros?: number;
  /**
   * Set instead of `community_id` on records that are not printed: its Community ID is made (and kept) on first
   * read, when a finding names the flow. Never on a printed record.
   */
  flowInfo?: { readonly communityId?: string | undefined };
}

/** JSON type of an event field, as the rule validator and the field tables in rules/README.md state it. */
export type FieldKind = 'string' | 'number' | 'boolean' | 'array' | 'object';

export interface FieldSpec {
  kind: FieldKind;
  /** One line for rules/README.md. */
  doc: string;
  /**
   * An identifier of a device, application or service (AE title, HL7 application, MQTT client id, host name,
   * SNI, model string): shown in findings and learned into baselines. Patient data is never a field at all.
   */
  identifier?: boolean;
  /** For an object, or an array of objects: its keys (a rule may say `fields.topic_filters.filter`). */
  keys?: Readonly<Record<string, FieldSpec>>;
}

export interface EventTypeSpec {
  doc: string;
  fields: Readonly<Record<string, FieldSpec>>;
}

export interface AnomalySpec {
  /** Counted as a parse error of the protocol. */
  malformed: boolean;
  doc: string;
}

/**
 * What a protocol says about its events: the one table the rule validator, the field tables of rules/README.md,
 * the collector's metric labels and the analyzers' own tests read (issue 12, "one description per protocol").
 */
export interface ProtocolSchema extends EventVocabulary {
  proto: ProtoName;
  /** HL7, DICOM, MQTT: a device's first message of such a protocol is the `device first_clinical` signal. */
  clinical?: boolean;
  /** Event fields that say who a device is: the engine records them on the device with their provenance. */
  identity?: readonly IdentityHint[];
}

/** One identity attribute an event reveals, e.g. DICOM's calling AE title names the association's requester. */
export interface IdentityHint {
  /** Event types that carry it. */
  types: readonly string[];
  field: string;
  /** Device attribute it becomes (docs/wire.md "devices"), e.g. `dicom_ae`. */
  attr: string;
  /** Whose identity: the event's sender (src) or its receiver (dst). */
  side: 'src' | 'dst';
  /** A device that announces a new value after having another raises `device identity_changed`. */
  tracked?: boolean;
  /** An array field: at most this many elements are kept (default 1: scalars). */
  max?: number;
  /** Only when this holds (e.g. HL7 version from non-ACK messages). */
  when?: (fields: EventFields) => boolean;
}

/** The events of one `proto` value: an analyzer's protocol, or the engine's own `flow` and `device` subjects. */
export interface EventVocabulary {
  proto: string;
  /** Human name, e.g. "DICOM upper layer". */
  title: string;
  /** Event `type` → its fields. "anomaly" is implied for every protocol (fields: code plus the anomaly's own). */
  events: Readonly<Record<string, EventTypeSpec>>;
  /** Anomaly code (`<proto>.<name>`) → spec. */
  anomalies: Readonly<Record<string, AnomalySpec>>;
  /** Fields an anomaly event may carry besides `code` (e.g. `bytes`, `context_id`). */
  anomalyFields: Readonly<Record<string, FieldSpec>>;
}

/** One per UDP flow (5-tuple, first sender = client). Same contract as Analyzer: never throws, bounded memory. */
export interface DatagramAnalyzer {
  onDatagram(dir: Direction, payload: Uint8Array, ts: number): void;
}

/** A protocol carried in UDP datagrams (DHCP, mDNS, SSDP, WS-Discovery). */
export interface DatagramAnalyzerSpec {
  proto: ProtoName;
  /** Ports that select this analyzer (either side of the datagram). */
  defaultPorts: readonly number[];
  create(sink: AnalyzerSink): DatagramAnalyzer;
  schema: ProtocolSchema;
}

/** A link-layer frame that is not IP (LLDP, CDP): the sender's MAC identifies the device. */
export interface LinkFrame {
  srcMac: number;
  dstMac: number;
  /** EtherType, or -1 for an 802.3 length frame (LLC/SNAP; CDP). */
  etherType: number;
  /** Bytes after the Ethernet (and VLAN) header; for 802.3 frames, after the length field (LLC starts here). */
  payload: Uint8Array;
}

/**
 * A protocol carried directly in Ethernet frames. `accepts` is a cheap test on the header. `cut` counts the
 * strings and list items the caps shortened (reported as `<proto>.limit_exceeded`).
 */
export interface LinkAnalyzerSpec {
  proto: ProtoName;
  accepts(frame: LinkFrame): boolean;
  /** Pure: fields of one event (type in `type`), or an anomaly code; never throws. */
  decode(
    frame: LinkFrame,
  ): { type: string; fields: EventFields; cut?: number } | { anomaly: string; malformed: boolean };
  schema: ProtocolSchema;
}
