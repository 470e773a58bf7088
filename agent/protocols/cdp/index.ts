// The CDP analyzer spec: 802.3 frames to 01:00:0c:cc:cc:cc with LLC/SNAP PID 0x2000, one event per announcement.
import type { LinkAnalyzerSpec } from '../types.js';
import { cdpSchema } from './events.js';
import { isCdpSnap, parseCdp } from './parse.js';

export { ANOMALIES, CAPABILITIES, cdpSchema } from './events.js';
export { isCdpSnap, parseCdp } from './parse.js';

export const CDP_MULTICAST = 0x01000ccccccc;

export const cdpSpec: LinkAnalyzerSpec = {
  proto: 'cdp',
  accepts: (f) => f.etherType === -1 && f.dstMac === CDP_MULTICAST && isCdpSnap(f.payload),
  decode: (f) => parseCdp(f.payload),
  schema: cdpSchema,
};
