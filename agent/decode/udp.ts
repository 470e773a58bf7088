// UDP header (RFC 768): ports and length; the length field trims padding, a length past the capture uses what is there.
import type { Packet } from './packet.js';
import { type Layer, type LayerResult } from './layer.js';
import { u16 } from '../wire/bytes.js';

export function decodeUdp(d: Uint8Array, l: Layer, out: Packet): LayerResult {
  const o = l.off;
  const avail = l.end - o;
  if (avail < 8) return 'truncated';
  let len = u16(d, o + 4);
  // 0 is legal for IPv6 jumbograms (RFC 2675 §4); below 8 is impossible.
  if (len === 0 || len > avail) len = avail;
  else if (len < 8) return 'bad_header';
  out.srcPort = u16(d, o);
  out.dstPort = u16(d, o + 2);
  if (len > 8) out.setPayload(d, o + 8, len - 8);
  return null;
}
