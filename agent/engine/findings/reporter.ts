// From a rule that matched (or a baseline deviation) to a finding occurrence: the device and peer sides, who opened
// the connection, exemptions and learning, threshold counting, evidence, the flow's Community ID; then the sink.
import type { Direction, Endpoint } from '../../wire/finding.js';
import type { Deviation } from '../baselines/baseline-types.js';
import { getValues, type Subject, type SubjectEndpoint } from '../rules/match.js';
import type { SuppressDef } from '../rules/rule-schema.js';
import { exempts, type AllowRule, type CompiledRule, type RuleBook } from '../rules/rulebook.js';
import type { ThresholdResult } from '../rules/threshold.js';
import type { EndpointResolver } from '../site/endpoints.js';
import { ZONE_INTERNET } from '../site/site.js';
import { defaultDedupKey, type FindingRule, type FindingSink, type Occurrence } from './findings.js';

/** What the reporter counts (part of the engine's stats). */
export interface ReporterCounters {
  ruleHits: number;
  suppressed: number;
  /** Findings held back because their device was learning (deviations, and rules below high). */
  learning: number;
  deviations: number;
}

/** What only the engine knows: learning state of devices, and the flow being evaluated. */
export interface ReporterContext {
  isLearning(e: { ip: string; mac?: string | undefined }): boolean;
  /** The Community ID of `flow` when it is the flow being evaluated (findings name no other). */
  communityIdOf(flow: string): string | undefined;
}

export class FindingReporter {
  constructor(
    private readonly sink: FindingSink,
    private readonly endpoints: EndpointResolver,
    private readonly allow: readonly AllowRule[],
    private readonly ctx: ReporterContext,
    readonly counters: ReporterCounters,
  ) {}

  /** A subject `c`'s rule is asked about: nothing, a threshold count, or an occurrence for the sink. */
  rule(c: CompiledRule, s: Subject): void {
    if (c.pred(s)) this.hit(c, s);
  }

  /**
   * rule() for a subject the rule's predicate holds for (the engine asks the predicate itself: most rules do
   * not match, and their call ends there). Nothing is built before the sink has admitted the occurrence: most
   * hits stay under a threshold, and most crossings fold into an open finding or are rate-limited.
   */
  hit(c: CompiledRule, s: Subject): void {
    this.counters.ruleHits++;
    const def = c.def;
    let dev = def.device === 'src' ? s.src : s.dst;
    let peer = def.device === 'src' ? s.dst : s.src;
    // A finding is about a hospital device: when the rule's side is an Internet host (the reply of a
    // session that crosses the boundary), the hospital side is the device. Both directions of one session
    // then fold into one finding. Thresholds keep the rule's side: they count per that side.
    const threshold = c.threshold;
    if (threshold === null && dev.zone === ZONE_INTERNET && peer.zone !== ZONE_INTERNET) {
      const t = dev;
      dev = peer;
      peer = t;
    }
    if (c.exempt.length > 0 && c.exempt.some((x) => exempts(x, dev))) {
      this.counters.suppressed++;
      return;
    }
    if (c.belowHigh && this.ctx.isLearning(dev)) {
      this.counters.learning++;
      return;
    }
    // Most hits of a threshold rule stay under it: count first.
    let count = 1;
    let crossing: ThresholdResult | null = null;
    let dk: string;
    const withPeer = threshold === null || c.peerInGroup;
    if (threshold !== null) {
      crossing = threshold.add(s);
      if (!crossing.crossed) return;
      count = crossing.n;
      dk = `g|${crossing.group}`;
    } else {
      // The key the sink would give the occurrence built below (enrich keeps a MAC only when not empty).
      dk = defaultDedupKey(def, dev.ip, dev.mac || undefined, peer.ip);
    }
    const key = this.sink.admit(def, dk, s.ts);
    if (key === null) return;
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
    if (crossing !== null && def.threshold) {
      evidence[def.threshold.distinct ? 'distinct_count' : 'count_in_window'] = count;
      evidence.window_seconds = def.threshold.windowMicros / 1e6;
    }
    const rule: FindingRule = def;
    const occ: Occurrence = {
      ts: s.ts,
      proto: s.findingProto,
      device: this.enrich(dev, false),
      evidence,
      count,
    };
    if (withPeer) {
      occ.peer = this.enrich(peer, true);
      // Who opened the connection: a flow record's src is its client; an event knows it once the flow did.
      const clientIsSrc = s.proto === 'flow' ? true : s.from_client;
      if (clientIsSrc !== undefined) {
        const devIsClient = (dev === s.src) === clientIsSrc;
        occ.initiator = devIsClient ? 'device' : 'peer';
        occ.direction = directionOf(devIsClient ? dev : peer, devIsClient ? peer : dev);
      }
      if (s.flow !== undefined) {
        occ.flow = s.flow;
        const cid = this.ctx.communityIdOf(s.flow);
        if (cid !== undefined) occ.community_id = cid;
      }
    }
    this.sink.emit(rule, key, dk, occ);
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

  /** Baseline deviations: each by its rule in `rules/baseline.yaml` (or a default), unless learning or suppressed. */
  deviations(devs: Deviation[], book: RuleBook): void {
    for (const d of devs) {
      this.counters.deviations++;
      const def = book.baselineRule(d.code);
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
      if (this.ctx.isLearning(d.device)) {
        this.counters.learning++;
        continue;
      }
      if (this.isSuppressed(rule.id, def?.suppress ?? [], dev)) {
        this.counters.suppressed++;
        continue;
      }
      const occ: Occurrence = {
        ts: d.ts,
        proto: d.proto,
        device: this.enrich(dev, false),
        evidence: d.evidence,
      };
      if (d.peer) occ.peer = this.enrich(this.endpoints.endpoint(d.peer, -1), true);
      if (d.flow !== undefined) {
        occ.flow = d.flow;
        const cid = this.ctx.communityIdOf(d.flow);
        if (cid !== undefined) occ.community_id = cid;
      }
      this.sink.report(rule, occ);
    }
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
