// The identity analyzers (issue 15): UDP datagram and link-layer protocols. The lead folds these lists into registry.ts.
import { cdpSpec } from './cdp/index.js';
import { dhcpSpec } from './dhcp/index.js';
import { dhcpv6Spec } from './dhcpv6/index.js';
import { lldpSpec } from './lldp/index.js';
import { mdnsSpec } from './mdns/index.js';
import { ssdpSpec } from './ssdp/index.js';
import type { DatagramAnalyzerSpec, LinkAnalyzerSpec, ProtocolSchema } from './types.js';
import { wsdSpec } from './wsd/index.js';

/** UDP analyzers, chosen by port (server port first, then client port). */
export const DATAGRAM_ANALYZERS: readonly DatagramAnalyzerSpec[] = [
  dhcpSpec,
  dhcpv6Spec,
  mdnsSpec,
  ssdpSpec,
  wsdSpec,
];

/** Link-layer analyzers, asked in order whether they accept a non-IP frame. */
export const LINK_ANALYZERS: readonly LinkAnalyzerSpec[] = [lldpSpec, cdpSpec];

export const IDENTITY_SCHEMAS: readonly ProtocolSchema[] = [
  ...DATAGRAM_ANALYZERS.map((a) => a.schema),
  ...LINK_ANALYZERS.map((a) => a.schema),
];
