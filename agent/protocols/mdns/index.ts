// The mDNS analyzer spec: UDP 5353, one event per message (query or response).
import { datagramSpec } from '../datagram.js';
import type { DatagramAnalyzerSpec } from '../types.js';
import { mdnsSchema } from './events.js';
import { parseMdns } from './parse.js';

export { ANOMALIES, mdnsSchema, TXT_VALUE_KEYS } from './events.js';
export { parseMdns, serviceTypeOf } from './parse.js';

export const mdnsSpec: DatagramAnalyzerSpec = datagramSpec('mdns', [5353], (p) => parseMdns(p), mdnsSchema);
