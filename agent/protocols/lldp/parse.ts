// LLDPDU parser (IEEE 802.1AB-2016 §8.4–8.5): the basic TLVs as identity metadata, capped; organisationally specific TLVs are skipped.
import { ipToString } from '../../decode/addr.js';
import { bounds, hex, macText, pushCapped, readText, type Bounds } from '../bounded.js';
import type { Decoded } from '../datagram.js';
import type { EventFields, FieldValue } from '../types.js';
import { CAPABILITIES } from './events.js';
import { u16 } from '../../wire/bytes.js';

const MAX_TLVS = 64;

/** An id TLV's value by subtype: a MAC, a network address (IANA family 1 IPv4, 2 IPv6), else text. */
function idValue(d: Uint8Array, v: number, len: number, macSub: number, addrSub: number, b: Bounds): string {
  const sub = d[v]!;
  if (sub === macSub && len === 7) return macText(d, v + 1);
  if (sub === addrSub && len >= 2) return address(d, v + 1, len - 1, b);
  return readText(d, v + 1, len - 1, b);
}

/** An address with its IANA family byte first (802.1AB §8.5.9.4). */
function address(d: Uint8Array, off: number, len: number, b: Bounds): string {
  const fam = d[off];
  if (fam === 1 && len === 5) return ipToString(d.subarray(off + 1, off + 5));
  if (fam === 2 && len === 17) return ipToString(d.subarray(off + 1, off + 17));
  return hex(d, off + 1, len - 1, b);
}

function capNames(bits: number, b: Bounds): FieldValue[] {
  const out: FieldValue[] = [];
  for (let i = 0; i < 16; i++) if (bits & (1 << i)) pushCapped(out, CAPABILITIES[i] ?? `bit${i}`, b);
  return out;
}

export function parseLldp(d: Uint8Array, b: Bounds = bounds()): Decoded {
  const fields: EventFields = {};
  const mgmt: FieldValue[] = [];
  let o = 0;
  let n = 0;
  for (;;) {
    if (o + 2 > d.length) return { anomaly: 'lldp.malformed', malformed: true };
    const head = u16(d, o);
    const type = head >> 9;
    const len = head & 0x1ff;
    const v = o + 2;
    if (v + len > d.length) return { anomaly: 'lldp.malformed', malformed: true };
    o = v + len;
    // The first three TLVs are Chassis ID, Port ID and TTL, in that order (§8.2).
    if (n < 3 && type !== n + 1) return { anomaly: 'lldp.malformed', malformed: true };
    n++;
    if (type === 0) break;
    if (n > MAX_TLVS) {
      b.cut++;
      continue;
    }
    switch (type) {
      case 1:
        if (len < 2) return { anomaly: 'lldp.malformed', malformed: true };
        fields.chassis_id_subtype = d[v]!;
        fields.chassis_id = idValue(d, v, len, 4, 5, b);
        break;
      case 2:
        if (len < 2) return { anomaly: 'lldp.malformed', malformed: true };
        fields.port_id_subtype = d[v]!;
        fields.port_id = idValue(d, v, len, 3, 4, b);
        break;
      case 3:
        if (len < 2) return { anomaly: 'lldp.malformed', malformed: true };
        fields.ttl = u16(d, v);
        break;
      case 4:
        fields.port_description = readText(d, v, len, b);
        break;
      case 5:
        fields.system_name = readText(d, v, len, b);
        break;
      case 6:
        fields.system_description = readText(d, v, len, b);
        break;
      case 7:
        if (len === 4) {
          fields.capabilities = capNames(u16(d, v), b);
          fields.enabled_capabilities = capNames(u16(d, v + 2), b);
        }
        break;
      case 8: {
        const alen = d[v] ?? 0;
        if (alen >= 2 && 1 + alen <= len) pushCapped(mgmt, address(d, v + 1, alen, b), b, true);
        break;
      }
    }
  }
  if (mgmt.length > 0) fields.mgmt_addresses = mgmt;
  return { type: 'advertisement', fields, cut: b.cut };
}
