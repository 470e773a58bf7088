// BSD loopback headers (LINKTYPE_NULL host byte order, LINKTYPE_LOOP network byte order): 4-byte address family.
import { EtherType, type Layer, type LayerResult } from './layer.js';

const AF_INET = 2;
/** AF_INET6 differs per BSD: NetBSD/OpenBSD 24, FreeBSD 28, macOS 30 (tcpdump.org LINKTYPE_NULL). */
const AF_INET6 = new Set([24, 28, 30]);

/** `hostOrder`: LINKTYPE_NULL, written in the capturing host's byte order, so either order is accepted. */
export function decodeNullLoopback(d: Uint8Array, l: Layer, hostOrder: boolean): LayerResult {
  const o = l.off;
  if (l.end - o < 4) return 'truncated';
  const be = ((d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!) >>> 0;
  const le = ((d[o + 3]! << 24) | (d[o + 2]! << 16) | (d[o + 1]! << 8) | d[o]!) >>> 0;
  // Address families are small: the reading whose high half is zero is the right one.
  const af = hostOrder && (be & 0xffff0000) !== 0 ? le : be;
  l.off = o + 4;
  if (af === AF_INET) l.next = EtherType.IPV4;
  else if (AF_INET6.has(af)) l.next = EtherType.IPV6;
  else return 'other';
  return null;
}
