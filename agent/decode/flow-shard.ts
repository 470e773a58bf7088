// Which of N replay shares keeps a frame (`replay --workers N`): a symmetric hash of its IP address pair, read
// from the link, VLAN and MPLS headers without decoding the rest. Pure and allocation-free: every share runs it
// on every packet of the input, its own and the others'.
import { LinkType, type RawFrame } from '../capture/types.js';
import { u16, u32 } from '../wire/bytes.js';

const ETHER_IPV4 = 0x0800;
const ETHER_IPV6 = 0x86dd;
const ETHER_VLAN = 0x8100;
const ETHER_QINQ = 0x88a8;
const ETHER_VLAN_LEGACY = 0x9100;
const ETHER_MPLS = 0x8847;
const ETHER_MPLS_MULTICAST = 0x8848;
/** As the decoder's limits: a frame with more is malformed and goes to worker 0, which counts it. */
const MAX_TAGS = 4;
const MAX_LABELS = 8;
const DLT_RAW_12 = 12;
const DLT_RAW_14 = 14;

/** Offset of the IP header after an EtherType at `typeAt` (VLAN tags and MPLS labels skipped), or -1. */
function ipAfterEtherType(b: Uint8Array, typeAt: number, end: number): number {
  let at = typeAt;
  if (at + 2 > end) return -1;
  let type = u16(b, at);
  for (let tags = 0; type === ETHER_VLAN || type === ETHER_QINQ || type === ETHER_VLAN_LEGACY; tags++) {
    if (tags === MAX_TAGS) return -1;
    at += 4;
    if (at + 2 > end) return -1;
    type = u16(b, at);
  }
  if (type === ETHER_IPV4 || type === ETHER_IPV6) return at + 2;
  if (type !== ETHER_MPLS && type !== ETHER_MPLS_MULTICAST) return -1;
  // MPLS: labels up to the bottom of the stack, then an IP header (its version says which).
  let off = at + 2;
  for (let labels = 0; labels < MAX_LABELS && off + 4 <= end; labels++) {
    const bottom = ((b[off + 2] ?? 0) & 1) === 1;
    off += 4;
    if (bottom) return off;
  }
  return -1;
}

/** Offset of the IP header in a frame of this link type (the frame is `b[start, end)`), or -1. */
function ipOffset(b: Uint8Array, start: number, end: number, linkType: number): number {
  const len = end - start;
  switch (linkType) {
    case LinkType.ETHERNET:
      return len >= 14 ? ipAfterEtherType(b, start + 12, end) : -1;
    case LinkType.LINUX_SLL:
      return len >= 16 ? ipAfterEtherType(b, start + 14, end) : -1;
    case LinkType.LINUX_SLL2:
      // SLL2's protocol type comes first; tags, if any, were taken off by the kernel.
      return len >= 20 && (u16(b, start) === ETHER_IPV4 || u16(b, start) === ETHER_IPV6) ? start + 20 : -1;
    case LinkType.NULL:
    case LinkType.LOOP:
      return start + 4;
    case LinkType.RAW:
    case LinkType.IPV4:
    case LinkType.IPV6:
    case DLT_RAW_12:
    case DLT_RAW_14:
      return start;
    default:
      return -1;
  }
}

/**
 * A symmetric 32-bit key of the frame's IP pair (src XOR dst), or -1 for a frame that is not IP. It reads the
 * frame's place in the reader's buffer where the frame has one (a FrameSlot), so no view is made per frame.
 */
export function ipPairKey(frame: RawFrame): number {
  let b: Uint8Array;
  let start: number;
  let end: number;
  if (frame.buffer !== undefined && frame.offset !== undefined && frame.capLen !== undefined) {
    b = frame.buffer;
    start = frame.offset;
    end = Math.min(b.length, start + frame.capLen);
  } else {
    b = frame.data;
    start = 0;
    end = b.length;
  }
  const off = ipOffset(b, start, end, frame.linkType);
  if (off < 0 || off >= end) return -1;
  const version = (b[off] ?? 0) >> 4;
  if (version === 4) {
    if (off + 20 > end) return -1;
    return (u32(b, off + 12) ^ u32(b, off + 16)) >>> 0;
  }
  if (version === 6) {
    if (off + 40 > end) return -1;
    let x = 0;
    for (let i = 8; i < 40; i += 4) x ^= u32(b, off + i);
    return x >>> 0;
  }
  return -1;
}

/**
 * The worker (0 .. count-1) of a frame: both directions of a flow, every flow between two hosts and every
 * fragment of a datagram land on the same one, so per-flow and per-host-pair state stays whole. Frames that are
 * not IP (ARP, LLDP, CDP) and frames too short or strange to peek into go to worker 0, which decodes (and
 * counts) them like one pipeline would.
 */
export function flowShard(frame: RawFrame, count: number): number {
  if (count <= 1) return 0;
  const key = ipPairKey(frame);
  if (key < 0) return 0;
  // Mixed, then the high bits pick the worker: hosts of one subnet differ only in their low bits.
  let h = Math.imul(key ^ (key >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  h ^= h >>> 16;
  return Math.floor(((h >>> 0) * count) / 4294967296);
}
