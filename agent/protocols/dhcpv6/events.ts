// DHCPv6 event types, fields and anomaly codes (RFC 8415 §7.3 message types, §21 options; RFC 4704 client FQDN).
import { identitySchema } from '../datagram.js';
import type { ProtocolSchema } from '../types.js';
import { ident, list, num, str } from '../schema.js';

export const MESSAGE_TYPES: Readonly<Record<number, string>> = {
  1: 'solicit',
  2: 'advertise',
  3: 'request',
  4: 'confirm',
  5: 'renew',
  6: 'rebind',
  7: 'reply',
  8: 'release',
  9: 'decline',
  10: 'reconfigure',
  11: 'information_request',
  12: 'relay_forw',
  13: 'relay_repl',
};

export const ANOMALIES = {
  'dhcpv6.malformed': {
    malformed: true,
    doc: 'Shorter than its header, or an option running past its message.',
  },
  'dhcpv6.limit_exceeded': {
    malformed: false,
    doc: 'A string or list over its cap (256 characters, 32 items, 64 options, 4 relay levels): kept cut, the count in `cut`.',
  },
} as const;

const docs: Record<string, string> = {};
for (const t of Object.values(MESSAGE_TYPES)) docs[t] = `DHCPv6 ${t.toUpperCase().replace('_', '-')} message`;
docs.relay_forw =
  'RELAY-FORW: a relay agent forwards a client message; the fields are the innermost message’s';
docs.relay_repl =
  'RELAY-REPL: a server answers through a relay agent; the fields are the innermost message’s';
docs.other = 'A message type this list does not name';

export const dhcpv6Schema: ProtocolSchema = {
  ...identitySchema(
    'dhcpv6',
    'DHCPv6',
    docs,
    {
      msg_type: num('message type (RFC 8415 §7.3); of the innermost message when relayed'),
      duid: str('option 1, client DUID, as hex'),
      vendor_enterprise: num('option 16, vendor class: the IANA enterprise number'),
      vendor_class: ident('option 16, vendor class data, each opaque item as text'),
      fqdn: ident('option 39, client FQDN'),
      oro: list('option 6, option request option: codes in order'),
      fingerprint: ident('option 6 as comma-joined numbers (the DHCPv6 counterpart of the DHCP fingerprint)'),
    },
    ANOMALIES,
  ),
  identity: [
    // From the client's messages only (a server's reply echoes the client's options).
    {
      types: [
        'solicit',
        'request',
        'confirm',
        'renew',
        'rebind',
        'release',
        'decline',
        'information_request',
      ],
      field: 'fqdn',
      attr: 'hostname',
      side: 'src',
    },
    {
      types: ['solicit', 'request', 'renew', 'rebind', 'information_request'],
      field: 'vendor_class',
      attr: 'dhcp_vendor_class',
      side: 'src',
      tracked: true,
    },
  ],
};
