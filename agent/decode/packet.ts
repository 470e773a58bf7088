// Decoded packet: the one mutable object decode fills per frame (no allocation per packet).

export const IpProto = { ICMP: 1, TCP: 6, UDP: 17, ICMPV6: 58 } as const;

export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20 } as const;

const EMPTY = new Uint8Array(0);

/**
 * Filled in place by decode. Views (`src`, `dst`, `payload`) point into the frame's buffer (or into a
 * reassembled fragment buffer) and are valid only while the frame is being processed.
 *
 * Decode allocates nothing per packet (issue 12: a typed-array view costs about as much as decoding a header):
 * IPv4 addresses are kept as numbers and `src`/`dst` are written out when read; the payload is kept as its place
 * (`payloadBuf`, `payloadOff`, `payloadLen`) and `payload` is the view made from it when read. The flow table and
 * reassembly read the place, so bytes a consumer skips (StreamConsumer.skippable) never get a view.
 */
export class Packet {
  ts = 0; // µs since epoch, packet time
  frameIndex = 0;
  frameLen = 0; // bytes on the wire
  /** MAC addresses as 48-bit numbers, -1 when the link layer has none (raw IP, loopback). */
  srcMac = -1;
  dstMac = -1;
  /** Innermost 802.1Q VLAN id (12 bits), -1 when untagged. */
  vlan = -1;
  /** Number of VLAN tags seen (802.1Q and 802.1ad). */
  vlanDepth = 0;
  /** 4, 6, or 0 for non-IP frames (ARP, LLDP, ...). */
  ipVersion: 0 | 4 | 6 = 0;
  /** IPv4 addresses as uint32 (0 otherwise). */
  src4 = 0;
  dst4 = 0;
  ttl = 0;
  /** Transport protocol number (IpProto), 0 when none. */
  proto = 0;
  srcPort = 0;
  dstPort = 0;
  tcpFlags = 0;
  seq = 0; // uint32
  ack = 0; // uint32
  window = 0;
  /**
   * EtherType of a non-IP frame (LLDP 0x88cc, ...), -1 for an IEEE 802.3 length frame (LLC follows: CDP, STP),
   * 0 for IP, ARP and frames without an Ethernet header. Such frames' `payload` is what follows the Ethernet and
   * VLAN headers (for 802.3, the LLC header on, cut to the length field).
   */
  etherType = 0;
  /** Where the payload lies: `payloadBuf[payloadOff, payloadOff + payloadLen)`. */
  payloadBuf: Uint8Array = EMPTY;
  payloadOff = 0;
  payloadLen = 0;
  /** Set when the frame was an ARP packet; see arp* fields. */
  isArp = false;
  arpOp = 0; // 1 request, 2 reply
  arpSenderMac = -1;
  arpSenderIp = 0; // IPv4 uint32
  arpTargetIp = 0;

  #payload: Uint8Array | null = EMPTY;
  #src: Uint8Array = EMPTY;
  #dst: Uint8Array = EMPTY;
  /** src/dst are still to be written out from src4/dst4. */
  #v4Pending = false;
  readonly #src4 = new Uint8Array(4);
  readonly #dst4 = new Uint8Array(4);

  /** Transport payload (TCP/UDP data), empty view when none. */
  get payload(): Uint8Array {
    let v = this.#payload;
    if (v === null) {
      v = this.payloadBuf.subarray(this.payloadOff, this.payloadOff + this.payloadLen);
      this.#payload = v;
    }
    return v;
  }

  set payload(bytes: Uint8Array) {
    this.payloadBuf = bytes;
    this.payloadOff = 0;
    this.payloadLen = bytes.length;
    this.#payload = bytes;
  }

  /** Network addresses: 4 or 16 bytes (empty for non-IP frames). For IPv4 also as uint32 in src4/dst4. */
  get src(): Uint8Array {
    if (this.#v4Pending) this.writeV4();
    return this.#src;
  }

  set src(bytes: Uint8Array) {
    if (this.#v4Pending) this.writeV4();
    this.#src = bytes;
  }

  get dst(): Uint8Array {
    if (this.#v4Pending) this.writeV4();
    return this.#dst;
  }

  set dst(bytes: Uint8Array) {
    if (this.#v4Pending) this.writeV4();
    this.#dst = bytes;
  }

  /** Decode's IPv4 addresses: kept as numbers, written out as bytes only if `src` or `dst` is read. */
  setIpv4(src4: number, dst4: number): void {
    this.src4 = src4;
    this.dst4 = dst4;
    this.#v4Pending = true;
  }

  /** Decode's payload: its place only; the view is made if `payload` is read. */
  setPayload(buf: Uint8Array, off: number, len: number): void {
    this.payloadBuf = buf;
    this.payloadOff = off;
    this.payloadLen = len;
    this.#payload = null;
  }

  /** Every field back to its initial value, then the frame's time, number and length. */
  reset(ts: number, frameIndex: number, frameLen: number): void {
    this.ts = ts;
    this.frameIndex = frameIndex;
    this.frameLen = frameLen;
    this.srcMac = -1;
    this.dstMac = -1;
    this.vlan = -1;
    this.vlanDepth = 0;
    this.ipVersion = 0;
    this.#src = EMPTY;
    this.#dst = EMPTY;
    this.#v4Pending = false;
    this.src4 = 0;
    this.dst4 = 0;
    this.ttl = 0;
    this.proto = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.seq = 0;
    this.ack = 0;
    this.window = 0;
    this.etherType = 0;
    this.payloadBuf = EMPTY;
    this.payloadOff = 0;
    this.payloadLen = 0;
    this.#payload = EMPTY;
    this.isArp = false;
    this.arpOp = 0;
    this.arpSenderMac = -1;
    this.arpSenderIp = 0;
    this.arpTargetIp = 0;
  }

  private writeV4(): void {
    this.#v4Pending = false;
    const s = this.#src4;
    const d = this.#dst4;
    const a = this.src4;
    const b = this.dst4;
    s[0] = a >>> 24;
    s[1] = (a >>> 16) & 255;
    s[2] = (a >>> 8) & 255;
    s[3] = a & 255;
    d[0] = b >>> 24;
    d[1] = (b >>> 16) & 255;
    d[2] = (b >>> 8) & 255;
    d[3] = b & 255;
    this.#src = s;
    this.#dst = d;
  }
}

export function createPacket(): Packet {
  return new Packet();
}

/** Why a frame could not be decoded; counted per reason, never thrown. */
export type DecodeError =
  'truncated' | 'bad_header' | 'unsupported_link' | 'bad_checksum' | 'fragment_overflow' | 'too_many_tags';
