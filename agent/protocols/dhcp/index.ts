// The DHCPv4 analyzer spec: UDP 67 (server) and 68 (client), one event per message.
import { datagramSpec } from '../datagram.js';
import type { DatagramAnalyzerSpec } from '../types.js';
import { dhcpSchema } from './events.js';
import { parseDhcp } from './parse.js';

export { ANOMALIES, dhcpSchema, MESSAGE_TYPES } from './events.js';
export { parseDhcp } from './parse.js';

export const dhcpSpec: DatagramAnalyzerSpec = datagramSpec('dhcp', [67, 68], (p) => parseDhcp(p), dhcpSchema);
