// Metric labels stay bounded: hostile rule or protocol names fold into "other", addresses never become labels.
import { describe, expect, it } from 'vitest';
import { CollectorMetrics } from '../../collector/metrics.js';
import { makeFinding } from './helpers.js';

describe('collector metrics', () => {
  it('folds label values beyond the cap or outside the allowed alphabet into "other"', async () => {
    const m = new CollectorMetrics(() => 0);
    m.stored(
      'a',
      Array.from({ length: 300 }, (_, i) => makeFinding(i, 'a', { rule: `rule-${i}` })),
      300,
    );
    m.stored('a', [makeFinding(1000, 'a', { rule: 'DOE^JANE 1970-01-01' })], 1);
    const text = await m.metrics();
    const rules = new Set([...text.matchAll(/wardwatch_findings_total\{rule="([^"]+)"/g)].map((x) => x[1]));
    expect(rules.size).toBe(201);
    expect(rules.has('other')).toBe(true);
    expect(text).not.toContain('DOE');
    const other = [
      ...text.matchAll(/wardwatch_findings_total\{rule="other",severity="(\w+)",agent="a"\} (\d+)/g),
    ];
    expect(other.reduce((s, x) => s + Number(x[2]), 0)).toBe(101);
  });

  it('labels devices only by asset name, never by address', async () => {
    const m = new CollectorMetrics(() => 0);
    const names = ['pacs', '10.20.30.17', 'fe80::1', '00:1a:2b:3c:4d:5e', 'infusion-pumps'];
    m.stored(
      'a',
      names.map((name, i) => makeFinding(i, 'a', { severity: 'high', device: { ip: '10.20.30.17', name } })),
      names.length,
    );
    const text = await m.metrics();
    const devices = [
      ...text.matchAll(/wardwatch_device_findings_total\{device="([^"]+)",severity="high"\} (\d+)/g),
    ];
    expect(Object.fromEntries(devices.map((d) => [d[1], Number(d[2])]))).toEqual({
      pacs: 1,
      unnamed: 3,
      'infusion-pumps': 1,
    });
  });

  it('labels an unnamed device by its OUI vendor, never by its address, within the cap', async () => {
    const m = new CollectorMetrics(() => 0);
    const devs = [
      { ip: '10.20.30.99', vendor: 'Raspberry Pi Trading Ltd' },
      { ip: '10.20.30.98', vendor: 'Raspberry Pi Trading Ltd' },
      { ip: '10.20.30.97', name: '10.20.30.97', vendor: 'Cisco Systems, Inc' },
      { ip: '10.20.30.96' },
      { ip: '10.20.30.95', vendor: '"}\n<x>' },
    ];
    m.stored(
      'a',
      devs.map((device, i) => makeFinding(i, 'a', { severity: 'high', device })),
      devs.length,
    );
    const text = await m.metrics();
    const found = [
      ...text.matchAll(/wardwatch_device_findings_total\{device="([^"]+)",severity="high"\} (\d+)/g),
    ];
    expect(Object.fromEntries(found.map((d) => [d[1], Number(d[2])]))).toEqual({
      'unnamed:Raspberry_Pi_Trading_Ltd': 2,
      'unnamed:Cisco_Systems_Inc': 1,
      unnamed: 1,
      'unnamed:x': 1,
    });
    expect(text).not.toMatch(/device="[^"]*10\.20\.30/);
    // Past the device label's cap, vendors fold into `other` like asset names.
    const many = new CollectorMetrics(() => 0);
    const flood = Array.from({ length: 250 }, (_, i) =>
      makeFinding(i, 'a', { severity: 'low', device: { ip: '10.0.0.1', vendor: `Vendor ${i}` } }),
    );
    many.stored('a', flood, flood.length);
    const labels = [...(await many.metrics()).matchAll(/wardwatch_device_findings_total\{device="([^"]+)"/g)];
    expect(new Set(labels.map((l) => l[1])).size).toBeLessThanOrEqual(201);
    expect(labels.some((l) => l[1] === 'other')).toBe(true);
  });

  it('adds a restarted agent counter whole and never decreases a counter', async () => {
    const m = new CollectorMetrics(() => 0);
    const base = {
      packets: 0,
      bytes: 0,
      drops: { kernel: 0, interface: 0, queue: 0 },
      parse_errors: {},
      messages: {},
      flows: 0,
      devices: 0,
      memory: 0,
      lag_seconds: 0,
    };
    for (const p of [10, 25, 5, 7, 0, 3]) m.stats('a', { ...base, packets: p });
    // 10 + 15 + (restart) 5 + 2 + (restart) 0 + 3
    expect(await m.metrics()).toMatch(/^wardwatch_packets_total\{agent="a"\} 35$/m);
  });
});
