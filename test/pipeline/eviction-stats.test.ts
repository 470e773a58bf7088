// The eviction counters travel from the pipeline to /metrics: the agent's stats message carries them, the
// wire validator accepts them, the collector exports wardwatch_evictions_total{agent,what}.
import { describe, expect, it } from 'vitest';
import { Pipeline } from '../../agent/pipeline.js';
import { pipelineStats } from '../../agent/sources.js';
import { validateAgentMessage } from '../../agent/wire/messages.js';
import { CollectorMetrics } from '../../collector/metrics.js';
import { F, makePacket } from '../reassembly/helpers.js';

const S = 1_000_000;
const T0 = 1_764_000_000 * S;

describe('eviction counters', () => {
  it('reach the stats message and the collector metrics', async () => {
    const p = new Pipeline({ flowLimits: { maxFlows: 2 } }, {});
    for (let i = 0; i < 5; i++) {
      p.flows.onPacket(
        makePacket({
          ts: T0 + i,
          src: '10.0.0.5',
          dst: '10.0.1.9',
          sport: 40000 + i,
          dport: 104,
          flags: F.SYN,
        }),
      );
    }
    p.advance(T0 + 60 * S);
    const stats = pipelineStats(p, null, 0);
    expect(stats.evictions).toEqual({
      flow_cap: 3,
      flow_budget: 0,
      flow_embryonic_timeout: 2,
      flow_idle_timeout: 0,
      fragment: 0,
      device: 0,
      datagram_cut: 0,
    });
    const msg = { type: 'stats' as const, ...stats };
    expect(validateAgentMessage(JSON.parse(JSON.stringify(msg)) as unknown).ok).toBe(true);

    const metrics = new CollectorMetrics(() => 0);
    metrics.stats('ward3', stats);
    // Cumulative values become deltas: a second report adds only what changed.
    metrics.stats('ward3', { ...stats, evictions: { ...stats.evictions, flow_cap: 5 } });
    const text = await metrics.metrics();
    expect(text).toMatch(/wardwatch_evictions_total\{agent="ward3",what="flow_cap"\} 5/);
    expect(text).toMatch(/wardwatch_evictions_total\{agent="ward3",what="flow_embryonic_timeout"\} 2/);
  });

  it('are optional on the wire (older agents)', () => {
    const old = {
      type: 'stats',
      packets: 1,
      bytes: 1,
      drops: { kernel: 0, interface: 0, queue: 0 },
      parse_errors: {},
      messages: {},
      flows: 0,
      devices: 0,
      memory: 1,
      lag_seconds: 0,
    };
    expect(validateAgentMessage(old).ok).toBe(true);
    expect(validateAgentMessage({ ...old, evictions: { flow_cap: -1 } }).ok).toBe(false);
  });
});
