// Message caps against a real collector whose frame limit is set low: finding batches split by bytes, a finding too
// large for any message trimmed, the device table sent in chunks, and a batch the collector refuses quarantined
// while the batches behind it are delivered.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DeviceRecord } from '../../agent/wire/messages.js';
import { makeFinding, tempDir, waitFor } from '../collector/helpers.js';
import { openTestAgent, startTestCollector } from '../helpers/collector.js';

const KiB = 1024;

/** A device with `attrs` attributes of `value` characters each. */
function device(i: number, attrs: number, value: number, over: Partial<DeviceRecord> = {}): DeviceRecord {
  const seen = '2026-11-28T10:00:00.000000Z';
  return {
    id: `02:00:00:${String(i)
      .padStart(6, '0')
      .replace(/(..)(..)(..)/, '$1:$2:$3')}`,
    ip: `10.1.${(i >> 8) & 255}.${i & 255}`,
    first_seen: seen,
    last_seen: seen,
    protocols: ['mqtt'],
    attributes: Array.from({ length: attrs }, (_, k) => ({
      name: 'mqtt_client_id',
      value: `${k}-`.padEnd(value, 'c'),
      source: 'mqtt.client_id',
      seen,
    })),
    ...over,
  };
}

describe('agent message caps', () => {
  it('splits finding batches by bytes under the cap and trims a finding too large for any message', async () => {
    // The collector refuses (and closes on) anything over 300 KiB; the agent caps its messages at 256 KiB.
    const col = await startTestCollector({ maxPayload: 300 * KiB });
    const t = await openTestAgent(col.wsUrl, { maxMessageBytes: 256 * KiB, batchMax: 500 });
    try {
      for (let i = 0; i < 40; i++)
        t.send(makeFinding(i, 'agent-a', { evidence: { blob: 'e'.repeat(30 * KiB) } }));
      t.send(makeFinding(40, 'agent-a', { evidence: { blob: 'e'.repeat(400 * KiB) } }));
      await t.drain();
      const st = t.stats();
      expect(st).toMatchObject({ refused: 0, trimmed: 1, oversizeDropped: 0, spoolPending: 0 });
      // 41 findings of 30 KiB cannot go in fewer than five 256 KiB messages.
      expect(st.lastSeq).toBeGreaterThanOrEqual(5);
      expect(await col.store.countFindings()).toBe(41);
      const big = (await col.store.queryFindings({ limit: 100 })).findings.find(
        (f) => f.id === 'agent-a-f40',
      );
      expect(big?.evidence).toEqual({ trimmed: true, evidence_bytes: expect.any(Number) as number });
    } finally {
      await t.close();
      await col.close();
    }
  });

  it('sends a device table far over the frame limit in chunks under the cap; cuts what the schema refuses', async () => {
    const col = await startTestCollector({ maxPayload: 300 * KiB });
    const t = await openTestAgent(col.wsUrl, { maxMessageBytes: 256 * KiB });
    try {
      await waitFor(() => t.stats().connected, 'connected');
      // 3000 devices of ~1.3 KB (about 4 MB in all), one with 2000 attributes of 5000 characters (over the wire's
      // 1024 attributes and 4096 characters, and alone 10 MB), one whose id is longer than the wire allows.
      const devices = Array.from({ length: 3000 }, (_, i) => device(i, 4, 250));
      devices.push(device(5000, 2000, 5000));
      devices.push(device(5001, 1, 10, { id: 'm'.repeat(300) }));
      t.sendDevices(devices);
      await waitFor(
        async () => (await col.store.countDevices()) === 3001,
        'every sendable device merged',
        30_000,
      );
      const st = t.stats();
      expect(st).toMatchObject({ refused: 0, devicesTrimmed: 1, devicesDropped: 1, connected: true });
      const wide = (await col.store.listDevices(10_000)).find((d) => d.id === device(5000, 0, 0).id);
      expect(wide?.attributes?.length).toBeGreaterThan(0);
      expect(wide?.attributes?.length).toBeLessThanOrEqual(1024);
      expect(wide?.attributes?.every((a) => a.value.length <= 4096)).toBe(true);

      const chunks = t.deviceChunks(devices);
      expect(chunks.length).toBeGreaterThan(10);
      for (const c of chunks) expect(Buffer.byteLength(c)).toBeLessThanOrEqual(256 * KiB);
    } finally {
      await t.close();
      await col.close();
    }
  });

  it('quarantines a batch the collector keeps refusing; the batches behind it are delivered', async () => {
    // The agent's own cap (1 MiB) is above this collector's limit: the collector refuses the 200 KiB batch.
    const col = await startTestCollector({ maxPayload: 64 * KiB });
    const spoolDir = tempDir('ww-spool-');
    const t = await openTestAgent(col.wsUrl, {
      spoolDir,
      backoffMinMs: 20,
      backoffMaxMs: 60,
      batchDelayMs: 1,
    });
    try {
      for (let i = 0; i < 3; i++) t.send(makeFinding(i));
      await t.flush();
      t.send(makeFinding(3, 'agent-a', { evidence: { blob: 'p'.repeat(200 * KiB) } }));
      await t.flush();
      for (let i = 4; i < 54; i++) t.send(makeFinding(i));
      await t.flush();
      await t.drain();
      const st = t.stats();
      expect(st.refused).toBeGreaterThanOrEqual(2);
      expect(st).toMatchObject({ spoolQuarantined: 1, spoolPending: 0 });
      expect(await col.store.countFindings()).toBe(53);
      expect(await col.store.findingIds()).not.toContain('agent-a-f3');
      expect(existsSync(path.join(spoolDir, 'quarantine', 'seq-0000000000000002-refused.bin'))).toBe(true);
    } finally {
      await t.close();
      await col.close();
    }
  });
});
