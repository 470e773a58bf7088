// Isolation (issue 12): an observer (the engine, a learner) that throws on an event is counted and skipped;
// the capture goes on to its last packet and the other observers still see every event.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { replayFiles, type PipelineObserver } from '../../agent/pipeline.js';
import { FIXTURES } from '../helpers/paths.js';

const CAPTURE = path.join(FIXTURES, 'mqtt/mqtt311-session.pcap');

describe('pipeline isolation', () => {
  it('an observer that throws on every third event is counted; the capture and the other observers go on', async () => {
    let seen = 0;
    let calls = 0;
    const faulty: PipelineObserver = {
      onFlowStart: () => undefined,
      onFlowEnd: () => undefined,
      advance: () => undefined,
      onEvent: () => {
        calls++;
        if (calls % 3 === 0) throw new Error('observer bug');
      },
    };
    const counter: PipelineObserver = { ...faulty, onEvent: () => void seen++ };
    const clean = await replayFiles([CAPTURE], {}, {});
    const summary = await replayFiles([CAPTURE], { observers: [faulty, counter] }, {});
    expect(summary.error).toBeNull();
    expect(summary.packets).toBe(clean.packets);
    expect(seen).toBeGreaterThan(3);
    expect(summary.engineErrors).toBe(Math.floor(seen / 3));
  });
});
