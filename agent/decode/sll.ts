// Linux cooked capture headers: SLL v1 (LINKTYPE_LINUX_SLL, 16 bytes) and SLL2 (LINKTYPE_LINUX_SLL2, 20 bytes), per tcpdump.org.
import type { Packet } from './packet.js';
import { type Layer, type LayerResult } from './layer.js';
import { u16, u48 } from '../wire/bytes.js';

const ARPHRD_ETHER = 1;
const ARPHRD_LOOPBACK = 772;
const ARPHRD_NETLINK = 824;

function setSource(d: Uint8Array, o: number, hatype: number, halen: number, out: Packet): void {
  if ((hatype === ARPHRD_ETHER || hatype === ARPHRD_LOOPBACK) && halen === 6) out.srcMac = u48(d, o);
}

export function decodeSll(d: Uint8Array, l: Layer, out: Packet): LayerResult {
  const o = l.off;
  if (l.end - o < 16) return 'truncated';
  const hatype = u16(d, o + 2);
  setSource(d, o + 6, hatype, u16(d, o + 4), out);
  l.next = u16(d, o + 14);
  l.off = o + 16;
  // Netlink frames carry a netlink family, and protocol values below 0x0600 name 802.2/802.3 framing.
  if (hatype === ARPHRD_NETLINK || l.next < 0x0600) return 'other';
  return null;
}

export function decodeSll2(d: Uint8Array, l: Layer, out: Packet): LayerResult {
  const o = l.off;
  if (l.end - o < 20) return 'truncated';
  const hatype = u16(d, o + 8);
  setSource(d, o + 12, hatype, d[o + 11]!, out);
  l.next = u16(d, o);
  l.off = o + 20;
  if (hatype === ARPHRD_NETLINK || l.next < 0x0600) return 'other';
  return null;
}
