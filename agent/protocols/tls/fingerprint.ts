// Client and server hello fingerprints: JA4 (FoxIO technical_details/JA4.md, BSD-3-Clause), JA3 and JA3S (Salesforce, BSD-3-Clause).
import { createHash } from 'node:crypto';
import { Ext, isGrease, JA4_VERSIONS } from './constants.js';
import type { ClientHello, ServerHello } from './parse.js';

const hex4 = (v: number): string => v.toString(16).padStart(4, '0');
const sha256_12 = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 12);
const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
const twoDigits = (n: number): string => String(Math.min(n, 99)).padStart(2, '0');
const byHex = (a: number, b: number): number => a - b;

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/**
 * First and last character of the first ALPN value; "00" without one. When either end is not ASCII alphanumeric,
 * the first and last characters of the value's hex form (JA4.md "ALPN Extension Value").
 */
export function ja4Alpn(first: Uint8Array | undefined): string {
  if (!first || first.length === 0) return '00';
  const a = first[0] ?? 0;
  const z = first[first.length - 1] ?? 0;
  if (isAlnum(a) && isAlnum(z)) return String.fromCharCode(a, z);
  const hex = (c: number): string => c.toString(16).padStart(2, '0');
  return `${hex(a).charAt(0)}${hex(z).charAt(1)}`;
}

/** The version JA4 reports: the highest non-GREASE supported_versions entry, else legacy_version. */
export function ja4Version(h: ClientHello): number {
  const offered = (h.supportedVersions ?? []).filter((v) => !isGrease(v));
  return offered.length > 0 ? Math.max(...offered) : h.legacyVersion;
}

export interface Ja4 {
  ja4: string;
  /** The raw (sorted) form, JA4_r: what the hashes were taken of. */
  raw: string;
}

/** JA4 of a ClientHello over TCP ("t"): GREASE ignored everywhere; SNI and ALPN counted but left out of the hash. */
export function ja4(h: ClientHello): Ja4 {
  const ciphers = h.cipherSuites.filter((c) => !isGrease(c));
  const exts = h.extensions.filter((e) => !isGrease(e));
  const a =
    't' +
    (JA4_VERSIONS[ja4Version(h)] ?? '00') +
    (h.hasSni ? 'd' : 'i') +
    twoDigits(ciphers.length) +
    twoDigits(exts.length) +
    ja4Alpn(h.alpn?.[0]);
  const cipherList = [...ciphers].sort(byHex).map(hex4).join(',');
  const extList = exts
    .filter((e) => e !== Ext.SERVER_NAME && e !== Ext.ALPN)
    .sort(byHex)
    .map(hex4)
    .join(',');
  const sigs = h.signatureAlgorithms.map(hex4).join(',');
  const extPart = sigs === '' ? extList : `${extList}_${sigs}`;
  const b = cipherList === '' ? '000000000000' : sha256_12(cipherList);
  const c = extList === '' ? '000000000000' : sha256_12(extPart);
  return { ja4: `${a}_${b}_${c}`, raw: `${a}_${cipherList}_${extPart}` };
}

/** JA3 string and hash: legacy version, ciphers, extensions, groups, point formats, decimal, GREASE left out. */
export function ja3(h: ClientHello): { ja3: string; full: string } {
  const dec = (l: readonly number[]): string =>
    l
      .filter((v) => !isGrease(v))
      .map(String)
      .join('-');
  const full = [
    String(h.legacyVersion),
    dec(h.cipherSuites),
    dec(h.extensions),
    dec(h.supportedGroups),
    h.ecPointFormats.map(String).join('-'),
  ].join(',');
  return { ja3: md5(full), full };
}

/** JA3S: the server's legacy version, chosen cipher and extensions, decimal. */
export function ja3s(h: ServerHello): { ja3s: string; full: string } {
  const full = [
    String(h.legacyVersion),
    String(h.cipherSuite),
    h.extensions
      .filter((v) => !isGrease(v))
      .map(String)
      .join('-'),
  ].join(',');
  return { ja3s: md5(full), full };
}
