// IPv6 header (RFC 8200 §3) and extension header chain (§4: hop-by-hop, routing, fragment, destination options; AH per RFC 4302).
import type { Packet } from './packet.js';
import { type Layer, type LayerResult } from './layer.js';
import { u16, u32 } from '../wire/bytes.js';

const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const AUTH = 51;
const DEST_OPTS = 60;
const MOBILITY = 135;
const HIP = 139;
const SHIM6 = 140;
const EXPERIMENT_1 = 253;
const EXPERIMENT_2 = 254;

export function decodeIpv6(d: Uint8Array, l: Layer, out: Packet, maxExt: number): LayerResult {
  const o = l.off;
  const avail = l.end - o;
  if (avail < 40) return 'truncated';
  if (d[o]! >> 4 !== 6) return 'bad_header';
  let total = 40 + u16(d, o + 4);
  // Payload length 0 with hop-by-hop is a jumbogram (RFC 2675); longer than captured is a snap-length cut.
  if (total === 40 && d[o + 6] === HOP_BY_HOP) total = avail;
  if (total > avail) total = avail;
  const src = l.src6;
  const dst = l.dst6;
  for (let i = 0; i < 16; i++) {
    src[i] = d[o + 8 + i]!;
    dst[i] = d[o + 24 + i]!;
  }
  out.ipVersion = 6;
  out.src = src;
  out.dst = dst;
  out.ttl = d[o + 7]!;
  l.next = d[o + 6]!;
  l.off = o + 40;
  l.end = o + total;
  l.isFragment = false;
  l.moreFragments = false;
  l.fragOffset = 0;
  l.extCount = 0;
  return skipIpv6Extensions(d, l, out, maxExt);
}

/**
 * Walk extension headers from l.off with l.next the current header type. Stops at the upper-layer protocol,
 * or at a non-atomic fragment header (the rest of the chain lies in the reassembled payload: call again on it).
 */
export function skipIpv6Extensions(d: Uint8Array, l: Layer, out: Packet, maxExt: number): LayerResult {
  let o = l.off;
  let nh = l.next;
  for (;;) {
    let len: number;
    switch (nh) {
      case HOP_BY_HOP:
      case ROUTING:
      case DEST_OPTS:
      case MOBILITY:
      case HIP:
      case SHIM6:
      case EXPERIMENT_1:
      case EXPERIMENT_2:
        if (l.end - o < 8) return 'truncated';
        len = (d[o + 1]! + 1) * 8;
        break;
      case AUTH:
        if (l.end - o < 8) return 'truncated';
        len = (d[o + 1]! + 2) * 4;
        break;
      case FRAGMENT: {
        if (l.end - o < 8) return 'truncated';
        len = 8;
        const fo = u16(d, o + 2);
        const offset = fo & 0xfff8;
        const more = (fo & 1) !== 0;
        if (offset !== 0 || more) {
          if (++l.extCount > maxExt) return 'bad_header';
          l.isFragment = true;
          l.fragOffset = offset;
          l.moreFragments = more;
          l.fragId = u32(d, o + 4);
          l.next = d[o]!;
          l.off = o + 8;
          out.proto = l.next;
          return null;
        }
        break; // atomic fragment (RFC 6946): nothing to reassemble
      }
      default:
        l.next = nh;
        l.off = o;
        out.proto = nh;
        return null;
    }
    if (++l.extCount > maxExt) return 'bad_header';
    if (l.end - o < len) return 'truncated';
    nh = d[o]!;
    o += len;
  }
}
