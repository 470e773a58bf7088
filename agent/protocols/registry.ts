// The analyzers wardwatch ships: adding a protocol is one folder and one line here (README "Adding a protocol").
import { cdpSpec } from './cdp/index.js';
import { dhcpSpec } from './dhcp/index.js';
import { dhcpv6Spec } from './dhcpv6/index.js';
import { dicomSpec } from './dicom/index.js';
import { hl7Spec } from './hl7/index.js';
import { lldpSpec } from './lldp/index.js';
import { mdnsSpec } from './mdns/index.js';
import { mqttSpec } from './mqtt/index.js';
import { ssdpSpec } from './ssdp/index.js';
import { tlsSpec } from './tls/index.js';
import type { AnalyzerSpec, DatagramAnalyzerSpec, LinkAnalyzerSpec, ProtocolSchema } from './types.js';
import { wsdSpec } from './wsd/index.js';

/** TCP stream analyzers, in probe order. */
export const ANALYZERS: readonly AnalyzerSpec[] = [hl7Spec, dicomSpec, mqttSpec, tlsSpec];

/** UDP analyzers (issue 15), chosen by port (server port first, then client port). */
export const DATAGRAM_ANALYZERS: readonly DatagramAnalyzerSpec[] = [
  dhcpSpec,
  dhcpv6Spec,
  mdnsSpec,
  ssdpSpec,
  wsdSpec,
];

/** Link-layer analyzers (issue 15), asked in order whether they accept a non-IP frame. */
export const LINK_ANALYZERS: readonly LinkAnalyzerSpec[] = [lldpSpec, cdpSpec];

/** The schemas of the stream analyzers. */
export const STREAM_SCHEMAS: readonly ProtocolSchema[] = ANALYZERS.map((a) => a.schema);

/** The schemas of the identity analyzers (UDP and link layer). */
export const IDENTITY_SCHEMAS: readonly ProtocolSchema[] = [
  ...DATAGRAM_ANALYZERS.map((a) => a.schema),
  ...LINK_ANALYZERS.map((a) => a.schema),
];

/** Every protocol's schema: what the rule validator, the docs generator and the collector's labels read. */
export const PROTOCOL_SCHEMAS: readonly ProtocolSchema[] = [...STREAM_SCHEMAS, ...IDENTITY_SCHEMAS];
