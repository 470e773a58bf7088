// Typed events inside (issue 12): event time travels as tsMicros, and its text and the flow's Community ID are made
// for printed records only; the engine's findings (their community_id included) do not depend on whether they were.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../agent/capture/file.js';
import { Pipeline, type PipelineObserver } from '../../agent/pipeline.js';
import { loadRules } from '../../agent/engine/rules/rules.js';
import type { EventRecord } from '../../agent/protocols/types.js';
import { parseTs } from '../../agent/wire/time.js';
import { FIXTURES, REPO_ROOT } from '../helpers/paths.js';

const rules = loadRules(path.join(REPO_ROOT, 'rules'));
const dirs = ['scenarios', 'demo', 'identity', 'tls'].map((d) => path.join(FIXTURES, d));
const files = dirs.flatMap((d) =>
  readdirSync(d)
    .filter((f) => /\.pcap(ng)?$/.test(f))
    .map((f) => path.join(d, f)),
);

/** Records what an observer (a learner's place in the pipeline) is handed. */
function watcher(seen: EventRecord[]): PipelineObserver {
  return {
    onFlowStart: () => undefined,
    onEvent: (ev) => seen.push({ ...ev }),
    onFlowEnd: () => undefined,
    advance: () => undefined,
  };
}

async function run(file: string, printEvents: boolean) {
  const findings: string[] = [];
  const printed: EventRecord[] = [];
  const observed: EventRecord[] = [];
  const p = new Pipeline(
    { rules, observers: [watcher(observed)] },
    {
      onFinding: (f) => findings.push(JSON.stringify(f)),
      ...(printEvents ? { onEvent: (ev: EventRecord) => printed.push(ev) } : {}),
    },
  );
  await readCaptureFile(file, (f) => p.onFrame(f)).catch(() => undefined);
  p.finish();
  return { findings, printed, observed };
}

describe('event time inside the pipeline', () => {
  it('covers captures with events and findings', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
  });

  it('gives the same findings whether or not events are printed; printed events carry their time as text', async () => {
    let events = 0;
    let findings = 0;
    for (const file of files) {
      const quiet = await run(file, false);
      const loud = await run(file, true);
      const name = path.relative(FIXTURES, file);
      expect(quiet.findings, name).toEqual(loud.findings);
      expect(quiet.observed.length, name).toBe(loud.printed.length);
      for (const [i, ev] of loud.printed.entries()) {
        // The text is the packet time the engine used, to the microsecond.
        expect(parseTs(ev.ts), name).toBe(ev.tsMicros);
        expect(quiet.observed[i]?.tsMicros, name).toBe(ev.tsMicros);
        // Nothing inside needs the text: it is not made when no event is printed; nor is the Community ID.
        expect(quiet.observed[i]?.ts, name).toBe('');
        expect(quiet.observed[i]?.community_id, name).toBeUndefined();
        expect(quiet.observed[i]?.flowInfo?.communityId, name).toBe(ev.community_id);
      }
      events += loud.printed.length;
      findings += loud.findings.length;
    }
    expect(events).toBeGreaterThan(100);
    expect(findings).toBeGreaterThan(10);
  }, 60_000);
});
