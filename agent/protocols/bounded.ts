// Bounded readers shared by the identity analyzers (DHCP, LLDP, mDNS, ...): every string and list they keep is capped, and what was cut is counted.
import type { FieldValue } from './types.js';

/** Caps of one identity message; `cut` counts the strings shortened and list items dropped. */
export interface Bounds {
  /** Characters kept of one string. */
  maxString: number;
  /** Items kept of one list. */
  maxList: number;
  cut: number;
}

export const DEFAULT_MAX_STRING = 256;
export const DEFAULT_MAX_LIST = 32;

export function bounds(maxString = DEFAULT_MAX_STRING, maxList = DEFAULT_MAX_LIST): Bounds {
  return { maxString, maxList, cut: 0 };
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** `len` bytes at `off` as UTF-8 (invalid sequences become U+FFFD), at most `b.maxString` characters. */
export function readText(d: Uint8Array, off: number, len: number, b: Bounds): string {
  const end = Math.min(d.length, off + Math.max(0, len));
  // A character is at most 4 bytes: decoding more than that many could not add a kept character.
  const take = Math.min(end - off, b.maxString * 4);
  return capString(utf8.decode(d.subarray(off, off + take)), b, end - off > take);
}

/** `s` cut to `b.maxString` characters (counted once when cut, or when `already` says the source was cut). */
export function capString(s: string, b: Bounds, already = false): string {
  if (s.length > b.maxString) {
    b.cut++;
    return s.slice(0, b.maxString);
  }
  if (already) b.cut++;
  return s;
}

/** Appends when there is room (and the value is new, for `unique`), else counts the drop. */
export function pushCapped<T extends FieldValue>(list: T[], v: T, b: Bounds, unique = false): void {
  if (unique && list.includes(v)) return;
  if (list.length >= b.maxList) {
    b.cut++;
    return;
  }
  list.push(v);
}

/** Bytes as lower-case hex, at most `b.maxString` characters. */
export function hex(d: Uint8Array, off: number, len: number, b: Bounds): string {
  const end = Math.min(d.length, off + Math.max(0, len));
  const keep = Math.min(end - off, Math.floor(b.maxString / 2));
  if (keep < end - off) b.cut++;
  let s = '';
  for (let i = off; i < off + keep; i++) s += (d[i] ?? 0).toString(16).padStart(2, '0');
  return s;
}

export function macText(d: Uint8Array, off: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push((d[off + i] ?? 0).toString(16).padStart(2, '0'));
  return parts.join(':');
}

/** Maximum DNS name length in presentation form (RFC 1035 §3.1: 255 octets on the wire). */
const MAX_NAME = 255;
/** Compression pointers followed per name: a loop of pointers ends here. */
const MAX_POINTERS = 16;

/**
 * A DNS name in wire form at `off` (RFC 1035 §4.1.4 compression), as dotted text without the final dot.
 * Returns null when malformed (truncated, a loop, a reserved label type, too long); `next` is the offset after
 * the name where it started (not after a pointer target).
 */
export function readDnsName(d: Uint8Array, off: number): { name: string; next: number } | null {
  const labels: string[] = [];
  let o = off;
  let next = -1;
  let jumps = 0;
  let total = 0;
  for (;;) {
    const len = d[o];
    if (len === undefined) return null;
    if ((len & 0xc0) === 0xc0) {
      const lo = d[o + 1];
      if (lo === undefined || ++jumps > MAX_POINTERS) return null;
      if (next < 0) next = o + 2;
      o = ((len & 0x3f) << 8) | lo;
      continue;
    }
    if ((len & 0xc0) !== 0) return null;
    if (len === 0) {
      if (next < 0) next = o + 1;
      break;
    }
    if (o + 1 + len > d.length) return null;
    total += len + 1;
    if (total > MAX_NAME) return null;
    labels.push(utf8.decode(d.subarray(o + 1, o + 1 + len)));
    o += 1 + len;
  }
  return { name: labels.join('.'), next };
}
