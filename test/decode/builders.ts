// Byte builders for decoder tests: Ethernet (+802.1Q/802.1ad tags), SLL/SLL2, BSD loopback, MPLS, ARP, IPv4, IPv6 (+extension headers), TCP, UDP.
import type { Packet } from '../../agent/decode/packet.js';

/**
 * Everything a decoded Packet says, as plain data: views as byte arrays, the payload by its bytes and length (not
 * by where it lies), so packets decoded from different buffers compare equal when they say the same.
 */
export function packetContent(p: Packet): Record<string, unknown> {
  return {
    ts: p.ts,
    frameIndex: p.frameIndex,
    frameLen: p.frameLen,
    srcMac: p.srcMac,
    dstMac: p.dstMac,
    vlan: p.vlan,
    vlanDepth: p.vlanDepth,
    ipVersion: p.ipVersion,
    src: [...p.src],
    dst: [...p.dst],
    src4: p.src4,
    dst4: p.dst4,
    ttl: p.ttl,
    proto: p.proto,
    srcPort: p.srcPort,
    dstPort: p.dstPort,
    tcpFlags: p.tcpFlags,
    seq: p.seq,
    ack: p.ack,
    window: p.window,
    etherType: p.etherType,
    payload: [...p.payload],
    payloadLen: p.payloadLen,
    isArp: p.isArp,
    arpOp: p.arpOp,
    arpSenderMac: p.arpSenderMac,
    arpSenderIp: p.arpSenderIp,
    arpTargetIp: p.arpTargetIp,
  };
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

function u16(v: number): number[] {
  return [(v >> 8) & 255, v & 255];
}

function u32(v: number): number[] {
  return [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
}

export function mac(text: string): Uint8Array {
  return Uint8Array.from(text.split(':').map((h) => parseInt(h, 16)));
}

export function ip4(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number));
}

/** IPv6 text (with at most one "::") to 16 bytes. */
export function ip6(text: string): Uint8Array {
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const words = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t].map((w) => parseInt(w, 16));
  return Uint8Array.from(words.flatMap((w) => u16(w)));
}

export interface EthOptions {
  dst?: string;
  src?: string;
  type: number;
  /** Tags outermost first. */
  tags?: { tpid?: number; vid: number; pcp?: number }[];
}

export function eth(o: EthOptions, payload: Uint8Array): Uint8Array {
  const tags = o.tags ?? [];
  const head: number[] = [...mac(o.dst ?? '00:11:22:33:44:55'), ...mac(o.src ?? '66:77:88:99:aa:bb')];
  const types = [...tags.map((t) => t.tpid ?? 0x8100), o.type];
  head.push(...u16(types[0] ?? o.type));
  tags.forEach((t, i) => head.push(...u16(((t.pcp ?? 0) << 13) | t.vid), ...u16(types[i + 1] ?? o.type)));
  return concat(Uint8Array.from(head), payload);
}

export function sll(proto: number, payload: Uint8Array, hatype = 1, addr = '66:77:88:99:aa:bb'): Uint8Array {
  const a = mac(addr);
  return concat(
    bytes(
      ...u16(0),
      ...u16(hatype),
      ...u16(a.length),
      ...a,
      ...Array<number>(8 - a.length).fill(0),
      ...u16(proto),
    ),
    payload,
  );
}

export function sll2(proto: number, payload: Uint8Array, hatype = 1, addr = '66:77:88:99:aa:bb'): Uint8Array {
  const a = mac(addr);
  return concat(
    bytes(
      ...u16(proto),
      0,
      0,
      ...u32(2),
      ...u16(hatype),
      0,
      a.length,
      ...a,
      ...Array<number>(8 - a.length).fill(0),
    ),
    payload,
  );
}

/** BSD loopback header: address family in little- or big-endian order. */
export function nullHeader(af: number, payload: Uint8Array, littleEndian = true): Uint8Array {
  const b = u32(af);
  return concat(Uint8Array.from(littleEndian ? b.reverse() : b), payload);
}

export function mpls(labels: number[], payload: Uint8Array): Uint8Array {
  const out: number[] = [];
  labels.forEach((label, i) =>
    out.push(...u32(((label << 12) | (i === labels.length - 1 ? 0x100 : 0) | 64) >>> 0)),
  );
  return concat(Uint8Array.from(out), payload);
}

export interface ArpOptions {
  op?: number;
  senderMac?: string;
  senderIp?: string;
  targetMac?: string;
  targetIp?: string;
}

export function arp(o: ArpOptions = {}): Uint8Array {
  return bytes(
    ...u16(1),
    ...u16(0x0800),
    6,
    4,
    ...u16(o.op ?? 1),
    ...mac(o.senderMac ?? '66:77:88:99:aa:bb'),
    ...ip4(o.senderIp ?? '10.0.0.1'),
    ...mac(o.targetMac ?? '00:00:00:00:00:00'),
    ...ip4(o.targetIp ?? '10.0.0.2'),
  );
}

export interface Ipv4Options {
  src?: string;
  dst?: string;
  proto: number;
  ttl?: number;
  id?: number;
  dontFragment?: boolean;
  moreFragments?: boolean;
  /** Fragment offset in bytes (multiple of 8). */
  fragOffset?: number;
  /** Options bytes (padded to 4 by the builder). */
  options?: number[];
  /** Override the total length field. */
  totalLength?: number;
  /** Override the IHL field (in 32-bit words). */
  ihl?: number;
  version?: number;
}

export function ipv4(o: Ipv4Options, payload: Uint8Array): Uint8Array {
  const opts = [...(o.options ?? [])];
  while (opts.length % 4 !== 0) opts.push(0);
  const hl = 20 + opts.length;
  const flags = (o.dontFragment ? 0x4000 : 0) | (o.moreFragments ? 0x2000 : 0) | ((o.fragOffset ?? 0) / 8);
  const head = [
    ((o.version ?? 4) << 4) | (o.ihl ?? hl / 4),
    0,
    ...u16(o.totalLength ?? hl + payload.length),
    ...u16(o.id ?? 1),
    ...u16(flags),
    o.ttl ?? 64,
    o.proto,
    0,
    0,
    ...ip4(o.src ?? '10.0.0.1'),
    ...ip4(o.dst ?? '10.0.0.2'),
    ...opts,
  ];
  return concat(Uint8Array.from(head), payload);
}

export interface Ipv6Options {
  src?: string;
  dst?: string;
  /** Next header of the fixed header (first extension header or upper layer). */
  next: number;
  hopLimit?: number;
  payloadLength?: number;
}

export function ipv6(o: Ipv6Options, payload: Uint8Array): Uint8Array {
  const head = [
    0x60,
    0,
    0,
    0,
    ...u16(o.payloadLength ?? payload.length),
    o.next,
    o.hopLimit ?? 64,
    ...ip6(o.src ?? 'fd00::1'),
    ...ip6(o.dst ?? 'fd00::2'),
  ];
  return concat(Uint8Array.from(head), payload);
}

/** Hop-by-hop, routing or destination options header of `units` × 8 bytes (padding options). */
export function ext6(next: number, units = 1): Uint8Array {
  const b = new Uint8Array(units * 8);
  b[0] = next;
  b[1] = units - 1;
  b[2] = 1; // PadN option covering the rest
  b[3] = units * 8 - 4;
  return b;
}

export function frag6(next: number, offset: number, more: boolean, id: number): Uint8Array {
  return bytes(next, 0, ...u16(offset | (more ? 1 : 0)), ...u32(id));
}

export interface TcpOptions {
  sport?: number;
  dport?: number;
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  options?: number[];
  /** Override data offset (32-bit words). */
  dataOffset?: number;
}

export function tcp(o: TcpOptions, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const opts = [...(o.options ?? [])];
  while (opts.length % 4 !== 0) opts.push(1);
  const hl = 20 + opts.length;
  return concat(
    bytes(
      ...u16(o.sport ?? 40000),
      ...u16(o.dport ?? 80),
      ...u32(o.seq ?? 1000),
      ...u32(o.ack ?? 0),
      (o.dataOffset ?? hl / 4) << 4,
      o.flags ?? 0x02,
      ...u16(o.window ?? 65535),
      0,
      0,
      0,
      0,
      ...opts,
    ),
    payload,
  );
}

export interface UdpOptions {
  sport?: number;
  dport?: number;
  length?: number;
}

export function udp(o: UdpOptions, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  return concat(
    bytes(...u16(o.sport ?? 5353), ...u16(o.dport ?? 53), ...u16(o.length ?? 8 + payload.length), 0, 0),
    payload,
  );
}

export function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
