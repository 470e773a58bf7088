// The detection engine (issue 4): site zones, device inventory, rules, thresholds, baseline deviations → findings; pure, synchronous, driven by packet time.
import type { EventRecord, FieldValue } from '../protocols/types.js';
import type { FlowInfo, FlowRecord } from '../reassembly/types.js';
import { ipv4ToString, macToString } from '../decode/addr.js';
import { severityRank, type Direction, type Endpoint, type Finding } from '../wire/finding.js';
import { BoundedMap } from '../wire/bounded-map.js';
import { formatTs } from '../wire/time.js';
import { parseTs } from '../wire/time.js';
import type { BaselineChecker, Deviation } from './baselines/baseline-types.js';
import {
  DEFAULT_DEVICE_LIMITS,
  DeviceTable,
  type Device,
  type DeviceLimits,
  type DeviceRecord,
  type DeviceStats,
  type ObserveKeys,
} from './inventory/devices.js';
import { FindingSink, type FindingRule, type FindingStats } from './findings/findings.js';
import { getValues, globToRegExp, type Subject, type SubjectEndpoint } from './rules/match.js';
import { IncidentFolder, type IncidentStats } from './findings/incidents.js';
import type { BaselineKnowledge } from './rules/knowledge.js';
import type { SuppressDef } from './rules/rule-schema.js';
import type { RuleSet } from './rules/rules.js';
import { SiteIndex, ZONE_INTERNET, type Site } from './site/site.js';
import { EndpointResolver, subjectOf } from './site/endpoints.js';
import { DeviceSignals } from './inventory/signals.js';
import { exempts, RuleBook, type AllowRule, type CompiledRule } from './rules/rulebook.js';
import type { ThresholdResult } from './rules/threshold.js';

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
  connect?: Record<string, FieldValue>;
  /**
   * The flow's endpoints' device-table keys, so events and the flow end (which may lack MACs) count on the same
   * records. Keys, not the records: a context must not keep a device the table evicted alive (issue 11: under a
   * scan that was 1.3 kB per flow).
   */
  clientDevice?: string;
  serverDevice?: string;
  /** "ip|port" of the flow's client (from the flow start, else from an MQTT CONNECT's sender). */
  clientKey?: string;
}

const HIGH = severityRank('high');
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
    this.curFlow = flow.id;
    this.curFlowInfo = flow;
    this.curFlowRecord = null;
    const cmac = flow.clientMac >= 0 ? macToString(flow.clientMac) : undefined;
    const smac = flow.serverMac >= 0 ? macToString(flow.serverMac) : undefined;
    const c = this.table.observe(flow.clientIp, cmac, ts, flow.vlan);
    const s = this.table.observe(flow.serverIp, smac, ts, flow.vlan);
    c.counters.flows++;
    s.counters.flows++;
    const proto = flow.app ?? flow.transport;
    this.table.addPeer(c, flow.serverIp, flow.serverPort, proto);
    this.table.addPeer(s, flow.clientIp, undefined, proto);
    this.setFlowCtx(flow.id, {
      vlan: flow.vlan,
      clientDevice: c.key,
      serverDevice: s.key,
      clientKey: `${flow.clientIp}|${flow.clientPort}`,
    });
    if (cmac) this.signals.binding(flow.clientIp, cmac, ts, 'ip');
    if (smac) this.signals.binding(flow.serverIp, smac, ts, 'ip');
    const subject = this.endpoints.subject(
      'flow',
      'start',
      ts,
      flow.id,
      flow.vlan,
      { ip: flow.clientIp, port: flow.clientPort, mac: cmac },
      { ip: flow.serverIp, port: flow.serverPort, mac: smac },
      {
        transport: flow.transport,
        app: flow.app,
        vlan: flow.vlan,
      },
    );
    subject.findingProto = proto;
    this.evaluate(subject);
    if (this.baseline) this.onDeviations(this.baseline.onFlowStart(flow, ts));
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
    const sm = this.endpoints.memo(ev.src, vlan);
    const dm = this.endpoints.memo(ev.dst, vlan);
    const src = this.deviceFor(ctx, ev.src.ip, ev.src.mac, ts, vlan, sm.keys);
    const dst = this.deviceFor(ctx, ev.dst.ip, ev.dst.mac, ts, vlan, dm.keys);
    src.counters.events++;
    src.protocols.add(ev.proto);
    dst.protocols.add(ev.proto);
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
        fc = { vlan: -1, connect, clientKey: sm.hostPort };
        this.setFlowCtx(ev.flow, fc);
      }
    }
    if (ev.proto === 'mqtt' && fc?.connect) subject.connect = fc.connect;
    if (fc?.clientKey) subject.from_client = fc.clientKey === sm.hostPort;
    if (ev.src.mac) this.signals.binding(ev.src.ip, ev.src.mac, ts, 'ip', sm.internet);
    if (ev.dst.mac) this.signals.binding(ev.dst.ip, ev.dst.mac, ts, 'ip', dm.internet);
    this.signals.onEvent(ev, subject, src, dst, ts);
    this.evaluate(subject);
    if (this.baseline) this.onDeviations(this.baseline.onEvent(ev));
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
    const c = this.deviceFor(ctx, rec.client.ip, rec.client.mac, ts, vlan);
    const s = this.deviceFor(ctx, rec.server.ip, rec.server.mac, ts, vlan);
    c.counters.bytes_sent += rec.bytes[0];
    c.counters.bytes_received += rec.bytes[1];
    s.counters.bytes_sent += rec.bytes[1];
    s.counters.bytes_received += rec.bytes[0];
    if (rec.app) {
      c.protocols.add(rec.app);
      s.protocols.add(rec.app);
    }
    this.flowCtx.delete(rec.flow);
    const subject = this.endpoints.subject('flow', 'end', ts, rec.flow, vlan, rec.client, rec.server, {
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
    });
    subject.findingProto = rec.app ?? rec.transport;
    this.evaluate(subject);
    if (this.baseline) this.onDeviations(this.baseline.onFlowEnd(rec));
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
    if (this.baseline) this.onDeviations(this.baseline.advance(now));
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
  ): Device {
    if (!mac && ctx) {
      const c = ctx.clientDevice !== undefined ? this.table.get(ctx.clientDevice) : undefined;
      const s =
        c?.ips.includes(ip) !== true && ctx.serverDevice !== undefined
          ? this.table.get(ctx.serverDevice)
          : undefined;
      const d = c?.ips.includes(ip) ? c : s?.ips.includes(ip) ? s : undefined;
      if (d) {
        if (ts > d.last) d.last = ts;
        return d;
      }
    }
    return this.table.observe(ip, mac, ts, vlan, known);
  }

  private setFlowCtx(id: string, ctx: FlowCtx): void {
    this.flowCtx.set(id, ctx);
  }

  private evaluate(s: Subject): void {
    for (const c of this.book.rulesFor(s.proto, s.type)) this.apply(c, s);
  }

  private apply(c: CompiledRule, s: Subject): void {
    if (!c.pred(s)) return;
    this.baseStats.ruleHits++;
    const def = c.def;
    let dev = def.device === 'src' ? s.src : s.dst;
    let peer = def.device === 'src' ? s.dst : s.src;
    // Who opened the connection: a flow record's src is its client; an event knows it once the flow did.
    const clientIsSrc = s.proto === 'flow' ? true : s.from_client;
    // A finding is about a hospital device: when the rule's side is an Internet host (the reply of a
    // session that crosses the boundary), the hospital side is the device. Both directions of one session
    // then fold into one finding. Thresholds keep the rule's side: they count per that side.
    if (!c.threshold && dev.zone === ZONE_INTERNET && peer.zone !== ZONE_INTERNET) [dev, peer] = [peer, dev];
    if (c.exempt.length > 0 && c.exempt.some((x) => exempts(x, dev))) {
      this.baseStats.suppressed++;
      return;
    }
    if (severityRank(def.severity) < HIGH && this.isLearning(dev)) {
      this.baseStats.learning++;
      return;
    }
    // Most hits of a threshold rule stay under it: count first, build evidence only for a crossing.
    let count = 1;
    let dedupKey: string | undefined;
    let crossing: ThresholdResult | undefined;
    if (c.threshold) {
      crossing = c.threshold.add(s);
      if (!crossing.crossed) return;
      count = crossing.n;
      dedupKey = `g|${crossing.group}`;
    }
    const evidence: Record<string, unknown> = {};
    for (const e of c.evidence) {
      const bag = e.bag === 'fields' ? s.fields : e.bag === 'connect' ? s.connect : undefined;
      if (bag) {
        const raw = bag[e.name];
        if (raw !== undefined && raw !== null) evidence[e.key] = raw;
        continue;
      }
      const vs = getValues(s, e.path);
      if (vs.length > 0) evidence[e.key] = vs.length === 1 ? vs[0] : vs;
    }
    if (crossing && def.threshold) {
      evidence[def.threshold.distinct ? 'distinct_count' : 'count_in_window'] = crossing.n;
      evidence.window_seconds = def.threshold.windowMicros / 1e6;
    }
    const rule: FindingRule = def;
    const occ: Parameters<FindingSink['report']>[1] = {
      ts: s.ts,
      proto: s.findingProto,
      device: this.enrich(dev, false),
      evidence,
      count,
    };
    if (!c.threshold || c.peerInGroup) {
      occ.peer = this.enrich(peer, true);
      if (clientIsSrc !== undefined) {
        const devIsClient = (dev === s.src) === clientIsSrc;
        occ.initiator = devIsClient ? 'device' : 'peer';
        occ.direction = directionOf(devIsClient ? dev : peer, devIsClient ? peer : dev);
      }
    }
    if (s.flow !== undefined && (!c.threshold || c.peerInGroup)) {
      occ.flow = s.flow;
      const cid = this.communityIdOf(s.flow);
      if (cid !== undefined) occ.community_id = cid;
    }
    if (dedupKey !== undefined) occ.dedupKey = dedupKey;
    this.sink.report(rule, occ);
  }

  private enrich(e: SubjectEndpoint, withPort: boolean): Endpoint {
    const out: Endpoint = { ip: e.ip };
    if (withPort && e.port !== undefined) out.port = e.port;
    if (e.mac) out.mac = e.mac;
    if (e.vendor) out.vendor = e.vendor;
    if (e.asset) out.name = e.asset;
    return out;
  }

  private isSuppressed(ruleId: string, own: SuppressDef[], dev: SubjectEndpoint): boolean {
    if (own.some((x) => exempts(x, dev))) return true;
    return this.allow.some((a) => a.rules.some((g) => g.test(ruleId)) && exempts(a.entry, dev));
  }

  private onDeviations(devs: Deviation[]): void {
    for (const d of devs) {
      this.baseStats.deviations++;
      const def = this.book.baselineRule(d.code);
      const rule: FindingRule = def ?? {
        id: d.code,
        title: `Baseline deviation ${d.code}`,
        severity: 'medium',
        attack: [],
        dedupMicros: 600e6,
        class: 'alert',
        rateLimit: { count: 100, perMicros: 60e6 },
      };
      const dev = this.endpoints.endpoint(d.device, -1);
      // While the device learns, the checker has recorded the value as seen: it is learned, not reported.
      if (this.isLearning(d.device)) {
        this.baseStats.learning++;
        continue;
      }
      if (this.isSuppressed(rule.id, def?.suppress ?? [], dev)) {
        this.baseStats.suppressed++;
        continue;
      }
      const occ: Parameters<FindingSink['report']>[1] = {
        ts: d.ts,
        proto: d.proto,
        device: this.enrich(dev, false),
        evidence: d.evidence,
      };
      if (d.peer) occ.peer = this.enrich(this.endpoints.endpoint(d.peer, -1), true);
      if (d.flow !== undefined) {
        occ.flow = d.flow;
        const cid = this.communityIdOf(d.flow);
        if (cid !== undefined) occ.community_id = cid;
      }
      this.sink.report(rule, occ);
    }
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

/** The connection from `client` to `server` seen from the site's boundary (ECS `network.direction` words). */
function directionOf(client: SubjectEndpoint, server: SubjectEndpoint): Direction {
  const cOut = client.zone === ZONE_INTERNET;
  const sOut = server.zone === ZONE_INTERNET;
  if (cOut && sOut) return 'external';
  if (cOut) return 'inbound';
  return sOut ? 'outbound' : 'internal';
}
