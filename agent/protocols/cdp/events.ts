// CDP event type, fields and anomaly codes (Cisco Discovery Protocol v1/v2, as Wireshark's packet-cdp.c reads it).
import { identitySchema } from '../datagram.js';
import type { ProtocolSchema } from '../types.js';
import { ident, list, num } from '../schema.js';

/** Capabilities bits, bit 0 first. */
export const CAPABILITIES = [
  'router',
  'trans_bridge',
  'source_route_bridge',
  'switch',
  'host',
  'igmp',
  'repeater',
  'voip_phone',
  'remotely_managed',
  'cvta',
  'two_port_mac_relay',
] as const;

export const ANOMALIES = {
  'cdp.malformed': {
    malformed: true,
    doc: 'Shorter than the CDP header, or a TLV shorter than its own header or running past the frame.',
  },
  'cdp.limit_exceeded': {
    malformed: false,
    doc: 'A string or list over its cap (256 characters, 32 items, 64 TLVs): kept cut, the count in `cut`.',
  },
} as const;

export const cdpSchema: ProtocolSchema = {
  ...identitySchema(
    'cdp',
    'CDP',
    { advertisement: 'A CDP announcement: a Cisco switch, router or phone names itself.' },
    {
      version: num('CDP version (1 or 2)'),
      ttl: num('hold time, seconds'),
      device_id: ident('Device ID (host name or serial number)'),
      platform: ident('Platform (model)'),
      software_version: ident('Software Version (first 256 characters)'),
      port_id: ident('Port ID (the sender’s interface)'),
      addresses: list('Addresses and Management Addresses, IPv4/IPv6 as text'),
      capabilities: list('Capabilities, by name'),
    },
    ANOMALIES,
  ),
  identity: [
    { types: ['advertisement'], field: 'device_id', attr: 'hostname', side: 'src' },
    { types: ['advertisement'], field: 'platform', attr: 'model', side: 'src', tracked: true },
    { types: ['advertisement'], field: 'software_version', attr: 'firmware', side: 'src', tracked: true },
  ],
};
