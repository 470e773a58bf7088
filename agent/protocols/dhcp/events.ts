// DHCPv4 event types, fields and anomaly codes (RFC 2131, options RFC 2132 and RFC 4702).
import { identitySchema } from '../datagram.js';
import type { ProtocolSchema } from '../types.js';
import { ident, list, num, str } from '../schema.js';

/** DHCP message type (option 53) → event type; a BOOTP message without option 53, or an unknown type, is `other`. */
export const MESSAGE_TYPES: Readonly<Record<number, string>> = {
  1: 'discover',
  2: 'offer',
  3: 'request',
  4: 'decline',
  5: 'ack',
  6: 'nak',
  7: 'release',
  8: 'inform',
};

export const ANOMALIES = {
  'dhcp.malformed': {
    malformed: true,
    doc: 'Shorter than the fixed BOOTP header, no DHCP magic cookie, or an option running past the datagram.',
  },
  'dhcp.limit_exceeded': {
    malformed: false,
    doc: 'A string or list over its cap (256 characters, 32 items, 64 options): kept cut, the count in `cut`.',
  },
} as const;

export const dhcpSchema: ProtocolSchema = {
  ...identitySchema(
    'dhcp',
    'DHCP (v4)',
    {
      discover:
        'DHCPDISCOVER: a client looks for servers; carries its host name, vendor class and fingerprint',
      offer: 'DHCPOFFER from a server',
      request: 'DHCPREQUEST: a client asks for (or renews) an address',
      decline: 'DHCPDECLINE: the offered address is in use',
      ack: 'DHCPACK from a server',
      nak: 'DHCPNAK from a server',
      release: 'DHCPRELEASE: a client gives its address back',
      inform: 'DHCPINFORM: a client with an address asks for configuration',
      other: 'BOOTP without option 53, or a message type this list does not name',
    },
    {
      op: num('BOOTP op: 1 request (client), 2 reply (server)'),
      msg_type: num('option 53, DHCP message type (0 when absent)'),
      client_mac: ident('chaddr, the client hardware address (Ethernet only)'),
      hostname: ident('option 12, the client host name'),
      vendor_class: ident('option 60, vendor class identifier (e.g. a model or OS string)'),
      client_id: str('option 61, client identifier, as hex'),
      param_list: list('option 55, parameter request list, numbers in order'),
      fingerprint: ident('option 55 as comma-joined numbers: the Fingerbank DHCP fingerprint'),
      requested_ip: str('option 50, requested IP address'),
      fqdn: ident('option 81, client FQDN'),
    },
    ANOMALIES,
  ),
  identity: [
    // Options a client sends about itself (a server's offer or ack may echo them: those are not the server's).
    {
      types: ['discover', 'request', 'inform', 'decline', 'release', 'other'],
      field: 'hostname',
      attr: 'hostname',
      side: 'src',
    },
    {
      types: ['discover', 'request', 'inform', 'decline', 'release', 'other'],
      field: 'fqdn',
      attr: 'hostname',
      side: 'src',
    },
    {
      types: ['discover', 'request', 'inform', 'decline', 'release', 'other'],
      field: 'vendor_class',
      attr: 'dhcp_vendor_class',
      side: 'src',
      tracked: true,
    },
    // The parameter request list is the client's DHCP stack: another one behind the same MAC is another system.
    {
      types: ['discover', 'request', 'inform', 'decline', 'release', 'other'],
      field: 'fingerprint',
      attr: 'dhcp_fingerprint',
      side: 'src',
      tracked: true,
    },
  ],
};
