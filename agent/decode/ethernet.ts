// Ethernet II header (IEEE 802.3 clause 3.2.6): MAC addresses and EtherType; 802.3 length frames are "other".
import type { Packet } from './packet.js';
import { type Layer, type LayerResult } from './layer.js';
import { u16, u48 } from '../wire/bytes.js';

export function decodeEthernet(d: Uint8Array, l: Layer, out: Packet): LayerResult {
  const o = l.off;
  if (l.end - o < 14) return 'truncated';
  out.dstMac = u48(d, o);
  out.srcMac = u48(d, o + 6);
  const type = u16(d, o + 12);
  l.off = o + 14;
  l.next = type;
  // Values up to 1500 are an 802.3 length (LLC/SNAP follows: STP, CDP, ...), not an EtherType.
  if (type < 0x0600) return 'other';
  return null;
}
