// FindingReporter.hit (sink admission before the occurrence is built) against the reporter it replaced
// (test/engine/reference/reporter.ts, which builds every occurrence for FindingSink.report): the same findings, in
// the same order, and the same counters and sink stats, for any stream of subjects through a set of rules that
// folds, rate-limits, suppresses, learns, swaps Internet sides and crosses thresholds.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FindingSink } from '../../agent/engine/findings/findings.js';
import { FindingReporter, type ReporterCounters } from '../../agent/engine/findings/reporter.js';
import type { Subject, SubjectEndpoint } from '../../agent/engine/rules/match.js';
import { RuleBook } from '../../agent/engine/rules/rulebook.js';
import { parseRuleTexts } from '../../agent/engine/rules/rules.js';
import { EndpointResolver } from '../../agent/engine/site/endpoints.js';
import { SiteIndex } from '../../agent/engine/site/site.js';
import type { Finding } from '../../agent/wire/finding.js';
import { FindingReporter as ReferenceReporter } from './reference/reporter.js';

const RULES = `
rules:
  - id: t.alert
    title: command topic
    description: test rule
    remediation: none
    severity: high
    match: { proto: mqtt, type: publish, fields.topic: { glob: 'cmd/*' } }
    rate_limit: { count: 2, per: 20s }
    dedup: 5s
  - id: t.exposure
    title: retained
    description: test rule
    remediation: none
    severity: medium
    class: exposure
    match: { proto: mqtt, type: publish, fields.retain: true }
    suppress:
      - { ip: 10.0.0.3/32, reason: bench }
  - id: t.burst
    title: burst
    description: test rule
    remediation: none
    severity: medium
    match: { proto: mqtt, type: publish }
    threshold: { count: 3, window: 10s, by: [src.ip] }
    rate_limit: { count: 3, per: 30s }
    dedup: 8s
  - id: t.pair
    title: pair
    description: test rule
    remediation: none
    severity: low
    device: dst
    match: { proto: mqtt, type: publish }
    threshold: { count: 2, window: 10s, by: [dst.ip, src.ip], distinct: fields.topic }
  - id: t.dst
    title: to the Internet
    description: test rule
    remediation: none
    severity: low
    device: dst
    match: { proto: mqtt, type: publish, fields.payload_size: { gt: 5 } }
    dedup: 3s
`;

const ENDPOINTS: SubjectEndpoint[] = [
  { ip: '10.0.0.1', port: 1883, mac: 'aa:00:00:00:00:01', zone: 'internal' },
  { ip: '10.0.0.2', port: 40000, mac: undefined, zone: 'internal' },
  { ip: '10.0.0.3', port: 40001, mac: '', zone: 'internal' },
  { ip: '203.0.113.9', port: 8883, mac: undefined, zone: 'internet' },
  { ip: '198.51.100.7', port: 1883, mac: 'aa:00:00:00:00:07', zone: 'internet' },
];

const step = fc.record({
  dt: fc.integer({ min: 0, max: 4_000_000 }),
  src: fc.integer({ min: 0, max: ENDPOINTS.length - 1 }),
  dst: fc.integer({ min: 0, max: ENDPOINTS.length - 1 }),
  topic: fc.constantFrom('cmd/a', 'cmd/b', 'tele/x', 'tele/y'),
  retain: fc.boolean(),
  size: fc.integer({ min: 0, max: 9 }),
  flow: fc.option(fc.constantFrom('f1', 'f2', 'f3'), { nil: undefined }),
  fromClient: fc.option(fc.boolean(), { nil: undefined }),
  proto: fc.constantFrom('mqtt', 'mqtt', 'mqtt', 'flow'),
});

interface Run {
  findings: Finding[];
  counters: ReporterCounters;
  sink: FindingSink;
}

function run(): Run & { book: RuleBook; ctx: ConstructorParameters<typeof FindingReporter>[3] } {
  const { set, errors } = parseRuleTexts([{ file: 'test.yaml', text: RULES }]);
  expect(errors).toEqual([]);
  const findings: Finding[] = [];
  const sink = new FindingSink('agent', (f) => findings.push(f));
  const counters = { ruleHits: 0, suppressed: 0, learning: 0, deviations: 0 };
  const book = new RuleBook(set, new SiteIndex(null), 4, [], null);
  const ctx = {
    // Deterministic: one host learns, one flow has no Community ID.
    isLearning: (e: { ip: string }): boolean => e.ip === '10.0.0.2',
    communityIdOf: (flow: string): string | undefined => (flow === 'f3' ? undefined : `1:${flow}`),
  };
  return { findings, counters, sink, book, ctx };
}

describe('FindingReporter against the reference', () => {
  it('reports, counts and folds as the reference does', () => {
    const endpoints = new EndpointResolver(new SiteIndex(null));
    fc.assert(
      fc.property(fc.array(step, { maxLength: 300, size: 'max' }), (steps) => {
        const a = run();
        const b = run();
        const reporter = new FindingReporter(a.sink, endpoints, [], a.ctx, a.counters);
        const reference = new ReferenceReporter(b.sink, endpoints, [], b.ctx, b.counters);
        let ts = 1_000_000_000_000;
        for (const st of steps) {
          ts += st.dt;
          const s: Subject = {
            proto: st.proto,
            type: st.proto === 'flow' ? 'start' : 'publish',
            ts,
            flow: st.flow,
            src: ENDPOINTS[st.src] as SubjectEndpoint,
            dst: ENDPOINTS[st.dst] as SubjectEndpoint,
            fields: { topic: st.topic, retain: st.retain, payload_size: st.size },
            connect: undefined,
            crosses_zone: false,
            from_client: st.fromClient,
            findingProto: 'mqtt',
          };
          // Both books offer every rule (the index would drop the flow subjects): each rule is asked directly.
          for (const c of a.book.compiled) if (c.pred(s)) reporter.hit(c, s);
          for (const c of b.book.compiled) reference.rule(c, s);
        }
        a.sink.flush();
        b.sink.flush();
        expect(a.findings).toEqual(b.findings);
        expect(a.counters).toEqual(b.counters);
        expect(a.sink.stats).toEqual(b.sink.stats);
      }),
      { seed: 1212, numRuns: 200 },
    );
  });

  it('reaches every branch it compares (the stream is not trivially quiet)', () => {
    // One fixed stream: a burst from one client to an Internet broker, with repeats and a learning host.
    const a = run();
    const reporter = new FindingReporter(
      a.sink,
      new EndpointResolver(new SiteIndex(null)),
      [],
      a.ctx,
      a.counters,
    );
    let ts = 1_000_000_000_000;
    for (let i = 0; i < 40; i++) {
      ts += 200_000;
      const s: Subject = {
        proto: 'mqtt',
        type: 'publish',
        ts,
        flow: 'f1',
        src: ENDPOINTS[i % 3] as SubjectEndpoint,
        dst: ENDPOINTS[3] as SubjectEndpoint,
        fields: { topic: i % 2 ? 'cmd/a' : 'tele/x', retain: true, payload_size: 7 },
        connect: undefined,
        crosses_zone: true,
        from_client: true,
        findingProto: 'mqtt',
      };
      for (const c of a.book.compiled) if (c.pred(s)) reporter.hit(c, s);
    }
    a.sink.flush();
    expect(a.sink.stats.folded).toBeGreaterThan(0);
    expect(a.sink.stats.rateLimited).toBeGreaterThan(0);
    expect(a.counters.suppressed).toBeGreaterThan(0);
    expect(a.counters.learning).toBeGreaterThan(0);
    const rules = new Set(a.findings.map((f) => f.rule));
    expect([...rules].sort()).toEqual(['t.alert', 't.burst', 't.dst', 't.exposure', 't.pair']);
    expect(a.findings.some((f) => f.community_id === '1:f1')).toBe(true);
  });
});
