// TCP header (RFC 9293 §3.1): ports, seq/ack, flags, window; options skipped by data offset; payload as a view.
import type { Packet } from './packet.js';
import { type Layer, type LayerResult } from './layer.js';
import { u16, u32 } from '../wire/bytes.js';

export function decodeTcp(d: Uint8Array, l: Layer, out: Packet): LayerResult {
  const o = l.off;
  const avail = l.end - o;
  if (avail < 20) return 'truncated';
  const hl = (d[o + 12]! >> 4) * 4;
  if (hl < 20) return 'bad_header';
  if (hl > avail) return 'truncated';
  out.srcPort = u16(d, o);
  out.dstPort = u16(d, o + 2);
  out.seq = u32(d, o + 4);
  out.ack = u32(d, o + 8);
  out.tcpFlags = d[o + 13]!;
  out.window = u16(d, o + 14);
  if (hl < avail) out.setPayload(d, o + hl, l.end - o - hl);
  return null;
}
