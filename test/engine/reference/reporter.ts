// FindingReporter as it was before issue 12's admit-first rewrite, kept unchanged as the oracle of
// reporter-oracle.test.ts (it builds every occurrence and hands it to FindingSink.report).
import { severityRank, type Direction, type Endpoint } from '../../../agent/wire/finding.js';
import type { Deviation } from '../../../agent/engine/baselines/baseline-types.js';
import { getValues, type Subject, type SubjectEndpoint } from '../../../agent/engine/rules/match.js';
import type { SuppressDef } from '../../../agent/engine/rules/rule-schema.js';
import {
  exempts,
  type AllowRule,
  type CompiledRule,
  type RuleBook,
} from '../../../agent/engine/rules/rulebook.js';
import type { ThresholdResult } from '../../../agent/engine/rules/threshold.js';
import type { EndpointResolver } from '../../../agent/engine/site/endpoints.js';
import { ZONE_INTERNET } from '../../../agent/engine/site/site.js';
import type { FindingRule, FindingSink } from '../../../agent/engine/findings/findings.js';

const HIGH = severityRank('high');

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
    if (!c.pred(s)) return;
    this.counters.ruleHits++;
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
      this.counters.suppressed++;
      return;
    }
    if (severityRank(def.severity) < HIGH && this.ctx.isLearning(dev)) {
      this.counters.learning++;
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
      const cid = this.ctx.communityIdOf(s.flow);
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
      const occ: Parameters<FindingSink['report']>[1] = {
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
