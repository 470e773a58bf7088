// The HL7 v2 / MLLP analyzer spec: ports, content probe (<VT> then MSH/FHS/BHS, HL7 v2.x Appendix C.4.3), factory.
import type { AnalyzerSink, AnalyzerSpec, Direction, ProbeResult } from '../types.js';
import { HL7_DEFAULT_PORTS, type Hl7Limits } from './constants.js';
import { hl7Schema } from './events.js';
import { matchOpener } from './parse.js';
import { Hl7Session } from './session.js';

/** How far into a direction's first bytes the probe looks for a block start (mid-stream pickup). */
const PROBE_SCAN = 4096;

/**
 * 'match' when the bytes open with <VT>MSH/FHS/BHS, or hold one within the first bytes after a tail of an
 * earlier block (<FS><CR> right before it); 'need_more' while a prefix of an opener is all there is.
 */
export function probeHl7(_dir: Direction, bytes: Uint8Array): ProbeResult {
  const first = matchOpener(bytes, 0);
  if (first === 'yes') return 'match';
  if (first === 'partial') return 'need_more';
  const n = Math.min(bytes.length, PROBE_SCAN);
  for (let i = bytes.indexOf(0x0b, 1); i > 0 && i < n; i = bytes.indexOf(0x0b, i + 1)) {
    if (bytes[i - 1] !== 0x0d || bytes[i - 2] !== 0x1c) continue;
    const m = matchOpener(bytes, i, n);
    if (m === 'yes') return 'match';
    if (m === 'partial') return 'need_more';
  }
  return 'no';
}

export function createHl7Analyzer(sink: AnalyzerSink, limits: Partial<Hl7Limits> = {}): Hl7Session {
  return new Hl7Session(sink, limits);
}

export const hl7Spec: AnalyzerSpec = {
  proto: 'hl7',
  defaultPorts: HL7_DEFAULT_PORTS,
  probe: probeHl7,
  create: (sink) => new Hl7Session(sink),
  schema: hl7Schema,
};

export { Hl7Session } from './session.js';
export { ANOMALY_CODES, hl7Schema } from './events.js';
export { DEFAULT_LIMITS } from './constants.js';
export type { Hl7Limits } from './constants.js';
