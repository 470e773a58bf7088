// A recording AnalyzerSink and helpers to drive a DICOM session in tests.
import { DicomSession } from '../../../agent/protocols/dicom/session.js';
import { DEFAULT_LIMITS, type DicomLimits } from '../../../agent/protocols/dicom/constants.js';
import type { AnalyzerSink, Direction, EventFields } from '../../../agent/protocols/types.js';

export interface Rec {
  dir: Direction;
  type: string;
  fields: EventFields;
}

export class RecordingSink implements AnalyzerSink {
  readonly events: Rec[] = [];
  confirmed = 0;
  violations: string[] = [];
  malformed = 0;
  event(dir: Direction, _ts: number, type: string, fields: EventFields): void {
    this.events.push({ dir, type, fields: structuredClone(fields) });
  }
  anomaly(dir: Direction, _ts: number, code: string, malformed: boolean, fields?: EventFields): void {
    if (malformed) this.malformed++;
    this.events.push({ dir, type: 'anomaly', fields: { code, ...(fields ?? {}) } });
  }
  confirm(): void {
    this.confirmed++;
  }
  violation(reason: string): void {
    this.violations.push(reason);
  }
  types(): string[] {
    return this.events.map((e) => (e.type === 'anomaly' ? `anomaly:${String(e.fields.code)}` : e.type));
  }
  of(type: string): Rec[] {
    return this.events.filter((e) => e.type === type);
  }
  anomalies(): string[] {
    return this.events.filter((e) => e.type === 'anomaly').map((e) => String(e.fields.code));
  }
}

export type Step = [Direction, Uint8Array];

export function newSession(limits: Partial<DicomLimits> = {}): { s: DicomSession; sink: RecordingSink } {
  const sink = new RecordingSink();
  return { s: new DicomSession(sink, { ...DEFAULT_LIMITS, ...limits }), sink };
}

/** Feed steps, each cut into pieces at the given offsets (sorted, inside the step). */
export function run(
  steps: Step[],
  cuts: (len: number, i: number) => number[] = () => [],
  limits: Partial<DicomLimits> = {},
): RecordingSink {
  const { s, sink } = newSession(limits);
  steps.forEach(([dir, bytes], i) => {
    let prev = 0;
    for (const c of [...cuts(bytes.length, i), bytes.length]) {
      if (c <= prev || c > bytes.length) continue;
      s.onData(dir, bytes.slice(prev, c), 1000 + i);
      prev = c;
    }
  });
  s.onEnd(0, 9999);
  s.onEnd(1, 9999);
  return sink;
}
