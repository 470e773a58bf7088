// Test helpers for the MQTT analyzer: a recording sink and drivers that feed a session data, gaps and chunks.
import type { Direction } from '../../../agent/protocols/types.js';
import { MqttSession } from '../../../agent/protocols/mqtt/session.js';
import type { MqttLimits } from '../../../agent/protocols/mqtt/parse.js';
import { RecordingSink } from '../../helpers/sink.js';

export { RecordingSink, type Recorded } from '../../helpers/sink.js';

/** One step of a flow: data or a gap in a direction. */
export type Step =
  { dir: Direction; ts: number; data: Uint8Array } | { dir: Direction; ts: number; gap: number };

export function runSteps(
  steps: readonly Step[],
  limits: Partial<MqttLimits> = {},
): { sink: RecordingSink; session: MqttSession } {
  const sink = new RecordingSink();
  const session = new MqttSession(sink, limits);
  for (const s of steps) {
    if ('data' in s) session.onData(s.dir, s.data, s.ts);
    else session.onGap(s.dir, s.gap, s.ts);
  }
  session.onEnd(0, 0);
  session.onEnd(1, 0);
  return { sink, session };
}

/** Feeds whole byte strings per direction, in order. */
export function runChunks(
  chunks: ReadonlyArray<[Direction, Uint8Array]>,
  limits: Partial<MqttLimits> = {},
): RecordingSink {
  return runSteps(
    chunks.map(([dir, data], i) => ({ dir, ts: i, data })),
    limits,
  ).sink;
}
