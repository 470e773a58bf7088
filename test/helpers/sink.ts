// A recording AnalyzerSink shared by the HL7 and MQTT analyzer tests: every event and anomaly in order, for assertions.
import type { AnalyzerSink, Direction, EventFields } from '../../agent/protocols/types.js';

export interface Recorded {
  kind: 'event' | 'anomaly';
  dir: Direction;
  ts: number;
  type: string;
  fields: EventFields;
  malformed?: boolean;
}

/** A sink that records everything, for assertions. */
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
