// IEEE 802.1Q C-tag and 802.1ad S-tag (TPID 0x8100, 0x88a8, legacy 0x9100): VLAN id, then the inner EtherType.
import type { Packet } from './packet.js';
import { type Layer, type LayerResult } from './layer.js';
import { u16 } from '../wire/bytes.js';

/** One tag at l.off; `maxTags` caps stacking so that a frame of repeated tags cannot loop long. */
export function decodeVlan(d: Uint8Array, l: Layer, out: Packet, maxTags: number): LayerResult {
  if (out.vlanDepth >= maxTags) return 'too_many_tags';
  const o = l.off;
  if (l.end - o < 4) return 'truncated';
  out.vlan = u16(d, o) & 0x0fff; // the last tag read is the innermost
  out.vlanDepth++;
  l.next = u16(d, o + 2);
  l.off = o + 4;
  return null;
}
