// Frame decoder: link layer → VLAN/MPLS → ARP | IPv4/IPv6 (+ fragment reassembly) → TCP/UDP, filling one reused Packet.
import { LinkType, type RawFrame } from '../capture/types.js';
import { decodeArp } from './arp.js';
import { decodeEthernet } from './ethernet.js';
import { DEFAULT_FRAGMENT_LIMITS, FragmentTable, type FragmentLimits } from './fragments.js';
import { decodeIpv4 } from './ipv4.js';
import { decodeIpv6, skipIpv6Extensions } from './ipv6.js';
import { createLayer, EtherType, type Layer, type LayerResult } from './layer.js';
import { decodeMpls } from './mpls.js';
import { decodeNullLoopback } from './null-loopback.js';
import { IpProto, type DecodeError, type Packet } from './packet.js';
import { decodeRaw } from './raw.js';
import { decodeSll, decodeSll2 } from './sll.js';
import { decodeTcp } from './tcp.js';
import { decodeUdp } from './udp.js';
import { decodeVlan } from './vlan.js';

export type DecodeStatus = 'ok' | 'fragment_pending' | 'other' | DecodeError;

export interface DecoderLimits {
  /** 802.1Q/802.1ad tags per frame; more is 'too_many_tags' (Suricata flags more than 3). */
  maxVlanTags: number;
  maxMplsLabels: number;
  /** IPv6 extension headers per packet; more is 'bad_header'. */
  maxIpv6Headers: number;
  fragments: FragmentLimits;
}

export const DEFAULT_DECODER_LIMITS: DecoderLimits = {
  maxVlanTags: 4,
  maxMplsLabels: 8,
  maxIpv6Headers: 8,
  fragments: DEFAULT_FRAGMENT_LIMITS,
};

export interface DecoderStats {
  frames: number;
  /** Frames per decode status. */
  status: Record<DecodeStatus, number>;
  fragments: number;
  fragmentBuffers: number;
  fragmentBytes: number;
  fragmentsReassembled: number;
  fragmentsEvicted: number;
  fragmentsTimedOut: number;
  fragmentOverflows: number;
  fragmentOverlaps: number;
  fragmentInconsistentOverlaps: number;
}

/** DLT_RAW values some old writers put in files instead of LINKTYPE_RAW (libpcap and Wireshark read them as raw IP). */
const DLT_RAW_12 = 12;
const DLT_RAW_14 = 14;

/**
 * A non-IP frame's type and bytes after its Ethernet/VLAN headers, for the link-layer analyzers (LLDP, CDP).
 * `l.next` holds the EtherType, or the 802.3 length (below 0x0600), whose frame ends where the length says.
 */
function setLinkPayload(d: Uint8Array, l: Layer, out: Packet): void {
  const t = l.next;
  if (t < 0x0600) {
    out.etherType = -1;
    out.setPayload(d, l.off, Math.min(l.end, l.off + t) - l.off);
  } else {
    out.etherType = t;
    out.setPayload(d, l.off, l.end - l.off);
  }
}

/**
 * Pure and synchronous: `decode(frame, out)` never throws on input and allocates nothing per packet except the
 * payload view and fragment reassembly buffers (capped). `out` and its views are valid until the next call.
 */
export class Decoder {
  readonly limits: DecoderLimits;
  private readonly layer: Layer = createLayer();
  private readonly frags: FragmentTable;
  private frames = 0;
  private readonly counts: Record<DecodeStatus, number> = {
    ok: 0,
    fragment_pending: 0,
    other: 0,
    truncated: 0,
    bad_header: 0,
    unsupported_link: 0,
    bad_checksum: 0,
    fragment_overflow: 0,
    too_many_tags: 0,
  };

  constructor(
    limits: Partial<Omit<DecoderLimits, 'fragments'>> & { fragments?: Partial<FragmentLimits> } = {},
  ) {
    const fragments = { ...DEFAULT_FRAGMENT_LIMITS, ...limits.fragments };
    this.limits = { ...DEFAULT_DECODER_LIMITS, ...limits, fragments };
    this.frags = new FragmentTable(fragments);
  }

  get stats(): DecoderStats {
    const f = this.frags.stats;
    return {
      frames: this.frames,
      status: { ...this.counts },
      fragments: f.fragments,
      fragmentBuffers: f.buffers,
      fragmentBytes: f.bytes,
      fragmentsReassembled: f.reassembled,
      fragmentsEvicted: f.evicted,
      fragmentsTimedOut: f.timedOut,
      fragmentOverflows: f.overflows,
      fragmentOverlaps: f.overlaps,
      fragmentInconsistentOverlaps: f.inconsistentOverlaps,
    };
  }

  /** Drop incomplete fragmented datagrams older than the timeout at packet time `now` (µs). */
  expire(now: number): void {
    this.frags.expire(now);
  }

  decode(frame: RawFrame, out: Packet): DecodeStatus {
    this.frames++;
    out.reset(frame.ts, frame.index, frame.origLen);
    const status = this.decodeFrame(frame, out);
    this.counts[status]++;
    return status;
  }

  private decodeFrame(frame: RawFrame, out: Packet): DecodeStatus {
    const l = this.layer;
    // The reader's frames name their bytes inside its buffer: layers read absolute offsets, no view is made.
    const buf = frame.buffer;
    let d: Uint8Array;
    if (buf !== undefined) {
      d = buf;
      l.off = frame.offset ?? 0;
      l.end = l.off + (frame.capLen ?? 0);
    } else {
      d = frame.data;
      l.off = 0;
      l.end = d.length;
    }
    l.isFragment = false;
    let r: LayerResult;
    switch (frame.linkType) {
      case LinkType.ETHERNET:
        r = decodeEthernet(d, l, out);
        break;
      case LinkType.LINUX_SLL:
        r = decodeSll(d, l, out);
        break;
      case LinkType.LINUX_SLL2:
        r = decodeSll2(d, l, out);
        break;
      case LinkType.NULL:
        r = decodeNullLoopback(d, l, true);
        break;
      case LinkType.LOOP:
        r = decodeNullLoopback(d, l, false);
        break;
      case LinkType.RAW:
      case DLT_RAW_12:
      case DLT_RAW_14:
        r = decodeRaw(d, l);
        break;
      case LinkType.IPV4:
        l.next = EtherType.IPV4;
        r = null;
        break;
      case LinkType.IPV6:
        l.next = EtherType.IPV6;
        r = null;
        break;
      default:
        return 'unsupported_link';
    }
    if (r !== null) {
      if (r === 'other' && frame.linkType === LinkType.ETHERNET) setLinkPayload(d, l, out);
      return r;
    }
    for (;;) {
      switch (l.next) {
        case EtherType.VLAN:
        case EtherType.QINQ:
        case EtherType.QINQ_LEGACY:
          r = decodeVlan(d, l, out, this.limits.maxVlanTags);
          if (r !== null) return r;
          continue;
        case EtherType.MPLS:
          r = decodeMpls(d, l, this.limits.maxMplsLabels);
          if (r !== null) return r;
          continue;
        case EtherType.IPV4:
          return this.decodeIpv4Packet(d, l, out);
        case EtherType.IPV6:
          return this.decodeIpv6Packet(d, l, out);
        case EtherType.ARP:
          return decodeArp(d, l, out) ?? 'other';
        default:
          // Non-IP (LLDP, an 802.3 frame inside a VLAN tag): kept for the link-layer analyzers. Only on Ethernet,
          // where a type below 0x0600 is a length (on SLL it is a protocol number).
          if (frame.linkType === LinkType.ETHERNET) setLinkPayload(d, l, out);
          return 'other';
      }
    }
  }

  private decodeIpv4Packet(d: Uint8Array, l: Layer, out: Packet): DecodeStatus {
    const r = decodeIpv4(d, l, out);
    if (r !== null) return r;
    if (l.isFragment) {
      const whole = this.frags.add(
        4,
        out.src,
        out.dst,
        l.fragId,
        out.proto,
        l.fragOffset,
        l.moreFragments,
        d.subarray(l.off, l.end),
        out.ts,
      );
      if (whole === null) return 'fragment_pending';
      if (typeof whole === 'string') return whole;
      l.off = 0;
      l.end = whole.length;
      return this.decodeTransport(whole, l, out);
    }
    return this.decodeTransport(d, l, out);
  }

  private decodeIpv6Packet(d: Uint8Array, l: Layer, out: Packet): DecodeStatus {
    let r = decodeIpv6(d, l, out, this.limits.maxIpv6Headers);
    if (r !== null) return r;
    if (!l.isFragment) return this.decodeTransport(d, l, out);
    const whole = this.frags.add(
      6,
      out.src,
      out.dst,
      l.fragId,
      l.next,
      l.fragOffset,
      l.moreFragments,
      d.subarray(l.off, l.end),
      out.ts,
    );
    if (whole === null) return 'fragment_pending';
    if (typeof whole === 'string') return whole;
    // Headers after the fragment header belong to the fragmentable part: walk them in the reassembled payload.
    l.off = 0;
    l.end = whole.length;
    l.isFragment = false;
    r = skipIpv6Extensions(whole, l, out, this.limits.maxIpv6Headers);
    if (r !== null) return r;
    if (l.isFragment) return 'bad_header'; // a fragment header inside a reassembled payload
    return this.decodeTransport(whole, l, out);
  }

  private decodeTransport(d: Uint8Array, l: Layer, out: Packet): DecodeStatus {
    let r: LayerResult;
    if (out.proto === IpProto.TCP) r = decodeTcp(d, l, out);
    else if (out.proto === IpProto.UDP) r = decodeUdp(d, l, out);
    else {
      if (l.end > l.off) out.setPayload(d, l.off, l.end - l.off);
      r = null;
    }
    return r ?? 'ok';
  }
}
