// Compiles a rule's match tree into a predicate over a subject (event, flow or engine signal); rules/README.md "Operators".
import type { FieldValue } from '../../protocols/types.js';
import { cidrContains, parseCidr, parseIp, type Cidr } from '../site/ip.js';
import type { KnowledgeSource } from './knowledge.js';
import type { MatchNode, Op, Operand, Scalar } from './rule-schema.js';

/**
 * Optional keys may be present and undefined: the engine makes every endpoint and subject with all its keys in
 * one order (one hidden class for the predicates to read), and rules see an undefined key as absent.
 */
export interface SubjectEndpoint {
  ip: string;
  port?: number | undefined;
  mac?: string | undefined;
  zone: string;
  asset?: string | undefined;
  asset_role?: string[] | undefined;
  vendor?: string | undefined;
}

/** What rules match on: a protocol event, a flow start/end, or a signal from the engine's own state. */
export interface Subject {
  proto: string;
  type: string;
  ts: number;
  flow?: string | undefined;
  src: SubjectEndpoint;
  dst: SubjectEndpoint;
  fields: Record<string, FieldValue>;
  /** MQTT: the CONNECT fields of the same flow (client_id, username, ...), for rules on later packets. */
  connect?: Record<string, FieldValue> | undefined;
  crosses_zone: boolean;
  /** True when the flow's client sent it (MQTT: the connected client, not the broker's deliveries); absent when unknown. */
  from_client?: boolean | undefined;
  /** Protocol the finding reports (engine signals carry the protocol that caused them). */
  findingProto: string;
}

export type Predicate = (s: Subject) => boolean;

export interface MatchContext {
  list(name: string): readonly string[];
  zoneOf(ip: string): string;
  /** Whether `value` at `path` is known to any of `sources` (knowledge.ts); absent: nothing is known. */
  known?(
    path: string,
    sources: readonly KnowledgeSource[],
    list: string | null,
    s: Subject,
    value: string,
  ): boolean;
}

const MAX_TEXT = 1024;

/** Values at `segs`: arrays are searched element by element, `*` takes every key or element; null/absent give nothing. */
export function getValues(root: unknown, segs: readonly string[]): FieldValue[] {
  let cur: unknown[] = [root];
  for (const seg of segs) {
    const next: unknown[] = [];
    for (const v of cur) {
      if (Array.isArray(v)) {
        for (const el of v) step(el, seg, next);
      } else step(v, seg, next);
    }
    cur = next;
    if (cur.length === 0) return [];
  }
  const out: FieldValue[] = [];
  const push = (v: unknown, depth: number): void => {
    if (v === null || v === undefined) return;
    if (Array.isArray(v) && depth < 4) for (const el of v) push(el, depth + 1);
    else out.push(v as FieldValue);
  };
  for (const v of cur) push(v, 0);
  return out;
}

/**
 * Whether some value at `segs` satisfies `pred`, with the same array and `*` semantics as getValues but
 * without building arrays (this runs for every rule condition on every event).
 */
export function someValue(
  v: unknown,
  segs: readonly string[],
  i: number,
  pred: (x: FieldValue) => boolean,
  depth = 0,
): boolean {
  if (v === null || v === undefined || depth > 16) return false;
  if (Array.isArray(v)) {
    for (const el of v) if (someValue(el, segs, i, pred, depth + 1)) return true;
    return false;
  }
  if (i === segs.length) return pred(v as FieldValue);
  if (typeof v !== 'object') return false;
  const seg = segs[i] as string;
  if (seg === '*') {
    for (const x of Object.values(v)) if (someValue(x, segs, i + 1, pred, depth + 1)) return true;
    return false;
  }
  if (!Object.prototype.hasOwnProperty.call(v, seg)) return false;
  return someValue((v as Record<string, unknown>)[seg], segs, i + 1, pred, depth + 1);
}

/**
 * The first value getValues would return (same array and `*` semantics, same order), without building
 * the arrays: thresholds key their groups on it for every counted event.
 */
export function firstValue(root: unknown, segs: readonly string[]): FieldValue | undefined {
  return firstAt(root, segs, 0);
}

function firstAt(v: unknown, segs: readonly string[], i: number): FieldValue | undefined {
  if (i === segs.length) return firstLeaf(v, 0);
  const seg = segs[i] as string;
  if (!Array.isArray(v)) return firstStep(v, seg, segs, i);
  for (const el of v) {
    const r = firstStep(el, seg, segs, i);
    if (r !== undefined) return r;
  }
  return undefined;
}

function firstStep(v: unknown, seg: string, segs: readonly string[], i: number): FieldValue | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  if (seg === '*') {
    for (const x of Array.isArray(v) ? v : Object.values(v)) {
      const r = firstAt(x, segs, i + 1);
      if (r !== undefined) return r;
    }
    return undefined;
  }
  if (!Object.prototype.hasOwnProperty.call(v, seg)) return undefined;
  return firstAt((v as Record<string, unknown>)[seg], segs, i + 1);
}

function firstLeaf(v: unknown, depth: number): FieldValue | undefined {
  if (v === null || v === undefined) return undefined;
  if (!Array.isArray(v) || depth >= 4) return v as FieldValue;
  for (const el of v) {
    const r = firstLeaf(el, depth + 1);
    if (r !== undefined) return r;
  }
  return undefined;
}

/** someValue from the root, specialised for a path: most paths (`fields.x`, `src.zone`) have no `*`. */
function pathTester(segs: readonly string[]): (root: unknown, pred: (x: FieldValue) => boolean) => boolean {
  const n = segs.length;
  if (n > 16 || segs.includes('*')) return (root, pred) => someValue(root, segs, 0, pred);
  // A plain walk down the keys; where an array turns up, someValue takes over at the same step and depth.
  return (root, pred) => {
    let v = root;
    for (let i = 0; i < n; i++) {
      if (v === null || v === undefined || typeof v !== 'object') return false;
      if (Array.isArray(v)) return someValue(v, segs, i, pred, i);
      const seg = segs[i] as string;
      if (!Object.prototype.hasOwnProperty.call(v, seg)) return false;
      v = (v as Record<string, unknown>)[seg];
    }
    if (v === null || v === undefined) return false;
    if (Array.isArray(v)) return someValue(v, segs, n, pred, n);
    return pred(v as FieldValue);
  };
}

/**
 * What readPath gives when the path meets an array before its end: the caller walks it the general way. An
 * object, so that one `typeof v === 'object'` test sends arrays, objects and this to the general walk.
 */
const ON_ARRAY: object = Object.freeze({});

/**
 * A path readPath may follow: no `*`, not deeper than someValue goes. `checked` when a key is also a name on
 * Object.prototype (`constructor`): those need the own-property test, any other key reads as absent when it is.
 */
interface PlainPath {
  segs: readonly string[];
  checked: boolean;
  /**
   * A path of one or two unchecked keys (`fields.x`, `src.zone`, `from_client`: nearly every condition and
   * threshold key): its length and keys, for readPath's unrolled read. 0 for any other path.
   */
  short: 0 | 1 | 2;
  first: string;
  second: string;
  /** SUBJECT_KEYS / ENDPOINT_KEYS index of `first` / `second` (-1: another key), for readKey's named reads. */
  firstAt: number;
  secondAt: number;
}

/**
 * The keys of a subject and of its endpoints, in readKey's order. Read by name, each read sees one shape (the
 * engine builds every subject and endpoint alike); read by a key in a variable, every rule's read shares one
 * cache of all the shapes every rule reads.
 */
const SUBJECT_KEYS = [
  'fields',
  'src',
  'dst',
  'from_client',
  'crosses_zone',
  'connect',
  'flow',
  'proto',
  'type',
];
const ENDPOINT_KEYS = ['zone', 'ip', 'port', 'asset_role', 'asset', 'mac', 'vendor'];

/** o[key], by name for the keys of SUBJECT_KEYS (`at` its index) or, with `endpoint`, ENDPOINT_KEYS. */
function readKey(o: object, key: string, at: number, endpoint: boolean): unknown {
  const r = o as Record<string, unknown>;
  if (endpoint) {
    switch (at) {
      case 0:
        return r.zone;
      case 1:
        return r.ip;
      case 2:
        return r.port;
      case 3:
        return r.asset_role;
      case 4:
        return r.asset;
      case 5:
        return r.mac;
      case 6:
        return r.vendor;
      default:
        return r[key];
    }
  }
  switch (at) {
    case 0:
      return r.fields;
    case 1:
      return r.src;
    case 2:
      return r.dst;
    case 3:
      return r.from_client;
    case 4:
      return r.crosses_zone;
    case 5:
      return r.connect;
    case 6:
      return r.flow;
    case 7:
      return r.proto;
    case 8:
      return r.type;
    default:
      return r[key];
  }
}

function plainPath(segs: readonly string[]): PlainPath | null {
  if (segs.length > 16 || segs.includes('*')) return null;
  const checked = segs.some((seg) => seg in Object.prototype);
  const short = checked ? 0 : segs.length === 1 ? 1 : segs.length === 2 ? 2 : 0;
  const first = segs[0] ?? '';
  const second = segs[1] ?? '';
  const endpoint = first === 'src' || first === 'dst';
  return {
    segs,
    checked,
    short,
    first,
    second,
    firstAt: SUBJECT_KEYS.indexOf(first),
    secondAt: endpoint ? ENDPOINT_KEYS.indexOf(second) : -1,
  };
}

/**
 * The value at a plain path through plain objects (rules read subjects and JSON event fields): undefined when
 * a key is absent or a step is no object, ON_ARRAY when an array lies on the way. A leaf array or object is
 * returned as is. The common case of every condition and threshold key, without closures or hasOwnProperty.
 */
function readPath(root: unknown, p: PlainPath): unknown {
  if (p.short !== 0) {
    // The loop below, unrolled: no per-step key or flag reads.
    if (typeof root !== 'object' || root === null) return undefined;
    if (Array.isArray(root)) return ON_ARRAY;
    const v = readKey(root, p.first, p.firstAt, false);
    if (p.short === 1) return v;
    if (typeof v !== 'object' || v === null) return undefined;
    if (Array.isArray(v)) return ON_ARRAY;
    return readKey(v, p.second, p.secondAt, true);
  }
  const segs = p.segs;
  let v = root;
  for (let i = 0; i < segs.length; i++) {
    if (typeof v !== 'object' || v === null) return undefined;
    if (Array.isArray(v)) return ON_ARRAY;
    const seg = segs[i] as string;
    if (p.checked && !Object.prototype.hasOwnProperty.call(v, seg)) return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  return v;
}

/** firstValue for one path, compiled: a scalar on a plain path is read directly (thresholds key every hit on it). */
export function firstValueOf(segs: readonly string[]): (root: unknown) => FieldValue | undefined {
  const p = plainPath(segs);
  if (p === null) return (root) => firstValue(root, segs);
  return (root) => {
    const v = readPath(root, p);
    if (v === undefined || v === null) return undefined;
    // Arrays (first element), objects and ON_ARRAY: the general walk.
    if (typeof v === 'object') return firstValue(root, segs);
    return v as FieldValue;
  };
}

/** A string as keyOf compares it. */
function textKey(v: string): string {
  return v.length > MAX_TEXT ? v.slice(0, MAX_TEXT) : v;
}

/** The number whose String() is `text`, if any: keyOf(n) === text exactly when n is it (0 and -0 both "0"). */
function numberKeyed(text: string): number | null {
  const n = Number(text);
  return String(n) === text ? n : null;
}

/** keyOf(v) === want, without making the text of a number or boolean (`num`: numberKeyed(want)). */
function equalsValue(v: FieldValue, want: string, num: number | null): boolean {
  if (typeof v === 'string') return textKey(v) === want;
  if (typeof v === 'number') return num !== null && (v === num || (v !== v && num !== num));
  if (typeof v === 'boolean') return (v ? 'true' : 'false') === want;
  return false;
}

/** keyOf(v) is in `set`, without making the text of a number or boolean (`nums`: numbersOf(set)). */
function inValue(v: FieldValue, set: ReadonlySet<string>, nums: ReadonlySet<number>): boolean {
  if (typeof v === 'string') return set.has(textKey(v));
  if (typeof v === 'number') return nums.has(v);
  if (typeof v === 'boolean') return set.has(v ? 'true' : 'false');
  return false;
}

/** The numbers whose String() is in `set`: Set.has compares them as SameValueZero, -0 finds 0 (both "0"), NaN finds NaN. */
function numbersOf(set: ReadonlySet<string>): ReadonlySet<number> {
  const nums = new Set<number>();
  for (const x of set) {
    const n = numberKeyed(x);
    if (n !== null) nums.add(n);
  }
  return nums;
}

/** keyOf(v) matches the anchored expression. */
function matchesValue(v: FieldValue, re: RegExp): boolean {
  const k = keyOf(v);
  return k !== null && re.test(k);
}

/** One glob per operand value, as one anchored alternation (a list such as mqtt-command-topics has six); null: none. */
function globsRegExp(globs: readonly string[]): RegExp | null {
  return globs.length === 0 ? null : new RegExp(`^(?:${globs.map(globSource).join('|')})$`, 's');
}

const ANY = (): boolean => true;

function step(v: unknown, seg: string, out: unknown[]): void {
  if (v === null || typeof v !== 'object') return;
  if (seg === '*') {
    for (const x of Array.isArray(v) ? v : Object.values(v)) out.push(x);
    return;
  }
  if (Object.prototype.hasOwnProperty.call(v, seg)) out.push((v as Record<string, unknown>)[seg]);
}

/** Loose equality so that `reason: 3` matches "3" and `retain: true` matches true. */
export function keyOf(v: unknown): string | null {
  if (typeof v === 'string') return v.length > MAX_TEXT ? v.slice(0, MAX_TEXT) : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

function numberOf(v: FieldValue): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
}

/** A glob as regular-expression source, without anchors. */
function globSource(glob: string): string {
  let src = '';
  for (const ch of glob) {
    if (ch === '*') src += '.*';
    else if (ch === '?') src += '.';
    else src += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return src;
}

export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${globSource(glob)}$`, 's');
}

function operandValues(o: Operand, ctx: MatchContext): string[] {
  return o.kind === 'list' ? [...ctx.list(o.list)] : o.values.map((v: Scalar) => String(v));
}

function compileOp(op: Op, ctx: MatchContext): (v: FieldValue) => boolean {
  switch (op.op) {
    case 'equals': {
      const want = String(op.value);
      const num = numberKeyed(want);
      return (v) => equalsValue(v, want, num);
    }
    case 'in':
    case 'not_in': {
      // not_in is compiled as the negation of in (over all values) by the caller.
      const set = new Set(operandValues(op.operand, ctx));
      const nums = numbersOf(set);
      return (v) => inValue(v, set, nums);
    }
    case 'glob': {
      const re = globsRegExp(operandValues(op.operand, ctx));
      if (re === null) return () => false;
      return (v) => matchesValue(v, re);
    }
    case 'regex': {
      const re = new RegExp(op.source);
      return (v) => {
        const k = keyOf(v);
        return k !== null && re.test(k);
      };
    }
    case 'cidr': {
      const cidrs = operandValues(op.operand, ctx)
        .map(parseCidr)
        .filter((c): c is Cidr => c !== null);
      return (v) => {
        const b = typeof v === 'string' ? parseIp(v) : null;
        return b !== null && cidrs.some((c) => cidrContains(c, b));
      };
    }
    case 'zone': {
      const zones = new Set(operandValues(op.operand, ctx));
      return (v) => typeof v === 'string' && zones.has(ctx.zoneOf(v));
    }
    case 'lt':
    case 'gt':
    case 'gte':
    case 'lte': {
      const want = op.value;
      const cmp = {
        lt: (a: number) => a < want,
        gt: (a: number) => a > want,
        gte: (a: number) => a >= want,
        lte: (a: number) => a <= want,
      }[op.op];
      return (v) => {
        const n = numberOf(v);
        return n !== null && cmp(n);
      };
    }
    case 'exists':
    case 'known_to':
    case 'unknown_to':
      // known_to / unknown_to need the subject and are compiled in compileMatch.
      return () => true;
    case 'some': {
      // The element itself is the root of the nested match's paths.
      const inner = compileMatch(op.match, ctx);
      return (v) =>
        v !== null && typeof v === 'object' && !Array.isArray(v) && inner(v as unknown as Subject);
    }
  }
}

/** Every predicate holds, asked in order; two and three (most rules after the indexed proto and type) unrolled. */
function allOf(ps: Predicate[]): Predicate {
  const [a, b, c] = ps as [Predicate, Predicate, Predicate];
  if (ps.length === 1) return a;
  if (ps.length === 2) return (s) => a(s) && b(s);
  if (ps.length === 3) return (s) => a(s) && b(s) && c(s);
  return (s) => {
    for (let i = 0; i < ps.length; i++) if (!(ps[i] as Predicate)(s)) return false;
    return true;
  };
}

/** Some predicate holds, asked in order; two and three unrolled. */
function anyOf(ps: Predicate[]): Predicate {
  const [a, b, c] = ps as [Predicate, Predicate, Predicate];
  if (ps.length === 1) return a;
  if (ps.length === 2) return (s) => a(s) || b(s);
  if (ps.length === 3) return (s) => a(s) || b(s) || c(s);
  return (s) => {
    for (let i = 0; i < ps.length; i++) if ((ps[i] as Predicate)(s)) return true;
    return false;
  };
}

/**
 * The field condition of one operator on a plain path, for the operators most rules use (equals, in, glob):
 * the test is called directly instead of through the operator's closure (one call site for every rule's
 * condition). A scalar is tested; absent gives `absent`, an array or object `walk`. Null for other operators.
 */
function scalarCondition(
  op: Op,
  ctx: MatchContext,
  plain: PlainPath,
  absent: boolean,
  walk: Predicate,
): Predicate | null {
  switch (op.op) {
    case 'equals': {
      const want = String(op.value);
      const num = numberKeyed(want);
      return (s) => {
        const v = readPath(s, plain);
        if (v === undefined || v === null) return absent;
        return typeof v === 'object' ? walk(s) : equalsValue(v as FieldValue, want, num);
      };
    }
    case 'in': {
      const set = new Set(operandValues(op.operand, ctx));
      const nums = numbersOf(set);
      return (s) => {
        const v = readPath(s, plain);
        if (v === undefined || v === null) return absent;
        return typeof v === 'object' ? walk(s) : inValue(v as FieldValue, set, nums);
      };
    }
    case 'glob': {
      const re = globsRegExp(operandValues(op.operand, ctx));
      if (re === null) return null;
      return (s) => {
        const v = readPath(s, plain);
        if (v === undefined || v === null) return absent;
        return typeof v === 'object' ? walk(s) : matchesValue(v as FieldValue, re);
      };
    }
    default:
      return null;
  }
}

/**
 * A field condition holds when one value satisfies every operator at once; `exists: false` holds
 * when there is no value, and `not_in` holds when no value is in the set (so also when absent).
 */
export function compileMatch(node: MatchNode, ctx: MatchContext): Predicate {
  switch (node.kind) {
    case 'all':
      return allOf(node.items.map((i) => compileMatch(i, ctx)));
    case 'any':
      return anyOf(node.items.map((i) => compileMatch(i, ctx)));
    case 'not': {
      const p = compileMatch(node.item, ctx);
      return (s) => !p(s);
    }
    case 'field': {
      const at = pathTester(node.segs);
      let existsWanted: boolean | null = null;
      const notIn: ((v: FieldValue) => boolean)[] = [];
      const positive: ((v: FieldValue) => boolean)[] = [];
      const positiveOps: Op[] = [];
      const knowledge: { sources: readonly KnowledgeSource[]; list: string | null; want: boolean }[] = [];
      for (const op of node.ops) {
        if (op.op === 'exists') existsWanted = op.value;
        else if (op.op === 'not_in') notIn.push(compileOp(op, ctx));
        else if (op.op === 'known_to' || op.op === 'unknown_to')
          knowledge.push({ sources: op.sources, list: op.list, want: op.op === 'known_to' });
        else {
          positive.push(compileOp(op, ctx));
          positiveOps.push(op);
        }
      }
      const path = node.path;
      const known = ctx.known;
      // known_to holds when some value is known; unknown_to when none is (like not_in, also when absent).
      const knowledgeHolds = (s: Subject): boolean => {
        for (const k of knowledge) {
          const some = known
            ? at(s, (v) => {
                const key = keyOf(v);
                return key !== null && known(path, k.sources, k.list, s, key);
              })
            : false;
          if (some !== k.want) return false;
        }
        return true;
      };
      const all =
        positive.length === 1
          ? (positive[0] as (v: FieldValue) => boolean)
          : (v: FieldValue): boolean => positive.every((f) => f(v));
      const walk = (s: Subject): boolean => {
        if (existsWanted === false) return !at(s, ANY);
        if (existsWanted === true && !at(s, ANY)) return false;
        for (const f of notIn) if (at(s, f)) return false;
        if (knowledge.length > 0 && !knowledgeHolds(s)) return false;
        if (positive.length === 0) return true;
        return at(s, all);
      };
      const plain = plainPath(node.segs);
      if (plain === null) return walk;
      // What walk gives when the path holds no value: every test on values fails.
      const absent =
        existsWanted !== null ? !existsWanted : positive.length === 0 && !knowledge.some((k) => k.want);
      if (knowledge.length > 0)
        return (s) => {
          const v = readPath(s, plain);
          return v === undefined || v === null ? absent : walk(s);
        };
      // One scalar value: each test is asked once, about it. Arrays and objects take the walk.
      if (existsWanted !== false && notIn.length === 0 && positive.length === 1) {
        const direct = scalarCondition(positiveOps[0] as Op, ctx, plain, absent, walk);
        if (direct !== null) return direct;
        const only = positive[0] as (v: FieldValue) => boolean;
        return (s) => {
          const v = readPath(s, plain);
          if (v === undefined || v === null) return absent;
          return typeof v === 'object' ? walk(s) : only(v as FieldValue);
        };
      }
      return (s) => {
        const v = readPath(s, plain);
        if (v === undefined || v === null) return absent;
        if (typeof v === 'object') return walk(s);
        if (existsWanted === false) return false;
        for (const f of notIn) if (f(v as FieldValue)) return false;
        return positive.length === 0 || all(v as FieldValue);
      };
    }
  }
}
