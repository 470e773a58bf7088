// IPv4 header (RFC 791 §3.1): options skipped by IHL, total length honoured (link trailers trimmed), fragment fields read.
import type { Packet } from './packet.js';
import { type Layer, type LayerResult } from './layer.js';
import { u16, u32 } from '../wire/bytes.js';

export function decodeIpv4(d: Uint8Array, l: Layer, out: Packet): LayerResult {
  const o = l.off;
  const avail = l.end - o;
  if (avail < 20) return 'truncated';
  const b0 = d[o]!;
  if (b0 >> 4 !== 4) return 'bad_header';
  const hl = (b0 & 0x0f) * 4;
  if (hl < 20) return 'bad_header';
  if (hl > avail) return 'truncated';
  let total = u16(d, o + 2);
  // 0 is what TSO-offloading hosts capture; more than captured is a snap-length cut. Both: use what is there.
  if (total === 0 || total > avail) total = avail;
  else if (total < hl) return 'bad_header';
  out.ipVersion = 4;
  out.setIpv4(u32(d, o + 12), u32(d, o + 16));
  out.ttl = d[o + 8]!;
  out.proto = d[o + 9]!;
  const frag = u16(d, o + 6);
  l.moreFragments = (frag & 0x2000) !== 0;
  l.fragOffset = (frag & 0x1fff) * 8;
  l.isFragment = l.moreFragments || l.fragOffset !== 0;
  l.fragId = u16(d, o + 4);
  l.next = out.proto;
  l.off = o + hl;
  l.end = o + total;
  return null;
}
