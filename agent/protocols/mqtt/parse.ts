// Pure MQTT control-packet parser for 3.1 (MQIsdp), 3.1.1 and 5.0 (OASIS MQTT 3.1.1 §2-3, MQTT 5.0 §1.5, §2-3): never throws, bounded by limits.
import {
  ConnectFlag,
  MAX_VARINT_BYTES,
  PROPERTIES,
  PROTOCOL_NAME,
  PROTOCOL_NAME_V31,
  PacketType,
  PropId,
  PropType,
  ProtocolLevel,
  PublishFlag,
  REQUIRED_FLAGS,
  SUBACK_FAILURE,
  WILL_PROPERTIES,
} from './constants.js';
import type { MqttAnomalyCode } from './events.js';
import { AsciiIntern, hashStep } from '../intern.js';

export interface MqttLimits {
  /** Largest remaining length accepted; above it the packet is an anomaly and is skipped by length (default 1 MiB). */
  maxPacketSize: number;
  /** Properties parsed per property section (user properties included); more is an anomaly. */
  maxProperties: number;
  /** Topic filters listed per SUBSCRIBE/UNSUBSCRIBE; further ones are counted only. */
  maxTopicFilters: number;
  /** Strings in events (client id, topic, filter, ...) are cut to this many characters. */
  maxFieldChars: number;
  /** Outstanding packet ids tracked per flow (session.ts); the oldest is dropped beyond it. */
  maxInflight: number;
  /** Topic aliases remembered per direction (MQTT 5.0 §3.3.2.3.4). */
  maxTopicAliases: number;
  /** Anomaly events per flow; later ones are only counted (session stats), so garbage cannot flood. */
  maxAnomalies: number;
}

export const DEFAULT_LIMITS: Readonly<MqttLimits> = Object.freeze({
  maxPacketSize: 1024 * 1024,
  maxProperties: 64,
  maxTopicFilters: 128,
  maxFieldChars: 1024,
  maxInflight: 1024,
  maxTopicAliases: 256,
  maxAnomalies: 256,
});

/** 0 = not known yet (mid-session pickup), else the CONNECT protocol level. */
export type MqttVersion = 0 | 3 | 4 | 5;
/** Legacy = the 3.1 / 3.1.1 packet shapes; v5 = with reason codes and properties. */
export type Layout = 'legacy' | 'v5';

export interface TopicFilter {
  filter: string;
  qos?: number;
}

export interface MqttPacket {
  type: number;
  flags: number;
  headerLength: number;
  remainingLength: number;
  /** Shape the body was read with; null when every version shares it (PINGREQ, PINGRESP, CONNECT decides itself). */
  layout: Layout | null;
  /** The body could only be read with `layout` (or its properties were non-empty): decisive for version inference. */
  strong: boolean;
  /** Non-fatal anomalies found in an otherwise readable packet. */
  issues: MqttAnomalyCode[];
  propertyCount: number;
  protocolName?: string;
  protocolLevel?: number;
  clientId?: string;
  username?: string;
  passwordPresent?: boolean;
  cleanSession?: boolean;
  keepAlive?: number;
  willTopic?: string;
  willRetain?: boolean;
  willQos?: number;
  sessionPresent?: boolean;
  /** CONNACK return code (3.x) or the single reason code of a 5.0 packet. */
  code?: number;
  /** SUBACK / UNSUBACK codes, one per filter. */
  codes?: number[];
  assignedClientId?: string;
  authMethod?: string;
  topic?: string;
  topicAlias?: number;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
  packetId?: number;
  payloadSize?: number;
  topicFilters?: TopicFilter[];
  /** Filters in the packet, listed or not (see maxTopicFilters). */
  filterCount?: number;
}

export type ParseResult =
  /** `consumed` is the whole packet; for PUBLISH it may exceed the bytes given (the payload is skipped, not buffered). */
  | { kind: 'ok'; msg: MqttPacket; consumed: number }
  /** At least `bytes` bytes from `offset` are needed. */
  | { kind: 'need'; bytes: number }
  /** `skip` = whole packet length to skip (may exceed the bytes given), or -1 when framing is lost. */
  | { kind: 'bad'; code: MqttAnomalyCode; skip: number; type: number; detail: string; level?: number };

const NO_ISSUES: MqttAnomalyCode[] = [];

/** Cursor over one packet body; `fail` records the first problem instead of throwing. */
class Reader {
  fail = '';
  constructor(
    readonly b: Uint8Array,
    public pos: number,
    readonly end: number,
    readonly maxChars: number,
  ) {}
  left(): number {
    return this.end - this.pos;
  }
  u8(): number {
    if (this.pos >= this.end) return this.overrun(1);
    return this.b[this.pos++] ?? 0;
  }
  u16(): number {
    if (this.pos + 2 > this.end) return this.overrun(2);
    const v = ((this.b[this.pos] ?? 0) << 8) | (this.b[this.pos + 1] ?? 0);
    this.pos += 2;
    return v;
  }
  u32(): number {
    if (this.pos + 4 > this.end) return this.overrun(4);
    const b = this.b;
    const p = this.pos;
    this.pos += 4;
    return (((b[p] ?? 0) << 24) >>> 0) + (((b[p + 1] ?? 0) << 16) | ((b[p + 2] ?? 0) << 8) | (b[p + 3] ?? 0));
  }
  /** Variable byte integer, at most 4 bytes [MQTT 5.0 §1.5.5]. */
  varint(): number {
    let value = 0;
    let mult = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (this.pos >= this.end) return this.overrun(1);
      const byte = this.b[this.pos++] ?? 0;
      value += (byte & 0x7f) * mult;
      if ((byte & 0x80) === 0) return value;
      mult *= 128;
    }
    this.fail ||= 'variable byte integer longer than 4 bytes';
    return 0;
  }
  /** UTF-8 string with a 2-byte length [MQTT 3.1.1 §1.5.3]; decoded, cut to maxChars. */
  str(): string {
    const n = this.u16();
    if (this.fail) return '';
    if (this.pos + n > this.end) {
      this.overrun(n);
      return '';
    }
    const s = decodeUtf8(this.b, this.pos, this.pos + n, this.maxChars);
    this.pos += n;
    return s;
  }
  /** Binary data or a string we must not keep (password, will message): length only. */
  skipBinary(): number {
    const n = this.u16();
    if (this.fail) return 0;
    if (this.pos + n > this.end) return this.overrun(n);
    this.pos += n;
    return n;
  }
  private overrun(n: number): number {
    this.fail ||= `field of ${n} bytes runs past the packet end`;
    this.pos = this.end;
    return 0;
  }
}

const utf8 = new TextDecoder('utf-8');

/** Topics, topic filters and client ids of every MQTT connection (see intern.ts). */
const TEXTS = new AsciiIntern();

function decodeUtf8(b: Uint8Array, start: number, end: number, maxChars: number): string {
  // Short ASCII strings (topics, client ids) are the common case, and repeat: found again by their bytes.
  if (end - start <= TEXTS.maxBytes) {
    let hash = end - start;
    for (let i = start; i < end; i++) {
      const c = b[i] ?? 0;
      if (c >= 0x80) return cut(utf8.decode(b.subarray(start, end)), maxChars);
      hash = hashStep(hash, c);
    }
    if (end <= start) return '';
    return cut(TEXTS.text(b, start, end, hash), maxChars);
  }
  return cut(utf8.decode(b.subarray(start, end)), maxChars);
}

function cut(s: string, maxChars: number): string {
  return s.length > maxChars ? s.slice(0, maxChars) : s;
}

interface PropsOut {
  count: number;
  assignedClientId?: string;
  authMethod?: string;
  topicAlias?: number;
  disallowed: boolean;
  tooMany: boolean;
}

/**
 * One property section: a variable byte integer length then properties [MQTT 5.0 §2.2.2]. Every id
 * known to 5.0 is read with its type; an unknown id makes the packet malformed (its length is unknown).
 */
function readProperties(r: Reader, packetType: number, limits: MqttLimits): PropsOut {
  const out: PropsOut = { count: 0, disallowed: false, tooMany: false };
  const len = r.varint();
  if (r.fail) return out;
  if (len > r.left()) {
    r.fail = `property length ${len} exceeds the ${r.left()} bytes left`;
    return out;
  }
  const sub = new Reader(r.b, r.pos, r.pos + len, r.maxChars);
  while (sub.pos < sub.end && !sub.fail) {
    const id = sub.varint();
    const def = PROPERTIES.get(id);
    if (!def) {
      sub.fail = `unknown property id 0x${id.toString(16)}`;
      break;
    }
    if ((def.allowed & (1 << packetType)) === 0) out.disallowed = true;
    out.count++;
    if (out.count > limits.maxProperties) out.tooMany = true;
    switch (def.type) {
      case PropType.BYTE:
        sub.u8();
        break;
      case PropType.U16: {
        const v = sub.u16();
        if (id === PropId.TOPIC_ALIAS) out.topicAlias = v;
        break;
      }
      case PropType.U32:
        sub.u32();
        break;
      case PropType.VARINT:
        sub.varint();
        break;
      case PropType.UTF8: {
        const s = sub.str();
        if (id === PropId.ASSIGNED_CLIENT_IDENTIFIER) out.assignedClientId = s;
        else if (id === PropId.AUTHENTICATION_METHOD) out.authMethod = s;
        break;
      }
      case PropType.BINARY:
        sub.skipBinary();
        break;
      case PropType.UTF8_PAIR:
        // User properties are free text from the device: possibly patient data, so never kept.
        sub.skipBinary();
        sub.skipBinary();
        break;
    }
  }
  if (sub.fail) r.fail = sub.fail;
  r.pos += len;
  return out;
}

function addIssue(m: MqttPacket, code: MqttAnomalyCode): void {
  if (m.issues === NO_ISSUES) m.issues = [code];
  else if (!m.issues.includes(code)) m.issues.push(code);
}

function applyProps(m: MqttPacket, p: PropsOut): void {
  m.propertyCount += p.count;
  if (p.disallowed || p.tooMany) addIssue(m, 'mqtt.invalid_property');
}

function newPacket(type: number, flags: number, hl: number, rl: number): MqttPacket {
  return {
    type,
    flags,
    headerLength: hl,
    remainingLength: rl,
    layout: null,
    strong: false,
    issues: NO_ISSUES,
    propertyCount: 0,
  };
}

/**
 * Parse one control packet at `offset`. `version` is the flow's protocol level, or 0 when unknown:
 * then packets whose shape differs between 3.x and 5.0 are read both ways (see readEitherLayout).
 */
export function parsePacket(
  bytes: Uint8Array,
  offset: number,
  limits: MqttLimits,
  version: MqttVersion = 0,
): ParseResult {
  const avail = bytes.length - offset;
  if (avail < 2) return { kind: 'need', bytes: 2 };
  const b0 = bytes[offset] ?? 0;
  const type = b0 >> 4;
  const flags = b0 & 0x0f;
  // Remaining length [MQTT 3.1.1 §2.2.3]: a 4th byte with its continuation bit set is malformed.
  let rl = 0;
  let mult = 1;
  let hl = 1;
  for (;;) {
    if (hl >= avail) return { kind: 'need', bytes: hl + 1 };
    const byte = bytes[offset + hl] ?? 0;
    hl++;
    rl += (byte & 0x7f) * mult;
    if ((byte & 0x80) === 0) break;
    if (hl > MAX_VARINT_BYTES) {
      return {
        kind: 'bad',
        code: 'mqtt.malformed_length',
        skip: -1,
        type,
        detail: 'remaining length longer than 4 bytes',
      };
    }
    mult *= 128;
  }
  const total = hl + rl;
  if (rl > limits.maxPacketSize) {
    return {
      kind: 'bad',
      code: 'mqtt.packet_too_large',
      skip: total,
      type,
      detail: `remaining length ${rl}`,
    };
  }
  if (
    type === PacketType.RESERVED ||
    (type === PacketType.AUTH && version !== 0 && version < ProtocolLevel.V5)
  ) {
    return {
      kind: 'bad',
      code: 'mqtt.unassigned_msg_type',
      skip: total,
      type,
      detail: `packet type ${type}`,
    };
  }
  const m = newPacket(type, flags, hl, rl);
  const required = REQUIRED_FLAGS[type] ?? 0;
  if (required >= 0 && flags !== required) addIssue(m, 'mqtt.invalid_flags');

  if (type === PacketType.PUBLISH) return parsePublish(bytes, offset, avail, total, m, limits, version);
  if (avail < total) return { kind: 'need', bytes: total };
  const r = new Reader(bytes, offset + hl, offset + total, limits.maxFieldChars);
  if (type === PacketType.CONNECT) return finish(parseConnect(r, m, limits), r, m, total);
  if (type === PacketType.PINGREQ || type === PacketType.PINGRESP) {
    if (rl !== 0) r.fail = `${rl} bytes after a ping`;
    return finish(null, r, m, total);
  }
  if (type === PacketType.AUTH) {
    m.layout = 'v5';
    m.strong = true;
    readAckBody(r, m, limits, false);
    return finish(null, r, m, total);
  }
  if (version === ProtocolLevel.V5 || version === 0) {
    const res =
      version === 0 ? readEitherLayout(bytes, offset, total, m, limits) : readBody(r, m, limits, 'v5');
    if (version === 0) return res ?? badBody(m, total, 'no MQTT 3.x or 5.0 reading fits');
    return res ?? finish(null, r, m, total);
  }
  return readBody(r, m, limits, 'legacy') ?? finish(null, r, m, total);
}

function finish(early: ParseResult | null, r: Reader, m: MqttPacket, total: number): ParseResult {
  if (early) return early;
  if (!r.fail && r.pos !== r.end) r.fail = `${r.end - r.pos} bytes left over`;
  if (r.fail) return badBody(m, total, r.fail);
  return { kind: 'ok', msg: m, consumed: total };
}

function badBody(m: MqttPacket, total: number, detail: string): ParseResult {
  const bad: ParseResult = { kind: 'bad', code: 'mqtt.malformed_packet', skip: total, type: m.type, detail };
  // A CONNECT whose body is broken still tells the flow's version (tshark does the same).
  if (m.protocolLevel !== undefined) bad.level = m.protocolLevel;
  return bad;
}

/** Reads a non-CONNECT, non-PUBLISH body in one layout; returns a result only on failure (null = read, check r). */
function readBody(r: Reader, m: MqttPacket, limits: MqttLimits, layout: Layout): ParseResult | null {
  m.layout = layout;
  switch (m.type) {
    case PacketType.CONNACK:
      readConnack(r, m, limits, layout);
      return null;
    case PacketType.PUBACK:
    case PacketType.PUBREC:
    case PacketType.PUBREL:
    case PacketType.PUBCOMP:
      m.packetId = r.u16();
      if (layout === 'v5') readAckBody(r, m, limits, true);
      return null;
    case PacketType.SUBSCRIBE:
    case PacketType.UNSUBSCRIBE:
      readSubscribe(r, m, limits, layout);
      return null;
    case PacketType.SUBACK:
    case PacketType.UNSUBACK:
      readSuback(r, m, limits, layout);
      return null;
    case PacketType.DISCONNECT:
      if (layout === 'v5') readAckBody(r, m, limits, false);
      return null;
    default:
      r.fail = `unexpected packet type ${m.type}`;
      return null;
  }
}

/**
 * Version inference for a flow whose CONNECT was not captured: read the body as 3.x and as 5.0.
 * If only one reading consumes the packet exactly, that is the layout, and it is decisive ("strong").
 * If both fit, the 5.0 reading wins only when it found a non-empty property section (a 3.x body that
 * happens to parse as valid properties is very unlikely); otherwise the 3.x reading is kept, weakly,
 * as tshark does, and the flow's version stays unknown until a decisive packet arrives.
 */
function readEitherLayout(
  bytes: Uint8Array,
  offset: number,
  total: number,
  m: MqttPacket,
  limits: MqttLimits,
): ParseResult | null {
  const start = offset + m.headerLength;
  const end = offset + total;
  const legacy = { ...m, issues: m.issues === NO_ISSUES ? NO_ISSUES : [...m.issues] };
  const rl = new Reader(bytes, start, end, limits.maxFieldChars);
  readBody(rl, legacy, limits, 'legacy');
  const legacyOk = !rl.fail && rl.pos === rl.end;
  const v5 = { ...m, issues: m.issues === NO_ISSUES ? NO_ISSUES : [...m.issues] };
  const r5 = new Reader(bytes, start, end, limits.maxFieldChars);
  readBody(r5, v5, limits, 'v5');
  const v5Ok = !r5.fail && r5.pos === r5.end;
  let pick: MqttPacket;
  if (legacyOk && v5Ok) {
    pick = v5.propertyCount > 0 ? v5 : legacy;
    pick.strong = v5.propertyCount > 0;
  } else if (legacyOk) {
    pick = legacy;
    pick.strong = true;
  } else if (v5Ok) {
    pick = v5;
    pick.strong = true;
  } else {
    return null;
  }
  return { kind: 'ok', msg: pick, consumed: total };
}

/** Reason code and properties, each optional at the end of the packet [MQTT 5.0 §3.4.2.1, §3.14.2, §3.15.2]. */
function readAckBody(r: Reader, m: MqttPacket, limits: MqttLimits, afterId: boolean): void {
  // Absent reason code means success, but events carry only what is on the wire.
  if (r.left() === 0 || (afterId && r.fail)) return;
  m.code = r.u8();
  if (r.left() > 0) applyProps(m, readProperties(r, m.type, limits));
}

function readConnack(r: Reader, m: MqttPacket, limits: MqttLimits, layout: Layout): void {
  // 3.x: exactly 2 bytes [MQTT 3.1.1 §3.2]; 5.0: flags, reason code, properties (always present) [MQTT 5.0 §3.2.2].
  if (layout === 'legacy' && r.left() !== 2) {
    r.fail = `CONNACK of ${r.left()} bytes in 3.x`;
    return;
  }
  if (layout === 'v5' && r.left() < 3) {
    r.fail = 'CONNACK without a property length';
    return;
  }
  const ackFlags = r.u8();
  if (ackFlags & 0xfe) addIssue(m, 'mqtt.invalid_flags'); // [MQTT-3.2.2-1] bits 7-1 reserved
  m.sessionPresent = (ackFlags & 1) === 1;
  m.code = r.u8();
  if (layout === 'v5') {
    const p = readProperties(r, PacketType.CONNACK, limits);
    applyProps(m, p);
    if (p.assignedClientId !== undefined) m.assignedClientId = p.assignedClientId;
    if (p.authMethod !== undefined) m.authMethod = p.authMethod;
  }
}

/** SUBACK / UNSUBACK: packet id, [properties], codes (UNSUBACK 3.x has none) [MQTT 3.1.1 §3.9, §3.11; 5.0 §3.9, §3.11]. */
function readSuback(r: Reader, m: MqttPacket, limits: MqttLimits, layout: Layout): void {
  m.packetId = r.u16();
  if (layout === 'v5') applyProps(m, readProperties(r, m.type, limits));
  if (m.type === PacketType.UNSUBACK && layout === 'legacy') return;
  const codes: number[] = [];
  while (r.left() > 0 && !r.fail) {
    const c = r.u8();
    // 3.1.1 allows only granted QoS 0-2 or 0x80 [MQTT-3.9.3-2]; 5.0 codes are 0x00-0x02 or >= 0x80 [MQTT 5.0 §3.9.3].
    if (layout === 'legacy' ? c > 2 && c !== SUBACK_FAILURE : c > 2 && c < 0x80 && c !== 0x11) {
      r.fail = `invalid ${m.type === PacketType.SUBACK ? 'SUBACK' : 'UNSUBACK'} code 0x${c.toString(16)}`;
      return;
    }
    if (codes.length < limits.maxTopicFilters) codes.push(c);
  }
  if (codes.length === 0) r.fail = 'no return codes';
  m.codes = codes;
}

/** SUBSCRIBE / UNSUBSCRIBE: packet id, [properties], filters [MQTT 3.1.1 §3.8, §3.10; 5.0 §3.8, §3.10]. */
function readSubscribe(r: Reader, m: MqttPacket, limits: MqttLimits, layout: Layout): void {
  m.packetId = r.u16();
  if (m.packetId === 0 && !r.fail) addIssue(m, 'mqtt.missing_msg_id'); // [MQTT-2.3.1-1]
  if (layout === 'v5') applyProps(m, readProperties(r, m.type, limits));
  const filters: TopicFilter[] = [];
  let count = 0;
  const withQos = m.type === PacketType.SUBSCRIBE;
  while (r.left() > 0 && !r.fail) {
    const filter = r.str();
    if (r.fail) break;
    count++;
    if (withQos) {
      const opts = r.u8();
      if (r.fail) break;
      // 3.x: bits 7-2 reserved [MQTT-3-8.3-4]; 5.0: bits 7-6 reserved, retain handling 3 invalid [MQTT-3.8.3-5].
      if (layout === 'legacy' ? (opts & 0xfc) !== 0 : (opts & 0xc0) !== 0 || (opts & 0x30) === 0x30) {
        r.fail = `reserved subscription option bits 0x${opts.toString(16)}`;
        break;
      }
      const qos = opts & 0x03;
      if (qos === 3) addIssue(m, 'mqtt.invalid_qos_level');
      if (filters.length < limits.maxTopicFilters) filters.push({ filter, qos });
    } else if (filters.length < limits.maxTopicFilters) {
      filters.push({ filter });
    }
  }
  if (count === 0 && !r.fail) r.fail = 'no topic filter'; // [MQTT-3.8.3-3] [MQTT-3.10.3-2]
  if (count > limits.maxTopicFilters) addIssue(m, 'mqtt.too_many_topic_filters');
  m.topicFilters = filters;
  m.filterCount = count;
}

/** CONNECT [MQTT 3.1.1 §3.1, 5.0 §3.1]; the password and will message are skipped, never kept. */
function parseConnect(r: Reader, m: MqttPacket, limits: MqttLimits): ParseResult | null {
  const name = r.str();
  const level = r.u8();
  if (r.fail) return null;
  m.protocolName = name;
  m.protocolLevel = level;
  if (level !== ProtocolLevel.V31 && level !== ProtocolLevel.V311 && level !== ProtocolLevel.V5) {
    return {
      kind: 'bad',
      code: 'mqtt.invalid_protocol',
      skip: m.headerLength + m.remainingLength,
      type: m.type,
      detail: `protocol level ${level}`,
      level,
    };
  }
  const expected = level === ProtocolLevel.V31 ? PROTOCOL_NAME_V31 : PROTOCOL_NAME;
  if (name !== expected) addIssue(m, 'mqtt.invalid_protocol');
  const layout: Layout = level === ProtocolLevel.V5 ? 'v5' : 'legacy';
  m.layout = layout;
  m.strong = true;
  const cf = r.u8();
  m.keepAlive = r.u16();
  if (r.fail) return null;
  const will = (cf & ConnectFlag.WILL) !== 0;
  const willQos = (cf & ConnectFlag.WILL_QOS_MASK) >> ConnectFlag.WILL_QOS_SHIFT;
  const willRetain = (cf & ConnectFlag.WILL_RETAIN) !== 0;
  const hasUser = (cf & ConnectFlag.USERNAME) !== 0;
  const hasPass = (cf & ConnectFlag.PASSWORD) !== 0;
  if (cf & ConnectFlag.RESERVED) addIssue(m, 'mqtt.invalid_flags'); // [MQTT-3.1.2-3]
  // Without a will, Will QoS and Will Retain must be 0 [MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-15].
  if (!will && (willQos !== 0 || willRetain)) addIssue(m, 'mqtt.invalid_flags');
  if (willQos === 3) addIssue(m, 'mqtt.invalid_qos_level'); // [MQTT-3.1.2-14]
  // 3.1.1 forbids a password without a user name [MQTT-3.1.2-22]; 5.0 allows it.
  if (hasPass && !hasUser && layout === 'legacy') addIssue(m, 'mqtt.invalid_flags');
  m.cleanSession = (cf & ConnectFlag.CLEAN_SESSION) !== 0;
  m.passwordPresent = hasPass;
  if (layout === 'v5') {
    const p = readProperties(r, PacketType.CONNECT, limits);
    applyProps(m, p);
    if (p.authMethod !== undefined) m.authMethod = p.authMethod;
  }
  m.clientId = r.str();
  if (will) {
    if (layout === 'v5') applyProps(m, readProperties(r, WILL_PROPERTIES, limits));
    m.willTopic = r.str();
    r.skipBinary();
    m.willRetain = willRetain;
    m.willQos = willQos;
  }
  if (hasUser) m.username = r.str();
  if (hasPass) r.skipBinary();
  return null;
}

/**
 * PUBLISH [MQTT 3.1.1 §3.3, 5.0 §3.3]: only the variable header is needed; the payload is counted and
 * skipped by the session, so a large PUBLISH is never buffered whole.
 */
function parsePublish(
  bytes: Uint8Array,
  offset: number,
  avail: number,
  total: number,
  m: MqttPacket,
  limits: MqttLimits,
  version: MqttVersion,
): ParseResult {
  const qos = (m.flags & PublishFlag.QOS_MASK) >> PublishFlag.QOS_SHIFT;
  m.qos = qos;
  m.dup = (m.flags & PublishFlag.DUP) !== 0;
  m.retain = (m.flags & PublishFlag.RETAIN) !== 0;
  if (qos === 3) addIssue(m, 'mqtt.invalid_qos_level'); // [MQTT-3.3.1-4]
  if (qos === 0 && m.dup) addIssue(m, 'mqtt.invalid_flags'); // [MQTT-3.3.1-2]
  const start = offset + m.headerLength;
  const pktEnd = offset + total;
  const availEnd = offset + Math.min(avail, total);
  // Topic length first, to know how much of the variable header to wait for.
  if (pktEnd - start < 2) return badBody(m, total, 'PUBLISH without a topic length');
  if (availEnd - start < 2) return { kind: 'need', bytes: m.headerLength + 2 };
  const topicLen = ((bytes[start] ?? 0) << 8) | (bytes[start + 1] ?? 0);
  const idLen = qos > 0 ? 2 : 0;
  const fixedPart = 2 + topicLen + idLen;
  if (start + fixedPart > pktEnd) return badBody(m, total, 'topic runs past the packet end');
  if (start + fixedPart > availEnd) return { kind: 'need', bytes: m.headerLength + fixedPart };
  let propLen = 0;
  let propVarintLen = 0;
  // 5.0 (or unknown): the property length follows; wait for it and for the whole property section.
  if (version === ProtocolLevel.V5 || version === 0) {
    const pv = peekVarint(bytes, start + fixedPart, Math.min(availEnd, pktEnd));
    if (pv.n === 0 && start + fixedPart + pv.len >= availEnd && availEnd < pktEnd) {
      return { kind: 'need', bytes: m.headerLength + fixedPart + pv.len + 1 };
    }
    if (pv.n > 0) {
      propVarintLen = pv.n;
      propLen = pv.value;
    } else if (version === ProtocolLevel.V5) {
      return badBody(m, total, 'PUBLISH without a property length');
    }
    const need = fixedPart + propVarintLen + propLen;
    if (pv.n > 0 && start + need <= pktEnd && start + need > availEnd) {
      return { kind: 'need', bytes: m.headerLength + need };
    }
    if (version === ProtocolLevel.V5 && start + need > pktEnd)
      return badBody(m, total, 'property length runs past the packet end');
  }
  const headerEnd = Math.min(availEnd, pktEnd);

  if (version === ProtocolLevel.V5 || version === 0) {
    const r = new Reader(bytes, start, headerEnd, limits.maxFieldChars);
    readTopicAndId(r, m, qos);
    const propsStart = r.pos;
    const savedIssues = m.issues;
    const savedCount = m.propertyCount;
    const p =
      propVarintLen > 0 && propsStart + propVarintLen + propLen <= pktEnd
        ? readProperties(r, PacketType.PUBLISH, limits)
        : null;
    const v5Fits = p !== null && !r.fail;
    if (version === ProtocolLevel.V5) {
      if (!v5Fits || p === null) return badBody(m, total, r.fail || 'bad property section');
      return publishOk(m, p, r.pos - offset, total, 'v5', true);
    }
    // Unknown version: non-empty, valid properties are decisive for 5.0; an empty section (a 0 byte)
    // could equally be the first payload byte of a 3.x PUBLISH, so the 3.x reading is kept weakly.
    if (v5Fits && p !== null && p.count > 0) return publishOk(m, p, r.pos - offset, total, 'v5', true);
    m.issues = savedIssues;
    m.propertyCount = savedCount;
    const r3 = new Reader(bytes, start, headerEnd, limits.maxFieldChars);
    readTopicAndId(r3, m, qos);
    if (r3.fail) return badBody(m, total, r3.fail);
    return publishOk(m, null, r3.pos - offset, total, 'legacy', !v5Fits);
  }
  const r = new Reader(bytes, start, headerEnd, limits.maxFieldChars);
  readTopicAndId(r, m, qos);
  if (r.fail) return badBody(m, total, r.fail);
  return publishOk(m, null, r.pos - offset, total, 'legacy', true);
}

function readTopicAndId(r: Reader, m: MqttPacket, qos: number): void {
  m.topic = r.str();
  if (qos > 0) {
    m.packetId = r.u16();
    if (m.packetId === 0 && !r.fail) addIssue(m, 'mqtt.missing_msg_id'); // [MQTT-2.3.1-1]
  }
}

function publishOk(
  m: MqttPacket,
  p: PropsOut | null,
  headerBytes: number,
  total: number,
  layout: Layout,
  strong: boolean,
): ParseResult {
  m.layout = layout;
  m.strong = strong;
  if (p) {
    applyProps(m, p);
    if (p.topicAlias !== undefined) m.topicAlias = p.topicAlias;
  }
  m.payloadSize = total - headerBytes;
  return { kind: 'ok', msg: m, consumed: total };
}

/** n = bytes of a complete varint (0 when incomplete or invalid: then len = bytes seen). */
function peekVarint(b: Uint8Array, pos: number, end: number): { n: number; len: number; value: number } {
  let value = 0;
  let mult = 1;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    if (pos + i >= end) return { n: 0, len: i, value: 0 };
    const byte = b[pos + i] ?? 0;
    value += (byte & 0x7f) * mult;
    if ((byte & 0x80) === 0) return { n: i + 1, len: i + 1, value };
    mult *= 128;
  }
  return { n: 0, len: MAX_VARINT_BYTES + 1, value: 0 };
}

/**
 * Cheap plausibility test of a fixed header at `offset` (used when hunting for a packet boundary):
 * a known type, the flags its type requires, a remaining length within limits. Returns the packet
 * length, -1 when implausible, -2 when the header is cut by the end of `bytes`.
 */
export function plausibleHeader(
  bytes: Uint8Array,
  offset: number,
  limits: MqttLimits,
  version: MqttVersion = 0,
): number {
  const b0 = bytes[offset];
  if (b0 === undefined) return -2;
  const type = b0 >> 4;
  if (type === PacketType.RESERVED) return -1;
  const req = REQUIRED_FLAGS[type] ?? 0;
  if (req >= 0 && (b0 & 0x0f) !== req) return -1;
  if (req < 0 && (b0 & PublishFlag.QOS_MASK) === PublishFlag.QOS_MASK) return -1;
  let rl = 0;
  let mult = 1;
  for (let i = 1; i <= MAX_VARINT_BYTES; i++) {
    const byte = bytes[offset + i];
    if (byte === undefined) return -2;
    rl += (byte & 0x7f) * mult;
    if ((byte & 0x80) === 0) {
      if (rl > limits.maxPacketSize || !plausibleLength(type, rl, version)) return -1;
      return i + 1 + rl;
    }
    mult *= 128;
  }
  return -1;
}

/** Remaining lengths each type allows: fixed in 3.x for acks and pings [MQTT 3.1.1 §3.4-3.14], minimums in 5.0. */
function plausibleLength(type: number, rl: number, version: MqttVersion): boolean {
  const legacy = version === ProtocolLevel.V31 || version === ProtocolLevel.V311;
  switch (type) {
    case PacketType.PINGREQ:
    case PacketType.PINGRESP:
      return rl === 0;
    case PacketType.CONNACK:
      return legacy ? rl === 2 : rl >= 2;
    case PacketType.PUBACK:
    case PacketType.PUBREC:
    case PacketType.PUBREL:
    case PacketType.PUBCOMP:
    case PacketType.UNSUBACK:
      return legacy ? rl === 2 : rl >= 2;
    case PacketType.DISCONNECT:
      return legacy ? rl === 0 : true;
    case PacketType.AUTH:
      return !legacy;
    case PacketType.SUBACK:
      return rl >= 3;
    case PacketType.SUBSCRIBE:
      return rl >= 5;
    case PacketType.UNSUBSCRIBE:
      return rl >= 4;
    case PacketType.CONNECT:
      return rl >= 10;
    default:
      return rl >= 2;
  }
}
