// IPv4/IPv6 text to bytes, CIDR prefixes and the private-range test behind zone lookup (RFC 1918, RFC 4193, RFC 4291, RFC 3927).

/** 4 or 16 bytes, or null when `text` is no address. */
export function parseIp(text: string): Uint8Array | null {
  if (text.includes(':')) return parseIpv6(text);
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] ?? '';
    if (!/^\d{1,3}$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | null {
  let t = text;
  const pct = t.indexOf('%');
  if (pct >= 0) t = t.slice(0, pct);
  let tail: Uint8Array | null = null;
  const lastColon = t.lastIndexOf(':');
  if (t.slice(lastColon + 1).includes('.')) {
    tail = parseIp(t.slice(lastColon + 1));
    if (!tail || tail.length !== 4) return null;
    t = `${t.slice(0, lastColon + 1)}0:0`;
  }
  const halves = t.split('::');
  if (halves.length > 2) return null;
  const parse = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    for (const w of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(w)) return null;
      out.push(parseInt(w, 16));
    }
    return out;
  };
  const head = parse(halves[0] ?? '');
  const rest = halves.length === 2 ? parse(halves[1] ?? '') : [];
  if (!head || !rest) return null;
  const fill = 8 - head.length - rest.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return null;
  const words = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...rest];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 255;
  });
  if (tail) out.set(tail, 12);
  return out;
}

export interface Cidr {
  text: string;
  bytes: Uint8Array;
  bits: number;
}

export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const addr = parseIp(slash >= 0 ? text.slice(0, slash) : text);
  if (!addr) return null;
  const max = addr.length * 8;
  let bits = max;
  if (slash >= 0) {
    const b = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(b)) return null;
    bits = Number(b);
    if (bits > max) return null;
  }
  return { text, bytes: addr, bits };
}

export function cidrContains(c: Cidr, ip: Uint8Array): boolean {
  if (c.bytes.length !== ip.length) return false;
  let bits = c.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((c.bytes[i] ?? 0) & mask) !== ((ip[i] ?? 0) & mask)) return false;
  }
  return true;
}

/**
 * The one classification of addresses (issue 12: two "private address" functions used to disagree on CGNAT and
 * multicast). Every range here is one that is not routed on the Internet; `public` is everything else.
 */
export type AddressClass =
  | 'private' // RFC 1918, IPv6 ULA fc00::/7
  | 'shared' // RFC 6598 100.64.0.0/10 (carrier-grade NAT space; some hospitals number devices from it)
  | 'loopback'
  | 'link-local'
  | 'multicast' // local by nature (mDNS, SSDP) but never a device
  | 'broadcast'
  | 'unspecified'
  | 'public';

const RANGES: ReadonlyArray<[AddressClass, Cidr]> = (
  [
    ['private', '10.0.0.0/8'],
    ['private', '172.16.0.0/12'],
    ['private', '192.168.0.0/16'],
    ['shared', '100.64.0.0/10'],
    ['loopback', '127.0.0.0/8'],
    ['link-local', '169.254.0.0/16'],
    ['unspecified', '0.0.0.0/32'],
    ['multicast', '224.0.0.0/4'],
    ['broadcast', '255.255.255.255/32'],
    ['loopback', '::1/128'],
    ['unspecified', '::/128'],
    ['private', 'fc00::/7'],
    ['link-local', 'fe80::/10'],
    ['multicast', 'ff00::/8'],
  ] as const
).map(([k, t]) => [k, parseCidr(t) as Cidr]);

export function classifyAddress(ip: Uint8Array): AddressClass {
  if (ip.length === 16 && ip.subarray(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff) {
    return classifyAddress(ip.subarray(12));
  }
  for (const [k, c] of RANGES) if (cidrContains(c, ip)) return k;
  return 'public';
}

/** Never leaves the site: everything but public addresses (the site's "internet" zone is the rest). */
export function isLocalAddress(ip: Uint8Array): boolean {
  return classifyAddress(ip) !== 'public';
}

const DEVICE_CLASSES: ReadonlySet<AddressClass> = new Set(['private', 'shared', 'loopback', 'link-local']);

/** A unicast address that is not public: may be a device of the site (baselines learn and check these). */
export function isDeviceAddress(ip: Uint8Array): boolean {
  return DEVICE_CLASSES.has(classifyAddress(ip));
}
