// Capture boundary: what a file reader or live capture hands to decode (link types per the tcpdump.org LINKTYPE_ registry).

/** LINKTYPE_ values we decode. */
export const LinkType = {
  NULL: 0, // BSD loopback: 4-byte address family in host byte order
  ETHERNET: 1,
  RAW: 101, // raw IPv4 or IPv6, version from the first nibble
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
  LOOP: 108, // OpenBSD loopback: address family in network byte order
} as const;

/**
 * One captured frame. Readers reuse a single RawFrame object and `data` is a view into their
 * buffer: both are valid only until the callback returns. Copy what you keep.
 */
export interface RawFrame {
  /** 1-based position of the frame in its source (packet number in a file). */
  index: number;
  /** Packet time in microseconds since the Unix epoch (nanosecond sources are truncated). */
  ts: number;
  linkType: number;
  /** Length on the wire; may exceed data.length when the snap length cut the frame. */
  origLen: number;
  data: Uint8Array;
  /** Interface number within a pcapng section (0 for pcap and live capture). */
  ifIndex: number;
}

/** A reader error that stops a file: reported as `FILE: packet N at byte B: reason`. */
export class CaptureFormatError extends Error {
  constructor(
    readonly packet: number,
    readonly byteOffset: number,
    readonly reason: string,
  ) {
    super(`packet ${packet} at byte ${byteOffset}: ${reason}`);
    this.name = 'CaptureFormatError';
  }
}
