// One MQTT analyzer per TCP flow (plain or over WebSocket): bounded per-direction buffers, CONNECT/CONNACK and packet-id state, gap resynchronisation (MQTT 3.1.1 §3-4, §6; 5.0 §3-4, §6).
import type { Analyzer, AnalyzerSink, Direction, EventFields, FieldValue } from '../types.js';
import { BoundedMap } from '../../wire/bounded-map.js';
import { PACKET_NAMES, PacketType, SENDER, SENT_BY_CLIENT, SENT_BY_SERVER } from './constants.js';
import { ANOMALIES, type MqttAnomalyCode } from './events.js';
import { looksLikeHttpGet, WsUnframer } from './websocket.js';
import {
  DEFAULT_LIMITS,
  parsePacket,
  plausibleHeader,
  type MqttLimits,
  type MqttPacket,
  type MqttVersion,
} from './parse.js';

/** While hunting for a boundary, a candidate packet needing more than this many bytes is not waited for. */
const HUNT_WAIT_CAP = 16 * 1024;
/**
 * Before the first well-formed packet a bad packet may just mean the capture began inside one (mid-stream
 * pickup on port 1883), so the analyzer hunts for a boundary; past this many bytes it gives the flow up.
 */
const PRECONFIRM_HUNT_BUDGET = 4096;
/** Room for the fixed header on top of the largest remaining length. */
const HEADER_ROOM = 5;
const INITIAL_CAPACITY = 256;
/** Consecutive bad packets after which their declared lengths are distrusted and the analyzer hunts. */
const BAD_RUN_LIMIT = 3;

/** Outstanding packet-id kinds (keys: kind << 17 | sender dir << 16 | id). */
const KIND_PUBLISH = 0;
const KIND_SUBSCRIBE = 1;
const KIND_UNSUBSCRIBE = 2;
/** PUBLISH exchange states [MQTT 3.1.1 §4.3]. */
const ST_QOS1 = 1;
const ST_QOS2 = 2;
const ST_PUBREC = 3;
const ST_PUBREL = 4;

export interface MqttSessionStats {
  packets: number;
  anomalies: number;
  parseErrors: number;
  /** Payload and oversize bytes skipped by length without buffering. */
  bytesSkipped: number;
  /** Bytes dropped while hunting for a packet boundary. */
  bytesDiscarded: number;
  resyncs: number;
  gaps: number;
  /** Partial messages dropped because of a gap. */
  messagesLost: number;
  inflightEvicted: number;
  aliasesEvicted: number;
  /** Anomalies beyond maxAnomalies: counted here, not emitted. */
  anomaliesSuppressed: number;
}

interface DirState {
  buf: Uint8Array;
  len: number;
  /** Bytes the buffered prefix must reach before parsing can progress. */
  want: number;
  /** Bytes still to skip (payload of a parsed PUBLISH, an oversize or unassigned packet). */
  skip: number;
  hunting: boolean;
  huntDiscarded: number;
  /** Consecutive bad packets. */
  badRun: number;
  /** MQTT 5.0 topic aliases, made on the first alias (most flows never send one). */
  aliases: BoundedMap<number, string> | null;
}

function newDir(): DirState {
  return {
    buf: new Uint8Array(0),
    len: 0,
    want: 0,
    skip: 0,
    hunting: false,
    huntDiscarded: 0,
    badRun: 0,
    aliases: null,
  };
}

export class MqttSession implements Analyzer {
  readonly stats: MqttSessionStats = {
    packets: 0,
    anomalies: 0,
    parseErrors: 0,
    bytesSkipped: 0,
    bytesDiscarded: 0,
    resyncs: 0,
    gaps: 0,
    messagesLost: 0,
    inflightEvicted: 0,
    aliasesEvicted: 0,
    anomaliesSuppressed: 0,
  };
  private readonly limits: MqttLimits;
  private readonly cap: number;
  private readonly dirs: [DirState, DirState];
  /** Version the parser uses: the CONNECT level, or inferred (see parse.ts readEitherLayout). */
  private parseVersion: MqttVersion = 0;
  /** Version reported in events: the CONNECT level, or 5 when inferred from a 5.0-only shape. */
  private reportVersion: number | undefined;
  private sawConnect = false;
  private sawAnyPacket = false;
  /** CONNACK accepted the session, or the capture started mid-session. */
  private connected = false;
  private confirmed = false;
  private dead = false;
  private preconfirmDiscarded = 0;
  private connackSeen = false;
  private readonly ended: [boolean, boolean] = [false, false];
  /** Client packets sent before any CONNACK: reported only if the session is refused or never acknowledged. */
  private pendingUnintroduced: { dir: Direction; ts: number; packetType: string; count: number } | null =
    null;
  private preconfirmReason = '';
  private once = new Set<MqttAnomalyCode>();
  /**
   * Open packet-id exchanges, made on the first one: a Map subclass is dear to construct and the bench mix has many
   * short flows (a third of the analyzer's start-up cost was its three maps).
   */
  private inflightMap: BoundedMap<number, number> | null = null;
  /** WebSocket unframers when the flow is MQTT over WebSocket, null for plain MQTT, undefined until known. */
  private ws: [WsUnframer, WsUnframer] | null | undefined;

  constructor(
    private readonly sink: AnalyzerSink,
    limits: Partial<MqttLimits> = {},
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.cap = this.limits.maxPacketSize + HEADER_ROOM;
    this.dirs = [newDir(), newDir()];
  }

  bufferedBytes(): number {
    const ws = this.ws ? this.ws[0].buffered() + this.ws[1].buffered() : 0;
    return this.dirs[0].len + this.dirs[1].len + ws;
  }

  onData(dir: Direction, bytes: Uint8Array, ts: number): void {
    if (this.dead || bytes.length === 0) return;
    // MQTT over WebSocket [MQTT-6.0.0-1]: the client opens with an HTTP upgrade instead of a CONNECT.
    if (this.ws === undefined)
      this.ws =
        dir === 0 && bytes[0] === 0x47 && (bytes.length < 4 || looksLikeHttpGet(bytes))
          ? this.createWs()
          : null;
    if (this.ws) {
      const w = this.ws[dir];
      if (w.dead) return;
      w.push(bytes, ts);
      if (w.dead) this.wsFailed(dir, ts, w.failure);
      return;
    }
    this.feed(dir, bytes, ts);
  }

  /** Bypass: the rest of a packet being stepped over (plain MQTT only; WebSocket frames are unmasked first). */
  skippable(dir: Direction): number {
    if (this.dead) return Infinity;
    return this.ws === null ? this.dirs[dir].skip : 0;
  }

  onSkip(dir: Direction, len: number): void {
    if (this.dead) return;
    const d = this.dirs[dir];
    d.skip -= len;
    this.stats.bytesSkipped += len;
  }

  private createWs(): [WsUnframer, WsUnframer] {
    const make = (dir: Direction): WsUnframer =>
      new WsUnframer(
        dir === 1,
        (b, ts) => this.feed(dir, b, ts),
        (len, ts) => this.lose(dir, len, ts),
      );
    return [make(0), make(1)];
  }

  private wsFailed(dir: Direction, ts: number, reason: string): void {
    if (!this.confirmed) {
      this.dead = true;
      this.sink.violation(`websocket: ${reason}`);
      return;
    }
    this.anomaly(dir, ts, 'mqtt.malformed_packet', { detail: `websocket: ${reason}` });
  }

  private feed(dir: Direction, bytes: Uint8Array, ts: number): void {
    const d = this.dirs[dir];
    let off = 0;
    while (off < bytes.length && !this.dead) {
      if (d.skip > 0) {
        const n = Math.min(d.skip, bytes.length - off);
        d.skip -= n;
        off += n;
        this.stats.bytesSkipped += n;
        continue;
      }
      if (d.len === 0) {
        // Fast path: parse straight from the caller's view; copy only an incomplete tail.
        const view = off === 0 ? bytes : bytes.subarray(off);
        off += this.process(dir, view, ts);
        if (off < bytes.length && d.skip === 0 && !this.dead) {
          this.store(d, bytes.subarray(off));
          off = bytes.length;
        }
        continue;
      }
      const take = Math.min(bytes.length - off, Math.max(d.want - d.len, 1));
      this.store(d, bytes.subarray(off, off + take));
      off += take;
      if (d.len >= this.cap && d.len < d.want) {
        // Never expected (every wait is bounded by the cap); if it happens, drop and hunt rather than stall.
        this.stats.bytesDiscarded += d.len;
        d.len = 0;
        d.want = 0;
        d.hunting = true;
        d.huntDiscarded = 0;
        continue;
      }
      if (d.len < d.want) break;
      const used = this.process(dir, d.buf.subarray(0, d.len), ts);
      if (used >= d.len) d.len = 0;
      else {
        d.buf.copyWithin(0, used, d.len);
        d.len -= used;
      }
    }
  }

  onGap(dir: Direction, len: number, ts: number): void {
    if (this.dead) return;
    const w = this.ws?.[dir];
    if (w) {
      if (w.dead) return;
      w.onGap(len, ts);
      if (w.dead) this.wsFailed(dir, ts, w.failure);
      return;
    }
    this.lose(dir, len, ts);
  }

  private lose(dir: Direction, len: number, _ts: number): void {
    const d = this.dirs[dir];
    this.stats.gaps++;
    // Inside a payload being skipped, a gap shorter than the rest keeps us on the packet boundaries.
    if (d.skip > 0) {
      if (len <= d.skip) {
        d.skip -= len;
        return;
      }
      d.skip = 0;
    } else if (d.len > 0 && !d.hunting) {
      // A partial packet whose length we know: drop it and skip what the gap did not swallow.
      const total = plausibleHeader(d.buf.subarray(0, d.len), 0, this.limits, this.parseVersion);
      if (total > 0 && d.len + len <= total) {
        d.skip = total - d.len - len;
        d.len = 0;
        this.stats.messagesLost++;
        return;
      }
      this.stats.messagesLost++;
    }
    this.stats.bytesDiscarded += d.len;
    d.len = 0;
    d.want = 0;
    if (!d.hunting) {
      d.hunting = true;
      d.huntDiscarded = 0;
    }
  }

  onEnd(dir: Direction, _ts: number): void {
    const d = this.dirs[dir];
    this.ended[dir] = true;
    if (this.ended[0] && this.ended[1] && !this.dead) this.flushUnintroduced();
    // A message cut by the end of the capture is not an anomaly of the peer.
    this.stats.bytesDiscarded += d.len;
    d.len = 0;
    d.want = 0;
    d.skip = 0;
  }

  /** Parses packets from `v`; returns the bytes used (the rest, if any, is an incomplete packet). */
  private process(dir: Direction, v: Uint8Array, ts: number): number {
    const d = this.dirs[dir];
    let pos = 0;
    while (pos < v.length) {
      if (d.hunting) {
        pos = this.hunt(dir, v, pos, ts);
        if (d.hunting) return pos;
      }
      // Before the first good packet, bytes that cannot start a packet mean a pickup inside one: hunt.
      if (!this.confirmed && plausibleHeader(v, pos, this.limits, this.parseVersion) === -1) {
        d.hunting = true;
        d.huntDiscarded = 0;
        this.preconfirmReason = 'no plausible MQTT fixed header';
        continue;
      }
      const res = parsePacket(v, pos, this.limits, this.parseVersion);
      if (res.kind === 'need') {
        d.want = res.bytes;
        return pos;
      }
      let total: number;
      if (res.kind === 'ok') {
        d.badRun = 0;
        this.handle(dir, res.msg, ts);
        if (this.dead) return v.length;
        total = res.consumed;
      } else {
        const level = res.level;
        const knownLevel = level === 3 || level === 4 || level === 5 ? level : 0;
        if (!this.confirmed && knownLevel === 0) {
          // Not yet MQTT: hunt quietly for a boundary; hunt() gives the flow up past its budget.
          d.hunting = true;
          d.huntDiscarded = 0;
          this.preconfirmReason = `${res.code}: ${res.detail}`;
          continue;
        }
        if (knownLevel !== 0) {
          // A CONNECT with a valid protocol name and level but a broken body is still MQTT and still a CONNECT.
          this.confirm();
          this.learnFromConnect(knownLevel);
          this.noteConnect(dir, ts);
        }
        const fields: EventFields = {
          packet_type: PACKET_NAMES[res.type] ?? String(res.type),
          detail: res.detail,
        };
        this.anomaly(dir, ts, res.code, fields);
        // Three bad packets in a row: the lengths are not to be trusted either; hunt for a boundary.
        if (res.skip < 0 || ++d.badRun >= BAD_RUN_LIMIT) {
          d.badRun = 0;
          d.hunting = true;
          d.huntDiscarded = 0;
          pos++;
          this.stats.bytesDiscarded++;
          continue;
        }
        total = res.skip;
      }
      this.stats.packets++;
      if (pos + total > v.length) {
        d.skip = pos + total - v.length;
        this.stats.bytesSkipped += v.length - pos;
        return v.length;
      }
      pos += total;
    }
    d.want = 0;
    return pos;
  }

  /**
   * Looks for the next offset where a packet this side may send parses cleanly and is followed by the
   * end of the data or another plausible header. A candidate that needs more bytes is remembered; the
   * first fully checked candidate after it still wins, else the analyzer waits at the first candidate.
   */
  private hunt(dir: Direction, v: Uint8Array, pos: number, ts: number): number {
    const d = this.dirs[dir];
    const mask = dir === 0 ? SENT_BY_CLIENT : SENT_BY_SERVER;
    const version = this.parseVersion;
    let keep = -1;
    let keepWant = 1;
    for (let i = pos; i < v.length; i++) {
      const t = plausibleHeader(v, i, this.limits, version);
      if (t === -2) {
        if (keep < 0) {
          keep = i;
          keepWant = v.length - i + 1;
        }
        break;
      }
      if (t < 0 || ((SENDER[(v[i] ?? 0) >> 4] ?? 0) & mask) === 0) continue;
      const res = parsePacket(v, i, this.limits, version);
      let wait = 0;
      if (res.kind === 'ok') {
        const end = i + res.consumed;
        // Two bytes like c0 00 (PINGREQ) occur by chance in payloads far too often to trust alone.
        if (end === v.length || (end < v.length && plausibleHeader(v, end, this.limits, version) !== -1)) {
          this.resynced(dir, ts, i - pos);
          return i;
        }
        if (end > v.length) wait = end - i + 1;
      } else if (res.kind === 'need') {
        wait = res.bytes;
      }
      if (wait > 0 && wait <= Math.min(HUNT_WAIT_CAP, this.cap) && keep < 0) {
        keep = i;
        keepWant = wait;
      }
    }
    const upto = keep < 0 ? v.length : keep;
    d.want = keepWant;
    d.huntDiscarded += upto - pos;
    this.stats.bytesDiscarded += upto - pos;
    if (!this.confirmed) {
      this.preconfirmDiscarded += upto - pos;
      if (this.preconfirmDiscarded > PRECONFIRM_HUNT_BUDGET) {
        this.dead = true;
        d.len = 0;
        this.sink.violation(this.preconfirmReason || 'no MQTT packet boundary found');
        return v.length;
      }
    }
    return upto;
  }

  private resynced(dir: Direction, ts: number, discarded: number): void {
    const d = this.dirs[dir];
    d.huntDiscarded += discarded;
    this.stats.bytesDiscarded += discarded;
    this.stats.resyncs++;
    d.hunting = false;
    // A gap that ended on a packet boundary loses nothing more: no anomaly then.
    if (this.confirmed && d.huntDiscarded > 0)
      this.anomaly(dir, ts, 'mqtt.resync', { bytes: d.huntDiscarded });
  }

  private store(d: DirState, bytes: Uint8Array): void {
    let n = bytes.length;
    if (d.len + n > this.cap) {
      // Cannot happen while want <= cap; kept as a hard guard on memory.
      this.stats.bytesDiscarded += d.len + n - this.cap;
      n = this.cap - d.len;
    }
    if (d.len + n > d.buf.length) {
      let size = Math.max(d.buf.length * 2, INITIAL_CAPACITY);
      while (size < d.len + n) size *= 2;
      const next = new Uint8Array(Math.min(size, this.cap));
      next.set(d.buf.subarray(0, d.len));
      d.buf = next;
    }
    d.buf.set(n === bytes.length ? bytes : bytes.subarray(0, n), d.len);
    d.len += n;
  }

  private learnFromConnect(level: 3 | 4 | 5): void {
    this.parseVersion = level;
    this.reportVersion = level;
  }

  private confirm(): void {
    if (!this.confirmed) {
      this.confirmed = true;
      this.sink.confirm();
    }
  }

  private noteConnect(dir: Direction, ts: number): void {
    if (this.sawConnect) this.anomaly(dir, ts, 'mqtt.double_connect', {});
    this.sawConnect = true;
    this.connected = false;
    this.connackSeen = false;
    this.pendingUnintroduced = null;
  }

  private handle(dir: Direction, m: MqttPacket, ts: number): void {
    this.confirm();
    const type = m.type;
    const name = PACKET_NAMES[type] ?? 'reserved';
    // Version: from CONNECT, else inferred from the first packet whose shape only one version allows.
    if (
      type === PacketType.CONNECT &&
      (m.protocolLevel === 3 || m.protocolLevel === 4 || m.protocolLevel === 5)
    ) {
      this.learnFromConnect(m.protocolLevel);
    } else if (this.parseVersion === 0 && m.strong && m.layout) {
      this.parseVersion = m.layout === 'v5' ? 5 : 4;
      if (m.layout === 'v5') this.reportVersion = 5;
    }
    for (const code of m.issues) this.anomaly(dir, ts, code, { packet_type: name });
    if ((SENDER[type]! & (dir === 0 ? SENT_BY_CLIENT : SENT_BY_SERVER)) === 0) {
      this.anomalyOnce(dir, ts, 'mqtt.wrong_direction', { packet_type: name });
    }
    this.track(dir, m, name, ts);
    this.sawAnyPacket = true;
    this.sink.event(dir, ts, name, this.fields(dir, m, name));
  }

  /** Session state machine: CONNECT first [MQTT-3.1.0-1], one CONNECT [MQTT-3.1.0-2], packet ids [MQTT 3.1.1 §4.3]. */
  private track(dir: Direction, m: MqttPacket, name: string, ts: number): void {
    const type = m.type;
    if (type === PacketType.CONNECT) {
      this.noteConnect(dir, ts);
      return;
    }
    if (!this.sawConnect && !this.sawAnyPacket) {
      // Mid-session pickup (or a peer skipping CONNECT): say so once and treat the session as established.
      this.anomalyOnce(dir, ts, 'mqtt.missing_connect', { packet_type: name });
      this.connected = true;
    }
    if (type === PacketType.CONNACK) {
      if (this.sawConnect) {
        this.connected = m.code === 0;
        this.connackSeen = true;
        // Packets the client sent ahead of a refused CONNACK were never part of a session.
        if (!this.connected) this.flushUnintroduced();
        this.pendingUnintroduced = null;
      }
      return;
    }
    // AUTH belongs to the CONNECT exchange [MQTT 5.0 §4.12]; a DISCONNECT ends it: neither is a message.
    if (this.sawConnect && !this.connected && type !== PacketType.AUTH && type !== PacketType.DISCONNECT) {
      if (dir === 1 || this.connackSeen) {
        // The server's first packet must be CONNACK [MQTT-3.2.0-1]; after a refusal nothing may follow.
        this.anomaly(dir, ts, 'mqtt.unintroduced_message', { packet_type: name });
      } else {
        // Clients may send before CONNACK arrives [MQTT-3.1.4-5] and many do; it is an anomaly (as in
        // Suricata) only if the session is then refused or no CONNACK ever comes: decided later.
        if (this.pendingUnintroduced) this.pendingUnintroduced.count++;
        else this.pendingUnintroduced = { dir, ts, packetType: name, count: 1 };
      }
    }
    const id = m.packetId;
    if (id === undefined) return;
    const other = (1 - dir) as Direction;
    switch (type) {
      case PacketType.PUBLISH:
        if (m.qos === 1 || m.qos === 2)
          this.open(dir, ts, KIND_PUBLISH, dir, id, m.qos === 1 ? ST_QOS1 : ST_QOS2);
        return;
      case PacketType.PUBACK:
        this.close(dir, ts, KIND_PUBLISH, other, id, 1 << ST_QOS1, 0, 'mqtt.missing_publish');
        return;
      case PacketType.PUBREC:
        this.close(
          dir,
          ts,
          KIND_PUBLISH,
          other,
          id,
          (1 << ST_QOS2) | (1 << ST_PUBREC),
          ST_PUBREC,
          'mqtt.missing_publish',
        );
        return;
      case PacketType.PUBREL:
        this.close(
          dir,
          ts,
          KIND_PUBLISH,
          dir,
          id,
          (1 << ST_QOS2) | (1 << ST_PUBREC) | (1 << ST_PUBREL),
          ST_PUBREL,
          'mqtt.missing_publish',
        );
        return;
      case PacketType.PUBCOMP:
        this.close(
          dir,
          ts,
          KIND_PUBLISH,
          other,
          id,
          (1 << ST_PUBREC) | (1 << ST_PUBREL),
          0,
          'mqtt.missing_publish',
        );
        return;
      case PacketType.SUBSCRIBE:
        this.open(dir, ts, KIND_SUBSCRIBE, dir, id, 1);
        return;
      case PacketType.SUBACK:
        this.close(dir, ts, KIND_SUBSCRIBE, other, id, 1 << 1, 0, 'mqtt.missing_subscribe');
        return;
      case PacketType.UNSUBSCRIBE:
        this.open(dir, ts, KIND_UNSUBSCRIBE, dir, id, 1);
        return;
      case PacketType.UNSUBACK:
        this.close(dir, ts, KIND_UNSUBSCRIBE, other, id, 1 << 1, 0, 'mqtt.missing_unsubscribe');
        return;
    }
  }

  private open(dir: Direction, ts: number, kind: number, sender: Direction, id: number, state: number): void {
    const key = (kind << 17) | (sender << 16) | id;
    const inflight = (this.inflightMap ??= new BoundedMap<number, number>(this.limits.maxInflight));
    const evicted = inflight.evicted;
    inflight.set(key, state);
    if (inflight.evicted > evicted) {
      this.stats.inflightEvicted++;
      this.anomalyOnce(dir, ts, 'mqtt.too_many_transactions', { limit: this.limits.maxInflight });
    }
  }

  /** Moves an exchange on (`next`) or ends it (0); an unknown id is an anomaly only when the session was seen from CONNECT. */
  private close(
    dir: Direction,
    ts: number,
    kind: number,
    sender: Direction,
    id: number,
    /** States the exchange may be in, as a bit mask (1 << state). */
    from: number,
    next: number,
    missing: MqttAnomalyCode,
  ): void {
    const key = (kind << 17) | (sender << 16) | id;
    const inflight = this.inflightMap;
    const state = inflight?.get(key);
    if (inflight && state !== undefined && (from & (1 << state)) !== 0) {
      if (next === 0) inflight.delete(key);
      else inflight.set(key, next);
      return;
    }
    if (this.sawConnect) this.anomaly(dir, ts, missing, { packet_id: id });
  }

  private fields(dir: Direction, m: MqttPacket, name: string): EventFields {
    const f: EventFields = { type: name };
    if (this.reportVersion !== undefined) f.version = this.reportVersion;
    const v5 = m.layout === 'v5';
    switch (m.type) {
      case PacketType.CONNECT:
        if (m.clientId !== undefined) f.client_id = m.clientId;
        if (m.username !== undefined) f.username = m.username;
        f.password_present = m.passwordPresent === true;
        if (m.cleanSession !== undefined) f.clean_session = m.cleanSession;
        if (m.keepAlive !== undefined) f.keep_alive = m.keepAlive;
        if (m.willTopic !== undefined) f.will_topic = m.willTopic;
        if (m.willRetain !== undefined) f.will_retain = m.willRetain;
        break;
      case PacketType.CONNACK:
        // MQTT 3.1 has no session-present flag: the byte is reserved there.
        if (m.sessionPresent !== undefined && this.reportVersion !== 3) f.session_present = m.sessionPresent;
        if (m.code !== undefined) f[v5 ? 'reason_code' : 'return_code'] = m.code;
        if (m.assignedClientId !== undefined) f.client_id = m.assignedClientId;
        break;
      case PacketType.PUBLISH: {
        let topic = m.topic ?? '';
        if (m.topicAlias !== undefined) topic = this.resolveAlias(dir, m.topicAlias, topic);
        f.topic = topic;
        if (m.qos !== undefined) f.qos = m.qos;
        if (m.retain !== undefined) f.retain = m.retain;
        if (m.dup !== undefined) f.dup = m.dup;
        if (m.packetId !== undefined) f.packet_id = m.packetId;
        if (m.payloadSize !== undefined) f.payload_size = m.payloadSize;
        break;
      }
      case PacketType.SUBSCRIBE:
      case PacketType.UNSUBSCRIBE:
        if (m.packetId !== undefined) f.packet_id = m.packetId;
        f.topic_filters = (m.topicFilters ?? []).map((t): FieldValue =>
          t.qos === undefined ? { filter: t.filter } : { filter: t.filter, qos: t.qos },
        );
        break;
      case PacketType.SUBACK:
      case PacketType.UNSUBACK:
        if (m.packetId !== undefined) f.packet_id = m.packetId;
        if (m.codes !== undefined) f[v5 ? 'reason_codes' : 'return_codes'] = m.codes;
        break;
      default:
        if (m.packetId !== undefined) f.packet_id = m.packetId;
        if (m.code !== undefined) f.reason_code = m.code;
    }
    return f;
  }

  /** MQTT 5.0 topic aliases are per direction [MQTT 5.0 §3.3.2.3.4]: a PUBLISH with an empty topic uses the mapping. */
  private resolveAlias(dir: Direction, alias: number, topic: string): string {
    const d = this.dirs[dir];
    if (topic !== '') {
      const map = (d.aliases ??= new BoundedMap<number, string>(this.limits.maxTopicAliases));
      const evicted = map.evicted;
      map.set(alias, topic);
      this.stats.aliasesEvicted += map.evicted - evicted;
      return topic;
    }
    return d.aliases?.get(alias) ?? '';
  }

  private flushUnintroduced(): void {
    const p = this.pendingUnintroduced;
    if (!p) return;
    this.pendingUnintroduced = null;
    this.anomaly(p.dir, p.ts, 'mqtt.unintroduced_message', { packet_type: p.packetType, count: p.count });
  }

  private anomalyOnce(dir: Direction, ts: number, code: MqttAnomalyCode, fields: EventFields): void {
    if (this.once.has(code)) return;
    this.once.add(code);
    this.anomaly(dir, ts, code, fields);
  }

  private anomaly(dir: Direction, ts: number, code: MqttAnomalyCode, fields: EventFields): void {
    const malformed = ANOMALIES[code].malformed;
    this.stats.anomalies++;
    if (malformed) this.stats.parseErrors++;
    if (this.stats.anomalies > this.limits.maxAnomalies) {
      this.stats.anomaliesSuppressed++;
      return;
    }
    this.sink.anomaly(dir, ts, code, malformed, fields);
  }
}
