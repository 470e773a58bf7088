// LLDP event type, fields and anomaly codes (IEEE 802.1AB-2016 §8.5 basic TLVs).
import { identitySchema } from '../datagram.js';
import type { ProtocolSchema } from '../types.js';
import { ident, list, num } from '../schema.js';

/** System capabilities bits (802.1AB §8.5.8.1), bit 0 first. */
export const CAPABILITIES = [
  'other',
  'repeater',
  'bridge',
  'wlan_ap',
  'router',
  'telephone',
  'docsis',
  'station',
  'cvlan',
  'svlan',
  'tpmr',
] as const;

export const ANOMALIES = {
  'lldp.malformed': {
    malformed: true,
    doc: 'A TLV running past the frame, or the mandatory Chassis ID, Port ID and TTL TLVs missing or out of order.',
  },
  'lldp.limit_exceeded': {
    malformed: false,
    doc: 'A string or list over its cap (256 characters, 32 items, 64 TLVs): kept cut, the count in `cut`.',
  },
} as const;

export const lldpSchema: ProtocolSchema = {
  ...identitySchema(
    'lldp',
    'LLDP',
    { advertisement: 'An LLDPDU: a switch port or a device announces its chassis, port and system.' },
    {
      chassis_id: ident('Chassis ID (a MAC as aa:bb:.., a network address as text, else the string)'),
      chassis_id_subtype: num(
        'Chassis ID subtype (4 MAC address, 5 network address, 7 locally assigned, ...)',
      ),
      port_id: ident('Port ID (same forms as the chassis id)'),
      port_id_subtype: num('Port ID subtype (3 MAC address, 5 interface name, 7 locally assigned, ...)'),
      ttl: num('Time To Live, seconds (0: the device is leaving)'),
      port_description: ident('Port Description'),
      system_name: ident('System Name'),
      system_description: ident('System Description (often make, model and firmware)'),
      capabilities: list('System Capabilities supported, by name'),
      enabled_capabilities: list('System Capabilities enabled, by name'),
      mgmt_addresses: list('Management Address TLVs, IPv4/IPv6 as text, others as hex'),
    },
    ANOMALIES,
  ),
  identity: [
    { types: ['advertisement'], field: 'system_name', attr: 'hostname', side: 'src' },
    // Make, model and firmware in one string on most devices: a new one is a firmware or device change.
    {
      types: ['advertisement'],
      field: 'system_description',
      attr: 'system_description',
      side: 'src',
      tracked: true,
    },
  ],
};
