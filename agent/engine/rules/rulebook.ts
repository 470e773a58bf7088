// The compiled rule-set the engine runs: each match rule's predicate bound to the site's lists, zones and assets
// and the approved baseline, its evidence paths and exemptions, and the index that offers an event only the rules
// that can match its kind. Rebuilt whole on reload (SIGHUP); thresholds restart with it.
import type { SuppressDef } from './rule-types.js';
import { matchPaths, type MatchNode, type RuleDef } from './rule-schema.js';
import type { RuleSet } from './rules.js';
import { compileMatch, type MatchContext, type Predicate, type SubjectEndpoint } from './match.js';
import { KNOWLEDGE, type BaselineKnowledge } from './knowledge.js';
import { ThresholdState } from './threshold.js';
import { isDeniedKey } from '../findings/findings.js';
import { severityRank } from '../../wire/finding.js';
import { cidrContains, parseIp } from '../site/ip.js';
import type { AllowEntry, SiteIndex } from '../site/site.js';

const HIGH = severityRank('high');

/** Event types remembered per protocol in the rule dispatch memo. */
const MAX_DISPATCH_TYPES = 256;

export type Exemption = Pick<SuppressDef, 'ip' | 'mac' | 'zone' | 'asset'>;

/** A site allow entry with its rule globs compiled. */
export interface AllowRule {
  entry: AllowEntry;
  rules: RegExp[];
}

/** One evidence path, with what apply() needs worked out when the rule is compiled. */
export interface EvidencePath {
  path: string[];
  /** The evidence key: the path without a leading `fields.`. */
  key: string;
  /** `fields.x` and `connect.x` read one key of that bag directly; anything else walks the path. */
  bag: 'fields' | 'connect' | null;
  name: string;
}

export interface CompiledRule {
  def: RuleDef;
  pred: Predicate;
  evidence: EvidencePath[];
  /** Suppress and allow entries that apply to this rule (see exemptionsOf). */
  exempt: Exemption[];
  threshold: ThresholdState | null;
  peerInGroup: boolean;
  /** Severity below high: held back while the device learns (FindingReporter). */
  belowHigh: boolean;
}

/** Turns a rule-set into compiled predicates bound to a site's lists, zones and assets and the approved baseline. */
function compileRules(
  rules: RuleSet,
  site: SiteIndex,
  maxThresholdGroups: number,
  baseline: BaselineKnowledge | null,
): CompiledRule[] {
  const lists: Record<string, string[]> = { ...rules.lists, ...(site.site?.lists ?? {}) };
  const listSets = new Map<string, ReadonlySet<string>>();
  const listSet = (n: string): ReadonlySet<string> => {
    let set = listSets.get(n);
    if (!set) {
      set = new Set(lists[n] ?? []);
      listSets.set(n, set);
    }
    return set;
  };
  const ctx: MatchContext = {
    list: (n: string): readonly string[] => lists[n] ?? [],
    zoneOf: (ip: string): string => site.zoneOf(ip),
    known: (path, sources, listName, s, value) => {
      const k = KNOWLEDGE[path];
      if (!k) return false;
      for (const source of sources) {
        if (source === 'site') {
          const ln = listName ?? k.list;
          if (ln !== undefined && listSet(ln).has(value)) return true;
          if (k.site) {
            if (k.site.of === 'any') {
              if (site.anyAssetNames(k.site.attr, value)) return true;
            } else if (site.asset(s[k.site.of].asset)?.[k.site.attr].includes(value)) return true;
          }
        } else if (k.baseline && baseline?.knows(s[k.baseline.of].ip, k.baseline.fact, value)) return true;
      }
      return false;
    },
  };
  const out: CompiledRule[] = [];
  for (const def of rules.rules) {
    if (def.kind !== 'match' || !def.match || !def.enabled) continue;
    if (def.needsSite && !site.site) continue;
    const other = def.device === 'src' ? 'dst' : 'src';
    out.push({
      def,
      pred: compileMatch(withoutIndexedConditions(def.match, def), ctx),
      evidence: evidencePaths(def.match),
      exempt: [],
      threshold: def.threshold ? new ThresholdState(def.threshold, maxThresholdGroups) : null,
      peerInGroup: def.threshold?.byText.includes(`${other}.ip`) ?? false,
      belowHigh: severityRank(def.severity) < HIGH,
    });
  }
  return out;
}

export class RuleBook {
  readonly compiled: readonly CompiledRule[];
  private readonly byProto = new Map<string, CompiledRule[]>();
  private readonly anyProto: CompiledRule[] = [];
  /** proto → type → the rules that event kind meets (built on first sight, see rulesFor). */
  private readonly dispatch = new Map<string, Map<string, readonly CompiledRule[]>>();
  private readonly baselineRules: ReadonlyMap<string, RuleDef>;

  constructor(
    rules: RuleSet,
    site: SiteIndex,
    maxThresholdGroups: number,
    private readonly allow: readonly AllowRule[],
    baseline: BaselineKnowledge | null,
  ) {
    this.compiled = compileRules(rules, site, maxThresholdGroups, baseline);
    for (const c of this.compiled) c.exempt = this.exemptionsOf(c.def);
    // Index by "proto|type" (or "proto|*"), so an event only meets rules that can match its kind.
    for (const c of this.compiled) {
      if (c.def.protos.length === 0) this.anyProto.push(c);
      const types = c.def.types.length > 0 ? c.def.types : ['*'];
      for (const p of c.def.protos) {
        for (const t of types) {
          const k = `${p}|${t}`;
          const l = this.byProto.get(k) ?? [];
          l.push(c);
          this.byProto.set(k, l);
        }
      }
    }
    this.baselineRules = new Map(rules.rules.filter((r) => r.kind === 'baseline').map((r) => [r.id, r]));
  }

  /**
   * The rules an event of this kind meets, in the order they always ran: "proto|type" rules, then
   * "proto|*", then rules for any protocol. Joined once per kind (protocols and types are fixed
   * vocabularies of the analyzers and the engine), not looked up three times per event.
   */
  rulesFor(proto: string, type: string): readonly CompiledRule[] {
    let byType = this.dispatch.get(proto);
    if (!byType) {
      byType = new Map();
      this.dispatch.set(proto, byType);
    }
    let list = byType.get(type);
    if (!list) {
      list = [
        ...(this.byProto.get(`${proto}|${type}`) ?? []),
        ...(this.byProto.get(`${proto}|*`) ?? []),
        ...this.anyProto,
      ];
      // Events fed from outside (`rules test`) could invent types without end: keep the memo bounded.
      if (byType.size < MAX_DISPATCH_TYPES) byType.set(type, list);
    }
    return list;
  }

  /** The `kind: baseline` rule that names and rates a deviation code. */
  baselineRule(code: string): RuleDef | undefined {
    return this.baselineRules.get(code);
  }

  /** A rule's own suppress entries, then the site's allow entries whose globs name it (fixed per rule-set). */
  private exemptionsOf(def: RuleDef): Exemption[] {
    return [
      ...def.suppress,
      ...this.allow.filter((a) => a.rules.some((g) => g.test(def.id))).map((a) => a.entry),
    ];
  }
}

/**
 * The rule's match without the top-level `proto` and `type` conditions that the rule index already
 * guarantees: a rule that names protocols is only offered events whose proto (and type, when it also
 * names types) is one of the values collectValues took from those very conditions. A rule without a
 * protocol meets every event, so its `type` condition stays. Only a condition that is a single `equals`
 * or `in` list of short values is dropped (one that collectValues read whole, and that keyOf compares
 * untruncated); anything else stays and is evaluated.
 */
function withoutIndexedConditions(m: MatchNode, def: RuleDef): MatchNode {
  if (m.kind !== 'all' || def.protos.length === 0) return m;
  const seen = new Set<string>();
  const items = m.items.filter((i) => {
    if (i.kind !== 'field' || (i.path !== 'proto' && i.path !== 'type') || seen.has(i.path)) return true;
    // collectValues reads only the first condition on each path; later ones are plain conditions.
    seen.add(i.path);
    const indexed = i.path === 'proto' ? def.protos : def.types;
    const op = i.ops[0];
    const exact =
      i.ops.length === 1 &&
      op !== undefined &&
      (op.op === 'equals' || (op.op === 'in' && op.operand.kind === 'values'));
    return !(exact && indexed.length > 0 && indexed.every((v) => v.length <= MAX_INDEXED_TEXT));
  });
  return { kind: 'all', items };
}

/** keyOf (match.ts) compares at most this many characters. */
const MAX_INDEXED_TEXT = 1024;

/** Whether a suppress or allow entry covers the device (every list it gives must hold the device). */
export function exempts(s: Exemption, dev: SubjectEndpoint): boolean {
  const ip = s.ip.length ? parseIp(dev.ip) : null;
  if (s.ip.length && !(ip && s.ip.some((c) => cidrContains(c, ip)))) return false;
  if (s.mac.length && !(dev.mac && s.mac.includes(dev.mac.toLowerCase()))) return false;
  if (s.zone.length && !s.zone.includes(dev.zone)) return false;
  if (s.asset.length && !(dev.asset && s.asset.includes(dev.asset))) return false;
  return true;
}

/**
 * Paths whose values become evidence: `fields.x.y` reports the whole `fields.x` (the filter list, not just
 * the flags that matched), other roots their full path; proto, type and flow are in the finding anyway.
 */
function evidencePaths(m: RuleDef['match']): EvidencePath[] {
  const seen = new Set<string>();
  const out: EvidencePath[] = [];
  for (const p of matchPaths(m)) {
    if (['proto', 'type', 'flow'].includes(p[0] ?? '')) continue;
    const q = p[0] === 'fields' ? p.slice(0, 2) : p;
    if (q.includes('*')) continue;
    const k = q.join('.');
    if (seen.has(k)) continue;
    seen.add(k);
    // Keys that may hold patient data or secrets never become evidence.
    if (q.some(isDeniedKey)) continue;
    const root = q[0];
    out.push({
      path: q,
      key: root === 'fields' ? q.slice(1).join('.') : k,
      bag: q.length === 2 && (root === 'fields' || root === 'connect') ? root : null,
      name: q[1] ?? '',
    });
  }
  return out;
}
