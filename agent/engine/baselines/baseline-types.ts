// The interface between the detection engine and the per-device baseline checker (issue 4 "Baselines").
import type { FieldValue, EventRecord } from '../../protocols/types.js';
import type { FlowInfo, FlowRecord } from '../../reassembly/types.js';
import type { BaselineFact } from '../rules/knowledge.js';

/** One departure from a device's learned profile; the engine turns it into a finding via the `kind: baseline` rule of the same code. */
export interface Deviation {
  /** e.g. 'baseline.new-peer'; matched against `id` of a `kind: baseline` rule. */
  code: string;
  /** Packet time, µs since the epoch. */
  ts: number;
  proto: string;
  device: { ip: string; mac?: string };
  peer?: { ip: string; port?: number };
  flow?: string;
  /** Metadata only (AE titles, message types, topics...), never patient values. */
  evidence: Record<string, FieldValue>;
}

/** Driven by packet time like the engine, so a replay gives the same deviations every time. */
export interface BaselineChecker {
  onFlowStart(flow: FlowInfo, ts: number): Deviation[];
  onEvent(ev: EventRecord): Deviation[];
  onFlowEnd(rec: FlowRecord): Deviation[];
  advance(now: number): Deviation[];
  /** Whether the approved baseline of the device at `ip` holds `value` as `fact` (rules' known_to: baseline). */
  knows?(ip: string, fact: BaselineFact, value: string): boolean;
  /** The baseline's record of the device at `ip`: its state and since when (µs), or undefined when it has none. */
  deviceState?(ip: string): { state: 'learning' | 'enforced'; since: number } | undefined;
}
