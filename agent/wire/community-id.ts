// Community ID flow hash, version 1 (https://github.com/corelight/community-id-spec): the string Zeek, Suricata,
// Arkime and Wireshark put on a flow, so a wardwatch finding joins their records of the same connection.
import { hash } from 'node:crypto';

const TCP = 6;
const UDP = 17;
const ICMP = 1;
const ICMP6 = 58;
const SCTP = 132;

/** ICMP types whose conversation has a counterpart type (Zeek's ICMP4_counterpart / ICMP6_counterpart). */
const ICMP4_PAIR: ReadonlyMap<number, number> = new Map([
  [8, 0], // echo request / reply
  [0, 8],
  [13, 14], // timestamp
  [14, 13],
  [15, 16], // information
  [16, 15],
  [10, 9], // router solicitation / advertisement
  [9, 10],
  [17, 18], // address mask
  [18, 17],
]);
const ICMP6_PAIR: ReadonlyMap<number, number> = new Map([
  [128, 129], // echo request / reply
  [129, 128],
  [133, 134], // router solicitation / advertisement
  [134, 133],
  [135, 136], // neighbour solicitation / advertisement
  [136, 135],
  [130, 131], // MLD query / report
  [131, 130],
  [139, 140], // node information query / reply ("who are you")
  [140, 139],
  [144, 145], // home agent address discovery
  [145, 144],
]);

// The hash input: seed (2) + two addresses (4 or 16 each) + proto (1) + pad (1) + ports (2 + 2), at most 40 bytes.
const INPUT = new Uint8Array(40);

function lessThan(a: Uint8Array, b: Uint8Array, ap: number, bp: number): boolean {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d < 0;
  }
  return ap < bp;
}

/**
 * The Community ID of an already ordered tuple (`a` is the endpoint hashed first). `ports` false for protocols
 * without ports (anything but TCP, UDP, SCTP, ICMP, ICMPv6). Addresses are 4 or 16 bytes, network order.
 */
function digest(
  seed: number,
  a: Uint8Array,
  b: Uint8Array,
  proto: number,
  ap: number,
  bp: number,
  ports: boolean,
): string {
  const buf = INPUT;
  let n = 0;
  buf[n++] = (seed >>> 8) & 255;
  buf[n++] = seed & 255;
  buf.set(a, n);
  n += a.length;
  buf.set(b, n);
  n += b.length;
  buf[n++] = proto & 255;
  buf[n++] = 0;
  if (ports) {
    buf[n++] = (ap >>> 8) & 255;
    buf[n++] = ap & 255;
    buf[n++] = (bp >>> 8) & 255;
    buf[n++] = bp & 255;
  }
  return `1:${hash('sha1', buf.subarray(0, n), 'base64')}`;
}

/**
 * Community ID v1 of a flow or packet. For TCP, UDP and SCTP `sport`/`dport` are the ports; for ICMP (1) and
 * ICMPv6 (58) they are the type and the code; other protocols ignore them. Either direction gives the same id
 * (one-way ICMP messages excepted, as the specification says). `seed` 0 is everyone's default.
 */
export function communityId(
  proto: number,
  saddr: Uint8Array,
  daddr: Uint8Array,
  sport = 0,
  dport = 0,
  seed = 0,
): string {
  if (saddr.length !== daddr.length || (saddr.length !== 4 && saddr.length !== 16)) {
    throw new Error('communityId: addresses must both be IPv4 (4 bytes) or IPv6 (16 bytes)');
  }
  let sp = sport;
  let dp = dport;
  let oneWay = false;
  if (proto === ICMP || proto === ICMP6) {
    const pair = (proto === ICMP ? ICMP4_PAIR : ICMP6_PAIR).get(sport);
    if (pair === undefined) oneWay = true;
    else dp = pair;
  } else if (proto !== TCP && proto !== UDP && proto !== SCTP) {
    // Port-less protocols: addresses only, ordered.
    return lessThan(saddr, daddr, 0, 0)
      ? digest(seed, saddr, daddr, proto, 0, 0, false)
      : digest(seed, daddr, saddr, proto, 0, 0, false);
  }
  if (oneWay || lessThan(saddr, daddr, sp, dp)) return digest(seed, saddr, daddr, proto, sp, dp, true);
  [sp, dp] = [dp, sp];
  return digest(seed, daddr, saddr, proto, sp, dp, true);
}

/**
 * The Community ID of a flow whose endpoints the caller already holds in canonical order (`a` the lower
 * address, or the lower port at equal addresses), as the flow table keeps them: no comparison needed.
 * Undefined for ICMP and ICMPv6, whose id needs the message type, which a flow does not keep.
 */
export function communityIdOrdered(
  proto: number,
  a: Uint8Array,
  b: Uint8Array,
  aPort: number,
  bPort: number,
  seed = 0,
): string | undefined {
  if (proto === ICMP || proto === ICMP6) return undefined;
  return digest(seed, a, b, proto, aPort, bPort, proto === TCP || proto === UDP || proto === SCTP);
}
