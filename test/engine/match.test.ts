// Every operator of the rule language, field paths over arrays and objects, combinators, site lists and zones.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compileMatch,
  firstValue,
  getValues,
  globToRegExp,
  keyOf,
  someValue,
  type Subject,
} from '../../agent/engine/rules/match.js';
import { ev, oneRule, run, siteFrom } from './helpers.js';
import type { EventFields, FieldValue } from '../../agent/protocols/types.js';
import type { MatchNode } from '../../agent/engine/rules/rule-schema.js';

type MatchOp = Extract<MatchNode, { kind: 'field' }>['ops'][number];

/** Does a one-rule set fire on one mqtt publish event with these fields? */
function fires(
  match: string,
  fields: EventFields,
  opts: { src?: string; dst?: string; site?: string; dicom?: boolean } = {},
): boolean {
  // Rules name only real fields (rule-vocabulary.ts): DICOM's query_keys are the richest shape to walk.
  const [proto, type] = opts.dicom ? (['dicom', 'dimse'] as const) : (['mqtt', 'publish'] as const);
  const rules = oneRule(`      proto: ${proto}\n${match}`);
  const site = opts.site ? siteFrom(opts.site) : null;
  const e = ev(proto, type, fields, {
    ...(opts.src ? { src: opts.src } : {}),
    ...(opts.dst ? { dst: opts.dst } : {}),
  });
  return run(rules, [e], { site }).findings.length > 0;
}

const DICOM = { dicom: true };

describe('rule index', () => {
  it('a type condition without a proto condition still filters (such rules meet every event)', () => {
    const e = ev('mqtt', 'publish', {});
    expect(run(oneRule('      type: start'), [e]).findings).toHaveLength(0);
    expect(run(oneRule('      type: publish'), [e]).findings).toHaveLength(1);
    expect(
      run(oneRule('      proto: mqtt\n      type: { in: [connect, publish] }'), [e]).findings,
    ).toHaveLength(1);
    expect(run(oneRule('      proto: { in: [hl7, dicom] }'), [e]).findings).toHaveLength(0);
  });
});

describe('operators', () => {
  it('equals (scalar shorthand and explicit), loose between numbers, strings and booleans', () => {
    expect(fires('      fields.topic: a/b', { topic: 'a/b' })).toBe(true);
    expect(fires('      fields.topic: a/b', { topic: 'a/c' })).toBe(false);
    expect(fires('      fields.qos: { equals: 1 }', { qos: 1 })).toBe(true);
    expect(fires("      fields.qos: { equals: '1' }", { qos: 1 })).toBe(true);
    expect(fires('      fields.retain: true', { retain: true })).toBe(true);
    expect(fires('      fields.retain: true', { retain: false })).toBe(false);
    expect(fires('      fields.retain: true', {})).toBe(false);
  });

  it('in (list shorthand, explicit, named list) and not_in (also true when absent)', () => {
    expect(fires('      fields.qos: [1, 2]', { qos: 2 })).toBe(true);
    expect(fires('      fields.qos: { in: [1, 2] }', { qos: 0 })).toBe(false);
    expect(fires('      fields.topic: { in: { list: tl } }', { topic: 'b' })).toBe(true);
    expect(fires('      fields.topic: { in: { list: tl } }', { topic: 'c' })).toBe(false);
    expect(fires('      fields.topic: { not_in: { list: tl } }', { topic: 'c' })).toBe(true);
    expect(fires('      fields.topic: { not_in: { list: tl } }', { topic: 'a' })).toBe(false);
    expect(fires('      fields.topic: { not_in: [a] }', {})).toBe(true);
    // not_in over an array: no element may be in the set.
    expect(fires('      fields.return_codes: { not_in: [128] }', { return_codes: [0, 128] })).toBe(false);
  });

  it('glob (literal, list) with * spanning slashes and ? one character', () => {
    expect(fires("      fields.topic: { glob: '*/cmd/*' }", { topic: 'ward3/pump/7/cmd/rate' })).toBe(true);
    expect(fires("      fields.topic: { glob: '*/cmd/*' }", { topic: 'ward3/pump/7/telemetry' })).toBe(false);
    expect(fires('      fields.topic: { glob: { list: globs } }', { topic: 'x/cmd/y' })).toBe(true);
    expect(fires("      fields.topic: { glob: 'ab?' }", { topic: 'abc' })).toBe(true);
    expect(fires("      fields.topic: { glob: 'ab?' }", { topic: 'abcd' })).toBe(false);
    expect(fires("      fields.topic: { glob: 'a.b' }", { topic: 'axb' })).toBe(false);
  });

  it('regex', () => {
    expect(
      fires("      fields.topic_filters.filter: { regex: '^(\\+/)*#$' }", {
        topic_filters: [{ filter: 'a/b' }, { filter: '+/#' }],
      }),
    ).toBe(true);
    expect(
      fires("      fields.topic_filters.filter: { regex: '^(\\+/)*#$' }", {
        topic_filters: [{ filter: 'a/#' }],
      }),
    ).toBe(false);
  });

  it('exists true and false', () => {
    expect(fires('      fields.username: { exists: true }', { username: 'u' })).toBe(true);
    expect(fires('      fields.username: { exists: true }', {})).toBe(false);
    expect(fires('      fields.username: { exists: false }', {})).toBe(true);
    expect(fires('      fields.username: { exists: false }', { username: null })).toBe(true);
    expect(fires('      fields.username: { exists: false }', { username: 'u' })).toBe(false);
  });

  it('lt, gt, gte, lte on numbers and numeric strings; one value must satisfy all operators', () => {
    expect(fires('      fields.payload_size: { gt: 100 }', { payload_size: 101 })).toBe(true);
    expect(fires('      fields.payload_size: { gt: 100 }', { payload_size: 100 })).toBe(false);
    expect(fires('      fields.payload_size: { gte: 100 }', { payload_size: 100 })).toBe(true);
    expect(fires('      fields.payload_size: { lt: 10 }', { payload_size: '9' })).toBe(true);
    expect(fires('      fields.payload_size: { lte: 10 }', { payload_size: 11 })).toBe(false);
    expect(fires('      fields.payload_size: { gt: 10 }', { payload_size: 'big' })).toBe(false);
    expect(fires('      fields.return_codes: { gt: 10, lt: 20 }', { return_codes: [5, 25] })).toBe(false);
    expect(fires('      fields.return_codes: { gt: 10, lt: 20 }', { return_codes: [5, 15] })).toBe(true);
  });

  it('cidr (IPv4 and IPv6, literal and named list)', () => {
    expect(fires('      src.ip: { cidr: 10.20.30.0/24 }', {}, { src: '10.20.30.99' })).toBe(true);
    expect(fires('      src.ip: { cidr: 10.20.30.0/24 }', {}, { src: '10.20.31.1' })).toBe(false);
    expect(fires('      src.ip: { cidr: { list: nets } }', {}, { src: '10.20.99.1' })).toBe(true);
    expect(fires("      src.ip: { cidr: 'fd00::/8' }", {}, { src: 'fd12::1' })).toBe(true);
    expect(fires("      src.ip: { cidr: 'fd00::/8' }", {}, { src: '10.0.0.1' })).toBe(false);
  });

  it('zone operator on an address and the src.zone / dst.zone fields', () => {
    const site = 'zones:\n  imaging: [10.20.40.0/24]\n';
    expect(fires('      dst.ip: { zone: imaging }', {}, { dst: '10.20.40.10', site })).toBe(true);
    expect(fires('      dst.ip: { zone: { list: zs } }', {}, { dst: '10.20.40.10', site })).toBe(true);
    expect(fires('      dst.zone: imaging', {}, { dst: '10.20.41.10', site })).toBe(false);
    expect(fires('      dst.zone: unknown-internal', {}, { dst: '10.20.41.10', site })).toBe(true);
    expect(fires('      dst.zone: internet', {}, { dst: '8.8.8.8' })).toBe(true);
    expect(fires('      crosses_zone: true', {}, { src: '10.20.40.1', dst: '8.8.8.8' })).toBe(true);
  });

  it('asset and roles from the site file; site lists replace rule defaults', () => {
    const site = 'assets:\n  broker:\n    ip: [10.20.60.2]\n    roles: [mqtt-broker]\nlists:\n  tl: [z]\n';
    expect(fires('      dst.asset_role: mqtt-broker', {}, { site })).toBe(true);
    expect(fires('      dst.asset: broker', {}, { site })).toBe(true);
    expect(fires('      src.asset: { exists: false }', {}, { site })).toBe(true);
    expect(fires('      fields.topic: { in: { list: tl } }', { topic: 'a' }, { site })).toBe(false);
    expect(fires('      fields.topic: { in: { list: tl } }', { topic: 'z' }, { site })).toBe(true);
  });

  it('any, all and not combinators', () => {
    const m = '      any:\n        - fields.return_code: 0\n        - fields.reason_code: 0\n';
    expect(fires(m, { reason_code: 0 })).toBe(true);
    expect(fires(m, { return_code: 5 })).toBe(false);
    const n = "      not:\n        fields.topic: { glob: 'ACK*' }\n";
    expect(fires(n, { topic: 'ACK^A01' })).toBe(false);
    expect(fires(n, { topic: 'ORU^R01' })).toBe(true);
    const a = '      all:\n        - fields.qos: 1\n        - fields.packet_id: 2\n';
    expect(fires(a, { qos: 1, packet_id: 2 })).toBe(true);
    expect(fires(a, { qos: 1, packet_id: 3 })).toBe(false);
  });

  it('some: one element must satisfy the nested match (paths relative to the element)', () => {
    const m = '      fields.query_keys:\n        some: { key: [PatientName, PatientID], wildcard: true }\n';
    expect(
      fires(
        m,
        {
          query_keys: [
            { key: 'PatientID', wildcard: false },
            { key: 'StudyInstanceUID', wildcard: true },
          ],
        },
        DICOM,
      ),
    ).toBe(false);
    expect(
      fires(
        m,
        {
          query_keys: [
            { key: 'StudyInstanceUID', wildcard: true },
            { key: 'PatientName', wildcard: true },
          ],
        },
        DICOM,
      ),
    ).toBe(true);
    expect(fires(m, { query_keys: 'PatientName' }, DICOM)).toBe(false);
    expect(fires(m, {}, DICOM)).toBe(false);
  });

  it('from_client tells the connected client from the broker delivering to it', () => {
    const rules = oneRule('      proto: mqtt\n      type: publish\n      from_client: true');
    const connect = ev(
      'mqtt',
      'connect',
      { client_id: 'c' },
      { src: '10.0.0.5', sport: 4000, dst: '10.0.0.1', dport: 1883, flow: 'x' },
    );
    const up = ev(
      'mqtt',
      'publish',
      {},
      { src: '10.0.0.5', sport: 4000, dst: '10.0.0.1', dport: 1883, flow: 'x' },
    );
    const down = ev(
      'mqtt',
      'publish',
      {},
      { src: '10.0.0.1', sport: 1883, dst: '10.0.0.5', dport: 4000, flow: 'x' },
    );
    expect(run(rules, [connect, down]).findings).toHaveLength(0);
    expect(run(rules, [connect, up]).findings).toHaveLength(1);
    // Unknown direction (no CONNECT or flow start seen): from_client is absent, so `true` does not hold.
    expect(run(rules, [up]).findings).toHaveLength(0);
  });

  it('* in a path takes every key of an object or element of an array', () => {
    expect(
      fires(
        '      fields.query_keys.*.wildcard: true',
        { query_keys: { PatientName: { wildcard: true } } },
        DICOM,
      ),
    ).toBe(true);
    expect(
      fires(
        '      fields.query_keys.*.wildcard: true',
        {
          query_keys: [{ key: 'PatientID', wildcard: false }],
        },
        DICOM,
      ),
    ).toBe(false);
  });
});

describe('getValues and globToRegExp', () => {
  it('never throws and returns only defined values on arbitrary JSON', () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.array(fc.constantFrom('a', 'b', '*', '0'), { maxLength: 4 }),
        (v, segs) => {
          const out = getValues({ fields: v }, ['fields', ...segs]);
          expect(out.every((x) => x !== null && x !== undefined)).toBe(true);
        },
      ),
      { seed: 42, numRuns: 200 },
    );
  });
  it('firstValue is the first of getValues, without the arrays', () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.array(fc.constantFrom('a', 'b', '*', '0'), { maxLength: 4 }),
        (v, segs) => {
          const root = { fields: v };
          const path = ['fields', ...segs];
          expect(firstValue(root, path)).toStrictEqual(getValues(root, path)[0]);
        },
      ),
      { seed: 42, numRuns: 500 },
    );
  });
  it('compiled field conditions walk paths as someValue does', () => {
    const ctx = { list: (): string[] => [], zoneOf: (): string => 'internal' };
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.array(fc.constantFrom('a', 'b', '*', '0'), { maxLength: 4 }),
        fc.constantFrom('1', 'x', 'true'),
        (v, tail, want) => {
          const root = { fields: v } as unknown as Subject;
          const segs = ['fields', ...tail];
          const field = (ops: { op: 'exists'; value: boolean }[] | { op: 'equals'; value: string }[]) =>
            compileMatch({ kind: 'field', path: segs.join('.'), segs, ops, line: 1 }, ctx)(root);
          const any = someValue(root, segs, 0, () => true);
          expect(field([{ op: 'exists', value: true }])).toBe(any);
          expect(field([{ op: 'exists', value: false }])).toBe(!any);
          expect(field([{ op: 'equals', value: want }])).toBe(
            someValue(root, segs, 0, (x) => keyOf(x) === want),
          );
        },
      ),
      { seed: 42, numRuns: 500 },
    );
  });
  it('compiled equals, in and not_in read plain paths as someValue with keyOf does', () => {
    // The compiled conditions read plain paths directly and compare numbers and booleans without their text;
    // keys that are also Object.prototype names (constructor, toString) must still read as absent.
    const ctx = { list: (): string[] => [], zoneOf: (): string => 'internal' };
    const key = fc.constantFrom('a', 'b', '0', 'constructor', 'toString', '__proto__', 'length');
    const scalar = fc.oneof(
      fc.constantFrom('1', '1.5', '-0', '0', 'NaN', 'true', 'false', 'x', '', '1e21', 'Infinity'),
      fc.string({ maxLength: 3 }),
    );
    const value = fc.oneof(
      fc.constantFrom(0, -0, 1, 1.5, NaN, Infinity, 1e21, true, false, null, '1', 'true', 'x'),
      fc.jsonValue(),
    );
    const tree = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        value,
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(key, tie('node'), { maxKeys: 3 }),
      ),
    })).node;
    // Half the cases put a value (or an array of them) right at the path, so that the comparisons are exercised.
    const placed = fc.option(fc.oneof(value, fc.array(value, { maxLength: 3 })), { nil: undefined });
    const at = (tail: readonly string[], leaf: unknown): unknown =>
      tail.reduceRight((inner: unknown, k) => ({ [k]: inner }), leaf);
    fc.assert(
      fc.property(
        tree,
        placed,
        fc.array(key, { minLength: 1, maxLength: 3 }),
        fc.array(scalar, { minLength: 1, maxLength: 3 }),
        (t, leaf, tail, wants) => {
          const v = leaf === undefined ? t : at(tail, leaf);
          const root = { fields: v } as unknown as Subject;
          const segs = ['fields', ...tail];
          const field = (ops: MatchOp[]): boolean =>
            compileMatch({ kind: 'field', path: segs.join('.'), segs, ops, line: 1 }, ctx)(root);
          const want = wants[0] as string;
          const set = new Set(wants);
          const some = (f: (x: FieldValue) => boolean): boolean => someValue(root, segs, 0, f);
          const inSet = (x: FieldValue): boolean => {
            const k = keyOf(x);
            return k !== null && set.has(k);
          };
          const operand = { kind: 'values' as const, values: wants };
          expect(field([{ op: 'equals', value: want }])).toBe(some((x) => keyOf(x) === want));
          expect(field([{ op: 'in', operand }])).toBe(some(inSet));
          expect(field([{ op: 'not_in', operand }])).toBe(!some(inSet));
          expect(
            field([
              { op: 'exists', value: true },
              { op: 'in', operand },
            ]),
          ).toBe(some(inSet));
          expect(field([{ op: 'exists', value: false }])).toBe(!some(() => true));
        },
      ),
      { seed: 42, numRuns: 1000 },
    );
  });
  it('compiled conditions read subject and endpoint keys (src.zone, from_client, ...) as someValue does', () => {
    // Paths of one or two keys that name a subject's or an endpoint's own keys are read by name; the roots here
    // give those keys any value (arrays, objects, nothing), as a `some` element or a hostile event could.
    const ctx = { list: (): string[] => [], zoneOf: (): string => 'internal' };
    const key = fc.constantFrom(
      'src',
      'dst',
      'fields',
      'from_client',
      'zone',
      'ip',
      'port',
      'flow',
      'x',
      'constructor',
    );
    const value = fc.constantFrom(0, 1, true, false, null, '1', 'true', 'internet', 'x', 'a1');
    const tree = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        value,
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(key, tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(
      fc.property(
        fc.dictionary(key, tree, { maxKeys: 5 }),
        fc.array(key, { minLength: 1, maxLength: 2 }),
        fc.array(fc.constantFrom('1', 'true', 'internet', 'x', 'a*'), { minLength: 1, maxLength: 2 }),
        (root, segs, wants) => {
          const subject = root as unknown as Subject;
          const field = (ops: MatchOp[]): boolean =>
            compileMatch({ kind: 'field', path: segs.join('.'), segs, ops, line: 1 }, ctx)(subject);
          const some = (f: (x: FieldValue) => boolean): boolean => someValue(subject, segs, 0, f);
          const want = wants[0] as string;
          const set = new Set<string>(wants);
          const operand = { kind: 'values' as const, values: wants };
          const glob = globToRegExp(want);
          expect(field([{ op: 'equals', value: want }])).toBe(some((x) => keyOf(x) === want));
          expect(field([{ op: 'in', operand: { kind: 'values', values: wants } }])).toBe(
            some((x) => set.has(keyOf(x) ?? '\u0000')),
          );
          expect(field([{ op: 'glob', operand: { kind: 'values', values: [want] } }])).toBe(
            some((x) => {
              const k = keyOf(x);
              return k !== null && glob.test(k);
            }),
          );
          expect(field([{ op: 'not_in', operand }])).toBe(!some((x) => set.has(keyOf(x) ?? '\u0000')));
          expect(field([{ op: 'exists', value: true }])).toBe(some(() => true));
        },
      ),
      { seed: 44, numRuns: 1000 },
    );
  });
  it('all and any of any length are every and some of their items, asked in order', () => {
    const ctx = { list: (): string[] => [], zoneOf: (): string => 'internal' };
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 5 }), (bits) => {
        const items: MatchNode[] = bits.map((b, i) => ({
          kind: 'field',
          path: `fields.f${i}`,
          segs: ['fields', `f${i}`],
          ops: [{ op: 'equals', value: b }],
          line: 1,
        }));
        const fields: Record<string, boolean> = {};
        bits.forEach((_, i) => (fields[`f${i}`] = true));
        const s = { fields } as unknown as Subject;
        expect(compileMatch({ kind: 'all', items }, ctx)(s)).toBe(bits.every((b) => b));
        expect(compileMatch({ kind: 'any', items }, ctx)(s)).toBe(bits.some((b) => b));
      }),
      { seed: 45, numRuns: 200 },
    );
  });
  it('globs with regex metacharacters match literally', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (s) => {
        const lit = s.replace(/[*?]/g, '');
        expect(globToRegExp(lit).test(lit)).toBe(true);
      }),
      { seed: 42, numRuns: 200 },
    );
  });
});
