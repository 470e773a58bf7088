// The detection engine (issue 4): site zones, device inventory, rules, thresholds, baseline deviations → findings; pure, synchronous, driven by packet time.
import type { EventRecord, FieldValue } from '../protocols/types.js';
import type { FlowInfo, FlowRecord } from '../reassembly/types.js';
import { ipv4ToString, macToString } from '../decode/addr.js';
import type { Finding } from '../wire/finding.js';
import { BoundedMap } from '../wire/bounded-map.js';
import { formatTs, parseTs } from '../wire/time.js';
import type { BaselineChecker } from './baselines/baseline-types.js';
import {
  DEFAULT_DEVICE_LIMITS,
  DeviceTable,
  type Device,
  type DeviceLimits,
  type DeviceRecord,
  type DeviceStats,
  type FlowDeviceMemo,
  type ObserveKeys,
} from './inventory/devices.js';
import { FindingSink, type FindingStats } from './findings/findings.js';
import { globToRegExp, type Subject } from './rules/match.js';
import { IncidentFolder, type IncidentStats } from './findings/incidents.js';
import type { BaselineKnowledge } from './rules/knowledge.js';
import type { RuleSet } from './rules/rules.js';
import { SiteIndex, type Site } from './site/site.js';
import { EndpointResolver, subjectOf, type EndpointMemo } from './site/endpoints.js';
import { DeviceSignals } from './inventory/signals.js';
import { FindingReporter } from './findings/reporter.js';
import { RuleBook, type AllowRule } from './rules/rulebook.js';

export interface EngineLimits extends DeviceLimits {
  maxWindows: number;
  maxThresholdGroups: number;
  maxFlowContexts: number;
  maxClientIds: number;
  maxArpEntries: number;
}

export const DEFAULT_ENGINE_LIMITS: EngineLimits = {
  ...DEFAULT_DEVICE_LIMITS,
  maxWindows: 50000,
  maxThresholdGroups: 10000,
  maxFlowContexts: 100000,
  maxClientIds: 50000,
  maxArpEntries: 65536,
};

export interface EngineConfig {
  site: Site | null;
  rules: RuleSet;
  baseline: BaselineChecker | null;
  agentId: string;
  limits?: Partial<EngineLimits>;
  /**
   * Learning mode (issue 9): a device the approved baseline does not know is learning for this long after it
   * was first seen; its deviations are learned instead of reported and only high and critical rules alert.
   * 0 (the default, and replay's) turns it off.
   */
  learningMicros?: number;
}

export interface EngineStats {
  events: number;
  flows: number;
  arps: number;
  deviations: number;
  ruleHits: number;
  suppressed: number;
  /** Findings held back because their device was learning (deviations, and rules below high). */
  learning: number;
  thresholdGroupsEvicted: number;
  flowContextsEvicted: number;
  clientIdsEvicted: number;
  arpEvicted: number;
  findings: FindingStats;
  incidents: IncidentStats;
  devices: DeviceStats;
}

interface FlowCtx {
  vlan: number;
  connect: Record<string, FieldValue> | undefined;
  /**
   * The flow's endpoints' device-table keys, so events and the flow end (which may lack MACs) count on the same
   * records. Keys, not the records: a context must not keep a device the table evicted alive (issue 11: under a
   * scan that was 1.3 kB per flow). The memos of its event sides may (a flow with events, not a scan's probe).
   */
  clientDevice: string | undefined;
  serverDevice: string | undefined;
  /** "ip|port" of the flow's client (from the flow start, else from an MQTT CONNECT's sender). */
  clientKey: string | undefined;
  /**
   * The flow's two event endpoint objects (a dispatcher passes one per side) and their memos: found here with
   * the context instead of in the resolver's WeakMap on every event.
   */
  sideA: EventRecord['src'] | undefined;
  memoA: EndpointMemo | undefined;
  sideB: EventRecord['src'] | undefined;
  memoB: EndpointMemo | undefined;
}

const CONNECT_KEYS = ['client_id', 'username', 'password_present', 'version', 'clean_session', 'keep_alive'];

export class Engine {
  private readonly site: SiteIndex;
  private readonly table: DeviceTable;
  private readonly sink: FindingSink;
  private readonly incidents = new IncidentFolder((f) => this.onFinding(f));
  private readonly limits: EngineLimits;
  private book: RuleBook;
  private readonly flowCtx: BoundedMap<string, FlowCtx>;
  /**
   * The flow whose start, event or end is being evaluated, and what knows its Community ID (the flow, or a
   * record of it): a finding that names the flow gets the id, made only then (see communityIdOf).
   */
  private curFlow: string | undefined = undefined;
  private curFlowInfo: FlowInfo | null = null;
  private curFlowRecord: {
    readonly community_id?: string | undefined;
    readonly flowInfo?: { readonly communityId?: string | undefined };
  } | null = null;
  private readonly endpoints: EndpointResolver;
  private readonly signals: DeviceSignals;
  private readonly reporter: FindingReporter;
  private baseline: BaselineChecker | null;
  private ruleSet: RuleSet;
  private readonly baselineKnowledge: BaselineKnowledge = {
    knows: (ip, fact, value) => this.baseline?.knows?.(ip, fact, value) ?? false,
  };
  private readonly baseStats = {
    events: 0,
    flows: 0,
    arps: 0,
    deviations: 0,
    ruleHits: 0,
    suppressed: 0,
    learning: 0,
  };
  private readonly learningMicros: number;
  private readonly allow: readonly AllowRule[];
  private now = 0;

  constructor(
    cfg: EngineConfig,
    private readonly onFinding: (f: Finding) => void,
  ) {
    this.limits = { ...DEFAULT_ENGINE_LIMITS, ...(cfg.limits ?? {}) };
    this.flowCtx = new BoundedMap(this.limits.maxFlowContexts);
    this.site = new SiteIndex(cfg.site);
    this.table = new DeviceTable(this.site, this.limits);
    this.endpoints = new EndpointResolver(this.site);
    this.signals = new DeviceSignals(
      this.table,
      this.site,
      this.endpoints,
      (sub) => this.evaluate(sub),
      this.limits,
    );
    this.sink = new FindingSink(cfg.agentId, (f) => this.deliver(f), this.limits.maxWindows);
    this.baseline = cfg.baseline;
    this.ruleSet = cfg.rules;
    this.learningMicros = cfg.learningMicros ?? 0;
    this.allow = (cfg.site?.allow ?? []).map((entry) => ({ entry, rules: entry.rules.map(globToRegExp) }));
    this.reporter = new FindingReporter(
      this.sink,
      this.endpoints,
      this.allow,
      { isLearning: (e) => this.isLearning(e), communityIdOf: (flow) => this.communityIdOf(flow) },
      this.baseStats,
    );
    this.book = new RuleBook(
      cfg.rules,
      this.site,
      this.limits.maxThresholdGroups,
      this.allow,
      this.baselineKnowledgeOrNull(),
    );
  }

  /** Swap the rules (SIGHUP) keeping devices, open finding windows and flow state; thresholds restart. */
  reload(rules: RuleSet): void {
    this.ruleSet = rules;
    this.book = new RuleBook(
      rules,
      this.site,
      this.limits.maxThresholdGroups,
      this.allow,
      this.baselineKnowledgeOrNull(),
    );
  }

  /**
   * Swap the baseline checker (an approved set pushed by the collector, issue 10) between two events: the next
   * event is judged by the new one. Rules reading the baseline are recompiled only when it appears or goes.
   */
  setBaseline(baseline: BaselineChecker | null): void {
    const hadKnowledge = this.baselineKnowledgeOrNull() !== null;
    this.baseline = baseline;
    if (hadKnowledge !== (this.baselineKnowledgeOrNull() !== null)) this.reload(this.ruleSet);
  }

  private baselineKnowledgeOrNull(): BaselineKnowledge | null {
    return this.baseline?.knows ? this.baselineKnowledge : null;
  }

  get stats(): EngineStats {
    let evicted = 0;
    for (const c of this.book.compiled) evicted += c.threshold?.evicted ?? 0;
    return {
      ...this.baseStats,
      flowContextsEvicted: this.flowCtx.evicted,
      clientIdsEvicted: this.signals.clientIds.evicted,
      arpEvicted: this.signals.arp.evicted,
      thresholdGroupsEvicted: evicted,
      findings: { ...this.sink.stats },
      incidents: { ...this.incidents.stats },
      devices: { ...this.table.stats },
    };
  }

  devices(): DeviceRecord[] {
    const records = this.table.records();
    if (this.learningMicros > 0)
      for (const r of records) {
        const d = this.table.get(r.key);
        if (!d) continue;
        const st = this.learningState(d);
        r.baseline_state = st.learning ? 'learning' : 'enforced';
        r.baseline_since = formatTs(st.since);
      }
    return records;
  }

  /**
   * A device the baseline has as enforced is enforced; one it has as learning learns from its `since`, and one it
   * does not know from when this agent first saw it, each for learningMicros.
   */
  private learningState(d: Device): { learning: boolean; since: number } {
    let start = d.first;
    for (const ip of d.ips) {
      const st = this.baseline?.deviceState?.(ip);
      if (st?.state === 'enforced') return { learning: false, since: st.since };
      if (st) start = st.since;
    }
    const end = start + this.learningMicros;
    return this.now < end ? { learning: true, since: start } : { learning: false, since: end };
  }

  private isLearning(e: { ip: string; mac?: string | undefined }): boolean {
    if (this.learningMicros <= 0) return false;
    const d = (e.mac ? this.table.get(`mac:${e.mac}`) : undefined) ?? this.table.get(`ip:${e.ip}`);
    return d !== undefined && this.learningState(d).learning;
  }

  /** Devices in the table (what `devices().length` says, without building the records). */
  get deviceCount(): number {
    return this.table.size;
  }

  onFlowStart(flow: FlowInfo, tsIn: number): void {
    const ts = this.timeOf(tsIn);
    this.tick(ts);
    this.baseStats.flows++;
    const id = flow.id;
    this.curFlow = id;
    this.curFlowInfo = flow;
    this.curFlowRecord = null;
    const vlan = flow.vlan;
    // Each flow brings new address text (the getters make it): the hosts' memos are found by it once.
    const ch = this.endpoints.host(flow.clientIp, flow.clientMac, vlan);
    const sh = this.endpoints.host(flow.serverIp, flow.serverMac, vlan);
    const clientPort = flow.clientPort;
    const serverPort = flow.serverPort;
    const c = this.table.observe(ch.ip, ch.mac, ts, vlan, ch.keys);
    const s = this.table.observe(sh.ip, sh.mac, ts, vlan, sh.keys);
    c.counters.flows++;
    s.counters.flows++;
    const proto = flow.app ?? flow.transport;
    this.table.addPeer(c, sh.ip, serverPort, proto, this.endpoints.ipPort(sh, serverPort));
    this.table.addPeer(s, ch.ip, undefined, proto, ch.ip);
    this.setFlowCtx(id, {
      vlan,
      connect: undefined,
      clientDevice: c.key,
      serverDevice: s.key,
      clientKey: `${ch.ip}|${clientPort}`,
      sideA: undefined,
      memoA: undefined,
      sideB: undefined,
      memoB: undefined,
    });
    this.signals.bindingOnce(ch, ts);
    this.signals.bindingOnce(sh, ts);
    const subject = subjectOf(
      'flow',
      'start',
      ts,
      id,
      this.endpoints.hostEndpoint(ch, clientPort),
      this.endpoints.hostEndpoint(sh, serverPort),
      {
        transport: flow.transport,
        app: flow.app,
        vlan,
      },
    );
    subject.findingProto = proto;
    this.evaluate(subject);
    if (this.baseline) this.reporter.deviations(this.baseline.onFlowStart(flow, ts), this.book);
  }

  onEvent(ev: EventRecord): void {
    const ts = this.timeOf(ev.tsMicros ?? parseTs(ev.ts));
    this.tick(ts);
    this.baseStats.events++;
    this.curFlow = ev.flow;
    this.curFlowInfo = null;
    this.curFlowRecord = ev;
    const ctx = this.flowCtx.get(ev.flow);
    const vlan = ctx?.vlan ?? -1;
    const sm = this.memoOf(ctx, ev.src, vlan);
    const dm = this.memoOf(ctx, ev.dst, vlan);
    const src = this.deviceFor(ctx, ev.src.ip, ev.src.mac, ts, vlan, sm.keys, sm);
    const dst = this.deviceFor(ctx, ev.dst.ip, ev.dst.mac, ts, vlan, dm.keys, dm);
    src.counters.events++;
    if (sm.protoDevice !== src || sm.proto !== ev.proto) {
      src.protocols.add(ev.proto);
      sm.protoDevice = src;
      sm.proto = ev.proto;
    }
    if (dm.protoDevice !== dst || dm.proto !== ev.proto) {
      dst.protocols.add(ev.proto);
      dm.protoDevice = dst;
      dm.proto = ev.proto;
    }
    const subject = subjectOf(ev.proto, ev.type, ts, ev.flow, sm.ep, dm.ep, ev.fields);
    let fc = ctx;
    if (ev.proto === 'mqtt' && ev.type === 'connect') {
      const connect: Record<string, FieldValue> = {};
      for (const k of CONNECT_KEYS) {
        const v = ev.fields[k];
        if (v !== undefined) connect[k] = v;
      }
      if (ctx) {
        ctx.connect = connect;
        ctx.clientKey ??= sm.hostPort;
      } else {
        fc = {
          vlan: -1,
          connect,
          clientDevice: undefined,
          serverDevice: undefined,
          clientKey: sm.hostPort,
          sideA: undefined,
          memoA: undefined,
          sideB: undefined,
          memoB: undefined,
        };
        this.setFlowCtx(ev.flow, fc);
      }
    }
    if (ev.proto === 'mqtt' && fc?.connect) subject.connect = fc.connect;
    const clientKey = fc?.clientKey;
    if (clientKey) {
      // Compared once per flow side (the strings are equal, rarely the same object): then by identity.
      if (sm.clientKey !== clientKey) {
        sm.fromClient = clientKey === sm.hostPort;
        sm.clientKey = clientKey;
      }
      subject.from_client = sm.fromClient;
    }
    // The memos hold the event's addresses (EndpointResolver.memoFor checks them).
    this.signals.bindingOnce(sm, ts);
    this.signals.bindingOnce(dm, ts);
    this.signals.onEvent(ev, subject, src, dst, ts);
    this.evaluate(subject);
    if (this.baseline) this.reporter.deviations(this.baseline.onEvent(ev), this.book);
  }

  onFlowEnd(rec: FlowRecord): void {
    const ts = this.timeOf(rec.endMicros ?? parseTs(rec.end));
    const start = rec.startMicros ?? parseTs(rec.start);
    this.tick(ts);
    this.curFlow = rec.flow;
    this.curFlowInfo = null;
    this.curFlowRecord = rec;
    const vlan = rec.vlan ?? -1;
    const ctx = this.flowCtx.get(rec.flow);
    const client = rec.client;
    const server = rec.server;
    const cm = this.endpoints.hostOf(client, vlan);
    const sm = this.endpoints.hostOf(server, vlan);
    const c = this.deviceFor(ctx, client.ip, client.mac, ts, vlan, cm?.keys, cm ?? undefined);
    const s = this.deviceFor(ctx, server.ip, server.mac, ts, vlan, sm?.keys, sm ?? undefined);
    c.counters.bytes_sent += rec.bytes[0];
    c.counters.bytes_received += rec.bytes[1];
    s.counters.bytes_sent += rec.bytes[1];
    s.counters.bytes_received += rec.bytes[0];
    if (rec.app) {
      c.protocols.add(rec.app);
      s.protocols.add(rec.app);
    }
    this.flowCtx.delete(rec.flow);
    const subject = subjectOf(
      'flow',
      'end',
      ts,
      rec.flow,
      cm !== null ? this.endpoints.hostEndpoint(cm, client.port) : this.endpoints.endpoint(client, vlan),
      sm !== null ? this.endpoints.hostEndpoint(sm, server.port) : this.endpoints.endpoint(server, vlan),
      {
        transport: rec.transport,
        app: rec.app,
        bytes_to_server: rec.bytes[0],
        bytes_to_client: rec.bytes[1],
        bytes_total: rec.bytes[0] + rec.bytes[1],
        packets_to_server: rec.packets[0],
        packets_to_client: rec.packets[1],
        duration_s: Number.isFinite(start) && Number.isFinite(ts) ? (ts - start) / 1e6 : 0,
        end_reason: rec.end_reason,
        gaps: rec.gaps,
        gap_bytes: rec.gap_bytes,
      },
    );
    subject.findingProto = rec.app ?? rec.transport;
    this.evaluate(subject);
    if (this.baseline) this.reporter.deviations(this.baseline.onFlowEnd(rec), this.book);
  }

  /** An ARP sender binding (IPv4 as uint32). A known IP with a new MAC raises the `ip_mac_changed` signal. */
  onArp(senderMac: number, senderIp: number, tsIn: number): void {
    const ts = this.timeOf(tsIn);
    this.tick(ts);
    this.baseStats.arps++;
    if (senderIp === 0 || senderMac < 0) return; // ARP probes (RFC 5227) claim no address yet
    const ip = ipv4ToString(senderIp >>> 0);
    const mac = macToString(senderMac);
    this.table.observe(ip, mac, ts);
    this.signals.binding(ip, mac, ts, 'arp');
  }

  /** Packet time moved to `now`: close finding windows that ended, let the baseline report silences. */
  advance(now: number): void {
    this.tick(now);
    if (this.baseline) this.reporter.deviations(this.baseline.advance(now), this.book);
  }

  /** End of input: close every open finding window (summaries for repeats). */
  flush(): void {
    this.sink.flush();
    this.incidents.flush();
  }

  /** A missing or broken timestamp takes the latest packet time, so records and ids stay well-formed. */
  private timeOf(ts: number): number {
    return Number.isFinite(ts) && ts >= 0 ? ts : this.now;
  }

  private tick(ts: number): void {
    if (ts > this.now) this.now = ts;
    this.sink.advance(this.now);
    this.incidents.advance(this.now);
  }

  /** Without a MAC on the record, the device the flow started with (same IP) stands for the host. */
  private deviceFor(
    ctx: FlowCtx | undefined,
    ip: string,
    mac: string | undefined,
    ts: number,
    vlan: number,
    known?: ObserveKeys,
    memo?: FlowDeviceMemo,
  ): Device {
    if (!mac && ctx) {
      const d = this.table.flowDevice(ctx.clientDevice, ctx.serverDevice, ip, ctx, memo);
      if (d) {
        if (ts > d.last) d.last = ts;
        return d;
      }
    }
    return this.table.observe(ip, mac, ts, vlan, known);
  }

  /** An event endpoint's memo: kept in its flow's context (one per side), else in the resolver's WeakMap. */
  private memoOf(ctx: FlowCtx | undefined, e: EventRecord['src'], vlan: number): EndpointMemo {
    if (ctx === undefined) return this.endpoints.memo(e, vlan);
    if (ctx.sideA === e) return (ctx.memoA = this.endpoints.memoFor(ctx.memoA, e, vlan));
    if (ctx.sideB === e) return (ctx.memoB = this.endpoints.memoFor(ctx.memoB, e, vlan));
    if (ctx.sideA === undefined) {
      ctx.sideA = e;
      return (ctx.memoA = this.endpoints.memoFor(undefined, e, vlan));
    }
    if (ctx.sideB === undefined) {
      ctx.sideB = e;
      return (ctx.memoB = this.endpoints.memoFor(undefined, e, vlan));
    }
    return this.endpoints.memo(e, vlan);
  }

  private setFlowCtx(id: string, ctx: FlowCtx): void {
    this.flowCtx.set(id, ctx);
  }

  private evaluate(s: Subject): void {
    // The predicate is asked here: most rules do not match, and their call ends at it.
    for (const c of this.book.rulesFor(s.proto, s.type)) if (c.pred(s)) this.reporter.hit(c, s);
  }

  /** The Community ID of the flow being evaluated when `flow` is that flow (findings name no other). */
  private communityIdOf(flow: string): string | undefined {
    if (flow !== this.curFlow) return undefined;
    const rec = this.curFlowRecord;
    // An event that is not printed carries its flow instead of the id: made here, for a finding, once per flow.
    if (rec !== null) return rec.community_id ?? rec.flowInfo?.communityId;
    return this.curFlowInfo?.communityId;
  }

  private deliver(f: Finding): void {
    this.incidents.mark(f);
    const d =
      this.table.get(f.device.mac ? `mac:${f.device.mac}` : `ip:${f.device.ip}`) ??
      this.table.get(`ip:${f.device.ip}`);
    if (d) {
      d.counters.findings++;
      if (d.name && !f.device.name) f.device.name = d.name;
    }
    this.onFinding(f);
  }
}
