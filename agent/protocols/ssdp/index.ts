// The SSDP analyzer spec: UDP 1900, one event per message.
import { datagramSpec } from '../datagram.js';
import type { DatagramAnalyzerSpec } from '../types.js';
import { ssdpSchema } from './events.js';
import { parseSsdp } from './parse.js';

export { ANOMALIES, ssdpSchema } from './events.js';
export { parseSsdp } from './parse.js';

export const ssdpSpec: DatagramAnalyzerSpec = datagramSpec('ssdp', [1900], (p) => parseSsdp(p), ssdpSchema);
