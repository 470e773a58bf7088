// Shared scratch state of one decode pass: where the next header starts and ends, which type it is (EtherType / IANA protocol numbers).

export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100, // IEEE 802.1Q C-tag
  QINQ: 0x88a8, // IEEE 802.1ad S-tag
  QINQ_LEGACY: 0x9100, // pre-standard S-tag, still seen on switches
  IPV6: 0x86dd,
  MPLS: 0x8847,
  MPLS_MULTICAST: 0x8848,
} as const;

/** Result of one layer function: null to continue, else the frame's final status. */
export type LayerResult = null | 'other' | 'truncated' | 'bad_header' | 'too_many_tags' | 'unsupported_link';

/**
 * Reused by the decoder for every frame. Layer functions read `off..end` of the current buffer, advance `off`
 * past their header, narrow `end` to their length field, and set `next` to the type of what follows.
 */
export interface Layer {
  off: number;
  end: number;
  /** EtherType after a link layer, IP protocol number after a network layer. */
  next: number;
  /** Set by IPv4/IPv6 when the packet is a fragment; offset in bytes. */
  isFragment: boolean;
  fragOffset: number;
  moreFragments: boolean;
  fragId: number;
  /** IPv6 extension headers walked so far (capped). */
  extCount: number;
  /** IPv6 address storage the Packet's src/dst point to, so that decode allocates no views for them. */
  readonly src6: Uint8Array;
  readonly dst6: Uint8Array;
}

export function createLayer(): Layer {
  return {
    off: 0,
    end: 0,
    next: 0,
    isFragment: false,
    fragOffset: 0,
    moreFragments: false,
    fragId: 0,
    extCount: 0,
    src6: new Uint8Array(16),
    dst6: new Uint8Array(16),
  };
}
