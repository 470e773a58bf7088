// WS-Discovery event types, fields and anomaly codes (WS-Discovery 1.1 / the 2005/04 draft; IEEE 11073-20702 SDC devices use it on UDP 3702).
import { identitySchema } from '../datagram.js';
import type { ProtocolSchema } from '../types.js';
import { ident, list, num, str } from '../schema.js';
import type { FieldSpec } from '../types.js';

/** Body element → event type. */
export const ACTIONS: Readonly<Record<string, string>> = {
  Hello: 'hello',
  Bye: 'bye',
  Probe: 'probe',
  ProbeMatches: 'probe_matches',
  Resolve: 'resolve',
  ResolveMatches: 'resolve_matches',
};

export const ANOMALIES = {
  'wsd.malformed': {
    malformed: true,
    doc: 'Not a SOAP envelope with a WS-Discovery body: no Envelope, an unclosed tag, or no known action.',
  },
  'wsd.doctype': {
    malformed: true,
    doc: 'A DOCTYPE (entity declarations, an XML bomb): SOAP forbids it, the message is not read further.',
  },
  'wsd.limit_exceeded': {
    malformed: false,
    doc: 'Over 64 KiB, over 512 elements or 32 levels deep, or a string or list over its cap: kept cut, the count in `cut`.',
  },
} as const;

const names = (doc: string): FieldSpec => ({ ...list(doc), identifier: true });

export const wsdSchema: ProtocolSchema = {
  ...identitySchema(
    'wsd',
    'WS-Discovery',
    {
      hello: 'Hello: a device joins the network and announces its types, scopes and addresses',
      bye: 'Bye: a device leaves',
      probe: 'Probe: a client searches by types and scopes',
      probe_matches: 'ProbeMatches: devices answer a Probe',
      resolve: 'Resolve: a client asks for an endpoint’s addresses',
      resolve_matches: 'ResolveMatches: the endpoint answers a Resolve',
    },
    {
      action: str('the action’s element name (Hello, Bye, Probe, ProbeMatches, Resolve, ResolveMatches)'),
      types: names(
        'Types: QNames or URNs of the device types (e.g. `dpws:Device`, `urn:ihe-pcd:device:patientmonitor`)',
      ),
      scopes: names(
        'Scopes: URIs; SDC context scopes other than location (`sdc.ctxt.pat`, `.opr`, `.wfl`, ...) are cut to their kind: they may name a patient',
      ),
      xaddrs: list('XAddrs: transport addresses (URLs, never fetched)'),
      endpoint: ident('EndpointReference Address: the device’s stable id (often urn:uuid:...)'),
      metadata_version: num('MetadataVersion'),
    },
    ANOMALIES,
  ),
  identity: [
    // IEEE 11073 SDC devices announce their types and stable endpoint id in Hello and in answers to a Probe.
    {
      types: ['hello', 'probe_matches', 'resolve_matches'],
      field: 'types',
      attr: 'device_type',
      side: 'src',
      max: 4,
    },
    {
      types: ['hello', 'probe_matches', 'resolve_matches'],
      field: 'endpoint',
      attr: 'wsd_endpoint',
      side: 'src',
      tracked: true,
    },
  ],
};
