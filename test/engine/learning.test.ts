// Learning mode (issue 9): a device the approved baseline does not know learns for a while before it is enforced.
import { describe, expect, it } from 'vitest';
import { Engine } from '../../agent/engine/engine.js';
import type { Finding } from '../../agent/wire/finding.js';
import type { Baseline } from '../../agent/engine/baselines/baseline-model.js';
import { createBaselineChecker } from '../../agent/engine/baselines/baseline-check.js';
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

describe('learning mode with a baseline', () => {
  const baselineWith = (state: 'learning' | 'enforced', since: string): Baseline => ({
    version: 1,
    learned_from: since,
    learned_to: since,
    devices: [
      {
        state,
        since,
        ip: '10.20.30.17',
        macs: [],
        peers: [],
        volume: {
          hours: 1,
          active_hours: [],
          messages_per_hour: { min: 0, max: 0 },
          bytes_per_hour: { min: 0, max: 0 },
          rejects_per_hour: { min: 0, max: 0 },
          naks_per_hour: { min: 0, max: 0 },
        },
      },
    ],
  });
  const run = (b: Baseline, ts: number): { rules: string[]; state: string | undefined } => {
    const out: Finding[] = [];
    const e = new Engine(
      { site: null, rules, baseline: createBaselineChecker(b), agentId: 'a', learningMicros: 7 * DAY },
      (f) => out.push(f),
    );
    e.onEvent(ev('mqtt', 'subscribe', {}, { ts }));
    return {
      rules: out.map((f) => f.rule),
      state: e.devices().find((d) => d.ips.includes('10.20.30.17'))?.baseline_state,
    };
  };

  it('a device the reviewer set to enforced is enforced at once', () => {
    expect(run(baselineWith('enforced', '2026-11-28T10:00:00Z'), T0)).toEqual({
      rules: ['t.medium'],
      state: 'enforced',
    });
  });

  it('a device still marked learning learns from its since, not from when this agent met it', () => {
    const b = baselineWith('learning', '2026-11-20T10:00:00Z');
    expect(run(b, T0)).toEqual({ rules: ['t.medium'], state: 'enforced' }); // 8 days after since
    expect(run(b, T0 - 3 * DAY)).toEqual({ rules: [], state: 'learning' }); // 5 days after since
  });
});
