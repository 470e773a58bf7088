// The baseline document on the wire (issue 10): uploads and pushes are validated like every message, and the review
// items behave as a reviewer expects whatever the documents hold (fast-check).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { approveItems, deviceProblem, reviewDiff, type DeviceBaseline } from '../../agent/wire/baseline.js';
import { parseAgentMessage, parseCollectorMessage } from '../../agent/wire/messages.js';

const volume = {
  hours: 1,
  active_hours: [10],
  messages_per_hour: { min: 1, max: 5 },
  bytes_per_hour: { min: 10, max: 50 },
  rejects_per_hour: { min: 0, max: 0 },
  naks_per_hour: { min: 0, max: 0 },
};

const label = fc.stringMatching(/^[A-Z0-9_.-]{1,12}$/);
const ip = fc.tuple(fc.nat(255), fc.nat(255)).map(([a, b]) => `10.20.${a}.${b}`);
const deviceArb: fc.Arbitrary<DeviceBaseline> = fc.record({
  ip,
  macs: fc.uniqueArray(fc.constantFrom('00:1a:2b:3c:4d:5e', '00:1a:2b:3c:4d:5f'), { maxLength: 2 }),
  peers: fc.uniqueArray(
    fc.record({
      address: ip,
      port: fc.constantFrom(104, 2575, 1883),
      protocol: fc.constantFrom('dicom', 'hl7', 'mqtt'),
      role: fc.constantFrom('client' as const, 'server' as const),
    }),
    { maxLength: 5, selector: (p) => `${p.role}|${p.address}|${p.port}|${p.protocol}` },
  ),
  dicom: fc.record({
    ae_titles: fc.uniqueArray(label, { maxLength: 3 }),
    ae_pairs: fc.constant([]),
    sop_classes: fc.uniqueArray(
      fc.constantFrom('1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.5.1.4.1.1.4', '1.2.840.10008.1.1'),
      {
        maxLength: 3,
      },
    ),
    commands: fc.uniqueArray(fc.constantFrom('C-STORE-RQ', 'C-ECHO-RQ', 'C-FIND-RQ'), { maxLength: 3 }),
    move_destinations: fc.uniqueArray(label, { maxLength: 2 }),
    implementations: fc.constant([]),
  }),
  volume: fc.constant(volume),
});

describe('baseline documents on the wire', () => {
  it('accepts an upload and a push of valid devices, refuses a device that breaks the schema or the bounds', () => {
    const dev = { ip: '10.20.40.21', macs: [], peers: [], volume };
    expect(parseAgentMessage(JSON.stringify({ type: 'baselines', devices: [dev] })).ok).toBe(true);
    expect(
      parseCollectorMessage(
        JSON.stringify({ type: 'baseline', version: 3, part: 0, parts: 1, devices: [dev] }),
      ).ok,
    ).toBe(true);
    const bad = [
      { type: 'baselines', devices: [{ ...dev, peers: 'none' }] },
      { type: 'baselines', devices: [{ ...dev, surprise: 1 }] },
      { type: 'baselines', devices: [{ ...dev, name: 'x'.repeat(5000) }] },
      { type: 'baselines', devices: [{ ...dev, macs: Array.from({ length: 5000 }, () => 'm') }] },
      { type: 'baselines', devices: {} },
    ];
    for (const m of bad)
      expect(parseAgentMessage(JSON.stringify(m)).ok, JSON.stringify(m).slice(0, 80)).toBe(false);
    // A part outside its count, and the wrong direction.
    expect(
      parseCollectorMessage(JSON.stringify({ type: 'baseline', version: 1, part: 1, parts: 1, devices: [] }))
        .ok,
    ).toBe(false);
    expect(
      parseAgentMessage(JSON.stringify({ type: 'baseline', version: 1, part: 0, parts: 1, devices: [] })).ok,
    ).toBe(false);
    expect(parseCollectorMessage(JSON.stringify({ type: 'baselines', devices: [] })).ok).toBe(false);
  });

  it('approving everything leaves nothing new; rejected items stay out and stay rejected', () => {
    fc.assert(
      fc.property(deviceArb, fc.option(deviceArb, { nil: null }), fc.nat(), (learned, prior, pick) => {
        const approved = prior ? { ...prior, ip: learned.ip } : null;
        const before = reviewDiff(learned, approved, new Set());
        const proposals = before.filter((i) => i.status === 'new' || i.status === 'changed');
        const rejected = new Set(proposals.length > 0 ? [proposals[pick % proposals.length]?.id ?? ''] : []);
        const { doc, unknown } = approveItems(learned, approved, 'all', rejected, '2026-12-01T00:00:00Z');
        expect(unknown).toEqual([]);
        expect(deviceProblem(structuredClone(doc))).toBeNull();
        expect(doc.state).toBe('enforced');
        const after = reviewDiff(learned, doc, rejected);
        expect(after.filter((i) => i.status === 'new' || i.status === 'changed')).toEqual([]);
        for (const id of rejected) expect(after.find((i) => i.id === id)?.status).toBe('rejected');
        // What was approved before stays approved.
        for (const i of before.filter((x) => x.status === 'approved' || x.status === 'gone'))
          expect(after.find((x) => x.id === i.id)?.status).toBe(i.status);
      }),
    );
  });

  it('approving one item adds exactly that item', () => {
    fc.assert(
      fc.property(deviceArb, fc.nat(), (learned, pick) => {
        const items = reviewDiff(learned, null, new Set());
        const one = items[pick % items.length];
        if (!one) return;
        const { doc, applied } = approveItems(learned, null, new Set([one.id]), new Set(), 'T');
        expect(applied).toEqual([one.id]);
        const approvedIds = reviewDiff(learned, doc, new Set())
          .filter((i) => i.status === 'approved')
          .map((i) => i.id);
        expect(approvedIds).toEqual([one.id]);
      }),
    );
  });
});
