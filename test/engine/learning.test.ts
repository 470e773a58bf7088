// Learning mode (issue 9): a device the approved baseline does not know learns for a while before it is enforced.
import { describe, expect, it } from 'vitest';
import { Engine } from '../../agent/engine/engine.js';
import type { Finding } from '../../agent/wire/finding.js';
import { ev, rulesFrom, SEC, T0 } from './helpers.js';

const rules = rulesFrom(`rules:
  - id: t.medium
    title: Medium
    severity: medium
    description: test
    match: { proto: mqtt, type: subscribe }
  - id: t.high
    title: High
    severity: high
    description: test
    match: { proto: mqtt, type: connect }
`);
const DAY = 86_400 * SEC;

function engine(learningMicros: number): { e: Engine; out: Finding[] } {
  const out: Finding[] = [];
  const e = new Engine({ site: null, rules, baseline: null, agentId: 'a', learningMicros }, (f) =>
    out.push(f),
  );
  return { e, out };
}

describe('learning mode', () => {
  it('holds back rules below high while the device learns, then enforces them', () => {
    const { e, out } = engine(7 * DAY);
    e.onEvent(ev('mqtt', 'subscribe', {}, { ts: T0 }));
    e.onEvent(ev('mqtt', 'connect', {}, { ts: T0 + SEC }));
    expect(out.map((f) => f.rule)).toEqual(['t.high']);
    expect(e.stats.learning).toBe(1);
    const learning = e.devices().find((d) => d.ips.includes('10.20.30.17'));
    expect([learning?.baseline_state, learning?.baseline_since]).toEqual([
      'learning',
      '2026-11-28T10:00:00.000000Z',
    ]);
    e.onEvent(ev('mqtt', 'subscribe', {}, { ts: T0 + 8 * DAY }));
    expect(out.map((f) => f.rule)).toEqual(['t.high', 't.medium']);
    const enforced = e.devices().find((d) => d.ips.includes('10.20.30.17'));
    expect([enforced?.baseline_state, enforced?.baseline_since]).toEqual([
      'enforced',
      '2026-12-05T10:00:00.000000Z',
    ]);
  });

  it('is off by default (replay reports everything)', () => {
    const { e, out } = engine(0);
    e.onEvent(ev('mqtt', 'subscribe', {}, { ts: T0 }));
    expect(out.map((f) => f.rule)).toEqual(['t.medium']);
    expect(e.devices()[0]?.baseline_state).toBeUndefined();
  });
});
