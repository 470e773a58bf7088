// Decoded packet: the one mutable object decode fills per frame (no allocation per packet).

export const IpProto = { ICMP: 1, TCP: 6, UDP: 17, ICMPV6: 58 } as const;

export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20 } as const;

/**
 * Filled in place by decode. Views (`src`, `dst`, `payload`) point into the frame's buffer (or into a
 * reassembled fragment buffer) and are valid only while the frame is being processed.
 */
export interface Packet {
  ts: number; // µs since epoch, packet time
  frameIndex: number;
  frameLen: number; // bytes on the wire
  /** MAC addresses as 48-bit numbers, -1 when the link layer has none (raw IP, loopback). */
  srcMac: number;
  dstMac: number;
  /** Innermost 802.1Q VLAN id (12 bits), -1 when untagged. */
  vlan: number;
  /** Number of VLAN tags seen (802.1Q and 802.1ad). */
  vlanDepth: number;
  /** 4, 6, or 0 for non-IP frames (ARP, LLDP, ...). */
  ipVersion: 0 | 4 | 6;
  /** Network addresses: 4 or 16 bytes. For IPv4 also as uint32 in src4/dst4. */
  src: Uint8Array;
  dst: Uint8Array;
  src4: number;
  dst4: number;
  ttl: number;
  /** Transport protocol number (IpProto), 0 when none. */
  proto: number;
  srcPort: number;
  dstPort: number;
  tcpFlags: number;
  seq: number; // uint32
  ack: number; // uint32
  window: number;
  /**
   * EtherType of a non-IP frame (LLDP 0x88cc, ...), -1 for an IEEE 802.3 length frame (LLC follows: CDP, STP),
   * 0 for IP, ARP and frames without an Ethernet header. Such frames' `payload` is what follows the Ethernet and
   * VLAN headers (for 802.3, the LLC header on, cut to the length field).
   */
  etherType: number;
  /** Transport payload (TCP/UDP data), empty view when none. */
  payload: Uint8Array;
  /** Set when the frame was an ARP packet; see arp* fields. */
  isArp: boolean;
  arpOp: number; // 1 request, 2 reply
  arpSenderMac: number;
  arpSenderIp: number; // IPv4 uint32
  arpTargetIp: number;
}

const EMPTY = new Uint8Array(0);

export function createPacket(): Packet {
  return {
    ts: 0,
    frameIndex: 0,
    frameLen: 0,
    srcMac: -1,
    dstMac: -1,
    vlan: -1,
    vlanDepth: 0,
    ipVersion: 0,
    src: EMPTY,
    dst: EMPTY,
    src4: 0,
    dst4: 0,
    ttl: 0,
    proto: 0,
    srcPort: 0,
    dstPort: 0,
    tcpFlags: 0,
    seq: 0,
    ack: 0,
    window: 0,
    etherType: 0,
    payload: EMPTY,
    isArp: false,
    arpOp: 0,
    arpSenderMac: -1,
    arpSenderIp: 0,
    arpTargetIp: 0,
  };
}

/** Why a frame could not be decoded; counted per reason, never thrown. */
export type DecodeError =
  'truncated' | 'bad_header' | 'unsupported_link' | 'bad_checksum' | 'fragment_overflow' | 'too_many_tags';
