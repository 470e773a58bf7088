// Collector caps and plausibility checks (issue 11): evidence size and depth, sane times and counters, token bucket.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LIMITS,
  TokenBucket,
  capFinding,
  jsonDepth,
  saneDevice,
  saneStats,
  saneTs,
} from '../../collector/limits.js';
import { makeFinding } from './helpers.js';

function deep(n: number): Record<string, unknown> {
  let v: Record<string, unknown> = { leaf: 1 };
  for (let i = 1; i < n; i++) v = { a: v };
  return v;
}

const NOW = Date.UTC(2026, 11, 3, 8, 0, 0);

describe('evidence caps', () => {
  it('keeps small, shallow evidence as it is', () => {
    const f = makeFinding(1);
    const r = capFinding(f, DEFAULT_LIMITS);
    expect(r.cut).toEqual([]);
    expect(r.finding).toBe(f);
  });

  it('replaces evidence over 16 KiB by a marker with its size, keeping an exposure time range', () => {
    const f = makeFinding(1, 'agent-a', {
      evidence: { blob: 'x'.repeat(15 * 1024 * 1024), first_seen: '2026-11-28T10:00:00Z' },
    });
    const r = capFinding(f, DEFAULT_LIMITS);
    expect(r.cut).toEqual(['evidence']);
    expect(r.finding.evidence).toEqual({
      _truncated: true,
      reason: 'size',
      bytes: Buffer.byteLength(JSON.stringify(f.evidence)),
      first_seen: '2026-11-28T10:00:00Z',
    });
    expect(JSON.stringify(r.finding).length).toBeLessThan(1024);
  });

  it('replaces evidence nested deeper than 8, even 20,000 deep, without overflowing the stack', () => {
    expect(capFinding(makeFinding(1, 'a', { evidence: deep(8) }), DEFAULT_LIMITS).cut).toEqual([]);
    for (const n of [9, 20_000]) {
      const r = capFinding(makeFinding(1, 'a', { evidence: deep(n) }), DEFAULT_LIMITS);
      expect(r.cut).toEqual(['evidence']);
      expect(r.finding.evidence).toMatchObject({ _truncated: true, reason: 'depth' });
      expect(() => JSON.stringify(r.finding)).not.toThrow();
    }
  });

  it('measures depth iteratively and stops early', () => {
    expect(jsonDepth({}, 8)).toBe(1);
    expect(jsonDepth([[], [[1]]], 8)).toBe(3);
    expect(jsonDepth(deep(100_000), 8)).toBe(9);
    expect(
      jsonDepth(
        Array.from({ length: 100 }, () => [1]),
        8,
        50,
      ),
    ).toBe(Number.POSITIVE_INFINITY);
  });

  it('a wide evidence past the node budget is cut by size', () => {
    const r = capFinding(
      makeFinding(1, 'a', { evidence: { list: Array.from({ length: 60_000 }, (_, i) => [i]) } }),
      DEFAULT_LIMITS,
    );
    expect(r.cut).toEqual(['evidence']);
    expect(r.finding.evidence).toMatchObject({ _truncated: true, reason: 'size' });
  });

  it('shortens the other fields of a finding still over 64 KiB', () => {
    const f = makeFinding(1, 'a', { attack: Array.from({ length: 64 }, () => 'T'.repeat(4096)) });
    const r = capFinding(f, DEFAULT_LIMITS);
    expect(r.cut).toEqual(['finding']);
    expect(r.finding.attack.length).toBe(16);
    expect(JSON.stringify(r.finding).length).toBeLessThan(DEFAULT_LIMITS.maxFindingBytes);
  });
});

describe('plausible times and counters', () => {
  it('accepts times from 2000 to one day ahead of the collector clock', () => {
    expect(saneTs('2026-12-03T07:59:59.123456Z', NOW)).toBe(true);
    expect(saneTs('2000-01-01T00:00:00Z', NOW)).toBe(true);
    expect(saneTs('2026-12-04T07:59:00Z', NOW)).toBe(true);
    for (const t of [
      '0000-01-01T00:00:00Z',
      '1999-12-31T23:59:59Z',
      '9999-12-31T23:59:59Z',
      '2026-12-04T08:00:01Z',
    ])
      expect(saneTs(t, NOW)).toBe(false);
  });

  const stats = {
    packets: 1,
    bytes: 1,
    drops: { kernel: 0, interface: 0, queue: 0 },
    parse_errors: { mqtt: 0 },
    messages: { mqtt: { publish: 3 } },
    flows: 1,
    devices: 1,
    memory: 1,
    lag_seconds: 0.5,
  };

  it('refuses counters above 2^53 or not finite, anywhere in a stats message', () => {
    expect(saneStats(stats)).toBe(true);
    expect(saneStats({ ...stats, packets: Number.MAX_SAFE_INTEGER })).toBe(true);
    expect(saneStats({ ...stats, packets: 1e308 })).toBe(false);
    expect(saneStats({ ...stats, bytes: Number.POSITIVE_INFINITY })).toBe(false);
    expect(saneStats({ ...stats, messages: { mqtt: { publish: 2 ** 60 } } })).toBe(false);
    expect(saneStats({ ...stats, parse_errors: { mqtt: 1e308 } })).toBe(false);
    expect(saneStats({ ...stats, spool: { bytes: 0, pending: 1e300, dropped: 0 } })).toBe(false);
  });

  it('refuses a device record with any implausible time', () => {
    expect(saneDevice({ id: 'x', first_seen: '2026-11-28T10:00:00Z' }, NOW)).toBe(true);
    expect(saneDevice({ id: 'x', last_seen: '9999-01-01T00:00:00Z' }, NOW)).toBe(false);
    expect(
      saneDevice(
        { id: 'x', attributes: [{ name: 'n', value: 'v', source: 's', seen: '0000-01-01T00:00:00Z' }] },
        NOW,
      ),
    ).toBe(false);
  });
});

describe('token bucket', () => {
  it('allows the burst, then the rate', () => {
    const b = new TokenBucket(10, 5, 0);
    let ok = 0;
    for (let i = 0; i < 100; i++) if (b.take(0)) ok++;
    expect(ok).toBe(5);
    // 10 a second: after 50 ms no whole token, after 100 ms one, after 10 s no more than the burst.
    expect(b.take(50)).toBe(false);
    expect(b.take(100)).toBe(true);
    let later = 0;
    for (let i = 0; i < 100; i++) if (b.take(10_100)) later++;
    expect(later).toBe(5);
  });
});
