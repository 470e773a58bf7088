// The flow-level bypass (issue 12) changes nothing anyone can see: every fixture capture gives the same events,
// flow records, findings and summary with it as without it, while the bytes it spared the analyzers are counted.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../agent/capture/file.js';
import { Pipeline } from '../../agent/pipeline.js';
import { loadRules } from '../../agent/engine/rules/rules.js';
import { makeCapture } from '../../bench/make-capture.js';
import { FIXTURES, REPO_ROOT } from '../helpers/paths.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'ww-bypass-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function captures(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...captures(p));
    else if (/\.(pcap|pcapng)(\.gz)?$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

const rules = loadRules(path.join(REPO_ROOT, 'rules'));

async function run(file: string, bypass: boolean) {
  const lines: string[] = [];
  const keep = (kind: string) => (rec: unknown) => lines.push(`${kind} ${JSON.stringify(rec)}`);
  const p = new Pipeline(
    { rules, flowLimits: { bypass } },
    { onEvent: keep('event'), onFlow: keep('flow'), onFinding: keep('finding') },
  );
  let error = '';
  try {
    await readCaptureFile(file, (f) => p.onFrame(f));
  } catch (err) {
    error = String(err); // a damaged capture: what came before the damage still counts, the same both ways
  }
  p.finish();
  const { seconds: _s, ...stats } = { seconds: 0, ...p.stats() };
  return { lines, stats, error, bypassed: p.flows.stats.reassembly.bypassedBytes };
}

describe('flow-level bypass', () => {
  const files = captures(FIXTURES);

  it('finds the fixture captures', () => {
    expect(files.length).toBeGreaterThanOrEqual(40);
  });

  it('gives the same events, flows, findings and counters on every fixture capture', async () => {
    let spared = 0;
    const sparedBy = new Map<string, number>();
    for (const file of files) {
      const off = await run(file, false);
      const on = await run(file, true);
      const name = path.relative(FIXTURES, file);
      expect(on.lines, name).toEqual(off.lines);
      expect(on.stats, name).toEqual(off.stats);
      expect(on.error, name).toBe(off.error);
      expect(off.bypassed, name).toBe(0);
      spared += on.bypassed;
      const dir = name.split(path.sep)[0] ?? '';
      sparedBy.set(dir, (sparedBy.get(dir) ?? 0) + on.bypassed);
    }
    expect(spared).toBeGreaterThan(0);
    // TLS after the handshake is counted, not parsed.
    expect(sparedBy.get('tls') ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it('gives the same output on the bench mix, sparing the analyzers most C-STORE data-set bytes', async () => {
    // Loopback fixtures carry a data set in one segment with its command; the bench mix has MSS 1460 and 16 KB
    // P-DATA PDUs, as a modality on a hospital LAN sends them.
    const made = makeCapture(path.join(tmp, 'mix.pcap'), { packets: 12_000, concurrency: 12 });
    const off = await run(made.file, false);
    const on = await run(made.file, true);
    expect(on.lines).toEqual(off.lines);
    expect(on.stats).toEqual(off.stats);
    expect(off.stats.protocols.messages.dicom?.dimse ?? 0).toBeGreaterThan(0);
    expect(on.bypassed).toBeGreaterThan(100_000);
  }, 120_000);
});
