// A SYN flood (50k unanswered SYNs, a scan of silent addresses) through the real pipeline: the flow table
// stays within its count cap and byte budget, embryonic flows are reaped, and the counters reach the summary.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../agent/capture/file.js';
import { runReplay } from '../../agent/cli/commands.js';
import { Pipeline, type PipelineOptions } from '../../agent/pipeline.js';
import { writeSynFlood } from '../../bench/flow-captures.js';

const FLOWS = 50_000;
const RULES = path.resolve(import.meta.dirname, '../../rules');
let dir = '';
let file = '';

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ww-synflood-'));
  file = path.join(dir, 'syn.pcap');
  // 1000 SYNs a second: the flood lasts 50 s of packet time, beyond the 40 s embryonic timeout.
  writeSynFlood(file, { flows: FLOWS, rate: 1000 });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Replays the flood through one pipeline, noting the most flows the table ever held. */
async function flood(opts: PipelineOptions): Promise<{ p: Pipeline; peak: number }> {
  const p = new Pipeline(opts, {});
  let peak = 0;
  await readCaptureFile(file, (f) => {
    p.onFrame(f);
    if (p.flows.size > peak) peak = p.flows.size;
  });
  const atEnd = p.flows.size;
  p.finish();
  expect(p.stats().flows).toBe(FLOWS);
  expect(atEnd).toBeLessThanOrEqual(peak);
  return { p, peak };
}

function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('SYN flood', () => {
  it('reaps embryonic flows at their timeout with the default limits', async () => {
    const { p, peak } = await flood({});
    const s = p.stats();
    // Flows live 40 s at 1000/s: about 40k at once, never the 100k cap.
    expect(peak).toBeLessThanOrEqual(41_100);
    expect(s.flowEvictions.cap).toBe(0);
    expect(s.flowEvictions.budget).toBe(0);
    // Those older than 40 s when the last once-a-second sweep ran; the rest end at the end of the capture.
    expect(s.flowEvictions.embryonic_timeout).toBeGreaterThanOrEqual(9_000);
    expect(s.flowEvictions.embryonic_timeout).toBeLessThanOrEqual(10_000);
    expect(s.flowEvictions.idle_timeout).toBe(0);
  });

  it('keeps the flow table within a small byte budget, evicting and counting', async () => {
    const budget = 8 * 1024 * 1024;
    const { p, peak } = await flood({ flowLimits: { memoryBudget: budget } });
    const st = p.flows.stats;
    expect(st.memory.peak).toBeLessThanOrEqual(budget + 4096);
    expect(peak).toBeLessThan(budget / 512);
    expect(st.evictions.budget).toBeGreaterThan(FLOWS - peak - 1);
    expect(p.stats().flowEvictions.budget).toBe(st.evictions.budget);
  });

  it('prints the eviction counters in the replay summary (cap from --max-flows)', async () => {
    const out = sink();
    const err = sink();
    const code = await runReplay(
      { files: [file], rules: RULES, maxFlows: 30_000 },
      { stdout: out.stream, stderr: err.stream },
    );
    expect(code).toBe(0);
    // The cap is reached at 30 s, before any flow is 40 s old: every flow beyond it evicts one.
    expect(err.text()).toMatch(
      /flow evictions: cap 20000, budget 0, embryonic timeout 0, idle timeout 0, peak 30000 flows at once \([\d.]+ MiB estimated\), 0 fragment drops, \d+ device evictions/,
    );
    expect(err.text()).toMatch(/^replay: 1 file, 50000 packets, \d+ bytes, 50000 flows/m);
  });
});
