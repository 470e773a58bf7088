// Compares live flows and protocol events with a learned baseline and reports deviations once each (issue 4 "Baselines").
import type { EventRecord, FieldValue } from '../../protocols/types.js';
import type { FlowInfo, FlowRecord } from '../../reassembly/types.js';
import { macToString } from '../../decode/addr.js';
import { parseTs } from '../../wire/time.js';
import type { BaselineChecker, Deviation } from './baseline-types.js';
import type { BaselineFact } from '../rules/knowledge.js';
import { BoundedMap } from '../../wire/bounded-map.js';
import {
  DEFAULT_BASELINE_LIMITS,
  TLS_PORTS,
  hourOf,
  generaliseTopic,
  hourOfWeek,
  isPrivateIp,
  type Baseline,
  type BaselineCode,
  type BaselineLimits,
  type DeviceBaseline,
  type HourOfWeek,
  type MqttTopic,
  type Range,
} from './baseline-model.js';
import { eventMicros, isHl7Ack, observeEvent, type Observation } from './baseline-observe.js';
import { describeImplementation, implementationLabel, uidName } from '../../wire/dicom/names.js';

/** Evidence a person reads: the standard's name beside the UID, when it has one (the UID stays the key). */
function sopEvidence(uid: string): Record<string, FieldValue> {
  const name = uidName(uid);
  return name ? { sop_class: uid, sop_class_name: name } : { sop_class: uid };
}

/** What is always allowed above factor × the learned maximum, per measure. */
export interface Slack {
  messages: number;
  bytes: number;
  rejects: number;
  naks: number;
  payload: number;
  retrieve: number;
}

export interface BaselineCheckOptions {
  /** Which addresses are devices of the site (default: private addresses). */
  isDevice?: (ip: string) => boolean;
  limits?: Partial<BaselineLimits>;
  /** A count is "far above" its learned hourly maximum when it exceeds factor × max + slack. */
  volumeFactor?: number;
  slack?: Partial<Slack>;
  /** A periodic feed is stopped after this many median intervals of silence... */
  feedFactor?: number;
  /** ...and never before this many seconds (a fast feed's short pause is not an outage). */
  feedMinSilenceS?: number;
}

export interface CheckStats {
  deviations: number;
  /** Deviations beyond the per-device, per-code cap (counted, not reported). */
  suppressed: number;
  evictedKeys: number;
  evictedFlows: number;
}

interface DeviceIndex {
  base: DeviceBaseline;
  mac: string | undefined;
  macs: Set<string>;
  peerAddrs: Set<string>;
  peerPorts: Set<string>;
  clientPorts: Set<number>;
  serverPorts: Set<number>;
  aePairs: Set<string>;
  sopClasses: Set<string>;
  commands: Set<string>;
  moveDests: Set<string>;
  impls: Set<string>;
  implText: string[];
  sendersSeen: Set<string>;
  sent: Set<string>;
  versions: Set<string>;
  pids: Set<string>;
  clientsSeen: Set<string>;
  clientIdFrom: Map<string, string[]>;
  pubs: Map<string, MqttTopic>;
  subs: Set<string>;
  aeTitles: Set<string>;
  sendingApps: Set<string>;
  receivingApps: Set<string>;
  clientIds: Set<string>;
  week: Map<number, HourOfWeek>;
  /** Periodic feeds of this device: key → median interval µs. */
  feeds: Map<string, number>;
  tlsNames: Set<string>;
  tlsFingerprints: Set<string>;
  /** attribute → the values the approved baseline holds. */
  identity: Map<string, Set<string>>;
}

interface FlowState {
  clientIp: string;
  clientPort: number;
  serverIp: string;
  serverPort: number;
  checkedTls: boolean;
}

interface FeedState {
  dev: string;
  key: string;
  proto: string;
  medianUs: number;
  last: number;
  reported: boolean;
}

interface HourState {
  hour: number;
  messages: number;
  bytes: number;
  rejects: number;
  naks: number;
}

function identityIndex(entries: readonly { attribute: string; value: string }[]): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const e of entries) {
    let s = m.get(e.attribute);
    if (!s) m.set(e.attribute, (s = new Set()));
    s.add(e.value);
  }
  return m;
}

function indexDevice(d: DeviceBaseline): DeviceIndex {
  const feeds = new Map<string, number>();
  for (const s of d.hl7?.sent ?? [])
    if (s.median_interval_s !== undefined) feeds.set(`hl7:${s.type}`, s.median_interval_s * 1e6);
  for (const p of d.mqtt?.publishes ?? [])
    if (p.median_interval_s !== undefined) feeds.set(`mqtt:${p.topic}`, p.median_interval_s * 1e6);
  const clientIdFrom = new Map<string, string[]>();
  for (const c of d.mqtt?.clients_seen ?? [])
    clientIdFrom.set(c.client_id, [...(clientIdFrom.get(c.client_id) ?? []), c.from]);
  const impls = d.dicom?.implementations ?? [];
  return {
    base: d,
    mac: d.macs[0],
    macs: new Set(d.macs),
    peerAddrs: new Set(d.peers.map((p) => p.address)),
    peerPorts: new Set(d.peers.map((p) => `${p.address}|${p.port}`)),
    clientPorts: new Set(d.peers.filter((p) => p.role === 'client').map((p) => p.port)),
    serverPorts: new Set(d.peers.filter((p) => p.role === 'server').map((p) => p.port)),
    aePairs: new Set((d.dicom?.ae_pairs ?? []).map((p) => `${p.calling}|${p.called}|${p.peer}|${p.role}`)),
    sopClasses: new Set(d.dicom?.sop_classes ?? []),
    aeTitles: new Set(d.dicom?.ae_titles ?? []),
    sendingApps: new Set((d.hl7?.sending_apps ?? []).map((a) => a.app)),
    receivingApps: new Set((d.hl7?.receiving_apps ?? []).map((a) => a.app)),
    clientIds: new Set(d.mqtt?.client_ids ?? []),
    week: new Map((d.volume.hours_of_week ?? []).map((w) => [w.hour, w])),
    commands: new Set(d.dicom?.commands ?? []),
    moveDests: new Set(d.dicom?.move_destinations ?? []),
    impls: new Set(impls.map((i) => `${i.class_uid}|${i.version ?? ''}`)),
    implText: impls.map((i) => {
      const who = implementationLabel(i.class_uid, i.version);
      return `${i.class_uid}${i.version ? ` ${i.version}` : ''}${who ? ` (${who})` : ''}`;
    }),
    sendersSeen: new Set((d.hl7?.senders_seen ?? []).map((s) => `${s.app}|${s.facility ?? ''}|${s.from}`)),
    sent: new Set((d.hl7?.sent ?? []).map((s) => s.type)),
    versions: new Set(d.hl7?.versions ?? []),
    pids: new Set(d.hl7?.processing_ids ?? []),
    clientsSeen: new Set((d.mqtt?.clients_seen ?? []).map((c) => `${c.client_id}|${c.from}`)),
    clientIdFrom,
    pubs: new Map((d.mqtt?.publishes ?? []).map((p) => [p.topic, p])),
    subs: new Set(d.mqtt?.subscribes ?? []),
    feeds,
    tlsNames: new Set(d.tls?.server_names ?? []),
    tlsFingerprints: new Set(d.tls?.client_fingerprints ?? []),
    identity: identityIndex(d.identity ?? []),
  };
}

export class BaselineCheck implements BaselineChecker {
  private readonly lim: BaselineLimits;
  private readonly devices = new Map<string, DeviceIndex>();
  /** MAC → the one approved device that has it (null: several do), for link-layer identity. */
  private readonly byMac = new Map<string, DeviceIndex | null>();
  /** hl7 app|facility → addresses it was baselined from (any receiver). */
  private readonly hl7AppFrom = new Map<string, Set<string>>();
  private readonly reported: BoundedMap<string, true>;
  private readonly perDeviceCode: BoundedMap<string, number>;
  private readonly flows: BoundedMap<string, FlowState>;
  private readonly feeds = new Map<string, FeedState>();
  private readonly hours = new Map<string, HourState>();
  private nextFeedScan = 0;
  private readonly factor: number;
  /** Baselines from before issue 9 carry no `armed`: every check runs, as it did then. */
  private readonly armed: { volume: boolean; feed_stopped: boolean };
  private readonly feedFactor: number;
  private readonly feedMinSilenceUs: number;
  private readonly slack: Slack;
  readonly stats: CheckStats = { deviations: 0, suppressed: 0, evictedKeys: 0, evictedFlows: 0 };

  constructor(
    baseline: Baseline,
    private readonly opts: BaselineCheckOptions = {},
  ) {
    this.lim = { ...DEFAULT_BASELINE_LIMITS, ...opts.limits };
    this.reported = new BoundedMap(this.lim.maxReportedKeys);
    this.perDeviceCode = new BoundedMap(this.lim.maxReportedKeys);
    this.flows = new BoundedMap(this.lim.maxFlows);
    for (const d of baseline.devices.slice(0, this.lim.maxDevices)) this.devices.set(d.ip, indexDevice(d));
    for (const d of this.devices.values())
      for (const m of d.macs) {
        const key = m.toLowerCase();
        this.byMac.set(key, this.byMac.has(key) ? null : d);
      }
    for (const d of baseline.devices)
      for (const s of d.hl7?.senders_seen ?? []) {
        const k = `${s.app}|${s.facility ?? ''}`;
        const set = this.hl7AppFrom.get(k) ?? new Set<string>();
        set.add(s.from);
        this.hl7AppFrom.set(k, set);
      }
    this.armed = baseline.armed ?? { volume: true, feed_stopped: true };
    this.factor = opts.volumeFactor ?? 4;
    this.feedFactor = opts.feedFactor ?? 5;
    this.feedMinSilenceUs = (opts.feedMinSilenceS ?? 120) * 1e6;
    this.slack = {
      messages: 100,
      bytes: 65_536,
      rejects: 10,
      naks: 10,
      payload: 1024,
      retrieve: 10,
      ...opts.slack,
    };
  }

  deviceState(ip: string): { state: 'learning' | 'enforced'; since: number } | undefined {
    const d = this.devices.get(ip);
    if (!d) return undefined;
    const since = d.base.since !== undefined ? parseTs(d.base.since) : Number.NaN;
    return { state: d.base.state ?? 'enforced', since: Number.isFinite(since) ? since : 0 };
  }

  knows(ip: string, fact: BaselineFact, value: string): boolean {
    const d = this.devices.get(ip);
    if (!d) return false;
    switch (fact) {
      case 'dicom_ae':
        return d.aeTitles.has(value);
      case 'dicom_move_destination':
        return d.moveDests.has(value.trim());
      case 'hl7_sending_app':
        return d.sendingApps.has(value);
      case 'hl7_receiving_app':
        return d.receivingApps.has(value);
      case 'hl7_message_type':
        return d.sent.has(value);
      case 'mqtt_client_id':
        return d.clientIds.has(value);
      case 'mqtt_topic':
        return d.pubs.has(generaliseTopic(value));
    }
  }

  private isDevice(ip: string): boolean {
    return this.opts.isDevice ? this.opts.isDevice(ip) : isPrivateIp(ip);
  }

  /** Report `code` for (device, value) unless it was already reported or the device hit its cap for that code. */
  private emit(
    out: Deviation[],
    code: BaselineCode,
    ts: number,
    proto: string,
    dev: string,
    value: string,
    evidence: Record<string, FieldValue>,
    peer?: { ip: string; port?: number },
    flow?: string,
    mac?: string,
  ): void {
    const key = `${code}|${dev}|${value}`;
    if (this.reported.has(key)) return;
    const evicted = this.reported.evicted;
    this.reported.set(key, true);
    this.stats.evictedKeys += this.reported.evicted - evicted;
    const dc = `${dev}|${code}`;
    const n = this.perDeviceCode.get(dc) ?? 0;
    if (n >= this.lim.maxPerDeviceCode) {
      this.stats.suppressed++;
      return;
    }
    this.perDeviceCode.set(dc, n + 1);
    const device: Deviation['device'] = { ip: dev };
    const m = mac || this.devices.get(dev)?.mac;
    if (m) device.mac = m;
    const d: Deviation = { code, ts, proto, device, evidence };
    if (peer) d.peer = peer;
    if (flow) d.flow = flow;
    out.push(d);
    this.stats.deviations++;
  }

  private hourState(dev: string, ts: number): HourState {
    const h = hourOf(ts);
    let s = this.hours.get(dev);
    if (!s || s.hour !== h) {
      s = { hour: h, messages: 0, bytes: 0, rejects: 0, naks: 0 };
      this.hours.set(dev, s);
    }
    return s;
  }

  private checkVolume(
    out: Deviation[],
    d: DeviceIndex,
    ts: number,
    proto: string,
    metric: 'messages' | 'bytes' | 'rejects' | 'naks',
    add: number,
  ): void {
    if (!this.armed.volume) return;
    const s = this.hourState(d.base.ip, ts);
    s[metric] += add;
    const range: Range =
      metric === 'messages'
        ? d.base.volume.messages_per_hour
        : metric === 'bytes'
          ? d.base.volume.bytes_per_hour
          : metric === 'rejects'
            ? d.base.volume.rejects_per_hour
            : d.base.volume.naks_per_hour;
    // The same hour of the week when learning saw it; else the device's overall range (issue 9: an hour never
    // seen while learning is not an hour in which nothing is allowed). factor × max + slack is the tolerance.
    const seen =
      metric === 'messages' || metric === 'bytes' ? d.week.get(hourOfWeek(s.hour))?.[metric] : undefined;
    const max = seen ?? range.max;
    const limit = max * this.factor + this.slack[metric];
    if (s[metric] <= limit) return;
    const code =
      metric === 'rejects'
        ? 'baseline.reject-rate-above-range'
        : metric === 'naks'
          ? 'baseline.nak-rate-above-range'
          : 'baseline.volume-above-range';
    this.emit(out, code, ts, proto, d.base.ip, `${metric}|${s.hour}`, {
      metric: `${metric}_per_hour`,
      observed: s[metric],
      learned_max: max,
      limit,
    });
  }

  /** A baselined address behind a MAC it never used (the flow table may know MACs only at flow end or per event). */
  private checkMac(
    out: Deviation[],
    d: DeviceIndex,
    mac: string | undefined,
    ts: number,
    proto: string,
    flow?: string,
  ): void {
    if (!mac || d.macs.size === 0 || d.macs.has(mac)) return;
    this.emit(
      out,
      'baseline.mac-changed',
      ts,
      proto,
      d.base.ip,
      mac,
      { mac, known_macs: [...d.macs] },
      undefined,
      flow,
      mac,
    );
  }

  onFlowStart(flow: FlowInfo, ts: number): Deviation[] {
    const out: Deviation[] = [];
    const evicted = this.flows.evicted;
    this.flows.touch(flow.id, {
      clientIp: flow.clientIp,
      clientPort: flow.clientPort,
      serverIp: flow.serverIp,
      serverPort: flow.serverPort,
      checkedTls: false,
    });
    this.stats.evictedFlows += this.flows.evicted - evicted;
    const proto = flow.app ?? flow.transport;
    const ends: [string, number, string, number, 'client' | 'server'][] = [
      [flow.clientIp, flow.clientMac, flow.serverIp, flow.serverPort, 'client'],
      [flow.serverIp, flow.serverMac, flow.clientIp, flow.clientPort, 'server'],
    ];
    for (const [ip, macNum, peerIp, peerPort, role] of ends) {
      if (!this.isDevice(ip)) continue;
      const mac = macNum >= 0 ? macToString(macNum) : undefined;
      const d = this.devices.get(ip);
      if (!d) {
        // An unknown server is only a device once it answers (onFlowEnd): a scanned empty address is not one.
        if (role === 'server') continue;
        const ev: Record<string, FieldValue> = { peer: peerIp, port: flow.serverPort, role };
        if (mac) ev.mac = mac;
        this.emit(
          out,
          'baseline.new-device',
          ts,
          proto,
          ip,
          '',
          ev,
          { ip: peerIp, port: peerPort },
          flow.id,
          mac,
        );
        continue;
      }
      if (mac && d.macs.size > 0 && !d.macs.has(mac)) {
        this.emit(
          out,
          'baseline.mac-changed',
          ts,
          proto,
          ip,
          mac,
          { mac, known_macs: [...d.macs] },
          undefined,
          flow.id,
          mac,
        );
      }
      if (!d.peerAddrs.has(peerIp)) {
        this.emit(
          out,
          'baseline.new-peer',
          ts,
          proto,
          ip,
          peerIp,
          { peer: peerIp, port: flow.serverPort, role },
          { ip: peerIp, port: peerPort },
          flow.id,
          mac,
        );
      }
      if (role === 'client' && !d.clientPorts.has(flow.serverPort)) {
        this.emit(
          out,
          'baseline.new-service',
          ts,
          proto,
          ip,
          `client|${flow.serverPort}`,
          { port: flow.serverPort, role, transport: flow.transport },
          { ip: peerIp, port: flow.serverPort },
          flow.id,
          mac,
        );
      }
    }
    return out;
  }

  onFlowEnd(rec: FlowRecord): Deviation[] {
    const out: Deviation[] = [];
    this.flows.delete(rec.flow);
    const ts = rec.endMicros ?? parseTs(rec.end);
    const proto = rec.app ?? rec.transport;
    const s = this.devices.get(rec.server.ip);
    // A server port counts as a new service only once the device answered on it (a refused scan is not a service).
    if (s && rec.bytes[1] > 0 && !s.serverPorts.has(rec.server.port)) {
      this.emit(
        out,
        'baseline.new-service',
        ts,
        proto,
        rec.server.ip,
        `server|${rec.server.port}`,
        { port: rec.server.port, role: 'server', transport: rec.transport },
        { ip: rec.client.ip, port: rec.client.port },
        rec.flow,
      );
    }
    // A new server that only answered a host the baseline does not know (a scanner, a rogue laptop) is part of
    // that host's incident, not a new clinical device of its own.
    if (!s && rec.bytes[1] > 0 && this.isDevice(rec.server.ip) && this.devices.has(rec.client.ip)) {
      const ev: Record<string, FieldValue> = { peer: rec.client.ip, port: rec.server.port, role: 'server' };
      if (rec.server.mac) ev.mac = rec.server.mac;
      const peer = { ip: rec.client.ip, port: rec.client.port };
      this.emit(out, 'baseline.new-device', ts, proto, rec.server.ip, '', ev, peer, rec.flow, rec.server.mac);
    }
    const c = this.devices.get(rec.client.ip);
    if (c) this.checkMac(out, c, rec.client.mac, ts, proto, rec.flow);
    if (s) this.checkMac(out, s, rec.server.mac, ts, proto, rec.flow);
    if (Number.isFinite(ts)) {
      if (c) this.checkVolume(out, c, ts, proto, 'bytes', rec.bytes[0]);
      if (s) this.checkVolume(out, s, ts, proto, 'bytes', rec.bytes[1]);
    }
    return out;
  }

  onEvent(ev: EventRecord): Deviation[] {
    const out: Deviation[] = [];
    if (ev.type === 'anomaly') return out;
    const ts = eventMicros(ev);
    if (!Number.isFinite(ts)) return out;
    const flow = this.flows.get(ev.flow);
    const fromClient = flow ? flow.clientIp === ev.src.ip && flow.clientPort === ev.src.port : undefined;
    const sender = this.devices.get(ev.src.ip);
    if (sender) {
      this.checkMac(out, sender, ev.src.mac, ts, ev.proto, ev.flow);
      this.checkVolume(out, sender, ts, ev.proto, 'messages', 1);
    }
    if (flow && !flow.checkedTls) {
      flow.checkedTls = true;
      this.checkTls(out, flow, ev, ts);
    }
    for (const o of observeEvent(ev, fromClient)) this.checkObservation(out, o, ev, ts);
    return out;
  }

  private checkTls(out: Deviation[], flow: FlowState, ev: EventRecord, ts: number): void {
    const d = this.devices.get(flow.clientIp);
    if (!d || d.peerPorts.has(`${flow.serverIp}|${flow.serverPort}`)) return;
    const tlsPorts = d.base.peers.filter(
      (p) => p.address === flow.serverIp && p.role === 'client' && TLS_PORTS.has(p.port),
    );
    if (tlsPorts.length === 0) return;
    this.emit(
      out,
      'baseline.tls-downgrade',
      ts,
      ev.proto,
      flow.clientIp,
      `${flow.serverIp}|${flow.serverPort}`,
      { port: flow.serverPort, tls_ports: tlsPorts.map((p) => p.port), protocol: ev.proto },
      { ip: flow.serverIp, port: flow.serverPort },
      ev.flow,
    );
  }

  private checkObservation(out: Deviation[], o: Observation, ev: EventRecord, ts: number): void {
    const d =
      o.kind === 'identity' && o.dev === '' && o.mac ? this.byMac.get(o.mac) : this.devices.get(o.dev);
    if (!d) return;
    const proto = ev.proto;
    const flow = ev.flow;
    const peerOf = (ip: string): { ip: string; port?: number } =>
      ip === ev.src.ip ? { ip, port: ev.src.port } : ip === ev.dst.ip ? { ip, port: ev.dst.port } : { ip };
    const e = (
      code: BaselineCode,
      value: string,
      evidence: Record<string, FieldValue>,
      peer?: string,
    ): void =>
      this.emit(
        out,
        code,
        ts,
        proto,
        d.base.ip,
        value,
        evidence,
        peer === undefined ? undefined : peerOf(peer),
        flow,
      );
    switch (o.kind) {
      case 'ae_pair':
        if (!d.aePairs.has(`${o.calling}|${o.called}|${o.peer}|${o.role}`))
          e(
            'baseline.new-ae-pair',
            `${o.calling}|${o.called}|${o.peer}`,
            { calling_ae: o.calling, called_ae: o.called, role: o.role },
            o.peer,
          );
        break;
      case 'sop_class':
        if (!d.sopClasses.has(o.value)) e('baseline.new-sop-class', o.value, sopEvidence(o.value), o.peer);
        break;
      case 'sop_proposed':
        break;
      case 'retrieve_subops': {
        // Per retrieve, not per hour: a bulk pull is bulk whatever the hour (issue 9: volume that generalises).
        const max = d.base.dicom?.max_retrieve_suboperations ?? 0;
        const limit = max * this.factor + this.slack.retrieve;
        if (o.value > limit)
          e(
            'baseline.volume-above-range',
            `retrieve|${o.peer}`,
            { metric: 'retrieve_suboperations', observed: o.value, learned_max: max, limit },
            o.peer,
          );
        break;
      }
      case 'command':
        if (!d.commands.has(o.value)) e('baseline.new-dicom-command', o.value, { command: o.value }, o.peer);
        break;
      case 'move_dest':
        if (!d.moveDests.has(o.value))
          e(
            'baseline.new-move-destination',
            o.value,
            { move_destination: o.value, known: [...d.moveDests] },
            o.peer,
          );
        break;
      case 'impl': {
        const k = `${o.class_uid}|${o.version ?? ''}`;
        if (d.impls.size > 0 && !d.impls.has(k)) {
          const evd: Record<string, FieldValue> = {
            implementation_class_uid: o.class_uid,
            known: d.implText,
          };
          if (o.version !== undefined) evd.implementation_version = o.version;
          const who = describeImplementation(o.class_uid, o.version);
          if (who.manufacturer) evd.implementation_manufacturer = who.manufacturer;
          if (who.product) evd.implementation_product = who.product;
          e('baseline.implementation-changed', k, evd, o.peer);
        }
        break;
      }
      case 'hl7_sender_seen': {
        const app = `${o.app}|${o.facility ?? ''}`;
        if (!d.sendersSeen.has(`${app}|${o.from}`)) {
          const evd: Record<string, FieldValue> = {
            sending_app: o.app,
            known_from: [...(this.hl7AppFrom.get(app) ?? [])],
          };
          if (o.facility !== undefined) evd.sending_facility = o.facility;
          e('baseline.new-hl7-sender', `${app}|${o.from}`, evd, o.from);
        }
        break;
      }
      case 'hl7_sent':
        this.tickFeed(d, `hl7:${o.type}`, 'hl7', ts);
        if (!isHl7Ack(o.type) && !d.sent.has(o.type))
          e('baseline.new-hl7-message-type', o.type, { message_type: o.type }, o.peer);
        break;
      case 'hl7_version':
        if (o.version !== undefined && d.versions.size > 0 && !d.versions.has(o.version))
          e(
            'baseline.hl7-version-changed',
            `v|${o.version}`,
            { version: o.version, known: [...d.versions] },
            o.peer,
          );
        if (o.processing_id !== undefined && d.pids.size > 0 && !d.pids.has(o.processing_id))
          e(
            'baseline.hl7-version-changed',
            `p|${o.processing_id}`,
            { processing_id: o.processing_id, known: [...d.pids] },
            o.peer,
          );
        break;
      case 'mqtt_client_seen':
        if (!d.clientsSeen.has(`${o.client_id}|${o.from}`)) {
          const known = d.clientIdFrom.get(o.client_id);
          if (known)
            e(
              'baseline.mqtt-client-id-moved',
              `${o.client_id}|${o.from}`,
              { client_id: o.client_id, known_from: known },
              o.from,
            );
          else e('baseline.new-mqtt-client', `${o.client_id}|${o.from}`, { client_id: o.client_id }, o.from);
        }
        break;
      case 'mqtt_publish': {
        this.tickFeed(d, `mqtt:${o.topic}`, 'mqtt', ts);
        const t = d.pubs.get(o.topic);
        if (!t) {
          e('baseline.new-mqtt-topic', o.topic, { topic: o.topic, retain: o.retain }, o.peer);
          if (o.retain) e('baseline.new-retained-topic', o.topic, { topic: o.topic }, o.peer);
          break;
        }
        if (o.retain && !t.retained) e('baseline.new-retained-topic', o.topic, { topic: o.topic }, o.peer);
        const limit = t.max_payload * this.factor + this.slack.payload;
        if (o.size > limit)
          e(
            'baseline.payload-above-range',
            o.topic,
            { topic: o.topic, payload_size: o.size, learned_max: t.max_payload, limit },
            o.peer,
          );
        break;
      }
      case 'mqtt_subscribe':
        if (!d.subs.has(o.filter))
          e('baseline.new-mqtt-subscription', o.filter, { topic_filter: o.filter }, o.peer);
        break;
      case 'tls_server_name':
        // A device that learned no TLS at all and now asks for a server name is exactly "TLS to a new cloud".
        if (!d.tlsNames.has(o.value))
          e(
            'baseline.new-tls-server-name',
            o.value,
            { sni: o.value, known: [...d.tlsNames].slice(0, 8) },
            o.peer,
          );
        break;
      case 'tls_fingerprint':
        // Only against fingerprints it had: the first TLS of a device is the server-name check's to report.
        if (d.tlsFingerprints.size > 0 && !d.tlsFingerprints.has(o.value))
          e(
            'baseline.new-tls-fingerprint',
            o.value,
            { ja4: o.value, known: [...d.tlsFingerprints].slice(0, 8) },
            o.peer,
          );
        break;
      case 'identity': {
        // A tracked attribute the approved baseline names, announced with a value it does not hold.
        const known = d.identity.get(o.attribute);
        if (o.tracked && known && known.size > 0 && !known.has(o.value))
          e('baseline.identity-changed', `${o.attribute}|${o.value}`, {
            attribute: o.attribute,
            current: o.value,
            known: [...known].slice(0, 8),
          });
        break;
      }
      case 'reject':
        this.checkVolume(out, d, ts, proto, 'rejects', 1);
        break;
      case 'nak':
        this.checkVolume(out, d, ts, proto, 'naks', 1);
        break;
      default:
        break;
    }
  }

  /** A baselined periodic feed seen in this run is armed; `advance` reports it once when it falls silent. */
  private tickFeed(d: DeviceIndex, key: string, proto: string, ts: number): void {
    if (!this.armed.feed_stopped) return;
    const medianUs = d.feeds.get(key);
    if (medianUs === undefined) return;
    const id = `${d.base.ip}|${key}`;
    const st = this.feeds.get(id);
    if (st) {
      if (ts > st.last) st.last = ts;
      return;
    }
    this.feeds.set(id, { dev: d.base.ip, key, proto, medianUs, last: ts, reported: false });
  }

  advance(now: number): Deviation[] {
    const out: Deviation[] = [];
    // Scanning every armed feed on every packet would cost O(feeds) per packet; once per second of packet time is enough.
    if (now < this.nextFeedScan) return out;
    this.nextFeedScan = now + 1_000_000;
    for (const f of this.feeds.values()) {
      if (f.reported || now - f.last <= Math.max(f.medianUs * this.feedFactor, this.feedMinSilenceUs))
        continue;
      f.reported = true;
      this.emit(out, 'baseline.feed-stopped', now, f.proto, f.dev, f.key, {
        feed: f.key,
        median_interval_s: f.medianUs / 1e6,
        silent_s: Math.round((now - f.last) / 1e6),
      });
    }
    return out;
  }
}

export function createBaselineChecker(baseline: Baseline, opts: BaselineCheckOptions = {}): BaselineCheck {
  return new BaselineCheck(baseline, opts);
}
