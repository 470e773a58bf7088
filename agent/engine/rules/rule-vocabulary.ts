// A rule may name only protocols, event types, fields and anomaly codes that exist (issue 12): `proto: mqqt` or
// `fields.topic_filterz` is a load error with the file, the line and the nearest valid name, as Suricata refuses an
// unknown keyword. The vocabulary is the protocols' schemas plus the engine's own subjects (subjects.ts).
import type { EventVocabulary, FieldSpec } from '../../protocols/types.js';
import { fieldsOf, typesOf } from '../../protocols/schema.js';
import { nearest } from '../../wire/spelling.js';
import { ConfigError } from '../config-error.js';
import type { MatchNode, Op, RuleDef } from './rule-types.js';
import { RULE_VOCABULARY } from './subjects.js';

type FieldNode = Extract<MatchNode, { kind: 'field' }>;

/** The literal values a condition names (equals, in, not_in), not patterns or lists. */
function literals(ops: readonly Op[]): string[] {
  const out: string[] = [];
  for (const op of ops) {
    if (op.op === 'equals') out.push(String(op.value));
    else if ((op.op === 'in' || op.op === 'not_in') && op.operand.kind === 'values')
      out.push(...op.operand.values.map(String));
  }
  return out;
}

function fieldNodes(m: MatchNode | null, out: FieldNode[] = []): FieldNode[] {
  if (!m) return out;
  if (m.kind === 'field') out.push(m);
  else if (m.kind === 'not') fieldNodes(m.item, out);
  else for (const i of m.items) fieldNodes(i, out);
  return out;
}

function suggest(name: string, valid: readonly string[], what: string): string {
  const guess = nearest(name, valid);
  const list = valid.length <= 24 ? `; ${what}: ${valid.join(', ')}` : '';
  return guess !== null ? ` (did you mean "${guess}"?${list})` : list ? ` (${list.slice(2)})` : '';
}

interface Scope {
  vocabularies: readonly EventVocabulary[];
  /** (vocabulary, type) pairs the rule can see. */
  pairs: Array<{ v: EventVocabulary; type: string; fields: Readonly<Record<string, FieldSpec>> }>;
}

function scopeOf(rule: RuleDef, nodes: readonly FieldNode[], file: string): Scope {
  const protoNames = RULE_VOCABULARY.map((v) => v.proto);
  const named = new Set<string>();
  for (const n of nodes) {
    if (n.path !== 'proto') continue;
    for (const p of literals(n.ops)) {
      if (!protoNames.includes(p))
        throw new ConfigError(
          file,
          n.line,
          `rule ${rule.id}: unknown protocol "${p}"${suggest(p, protoNames, 'protocols')}`,
        );
      named.add(p);
    }
  }
  const vocabularies = named.size > 0 ? RULE_VOCABULARY.filter((v) => named.has(v.proto)) : RULE_VOCABULARY;
  const allTypes = [...new Set(vocabularies.flatMap((v) => typesOf(v)))];
  const types = new Set<string>();
  for (const n of nodes) {
    if (n.path !== 'type') continue;
    for (const t of literals(n.ops)) {
      if (!allTypes.includes(t)) {
        const of = named.size > 0 ? ` of ${[...named].join(', ')}` : '';
        throw new ConfigError(
          file,
          n.line,
          `rule ${rule.id}: unknown event type "${t}"${of}${suggest(t, allTypes, 'types')}`,
        );
      }
      types.add(t);
    }
  }
  const pairs: Scope['pairs'] = [];
  for (const v of vocabularies)
    for (const type of typesOf(v)) {
      if (types.size > 0 && !types.has(type)) continue;
      const fields = fieldsOf(v, type);
      if (fields) pairs.push({ v, type, fields });
    }
  return { vocabularies, pairs };
}

/** `fields.NAME[.KEY]`: NAME a field of some event in scope, KEY one of its keys where the schema lists them. */
function checkFieldPath(
  rule: RuleDef,
  segs: readonly string[],
  scope: Scope,
  file: string,
  line: number,
): FieldSpec[] {
  const name = segs[1] ?? '';
  const specs = scope.pairs.map((p) => p.fields[name]).filter((s): s is FieldSpec => s !== undefined);
  if (specs.length === 0) {
    const valid = [...new Set(scope.pairs.flatMap((p) => Object.keys(p.fields)))].sort();
    const where = describe(scope);
    throw new ConfigError(
      file,
      line,
      `rule ${rule.id}: unknown field "fields.${name}" for ${where}${suggest(name, valid, 'fields')}`,
    );
  }
  const sub = segs[2];
  if (sub !== undefined && sub !== '*') checkKey(rule, name, sub, specs, file, line);
  return specs;
}

function checkKey(
  rule: RuleDef,
  name: string,
  key: string,
  specs: readonly FieldSpec[],
  file: string,
  line: number,
): void {
  const keyed = specs.filter((s) => s.keys !== undefined);
  // A field without declared keys (an open map, or an array of scalars searched by index) takes any sub-path.
  if (keyed.length < specs.length) return;
  const valid = [...new Set(keyed.flatMap((s) => Object.keys(s.keys ?? {})))].sort();
  if (!valid.includes(key))
    throw new ConfigError(
      file,
      line,
      `rule ${rule.id}: "fields.${name}" has no key "${key}"${suggest(key, valid, 'keys')}`,
    );
}

function describe(scope: Scope): string {
  const types = [...new Set(scope.pairs.map((p) => `${p.v.proto} ${p.type}`))];
  return types.length <= 4 ? types.join(', ') : `${scope.vocabularies.map((v) => v.proto).join(', ')} events`;
}

/** Anomaly codes named in `fields.code` must be codes the protocols in scope emit. */
function checkCodes(rule: RuleDef, n: FieldNode, scope: Scope, file: string): void {
  const codes = scope.vocabularies.flatMap((v) => Object.keys(v.anomalies));
  for (const c of literals(n.ops))
    if (!codes.includes(c))
      throw new ConfigError(
        file,
        n.line,
        `rule ${rule.id}: unknown anomaly code "${c}"${suggest(c, codes, 'codes')}`,
      );
}

/** Relative paths inside `some:` name keys of one element of the field. */
function checkSome(
  rule: RuleDef,
  name: string,
  specs: readonly FieldSpec[],
  ops: readonly Op[],
  file: string,
): void {
  for (const op of ops) {
    if (op.op !== 'some') continue;
    for (const inner of fieldNodes(op.match)) {
      const key = inner.segs[0];
      if (key !== undefined && key !== '*') checkKey(rule, name, key, specs, file, inner.line);
    }
  }
}

/** Throws a ConfigError for the first name in a match rule that no protocol or subject has. */
export function checkRuleVocabulary(rule: RuleDef): void {
  if (!rule.match) return;
  const file = rule.file;
  const nodes = fieldNodes(rule.match);
  const scope = scopeOf(rule, nodes, file);
  for (const n of nodes) {
    const root = n.segs[0];
    if (root === 'fields') {
      const specs = checkFieldPath(rule, n.segs, scope, file, n.line);
      if (n.segs[1] === 'code' && n.segs.length === 2 && scope.pairs.some((p) => p.type === 'anomaly'))
        checkCodes(rule, n, scope, file);
      checkSome(rule, n.segs[1] ?? '', specs, n.ops, file);
    } else if (root === 'connect') {
      const connect = RULE_VOCABULARY.find((v) => v.proto === 'mqtt')?.events.connect?.fields ?? {};
      const name = n.segs[1] ?? '';
      if (!(name in connect))
        throw new ConfigError(
          file,
          n.line,
          `rule ${rule.id}: unknown field "connect.${name}" (the MQTT CONNECT's fields)${suggest(name, Object.keys(connect), 'fields')}`,
        );
    }
  }
  const th = rule.threshold;
  if (th)
    for (const segs of [...th.by, ...(th.distinct ?? [])])
      if (segs[0] === 'fields') checkFieldPath(rule, segs, scope, file, rule.line);
}
