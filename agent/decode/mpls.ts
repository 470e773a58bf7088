// MPLS label stack (RFC 3032 §2.1): labels skipped up to bottom of stack; the payload's IP version picks the next layer.
import { EtherType, type Layer, type LayerResult } from './layer.js';

export function decodeMpls(d: Uint8Array, l: Layer, maxLabels: number): LayerResult {
  let o = l.off;
  for (let n = 0; ; n++) {
    if (n >= maxLabels) return 'too_many_tags';
    if (l.end - o < 4) return 'truncated';
    const bottom = (d[o + 2]! & 0x01) !== 0;
    o += 4;
    if (bottom) break;
  }
  l.off = o;
  if (o >= l.end) return 'truncated';
  // No protocol field in MPLS: RFC 4385 says a pseudowire control word starts with nibble 0, IP with 4 or 6.
  const version = d[o]! >> 4;
  if (version === 4) l.next = EtherType.IPV4;
  else if (version === 6) l.next = EtherType.IPV6;
  else return 'other';
  return null;
}
