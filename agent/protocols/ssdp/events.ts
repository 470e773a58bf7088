// SSDP event types, fields and anomaly codes (UPnP Device Architecture 2.0 §1: HTTP over UDP 1900).
import { identitySchema } from '../datagram.js';
import type { ProtocolSchema } from '../types.js';
import { ident, str } from '../schema.js';

export const ANOMALIES = {
  'ssdp.malformed': {
    malformed: true,
    doc: 'Not an SSDP message: no M-SEARCH, NOTIFY or HTTP response start line.',
  },
  'ssdp.limit_exceeded': {
    malformed: false,
    doc: 'A header value over 256 characters, a line over 1024 bytes, or more than 32 headers: kept cut, the count in `cut`.',
  },
} as const;

export const ssdpSchema: ProtocolSchema = {
  ...identitySchema(
    'ssdp',
    'SSDP',
    {
      msearch: 'M-SEARCH: a control point searches for devices or services (ST)',
      notify: 'NOTIFY: a device announces itself (ssdp:alive) or leaves (ssdp:byebye)',
      response: 'An HTTP response to an M-SEARCH: a device answers',
    },
    {
      method: str('the start line’s method: M-SEARCH, NOTIFY, or HTTP for a response'),
      nt: ident('NT, notification type (a device or service type URN)'),
      nts: str('NTS, ssdp:alive, ssdp:byebye or ssdp:update'),
      st: ident('ST, search target'),
      usn: ident('USN, unique service name (uuid:... ::type)'),
      server: ident('SERVER (or USER-AGENT of a search): OS, UPnP version and product tokens'),
      location: str('LOCATION, the device description URL (never fetched)'),
    },
    ANOMALIES,
  ),
  identity: [
    // SERVER names OS, UPnP and product versions: announced by the device (NOTIFY) or in its answers.
    { types: ['notify', 'response'], field: 'server', attr: 'software', side: 'src', tracked: true },
    { types: ['notify', 'response'], field: 'nt', attr: 'device_type', side: 'src', max: 1 },
  ],
};
