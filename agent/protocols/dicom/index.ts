// The DICOM analyzer spec: ports, content probe on an A-ASSOCIATE-RQ/AC shape (PS3.8 9.3.2-9.3.3), session factory.
import { ASSOCIATE_FIXED_LEN, DEFAULT_LIMITS, DEFAULT_PORTS, PduType } from './constants.js';
import { dicomSchema } from './events.js';
import { isPrintableAe } from './parse.js';
import { DicomSession } from './session.js';
import type { AnalyzerSpec, Direction, ProbeResult } from '../types.js';
import { u32 } from '../../wire/bytes.js';

/** Bytes the probe needs: PDU header, protocol version, reserved, both AE titles. */
const PROBE_BYTES = 42;

/**
 * A flow speaks DICOM when its first PDU looks like an A-ASSOCIATE-RQ (or, from the server, an
 * A-ASSOCIATE-AC): type, reserved zero byte, plausible length, protocol version 0x0001 and
 * printable AE titles. Each test that can already fail is made before asking for more bytes.
 */
export function probeDicom(dir: Direction, b: Uint8Array): ProbeResult {
  if (b.length === 0) return 'need_more';
  const type = b[0];
  if (type !== PduType.ASSOCIATE_RQ && !(type === PduType.ASSOCIATE_AC && dir === 1)) return 'no';
  if (b.length < 2) return 'need_more';
  if (b[1] !== 0) return 'no';
  if (b.length < 6) return 'need_more';
  const len = u32(b, 2);
  if (len < ASSOCIATE_FIXED_LEN || len > DEFAULT_LIMITS.maxPduLength) return 'no';
  if (b.length < 10) return 'need_more';
  if (b[6] !== 0 || b[7] !== 1 || b[8] !== 0 || b[9] !== 0) return 'no';
  if (b.length < PROBE_BYTES) return 'need_more';
  return isPrintableAe(b, 10) && isPrintableAe(b, 26) ? 'match' : 'no';
}

export const dicomSpec: AnalyzerSpec = {
  proto: 'dicom',
  defaultPorts: DEFAULT_PORTS,
  probe: probeDicom,
  create: (sink) => new DicomSession(sink),
  schema: dicomSchema,
};

export { DicomSession } from './session.js';
export { ANOMALY_CODES, EVENT_TYPES, dicomSchema } from './events.js';
export { DEFAULT_LIMITS, type DicomLimits } from './constants.js';
