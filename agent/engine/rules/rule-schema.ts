// The rule language's schema (rules/README.md): parses one rule file into checked definitions; every error names file, line and field.
import { FINDING_CLASSES, SEVERITIES, type FindingClass, type Severity } from '../../wire/finding.js';
import { ConfigError } from '../config-error.js';
import { parseCidr } from '../site/ip.js';
import type { MatchNode, Op, Operand, RuleDef, Scalar, SuppressDef, ThresholdDef } from './rule-types.js';
import { checkRuleVocabulary } from './rule-vocabulary.js';
import { KNOWLEDGE, KNOWLEDGE_PATHS, KNOWLEDGE_SOURCES, type KnowledgeSource } from './knowledge.js';
import { normalizeMac } from '../site/site.js';
import {
  expectBoolean,
  expectDuration,
  expectMap,
  expectNumber,
  expectSeqOrScalar,
  expectString,
  expectStrings,
  type YNode,
  type YScalar,
} from '../yaml-tree.js';

export type { MatchNode, Op, Operand, RuleDef, Scalar, SuppressDef, ThresholdDef } from './rule-types.js';

export const SCENARIO_RE = /^(D([1-9]|1[0-3])|H([1-9]|1[0-2])|M([1-9]|10)|G[1-4])$/;
const ATTACK_RE = /^T0\d{3}$/;
const ID_RE = /^[a-z0-9][a-z0-9_.-]*$/;

/** Roots a match path may start with, and the endpoint attributes under src/dst. */
export const PATH_ROOTS = [
  'proto',
  'type',
  'flow',
  'src',
  'dst',
  'fields',
  'connect',
  'crosses_zone',
  'from_client',
];
export const ENDPOINT_KEYS = ['ip', 'port', 'mac', 'zone', 'asset', 'asset_role', 'vendor'];
const OPS = [
  'equals',
  'in',
  'not_in',
  'zone',
  'cidr',
  'glob',
  'regex',
  'exists',
  'lt',
  'gt',
  'gte',
  'lte',
  'some',
  'known_to',
  'unknown_to',
];
const RULE_KEYS = [
  'id',
  'kind',
  'title',
  'severity',
  'attack',
  'scenarios',
  'description',
  'remediation',
  'match',
  'threshold',
  'suppress',
  'device',
  'dedup',
  'class',
  'rate_limit',
  'needs_site',
  'enabled',
  'references',
];
const FILE_KEYS = ['description', 'lists', 'rules'];

/** Id prefix each shipped file's rules must carry (rules/README.md "Ids"). Other files are free. */
export const FILE_PREFIX: Record<string, string> = {
  'dicom.yaml': 'dicom.',
  'hl7.yaml': 'hl7.',
  'mqtt.yaml': 'mqtt.',
  'network.yaml': 'network.',
  'tls.yaml': 'tls.',
  'anomalies.yaml': 'anomaly.',
  'baseline.yaml': 'baseline.',
};

export const DEFAULT_DEDUP_MICROS = 600e6;
/** An exposure is re-stated at most once an hour while it lasts (the collector keeps one record per device and rule). */
export const EXPOSURE_DEDUP_MICROS = 3_600e6;
export const DEFAULT_RATE = { count: 100, perMicros: 60e6 };

export interface ParsedRuleFile {
  rules: RuleDef[];
  lists: Record<string, { values: string[]; line: number }>;
  errors: ConfigError[];
}

function scalarOf(n: YNode, file: string, field: string): Scalar {
  if (n.kind !== 'scalar' || n.value === null)
    throw new ConfigError(file, n.line, `${field}: expected a string, number or boolean`);
  return n.value;
}

function parseOperand(n: YNode, file: string, field: string): Operand {
  if (n.kind === 'map') {
    const e = n.entries[0];
    if (n.entries.length !== 1 || !e || e.key !== 'list') {
      throw new ConfigError(file, n.line, `${field}: expected a value, a list of values or {list: NAME}`);
    }
    return { kind: 'list', list: expectString(e.value, file, `${field}.list`), line: e.line };
  }
  const items = n.kind === 'seq' ? n.items : [n];
  return { kind: 'values', values: items.map((i, idx) => scalarOf(i, file, `${field}[${idx}]`)) };
}

export function splitPath(path: string): string[] {
  return path.split('.');
}

function checkPath(path: string, file: string, line: number, field: string, relative = false): string[] {
  const segs = splitPath(path);
  if (relative) {
    if (segs.some((x) => x === '')) throw new ConfigError(file, line, `${field}: bad field "${path}"`);
    return segs;
  }
  const root = segs[0] ?? '';
  if (!PATH_ROOTS.includes(root) || segs.some((s) => s === '')) {
    throw new ConfigError(
      file,
      line,
      `${field}: unknown field "${path}" (fields start with ${PATH_ROOTS.join(', ')})`,
    );
  }
  if ((root === 'src' || root === 'dst') && (segs.length !== 2 || !ENDPOINT_KEYS.includes(segs[1] ?? ''))) {
    throw new ConfigError(file, line, `${field}: "${path}": ${root} has ${ENDPOINT_KEYS.join(', ')}`);
  }
  if ((root === 'fields' || root === 'connect') && segs.length < 2) {
    throw new ConfigError(file, line, `${field}: "${path}" needs a field name, e.g. ${root}.topic`);
  }
  if (['proto', 'type', 'flow', 'crosses_zone', 'from_client'].includes(root) && segs.length !== 1) {
    throw new ConfigError(file, line, `${field}: "${path}" has no sub-fields`);
  }
  return segs;
}

function parseOps(n: YNode, file: string, field: string, depth: number, path: string | null): Op[] {
  if (n.kind === 'scalar') return [{ op: 'equals', value: scalarOf(n, file, field) }];
  if (n.kind === 'seq') return [{ op: 'in', operand: parseOperand(n, file, field) }];
  const ops: Op[] = [];
  for (const e of n.entries) {
    const f = `${field}.${e.key}`;
    switch (e.key) {
      case 'equals':
        ops.push({ op: 'equals', value: scalarOf(e.value, file, f) });
        break;
      case 'in':
      case 'not_in':
      case 'glob':
      case 'zone':
        ops.push({ op: e.key, operand: parseOperand(e.value, file, f) });
        break;
      case 'cidr': {
        const operand = parseOperand(e.value, file, f);
        if (operand.kind === 'values') {
          operand.values.forEach((v) => {
            if (!parseCidr(String(v)))
              throw new ConfigError(file, e.line, `${f}: "${String(v)}" is not an address or CIDR`);
          });
        }
        ops.push({ op: 'cidr', operand });
        break;
      }
      case 'regex': {
        const source = expectString(e.value, file, f);
        try {
          new RegExp(source);
        } catch (err) {
          throw new ConfigError(file, e.line, `${f}: bad regular expression: ${(err as Error).message}`);
        }
        ops.push({ op: 'regex', source });
        break;
      }
      case 'exists':
        ops.push({ op: 'exists', value: expectBoolean(e.value, file, f) });
        break;
      case 'some':
        if (depth > 4) throw new ConfigError(file, e.line, `${f}: nested too deeply`);
        ops.push({ op: 'some', match: parseMatch(e.value, file, f, true, depth + 1) });
        break;
      case 'lt':
      case 'gt':
      case 'gte':
      case 'lte':
        ops.push({ op: e.key, value: expectNumber(e.value, file, f) });
        break;
      case 'known_to':
      case 'unknown_to':
        ops.push(parseKnowledgeOp(e.key, e.value, file, f, path));
        break;
      default:
        throw new ConfigError(
          file,
          e.line,
          `${f}: unknown operator "${e.key}" (operators: ${OPS.join(', ')})`,
        );
    }
  }
  if (ops.length === 0) throw new ConfigError(file, n.line, `${field}: no operator`);
  return ops;
}

/**
 * `known_to: [site, baseline]` or `{to: [site, baseline], list: NAME}`; only on the paths KNOWLEDGE
 * describes (a path inside `some:` is relative and has none).
 */
function parseKnowledgeOp(
  op: 'known_to' | 'unknown_to',
  n: YNode,
  file: string,
  field: string,
  path: string | null,
): Op {
  if (path === null || !(path in KNOWLEDGE)) {
    throw new ConfigError(
      file,
      n.line,
      `${field}: ${op} is not available for ${path === null ? 'a path inside some:' : `"${path}"`} (paths: ${KNOWLEDGE_PATHS.join(', ')})`,
    );
  }
  let list: string | null = null;
  let sourcesNode: YNode = n;
  if (n.kind === 'map') {
    let to: YNode | null = null;
    for (const e of n.entries) {
      if (e.key === 'to') to = e.value;
      else if (e.key === 'list') list = expectString(e.value, file, `${field}.list`);
      else throw new ConfigError(file, e.line, `${field}: unknown key "${e.key}" (allowed: to, list)`);
    }
    if (!to) throw new ConfigError(file, n.line, `${field}: needs to: [site, baseline]`);
    sourcesNode = to;
  }
  const sources = expectSeqOrScalar(sourcesNode, file, field).map((i, idx) => {
    const v = expectString(i, file, `${field}[${idx}]`);
    if (!(KNOWLEDGE_SOURCES as readonly string[]).includes(v))
      throw new ConfigError(
        file,
        i.line,
        `${field}[${idx}]: unknown source "${v}" (sources: site, baseline)`,
      );
    return v as KnowledgeSource;
  });
  if (sources.length === 0) throw new ConfigError(file, n.line, `${field}: name at least one source`);
  return { op, sources, list };
}

/** `relative`: paths inside a `some:` condition, relative to one element of the field. */
export function parseMatch(n: YNode, file: string, field: string, relative = false, depth = 0): MatchNode {
  const items: MatchNode[] = [];
  for (const e of expectMap(n, file, field)) {
    const f = `${field}.${e.key}`;
    if (e.key === 'any' || e.key === 'all') {
      if (e.value.kind !== 'seq' || e.value.items.length === 0)
        throw new ConfigError(file, e.line, `${f}: expected a non-empty list of matches`);
      items.push({
        kind: e.key,
        items: e.value.items.map((i, idx) => parseMatch(i, file, `${f}[${idx}]`, relative, depth)),
      });
    } else if (e.key === 'not') {
      items.push({ kind: 'not', item: parseMatch(e.value, file, f, relative, depth) });
    } else {
      const segs = checkPath(e.key, file, e.line, f, relative);
      items.push({
        kind: 'field',
        path: e.key,
        segs,
        ops: parseOps(e.value, file, f, depth, relative ? null : e.key),
        line: e.line,
      });
    }
  }
  if (items.length === 0) throw new ConfigError(file, n.line, `${field}: empty match`);
  return { kind: 'all', items };
}

function parsePaths(n: YNode, file: string, field: string): { segs: string[][]; text: string[] } {
  const text = expectStrings(n, file, field);
  return { segs: text.map((p) => checkPath(p, file, n.line, field)), text };
}

function parseSuppress(n: YNode, file: string, field: string): SuppressDef[] {
  if (n.kind !== 'seq') throw new ConfigError(file, n.line, `${field}: expected a list of entries`);
  return n.items.map((item, idx) => {
    const f = `${field}[${idx}]`;
    const s: SuppressDef = { ip: [], mac: [], zone: [], asset: [] };
    for (const e of expectMap(item, file, f)) {
      switch (e.key) {
        case 'ip':
          s.ip = expectStrings(e.value, file, `${f}.ip`).map((t) => {
            const c = parseCidr(t);
            if (!c) throw new ConfigError(file, e.line, `${f}.ip: "${t}" is not an address or CIDR`);
            return c;
          });
          break;
        case 'mac':
          s.mac = expectStrings(e.value, file, `${f}.mac`).map((t) => {
            const m = normalizeMac(t);
            if (!m) throw new ConfigError(file, e.line, `${f}.mac: "${t}" is not a MAC address`);
            return m;
          });
          break;
        case 'zone':
          s.zone = expectStrings(e.value, file, `${f}.zone`);
          break;
        case 'asset':
          s.asset = expectStrings(e.value, file, `${f}.asset`);
          break;
        case 'reason':
          expectString(e.value, file, `${f}.reason`);
          break;
        default:
          throw new ConfigError(
            file,
            e.line,
            `${f}: unknown key "${e.key}" (allowed: ip, mac, zone, asset, reason)`,
          );
      }
    }
    if (s.ip.length + s.mac.length + s.zone.length + s.asset.length === 0) {
      throw new ConfigError(file, item.line, `${f}: needs ip, mac, zone or asset`);
    }
    return s;
  });
}

/** The fixed values a top-level `proto` or `type` condition allows (for indexing); empty = unconstrained. */
export function collectValues(m: MatchNode, path: 'proto' | 'type'): string[] {
  if (m.kind !== 'all') return [];
  for (const i of m.items) {
    if (i.kind === 'field' && i.path === path) {
      const out: string[] = [];
      for (const op of i.ops) {
        if (op.op === 'equals') out.push(String(op.value));
        else if (op.op === 'in' && op.operand.kind === 'values') out.push(...op.operand.values.map(String));
        else return [];
      }
      return out;
    }
  }
  return [];
}

function parseRule(n: YNode, file: string, idx: number, prefix: string | undefined): RuleDef {
  const entries = expectMap(n, file, `rules[${idx}]`);
  const get = (k: string): YNode | undefined => entries.find((e) => e.key === k)?.value;
  const idNode = get('id');
  if (!idNode) throw new ConfigError(file, n.line, `rules[${idx}].id: required`);
  const id = expectString(idNode, file, `rules[${idx}].id`);
  if (!ID_RE.test(id))
    throw new ConfigError(file, idNode.line, `rule ${id}: field id: lower case letters, digits, . _ - only`);
  const f = (k: string): string => `rule ${id}: field ${k}`;
  for (const e of entries)
    if (!RULE_KEYS.includes(e.key))
      throw new ConfigError(file, e.line, `${f(e.key)}: unknown key (allowed: ${RULE_KEYS.join(', ')})`);
  const need = (k: string): YNode => {
    const v = get(k);
    if (!v) throw new ConfigError(file, n.line, `${f(k)}: required`);
    return v;
  };
  const kindNode = get('kind');
  const kindText = kindNode ? expectString(kindNode, file, f('kind')) : 'match';
  if (kindText !== 'match' && kindText !== 'baseline')
    throw new ConfigError(file, kindNode?.line ?? n.line, `${f('kind')}: match or baseline`);
  const kind: RuleDef['kind'] = kindText;
  if (prefix && !id.startsWith(prefix))
    throw new ConfigError(file, idNode.line, `${f('id')}: ids in this file start with "${prefix}"`);
  if (kind === 'baseline' && !id.startsWith('baseline.'))
    throw new ConfigError(
      file,
      idNode.line,
      `${f('id')}: baseline rules are named by their deviation code, baseline.*`,
    );
  const sevNode = need('severity');
  const sev = expectString(sevNode, file, f('severity'));
  if (!(SEVERITIES as readonly string[]).includes(sev))
    throw new ConfigError(file, sevNode.line, `${f('severity')}: one of ${SEVERITIES.join(', ')}`);
  const attackNode = get('attack');
  const attack =
    attackNode && !(attackNode.kind === 'seq' && attackNode.items.length === 0)
      ? expectStrings(attackNode, file, f('attack'))
      : [];
  for (const a of attack)
    if (!ATTACK_RE.test(a))
      throw new ConfigError(
        file,
        attackNode?.line ?? n.line,
        `${f('attack')}: "${a}" is not an ATT&CK for ICS id (T0xxx)`,
      );
  const scNode = get('scenarios');
  const scenarios =
    scNode && !(scNode.kind === 'seq' && scNode.items.length === 0)
      ? expectStrings(scNode, file, f('scenarios'))
      : [];
  for (const s of scenarios)
    if (!SCENARIO_RE.test(s))
      throw new ConfigError(
        file,
        scNode?.line ?? n.line,
        `${f('scenarios')}: "${s}" is not a scenario id of docs/scenarios.md`,
      );
  const rule: RuleDef = {
    id,
    kind,
    title: expectString(need('title'), file, f('title')),
    severity: sev as Severity,
    attack,
    scenarios,
    description: expectString(need('description'), file, f('description')),
    remediation: get('remediation') ? expectString(need('remediation'), file, f('remediation')) : '',
    file,
    line: n.line,
    match: null,
    protos: [],
    types: [],
    threshold: null,
    suppress: [],
    device: 'src',
    dedupMicros: DEFAULT_DEDUP_MICROS,
    class: 'alert',
    rateLimit: { ...DEFAULT_RATE },
    needsSite: false,
    enabled: true,
  };
  const matchNode = get('match');
  if (kind === 'baseline') {
    for (const k of ['match', 'threshold', 'device'])
      if (get(k))
        throw new ConfigError(
          file,
          entries.find((e) => e.key === k)?.line ?? n.line,
          `${f(k)}: baseline rules have no ${k}`,
        );
  } else {
    if (!matchNode) throw new ConfigError(file, n.line, `${f('match')}: required`);
    rule.match = parseMatch(matchNode, file, f('match'));
    rule.protos = collectValues(rule.match, 'proto');
    rule.types = collectValues(rule.match, 'type');
  }
  const th = get('threshold');
  if (th) {
    const t: ThresholdDef = {
      count: 0,
      windowMicros: 0,
      by: [],
      byText: [],
      distinct: null,
      distinctText: [],
    };
    for (const e of expectMap(th, file, f('threshold'))) {
      const tf = `${f('threshold')}.${e.key}`;
      if (e.key === 'count') {
        t.count = expectNumber(e.value, file, tf);
        if (!Number.isInteger(t.count) || t.count < 1 || t.count > 100000)
          throw new ConfigError(file, e.line, `${tf}: an integer 1-100000`);
      } else if (e.key === 'window') t.windowMicros = expectDuration(e.value, file, tf);
      else if (e.key === 'by') {
        const p = parsePaths(e.value, file, tf);
        t.by = p.segs;
        t.byText = p.text;
      } else if (e.key === 'distinct') {
        const p = parsePaths(e.value, file, tf);
        t.distinct = p.segs;
        t.distinctText = p.text;
      } else throw new ConfigError(file, e.line, `${tf}: unknown key (allowed: count, window, by, distinct)`);
    }
    if (t.count === 0) throw new ConfigError(file, th.line, `${f('threshold')}.count: required`);
    if (t.windowMicros === 0) throw new ConfigError(file, th.line, `${f('threshold')}.window: required`);
    rule.threshold = t;
  }
  const dev = get('device');
  if (dev) {
    const d = expectString(dev, file, f('device'));
    if (d !== 'src' && d !== 'dst') throw new ConfigError(file, dev.line, `${f('device')}: src or dst`);
    rule.device = d;
  }
  if (rule.threshold && rule.threshold.by.length === 0) {
    rule.threshold.by = [[rule.device, 'ip']];
    rule.threshold.byText = [`${rule.device}.ip`];
  }
  const sup = get('suppress');
  if (sup) rule.suppress = parseSuppress(sup, file, f('suppress'));
  const cl = get('class');
  if (cl) {
    const c = expectString(cl, file, f('class'));
    if (!(FINDING_CLASSES as readonly string[]).includes(c))
      throw new ConfigError(
        file,
        cl.line,
        `${f('class')}: "${c}" is not one of ${FINDING_CLASSES.join(', ')}`,
      );
    rule.class = c as FindingClass;
    if (rule.class === 'exposure') rule.dedupMicros = EXPOSURE_DEDUP_MICROS;
  }
  const dd = get('dedup');
  if (dd) rule.dedupMicros = expectDuration(dd, file, f('dedup'));
  const rl = get('rate_limit');
  if (rl) {
    for (const e of expectMap(rl, file, f('rate_limit'))) {
      if (e.key === 'count') {
        const c = expectNumber(e.value, file, `${f('rate_limit')}.count`);
        if (!Number.isInteger(c) || c < 1)
          throw new ConfigError(file, e.line, `${f('rate_limit')}.count: a positive integer`);
        rule.rateLimit.count = c;
      } else if (e.key === 'per')
        rule.rateLimit.perMicros = expectDuration(e.value, file, `${f('rate_limit')}.per`);
      else
        throw new ConfigError(file, e.line, `${f('rate_limit')}.${e.key}: unknown key (allowed: count, per)`);
    }
  }
  const ns = get('needs_site');
  if (ns) rule.needsSite = expectBoolean(ns, file, f('needs_site'));
  const en = get('enabled');
  if (en) rule.enabled = expectBoolean(en, file, f('enabled'));
  const refs = get('references');
  if (refs) expectStrings(refs, file, f('references'));
  checkRuleVocabulary(rule);
  return rule;
}

/** Parse one rule file; each rule that fails adds an error and is skipped, so one pass reports every mistake. */
export function parseRuleFile(root: YNode, file: string, baseName: string): ParsedRuleFile {
  const out: ParsedRuleFile = { rules: [], lists: {}, errors: [] };
  let entries;
  try {
    entries = expectMap(root, file, 'rule file');
  } catch (err) {
    out.errors.push(err as ConfigError);
    return out;
  }
  for (const e of entries) {
    try {
      if (!FILE_KEYS.includes(e.key))
        throw new ConfigError(file, e.line, `unknown key "${e.key}" (allowed: ${FILE_KEYS.join(', ')})`);
      if (e.key === 'description') expectString(e.value, file, 'description');
      if (e.key === 'lists') {
        for (const l of expectMap(e.value, file, 'lists')) {
          const items =
            l.value.kind === 'seq' && l.value.items.length === 0
              ? []
              : expectSeqOrScalar(l.value, file, `lists.${l.key}`);
          out.lists[l.key] = {
            line: l.line,
            values: items.map((v: YNode, i: number) =>
              String(scalarOf(v, file, `lists.${l.key}[${i}]`) as YScalar),
            ),
          };
        }
      }
      if (e.key === 'rules') {
        if (e.value.kind !== 'seq')
          throw new ConfigError(file, e.value.line, 'rules: expected a list of rules');
        e.value.items.forEach((item, idx) => {
          try {
            out.rules.push(parseRule(item, file, idx, FILE_PREFIX[baseName]));
          } catch (err) {
            if (!(err instanceof ConfigError)) throw err;
            out.errors.push(err);
          }
        });
      }
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      out.errors.push(err);
    }
  }
  return out;
}

/** Every list a rule's match refers to, with the line of the reference. */
export function listRefs(m: MatchNode | null): { list: string; line: number }[] {
  if (!m) return [];
  if (m.kind === 'all' || m.kind === 'any') return m.items.flatMap(listRefs);
  if (m.kind === 'not') return listRefs(m.item);
  const line = m.line;
  return m.ops.flatMap((op) =>
    op.op === 'some'
      ? listRefs(op.match)
      : 'operand' in op && op.operand.kind === 'list'
        ? [{ list: op.operand.list, line: op.operand.line }]
        : (op.op === 'known_to' || op.op === 'unknown_to') && op.list !== null
          ? [{ list: op.list, line }]
          : [],
  );
}

/** The field paths a rule's match reads (its evidence comes from these). */
export function matchPaths(m: MatchNode | null): string[][] {
  if (!m) return [];
  if (m.kind === 'all' || m.kind === 'any') return m.items.flatMap(matchPaths);
  if (m.kind === 'not') return matchPaths(m.item);
  return [m.segs];
}
