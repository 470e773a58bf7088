// CDP parser: LLC/SNAP (OUI 00000c, PID 0x2000), the 4-byte CDP header, then type-length-value records (length includes the 4-byte TLV header).
import { ipToString } from '../../decode/addr.js';
import { bounds, pushCapped, readText, type Bounds } from '../bounded.js';
import type { Decoded } from '../datagram.js';
import type { EventFields, FieldValue } from '../types.js';
import { CAPABILITIES } from './events.js';
import { u16, u32 } from '../../wire/bytes.js';

const MAX_TLVS = 64;
const SNAP = [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00];
const IPV6_SNAP = [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x86, 0xdd];

/** Whether `d` starts with CDP's LLC/SNAP header. */
export function isCdpSnap(d: Uint8Array): boolean {
  for (let i = 0; i < SNAP.length; i++) if (d[i] !== SNAP[i]) return false;
  return true;
}

/** `d` starts at the LLC header. */
export function parseCdp(d: Uint8Array, b: Bounds = bounds()): Decoded {
  if (d.length < SNAP.length + 4 || !isCdpSnap(d)) return { anomaly: 'cdp.malformed', malformed: true };
  const h = SNAP.length;
  const fields: EventFields = { version: d[h]!, ttl: d[h + 1]! };
  const addrs: FieldValue[] = [];
  let o = h + 4;
  let n = 0;
  while (o < d.length) {
    if (o + 4 > d.length) return { anomaly: 'cdp.malformed', malformed: true };
    const type = u16(d, o);
    const len = u16(d, o + 2);
    if (len < 4 || o + len > d.length) return { anomaly: 'cdp.malformed', malformed: true };
    const v = o + 4;
    const vlen = len - 4;
    o += len;
    if (++n > MAX_TLVS) {
      b.cut++;
      continue;
    }
    switch (type) {
      case 0x01:
        fields.device_id = readText(d, v, vlen, b);
        break;
      case 0x02:
      case 0x16:
        readAddresses(d, v, vlen, addrs, b);
        break;
      case 0x03:
        fields.port_id = readText(d, v, vlen, b);
        break;
      case 0x04:
        if (vlen === 4) {
          const bits = u32(d, v);
          const caps: FieldValue[] = [];
          for (let i = 0; i < 32; i++) if (bits & (1 << i)) pushCapped(caps, CAPABILITIES[i] ?? `bit${i}`, b);
          fields.capabilities = caps;
        }
        break;
      case 0x05:
        fields.software_version = readText(d, v, vlen, b);
        break;
      case 0x06:
        fields.platform = readText(d, v, vlen, b);
        break;
    }
  }
  if (addrs.length > 0) fields.addresses = addrs;
  return { type: 'advertisement', fields, cut: b.cut };
}

/** Count (4 bytes), then per address: protocol type, protocol length, protocol, address length (2), address. */
function readAddresses(d: Uint8Array, v: number, len: number, out: FieldValue[], b: Bounds): void {
  const end = v + len;
  if (len < 4) return;
  const count = u32(d, v);
  let o = v + 4;
  for (let i = 0; i < count && o + 2 <= end; i++) {
    const ptype = d[o]!;
    const plen = d[o + 1]!;
    const p = o + 2;
    if (p + plen + 2 > end) return;
    const alen = u16(d, p + plen);
    const a = p + plen + 2;
    if (a + alen > end) return;
    o = a + alen;
    const nlpidIp = ptype === 1 && plen === 1 && d[p] === 0xcc;
    const snapIp6 = plen === 8 && IPV6_SNAP.every((x, k) => d[p + k] === x);
    if ((nlpidIp && alen === 4) || (snapIp6 && alen === 16)) {
      pushCapped(out, ipToString(d.subarray(a, a + alen)), b, true);
    }
  }
}
