// Address formatting for output (never on the per-packet hot path): IPv4/IPv6 text (RFC 5952) and MAC text.

export function ipv4ToString(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function ipToString(bytes: Uint8Array): string {
  if (bytes.length === 4) {
    return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  }
  if (bytes.length !== 16) return '';
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // IPv4-mapped ::ffff:a.b.c.d
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  }
  // Longest run of zero words (length >= 2) becomes "::" (RFC 5952 section 4.2).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

/** "00".."ff" by byte: MACs are formatted per flow and per event endpoint, a regex replace each was 2 % of replay. */
const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function macToString(mac: number): string {
  if (mac < 0) return '';
  // 48 bits: the top two bytes by division (bitwise operators cut to 32), the low four by shifts.
  const hi = Math.floor(mac / 4294967296);
  const lo = mac >>> 0;
  const x = HEX_BYTE;
  return `${x[(hi >>> 8) & 0xff]}:${x[hi & 0xff]}:${x[lo >>> 24]}:${x[(lo >>> 16) & 0xff]}:${x[(lo >>> 8) & 0xff]}:${x[lo & 0xff]}`;
}

/** Parse "a.b.c.d" to uint32, or -1. */
export function parseIpv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) return -1;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return -1;
    const v = Number(p);
    if (v > 255) return -1;
    n = n * 256 + v;
  }
  return n;
}
