// The DHCPv6 analyzer spec: UDP 546 (client) and 547 (server and relay), one event per message.
import { datagramSpec } from '../datagram.js';
import type { DatagramAnalyzerSpec } from '../types.js';
import { dhcpv6Schema } from './events.js';
import { parseDhcpv6 } from './parse.js';

export { ANOMALIES, dhcpv6Schema, MESSAGE_TYPES } from './events.js';
export { parseDhcpv6 } from './parse.js';

export const dhcpv6Spec: DatagramAnalyzerSpec = datagramSpec(
  'dhcpv6',
  [546, 547],
  (p) => parseDhcpv6(p),
  dhcpv6Schema,
);
