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
  /**
   * The same bytes without a view: `data` is `buffer[offset, offset + capLen)`. Set (all three) by the readers'
   * FrameSlot, whose `data` is then made only when read; decode reads these, so a frame costs no allocation.
   */
  readonly buffer?: Uint8Array;
  readonly offset?: number;
  readonly capLen?: number;
}

const EMPTY = new Uint8Array(0);

/**
 * The one reused RawFrame of a reader. A typed-array view costs about as much as decoding a header (issue 12:
 * two per packet were a tenth of the flow stage), so the frame keeps its place in the reader's buffer and makes
 * `data` on first read.
 */
export class FrameSlot implements RawFrame {
  index = 0;
  ts = 0;
  linkType = 0;
  origLen = 0;
  ifIndex = 0;
  buffer: Uint8Array = EMPTY;
  offset = 0;
  capLen = 0;
  private view: Uint8Array | null = EMPTY;

  get data(): Uint8Array {
    let v = this.view;
    if (v === null) {
      v = this.buffer.subarray(this.offset, this.offset + this.capLen);
      this.view = v;
    }
    return v;
  }

  set data(bytes: Uint8Array) {
    this.point(bytes, 0, bytes.length);
    this.view = bytes;
  }

  /** The frame is now `buffer[offset, offset + capLen)`, cut to the buffer's end. */
  point(buffer: Uint8Array, offset: number, capLen: number): void {
    this.buffer = buffer;
    this.offset = offset;
    const room = buffer.length - offset;
    this.capLen = capLen <= room ? capLen : room > 0 ? room : 0;
    this.view = null;
  }
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
