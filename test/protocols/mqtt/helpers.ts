// Test helpers for the MQTT analyzer: a recording sink and drivers that feed a session data, gaps and chunks.
import type { AnalyzerSink, Direction, EventFields } from '../../../agent/protocols/types.js';
import { MqttSession } from '../../../agent/protocols/mqtt/session.js';
import type { MqttLimits } from '../../../agent/protocols/mqtt/parse.js';

export interface Recorded {
  kind: 'event' | 'anomaly';
  dir: Direction;
  ts: number;
  type: string;
  fields: EventFields;
  malformed?: boolean;
}

export class RecordingSink implements AnalyzerSink {
  readonly out: Recorded[] = [];
  confirmed = 0;
  violations: string[] = [];
  event(dir: Direction, ts: number, type: string, fields: EventFields): void {
    this.out.push({ kind: 'event', dir, ts, type, fields });
  }
  anomaly(dir: Direction, ts: number, code: string, malformed: boolean, fields?: EventFields): void {
    this.out.push({ kind: 'anomaly', dir, ts, type: code, fields: fields ?? {}, malformed });
  }
  confirm(): void {
    this.confirmed++;
  }
  violation(reason: string): void {
    this.violations.push(reason);
  }
  events(): Recorded[] {
    return this.out.filter((r) => r.kind === 'event');
  }
  anomalies(): string[] {
    return this.out.filter((r) => r.kind === 'anomaly').map((r) => r.type);
  }
}

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
