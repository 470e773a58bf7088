// ARP over Ethernet for IPv4 (RFC 826): operation, sender MAC/IP, target IP; other hardware/protocol pairs are "other".
import type { Packet } from './packet.js';
import { type Layer, type LayerResult } from './layer.js';
import { u16, u32, u48 } from '../wire/bytes.js';

export function decodeArp(d: Uint8Array, l: Layer, out: Packet): LayerResult | 'ok' {
  const o = l.off;
  if (l.end - o < 8) return 'truncated';
  if (u16(d, o) !== 1 || u16(d, o + 2) !== 0x0800 || d[o + 4] !== 6 || d[o + 5] !== 4) return 'other';
  if (l.end - o < 28) return 'truncated';
  out.isArp = true;
  out.arpOp = u16(d, o + 6);
  out.arpSenderMac = u48(d, o + 8);
  out.arpSenderIp = u32(d, o + 14);
  out.arpTargetIp = u32(d, o + 24);
  return 'ok';
}
