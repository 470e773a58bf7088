// DHCPv4 message parser (RFC 2131 §2 fixed header, RFC 2132 options, RFC 4702 client FQDN): metadata only, every string and list capped.
import {
  bounds,
  capString,
  hex,
  macText,
  pushCapped,
  readDnsName,
  readText,
  type Bounds,
} from '../bounded.js';
import type { Decoded } from '../datagram.js';
import type { EventFields, FieldValue } from '../types.js';
import { MESSAGE_TYPES } from './events.js';

const HEADER = 236;
const COOKIE = 0x63825363;
/** Options read per message; the rest are counted as cut. */
const MAX_OPTIONS = 64;

export function parseDhcp(d: Uint8Array, b: Bounds = bounds()): Decoded {
  if (d.length < HEADER + 4) return { anomaly: 'dhcp.malformed', malformed: true };
  const cookie = ((d[HEADER]! << 24) | (d[HEADER + 1]! << 16) | (d[HEADER + 2]! << 8) | d[HEADER + 3]!) >>> 0;
  if (cookie !== COOKIE) return { anomaly: 'dhcp.malformed', malformed: true };
  const fields: EventFields = { op: d[0]! };
  // Ethernet (htype 1, hlen 6) is the only hardware address worth naming; others stay unnamed.
  if (d[1] === 1 && d[2] === 6) fields.client_mac = macText(d, 28);
  let msgType = 0;
  let o = HEADER + 4;
  let count = 0;
  while (o < d.length) {
    const code = d[o]!;
    if (code === 255) break;
    if (code === 0) {
      o++;
      continue;
    }
    const len = d[o + 1];
    if (len === undefined || o + 2 + len > d.length) return { anomaly: 'dhcp.malformed', malformed: true };
    const v = o + 2;
    o = v + len;
    if (++count > MAX_OPTIONS) {
      b.cut++;
      continue;
    }
    switch (code) {
      case 53:
        if (len >= 1) msgType = d[v]!;
        break;
      case 12:
        fields.hostname = readText(d, v, len, b);
        break;
      case 60:
        fields.vendor_class = readText(d, v, len, b);
        break;
      case 61:
        fields.client_id = hex(d, v, len, b);
        break;
      case 50:
        if (len === 4) fields.requested_ip = `${d[v]}.${d[v + 1]}.${d[v + 2]}.${d[v + 3]}`;
        break;
      case 55: {
        const params: FieldValue[] = [];
        for (let i = 0; i < len; i++) pushCapped(params, d[v + i]!, b);
        fields.param_list = params;
        // The fingerprint is the whole list even when the field was cut: it identifies, it is not displayed.
        const all: number[] = [];
        for (let i = 0; i < len; i++) all.push(d[v + i]!);
        fields.fingerprint = capString(all.join(','), b);
        break;
      }
      case 81:
        if (len >= 3) fields.fqdn = fqdn(d, v, len, b);
        break;
    }
  }
  fields.msg_type = msgType;
  return { type: MESSAGE_TYPES[msgType] ?? 'other', fields, cut: b.cut };
}

/** RFC 4702 §2: flags, two RCODEs, then the name; in DNS wire form when the E flag (0x04) is set, else ASCII. */
function fqdn(d: Uint8Array, v: number, len: number, b: Bounds): string {
  const nameOff = v + 3;
  if ((d[v]! & 0x04) === 0) return readText(d, nameOff, len - 3, b);
  const part = d.subarray(nameOff, v + len);
  const name = readDnsName(part, 0);
  return capString(name?.name ?? '', b);
}
