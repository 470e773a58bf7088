// The benchmark capture end to end through capture → decode → flows: deterministic, every session one flow, no gaps.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../agent/capture/file.js';
import { Decoder } from '../../agent/decode/decoder.js';
import { createPacket } from '../../agent/decode/packet.js';
import { FlowTable } from '../../agent/reassembly/flow-table.js';
import type { FlowRecord } from '../../agent/reassembly/types.js';
import { makeCapture } from '../../bench/make-capture.js';
import { Recorder } from './helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ww-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sha(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

describe('bench capture', () => {
  it('is deterministic and reassembles into one gap-free flow per session', async () => {
    const a = makeCapture(path.join(dir, 'a.pcap'), { packets: 1500, concurrency: 12 });
    const b = makeCapture(path.join(dir, 'b.pcap'), { packets: 1500, concurrency: 12 });
    expect(sha(a.file)).toBe(sha(b.file));
    expect(a.packets).toBeGreaterThanOrEqual(1500);

    const decoder = new Decoder();
    const pkt = createPacket();
    const records: FlowRecord[] = [];
    const recorders = new Map<string, Recorder>();
    const table = new FlowTable({
      onFlowStart: (flow) => {
        const r = new Recorder();
        recorders.set(flow.id, r);
        return r;
      },
      onFlowEnd: (_f, rec) => records.push(rec),
    });
    let last = 0;
    await readCaptureFile(a.file, (f) => {
      expect(decoder.decode(f, pkt)).toBe('ok');
      table.onPacket(pkt);
      last = f.ts;
    });
    table.flush(last);
    expect(records).toHaveLength(a.flows);
    const tcp = records.filter((r) => r.transport === 'tcp');
    expect(tcp).toHaveLength(a.sessions.mqtt + a.sessions.hl7 + a.sessions.dicom);
    for (const r of tcp) {
      expect(r.client_by).toBe('syn');
      expect(['fin', 'rst']).toContain(r.end_reason);
      expect(r.gaps).toBe(0);
      expect([104, 11112, 1883, 2575]).toContain(r.server.port);
    }
    const udp = records.filter((r) => r.transport === 'udp');
    expect(udp.every((r) => r.server.port === 53 && r.end_reason === 'eof')).toBe(true);
    expect(table.stats.reassembly.retransmissions).toBe(0);
    // MLLP messages reach the consumer whole and in order: every 0x0b start has its 0x1c 0x0d end.
    expect(recorders.size).toBe(records.length);
    for (const r of records) {
      if (r.server.port !== 2575) continue;
      const bytes = recorders.get(r.flow)?.flat(0) ?? [];
      const starts = bytes.filter((x) => x === 0x0b).length;
      const ends = bytes.filter((x, k) => x === 0x1c && bytes[k + 1] === 0x0d).length;
      expect(starts).toBeGreaterThan(0);
      expect(ends).toBe(starts);
    }
  });
});
