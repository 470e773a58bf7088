// The LLDP analyzer spec: EtherType 0x88cc, one event per LLDPDU.
import type { LinkAnalyzerSpec } from '../types.js';
import { lldpSchema } from './events.js';
import { parseLldp } from './parse.js';

export { ANOMALIES, CAPABILITIES, lldpSchema } from './events.js';
export { parseLldp } from './parse.js';

export const LLDP_ETHERTYPE = 0x88cc;

export const lldpSpec: LinkAnalyzerSpec = {
  proto: 'lldp',
  accepts: (f) => f.etherType === LLDP_ETHERTYPE,
  decode: (f) => parseLldp(f.payload),
  schema: lldpSchema,
};
