// Learns a per-device baseline from flows and protocol events (issue 4 "Baselines"), driven by packet time.
import type { EventRecord } from '../../protocols/types.js';
import type { FlowInfo, FlowRecord } from '../../reassembly/types.js';
import { macToString } from '../../decode/addr.js';
import { formatTs, parseTs } from '../../wire/time.js';
import {
  DEFAULT_BASELINE_LIMITS,
  DEFAULT_MIN_LEARNING_S,
  cadenceOf,
  hourOf,
  hourOfWeek,
  isPrivateIp,
  type AePair,
  type Baseline,
  type BaselineLimits,
  type DeviceBaseline,
  type HourOfWeek,
  type Hl7App,
  type Hl7SenderSeen,
  type Implementation,
  type MqttClientSeen,
  type PeerEntry,
  type Range,
} from './baseline-model.js';
import { lookupVendor } from '../inventory/oui.js';
import { eventMicros, isHl7Ack, observeEvent, type Observation } from './baseline-observe.js';

export interface BaselineLearnOptions {
  /** Zone name of an address (from the site file); peers then carry it. */
  zoneOf?: (ip: string) => string | undefined;
  /** Asset name of an address (from the site file). */
  nameOf?: (ip: string) => string | undefined;
  /** Which addresses are devices of the site (default: private addresses). */
  isDevice?: (ip: string) => boolean;
  limits?: Partial<BaselineLimits>;
  /** Volume and feed-stopped checks arm only when the baseline spans at least this long (default 1 h). */
  minLearningS?: number;
}

export interface LearnStats {
  devices: number;
  droppedDevices: number;
  droppedValues: number;
  events: number;
  flows: number;
}

/** A keyed set with a cap: values beyond it are counted, never stored. */
class CappedMap<V> {
  readonly map = new Map<string, V>();
  constructor(
    private readonly cap: number,
    private readonly onDrop: () => void,
  ) {}
  /** The stored value for `key`, creating it with `make` when there is room. */
  upsert(key: string, make: () => V): V | undefined {
    const cur = this.map.get(key);
    if (cur !== undefined) return cur;
    if (this.map.size >= this.cap) {
      this.onDrop();
      return undefined;
    }
    const v = make();
    this.map.set(key, v);
    return v;
  }
}

interface Feed {
  count: number;
  last: number;
  intervals: number[];
}

interface HourCounts {
  messages: number;
  bytes: number;
  rejects: number;
  naks: number;
}

class DeviceAcc {
  /** Packet time the device was first counted (µs). */
  firstSeen = Number.POSITIVE_INFINITY;
  readonly macs: CappedMap<true>;
  readonly peers: CappedMap<PeerEntry>;
  readonly aeTitles: CappedMap<true>;
  readonly aePairs: CappedMap<AePair>;
  readonly sopClasses: CappedMap<true>;
  readonly sopProposed: CappedMap<true>;
  readonly commands: CappedMap<true>;
  readonly moveDests: CappedMap<true>;
  maxRetrieve = 0;
  readonly impls: CappedMap<Implementation>;
  readonly hl7Apps: CappedMap<Hl7App>;
  readonly hl7Senders: CappedMap<Hl7SenderSeen>;
  readonly hl7RecvApps: CappedMap<Hl7App>;
  readonly hl7Sent: CappedMap<Feed>;
  readonly hl7Received: CappedMap<true>;
  readonly hl7Versions: CappedMap<true>;
  readonly hl7Pids: CappedMap<true>;
  readonly mqttIds: CappedMap<true>;
  readonly mqttClients: CappedMap<MqttClientSeen>;
  readonly mqttPubs: CappedMap<Feed & { retained: boolean; maxPayload: number }>;
  readonly mqttSubs: CappedMap<true>;
  readonly hours: CappedMap<HourCounts>;
  readonly tlsNames: CappedMap<true>;
  readonly tlsFingerprints: CappedMap<true>;
  /** "attribute|value" → the entry. */
  readonly identity: CappedMap<{ attribute: string; value: string }>;
  hasDicom = false;
  hasHl7 = false;
  hasMqtt = false;

  constructor(
    readonly ip: string,
    lim: BaselineLimits,
    drop: () => void,
  ) {
    const v = lim.maxValuesPerSet;
    this.macs = new CappedMap(16, drop);
    this.peers = new CappedMap(lim.maxPeersPerDevice, drop);
    this.aeTitles = new CappedMap(v, drop);
    this.aePairs = new CappedMap(v, drop);
    this.sopClasses = new CappedMap(v, drop);
    this.sopProposed = new CappedMap(v, drop);
    this.commands = new CappedMap(v, drop);
    this.moveDests = new CappedMap(v, drop);
    this.impls = new CappedMap(v, drop);
    this.hl7Apps = new CappedMap(v, drop);
    this.hl7Senders = new CappedMap(v, drop);
    this.hl7RecvApps = new CappedMap(v, drop);
    this.hl7Sent = new CappedMap(v, drop);
    this.hl7Received = new CappedMap(v, drop);
    this.hl7Versions = new CappedMap(v, drop);
    this.hl7Pids = new CappedMap(v, drop);
    this.mqttIds = new CappedMap(v, drop);
    this.mqttClients = new CappedMap(v * 4, drop);
    this.mqttPubs = new CappedMap(v, drop);
    this.mqttSubs = new CappedMap(v, drop);
    this.tlsNames = new CappedMap(v, drop);
    this.tlsFingerprints = new CappedMap(v, drop);
    this.identity = new CappedMap(v, drop);
    // A year of hourly buckets; older ones are not dropped, new ones are counted as dropped.
    this.hours = new CappedMap(24 * 366, drop);
  }
}

const sortStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function rangeOf(values: number[]): Range {
  if (values.length === 0) return { min: 0, max: 0 };
  return { min: Math.min(...values), max: Math.max(...values) };
}

/** The OUI vendor of the first MAC that has one, as `{vendor}` to spread into a record. */
function vendorOf(macs: readonly string[]): { vendor?: string } {
  for (const m of macs) {
    const v = lookupVendor(m);
    if (v) return { vendor: v };
  }
  return {};
}

/** Numeric-aware ordering of IPv4 text so that 10.0.0.9 sorts before 10.0.0.10. */
export function compareIp(a: string, b: string): number {
  const pa = a.split('.');
  const pb = b.split('.');
  if (pa.length === 4 && pb.length === 4) {
    for (let i = 0; i < 4; i++) {
      const d = Number(pa[i]) - Number(pb[i]);
      if (d !== 0) return d;
    }
    return 0;
  }
  return sortStr(a, b);
}

/** Record a feed occurrence: count, and the interval since the previous one (bounded sample). */
function tick(feed: Feed, ts: number, maxSamples: number): void {
  if (feed.count > 0 && ts >= feed.last && feed.intervals.length < maxSamples)
    feed.intervals.push(ts - feed.last);
  feed.count++;
  feed.last = ts;
}

export class BaselineLearner {
  private readonly lim: BaselineLimits;
  private readonly devices = new Map<string, DeviceAcc>();
  private readonly flowClients = new Map<string, string>();
  /**
   * MAC → the one device IP it was seen with, for link-layer identity (LLDP, CDP carry no address); null once a MAC
   * carried several (a router's): its frames' identity then names no single device.
   */
  private readonly ipOfMac = new Map<string, string | null>();
  private first = Number.POSITIVE_INFINITY;
  private last = Number.NEGATIVE_INFINITY;
  readonly stats: LearnStats = { devices: 0, droppedDevices: 0, droppedValues: 0, events: 0, flows: 0 };

  constructor(private readonly opts: BaselineLearnOptions = {}) {
    this.lim = { ...DEFAULT_BASELINE_LIMITS, ...opts.limits };
  }

  private isDevice(ip: string): boolean {
    return this.opts.isDevice ? this.opts.isDevice(ip) : isPrivateIp(ip);
  }

  private device(ip: string): DeviceAcc | undefined {
    if (!ip || !this.isDevice(ip)) return undefined;
    const cur = this.devices.get(ip);
    if (cur) return cur;
    if (this.devices.size >= this.lim.maxDevices) {
      this.stats.droppedDevices++;
      return undefined;
    }
    const acc = new DeviceAcc(ip, this.lim, () => this.stats.droppedValues++);
    this.devices.set(ip, acc);
    this.stats.devices = this.devices.size;
    return acc;
  }

  private seen(ts: number): void {
    if (!Number.isFinite(ts)) return;
    if (ts < this.first) this.first = ts;
    if (ts > this.last) this.last = ts;
  }

  private hour(d: DeviceAcc, ts: number): HourCounts | undefined {
    if (!Number.isFinite(ts)) return undefined;
    if (ts < d.firstSeen) d.firstSeen = ts;
    return d.hours.upsert(String(hourOf(ts)), () => ({ messages: 0, bytes: 0, rejects: 0, naks: 0 }));
  }

  private addPeer(
    d: DeviceAcc | undefined,
    peer: string,
    port: number,
    protocol: string,
    role: 'client' | 'server',
  ): void {
    if (!d) return;
    const key = `${peer}|${port}|${role}`;
    const entry = d.peers.upsert(key, () => {
      const zone = this.opts.zoneOf?.(peer);
      return zone === undefined
        ? { address: peer, port, protocol, role }
        : { address: peer, zone, port, protocol, role };
    });
    // A flow's application is detected after its start; the better name wins.
    if (entry && entry.protocol !== protocol && protocol !== 'tcp' && protocol !== 'udp')
      entry.protocol = protocol;
  }

  onFlowStart(flow: FlowInfo, ts: number): void {
    this.seen(ts);
    this.stats.flows++;
    if (this.flowClients.size < this.lim.maxFlows)
      this.flowClients.set(flow.id, `${flow.clientIp}|${flow.clientPort}`);
    const c = this.device(flow.clientIp);
    const s = this.device(flow.serverIp);
    const proto = flow.app ?? flow.transport;
    this.addPeer(c, flow.serverIp, flow.serverPort, proto, 'client');
    this.addPeer(s, flow.clientIp, flow.serverPort, proto, 'server');
    if (c && flow.clientMac >= 0) {
      c.macs.upsert(macToString(flow.clientMac), () => true);
      this.rememberMac(macToString(flow.clientMac), c.ip);
    }
    if (s && flow.serverMac >= 0) {
      s.macs.upsert(macToString(flow.serverMac), () => true);
      this.rememberMac(macToString(flow.serverMac), s.ip);
    }
  }

  onFlowEnd(rec: FlowRecord): void {
    const end = rec.endMicros ?? parseTs(rec.end);
    this.seen(end);
    this.flowClients.delete(rec.flow);
    const c = this.device(rec.client.ip);
    const s = this.device(rec.server.ip);
    const proto = rec.app ?? rec.transport;
    this.addPeer(c, rec.server.ip, rec.server.port, proto, 'client');
    this.addPeer(s, rec.client.ip, rec.server.port, proto, 'server');
    if (c) {
      const h = this.hour(c, end);
      if (h) h.bytes += rec.bytes[0];
      if (rec.client.mac) c.macs.upsert(rec.client.mac, () => true);
    }
    if (s) {
      const h = this.hour(s, end);
      if (h) h.bytes += rec.bytes[1];
      if (rec.server.mac) s.macs.upsert(rec.server.mac, () => true);
    }
  }

  onEvent(ev: EventRecord): void {
    if (ev.type === 'anomaly') return;
    const ts = eventMicros(ev);
    this.seen(ts);
    this.stats.events++;
    const sender = this.device(ev.src.ip);
    if (sender) {
      const h = this.hour(sender, ts);
      if (h) h.messages++;
      if (ev.src.mac) {
        sender.macs.upsert(ev.src.mac, () => true);
        this.rememberMac(ev.src.mac, ev.src.ip);
      }
    }
    const client = this.flowClients.get(ev.flow);
    const fromClient = client === undefined ? undefined : client === `${ev.src.ip}|${ev.src.port}`;
    for (const o of observeEvent(ev, fromClient)) this.record(o, ts);
  }

  /** Packet time only matters through events and flows; kept for the BaselineChecker-shaped driver. */
  advance(now: number): void {
    this.seen(now);
  }

  private rememberMac(mac: string, ip: string): void {
    const key = mac.toLowerCase();
    const had = this.ipOfMac.get(key);
    if (had === undefined) {
      if (this.ipOfMac.size < this.lim.maxDevices * 4) this.ipOfMac.set(key, ip);
    } else if (had !== null && had !== ip) this.ipOfMac.set(key, null);
  }

  private record(o: Observation, ts: number): void {
    const ip = o.kind === 'identity' && o.dev === '' && o.mac ? (this.ipOfMac.get(o.mac) ?? '') : o.dev;
    const d = this.device(ip);
    if (!d) return;
    const v = this.lim.maxIntervalSamples;
    switch (o.kind) {
      case 'ae_title':
        d.hasDicom = true;
        d.aeTitles.upsert(o.value, () => true);
        break;
      case 'ae_pair':
        d.hasDicom = true;
        d.aePairs.upsert(`${o.calling}|${o.called}|${o.peer}|${o.role}`, () => ({
          calling: o.calling,
          called: o.called,
          peer: o.peer,
          role: o.role,
        }));
        break;
      case 'sop_class':
        d.hasDicom = true;
        d.sopClasses.upsert(o.value, () => true);
        break;
      case 'sop_proposed':
        d.hasDicom = true;
        d.sopProposed.upsert(o.value, () => true);
        break;
      case 'command':
        d.hasDicom = true;
        d.commands.upsert(o.value, () => true);
        break;
      case 'move_dest':
        d.moveDests.upsert(o.value, () => true);
        break;
      case 'retrieve_subops':
        d.hasDicom = true;
        if (o.value > d.maxRetrieve) d.maxRetrieve = o.value;
        break;
      case 'impl':
        d.hasDicom = true;
        d.impls.upsert(`${o.class_uid}|${o.version ?? ''}`, () =>
          o.version === undefined
            ? { class_uid: o.class_uid }
            : { class_uid: o.class_uid, version: o.version },
        );
        break;
      case 'hl7_app':
        d.hasHl7 = true;
        d.hl7Apps.upsert(`${o.app}|${o.facility ?? ''}`, () =>
          o.facility === undefined ? { app: o.app } : { app: o.app, facility: o.facility },
        );
        break;
      case 'hl7_recv_app':
        d.hasHl7 = true;
        d.hl7RecvApps.upsert(`${o.app}|${o.facility ?? ''}`, () =>
          o.facility === undefined ? { app: o.app } : { app: o.app, facility: o.facility },
        );
        break;
      case 'hl7_sender_seen':
        d.hasHl7 = true;
        d.hl7Senders.upsert(`${o.app}|${o.facility ?? ''}|${o.from}`, () =>
          o.facility === undefined
            ? { app: o.app, from: o.from }
            : { app: o.app, facility: o.facility, from: o.from },
        );
        break;
      case 'hl7_sent': {
        d.hasHl7 = true;
        const feed = d.hl7Sent.upsert(o.type, () => ({ count: 0, last: 0, intervals: [] }));
        if (feed) tick(feed, ts, v);
        break;
      }
      case 'hl7_received':
        d.hasHl7 = true;
        d.hl7Received.upsert(o.type, () => true);
        break;
      case 'hl7_version':
        if (o.version !== undefined) d.hl7Versions.upsert(o.version, () => true);
        if (o.processing_id !== undefined) d.hl7Pids.upsert(o.processing_id, () => true);
        break;
      case 'mqtt_client_id':
        d.hasMqtt = true;
        d.mqttIds.upsert(o.value, () => true);
        break;
      case 'mqtt_client_seen':
        d.hasMqtt = true;
        d.mqttClients.upsert(`${o.client_id}|${o.from}`, () => ({ client_id: o.client_id, from: o.from }));
        break;
      case 'mqtt_publish': {
        d.hasMqtt = true;
        const feed = d.mqttPubs.upsert(o.topic, () => ({
          count: 0,
          last: 0,
          intervals: [],
          retained: false,
          maxPayload: 0,
        }));
        if (feed) {
          tick(feed, ts, v);
          if (o.retain) feed.retained = true;
          if (o.size > feed.maxPayload) feed.maxPayload = o.size;
        }
        break;
      }
      case 'mqtt_subscribe':
        d.hasMqtt = true;
        d.mqttSubs.upsert(o.filter, () => true);
        break;
      case 'tls_server_name':
        d.tlsNames.upsert(o.value, () => true);
        break;
      case 'tls_fingerprint':
        d.tlsFingerprints.upsert(o.value, () => true);
        break;
      case 'identity':
        d.identity.upsert(`${o.attribute}|${o.value}`, () => ({ attribute: o.attribute, value: o.value }));
        break;
      case 'reject': {
        const h = this.hour(d, ts);
        if (h) h.rejects++;
        break;
      }
      case 'nak': {
        const h = this.hour(d, ts);
        if (h) h.naks++;
        break;
      }
    }
  }

  /** The learned baseline, every list sorted so that two runs on the same input give the same file. */
  result(): Baseline {
    const devices: DeviceBaseline[] = [];
    for (const d of this.devices.values()) devices.push(this.deviceResult(d));
    devices.sort((a, b) => compareIp(a.ip, b.ip));
    const from = Number.isFinite(this.first) ? formatTs(this.first) : '';
    const to = Number.isFinite(this.last) ? formatTs(this.last) : '';
    const spanS =
      Number.isFinite(this.first) && Number.isFinite(this.last) ? (this.last - this.first) / 1e6 : 0;
    const min = this.opts.minLearningS ?? DEFAULT_MIN_LEARNING_S;
    const armed = { volume: spanS >= min, feed_stopped: spanS >= min, min_learning_s: min };
    return { version: 1, learned_from: from, learned_to: to, armed, devices };
  }

  private deviceResult(d: DeviceAcc): DeviceBaseline {
    const keys = (m: CappedMap<true>): string[] => [...m.map.keys()].sort(sortStr);
    // Key order is the order a reviewer reads: identity, peers, protocols, volume.
    const name = this.opts.nameOf?.(d.ip);
    const zone = this.opts.zoneOf?.(d.ip);
    const out: Omit<DeviceBaseline, 'volume'> = {
      // A learned record is a proposal: a reviewer approves it by setting state: enforced.
      state: 'learning',
      ...(Number.isFinite(d.firstSeen) ? { since: formatTs(d.firstSeen) } : {}),
      ip: d.ip,
      ...(name === undefined ? {} : { name }),
      ...(zone === undefined ? {} : { zone }),
      macs: keys(d.macs),
      // For the reviewer: who made the interface (IEEE OUI); not checked.
      ...vendorOf(keys(d.macs)),
      peers: [...d.peers.map.values()].sort(
        (a, b) => compareIp(a.address, b.address) || a.port - b.port || sortStr(a.role, b.role),
      ),
    };
    if (d.hasDicom) {
      out.dicom = {
        ae_titles: keys(d.aeTitles),
        ae_pairs: [...d.aePairs.map.values()].sort(
          (a, b) =>
            sortStr(a.calling, b.calling) ||
            sortStr(a.called, b.called) ||
            compareIp(a.peer, b.peer) ||
            sortStr(a.role, b.role),
        ),
        sop_classes: keys(d.sopClasses),
        proposed_only: keys(d.sopProposed).filter((uid) => !d.sopClasses.map.has(uid)),
        commands: keys(d.commands),
        move_destinations: keys(d.moveDests),
        implementations: [...d.impls.map.values()].sort(
          (a, b) => sortStr(a.class_uid, b.class_uid) || sortStr(a.version ?? '', b.version ?? ''),
        ),
        ...(d.maxRetrieve > 0 ? { max_retrieve_suboperations: d.maxRetrieve } : {}),
      };
    }
    if (d.hasHl7) {
      out.hl7 = {
        sending_apps: [...d.hl7Apps.map.values()].sort(
          (a, b) => sortStr(a.app, b.app) || sortStr(a.facility ?? '', b.facility ?? ''),
        ),
        receiving_apps: [...d.hl7RecvApps.map.values()].sort(
          (a, b) => sortStr(a.app, b.app) || sortStr(a.facility ?? '', b.facility ?? ''),
        ),
        senders_seen: [...d.hl7Senders.map.values()].sort(
          (a, b) =>
            sortStr(a.app, b.app) || sortStr(a.facility ?? '', b.facility ?? '') || compareIp(a.from, b.from),
        ),
        sent: [...d.hl7Sent.map.entries()]
          .map(([type, f]) => {
            const cad = isHl7Ack(type) ? undefined : cadenceOf(f.intervals);
            return cad === undefined
              ? { type, count: f.count }
              : { type, count: f.count, median_interval_s: cad };
          })
          .sort((a, b) => sortStr(a.type, b.type)),
        received: keys(d.hl7Received),
        versions: keys(d.hl7Versions),
        processing_ids: keys(d.hl7Pids),
      };
    }
    if (d.hasMqtt) {
      out.mqtt = {
        client_ids: keys(d.mqttIds),
        publishes: [...d.mqttPubs.map.entries()]
          .map(([topic, f]) => {
            const base = { topic, count: f.count, retained: f.retained, max_payload: f.maxPayload };
            const cad = cadenceOf(f.intervals);
            return cad === undefined ? base : { ...base, median_interval_s: cad };
          })
          .sort((a, b) => sortStr(a.topic, b.topic)),
        subscribes: keys(d.mqttSubs),
        clients_seen: [...d.mqttClients.map.values()].sort(
          (a, b) => sortStr(a.client_id, b.client_id) || compareIp(a.from, b.from),
        ),
      };
    }
    if (d.tlsNames.map.size + d.tlsFingerprints.map.size > 0)
      out.tls = { server_names: keys(d.tlsNames), client_fingerprints: keys(d.tlsFingerprints) };
    if (d.identity.map.size > 0)
      out.identity = [...d.identity.map.values()].sort(
        (a, b) => sortStr(a.attribute, b.attribute) || sortStr(a.value, b.value),
      );
    return { ...out, volume: this.volume(d) };
  }

  private volume(d: DeviceAcc): DeviceBaseline['volume'] {
    const hs = [...d.hours.map.values()];
    const hoursOfDay = new Set([...d.hours.map.keys()].map((h) => Number(h) % 24));
    const week = new Map<number, HourOfWeek>();
    for (const [h, c] of d.hours.map) {
      const hour = hourOfWeek(Number(h));
      const w = week.get(hour) ?? { hour, messages: 0, bytes: 0 };
      w.messages = Math.max(w.messages, c.messages);
      w.bytes = Math.max(w.bytes, c.bytes);
      week.set(hour, w);
    }
    return {
      hours: hs.length,
      active_hours: [...hoursOfDay].sort((a, b) => a - b),
      hours_of_week: [...week.values()].sort((a, b) => a.hour - b.hour),
      messages_per_hour: rangeOf(hs.map((h) => h.messages)),
      bytes_per_hour: rangeOf(hs.map((h) => h.bytes)),
      rejects_per_hour: rangeOf(hs.map((h) => h.rejects)),
      naks_per_hour: rangeOf(hs.map((h) => h.naks)),
    };
  }
}
