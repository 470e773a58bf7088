// Certificate fields for events, read by Node's X.509 parser (crypto.X509Certificate, i.e. OpenSSL) behind a wall: it throws on bad DER, we never do.
import { createHash, X509Certificate } from 'node:crypto';
import type { EventFields, FieldValue } from '../types.js';

/** Key sizes of the curves and key types whose details carry no modulus length. */
const CURVE_BITS: Readonly<Record<string, number>> = {
  prime256v1: 256,
  secp256k1: 256,
  secp384r1: 384,
  secp521r1: 521,
  secp224r1: 224,
  prime192v1: 192,
  brainpoolP256r1: 256,
  brainpoolP384r1: 384,
  brainpoolP512r1: 512,
};
const FIXED_BITS: Readonly<Record<string, number>> = { ed25519: 256, ed448: 456, x25519: 253, x448: 448 };

export interface CertLimits {
  maxCertBytes: number;
  maxFieldChars: number;
  maxSanNames: number;
}

export type CertResult =
  | { ok: true; fields: EventFields }
  /** `fields` still says what is known without parsing: size and SHA-256. */
  | { ok: false; tooLarge: boolean; fields: EventFields };

const cutTo = (s: string, n: number): string => (s.length > n ? s.slice(0, n) : s);

/** First value of a name attribute (multi-valued RDNs give an array). */
function nameAttr(name: unknown, key: string, max: number): string | undefined {
  if (typeof name !== 'object' || name === null) return undefined;
  const v: unknown = (name as Record<string, unknown>)[key];
  const first: unknown = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' ? cutTo(first, max) : undefined;
}

/**
 * DNS names of Node's subjectAltName text ("DNS:a, DNS:b, IP Address:..."); a name with special characters is a
 * JSON string there (Node ≥ 17.3.1), so a comma inside a name does not split it.
 */
export function sanDnsNames(text: string, maxNames: number, maxChars: number): string[] {
  const out: string[] = [];
  const re = /(?:^|, )DNS:("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (let m = re.exec(text); m !== null && out.length < maxNames; m = re.exec(text)) {
    let v = m[1] ?? '';
    if (v.startsWith('"')) {
      try {
        const parsed: unknown = JSON.parse(v);
        v = typeof parsed === 'string' ? parsed : v;
      } catch {
        // Not JSON after all: keep the text as shown.
      }
    }
    out.push(cutTo(v, maxChars));
  }
  return out;
}

function keyBits(cert: X509Certificate, legacyBits: unknown): { type: string; bits: number | undefined } {
  const key = cert.publicKey;
  const type = key.asymmetricKeyType ?? 'unknown';
  const d = key.asymmetricKeyDetails;
  if (d?.modulusLength !== undefined) return { type, bits: d.modulusLength };
  if (d?.namedCurve !== undefined && CURVE_BITS[d.namedCurve] !== undefined)
    return { type, bits: CURVE_BITS[d.namedCurve] };
  if (FIXED_BITS[type] !== undefined) return { type, bits: FIXED_BITS[type] };
  return { type, bits: typeof legacyBits === 'number' ? legacyBits : undefined };
}

const iso = (text: string): string | undefined => {
  const t = Date.parse(text);
  return Number.isFinite(t) ? new Date(t).toISOString() : undefined;
};

/**
 * Descriptions of certificates already seen, by SHA-256 of the DER: OpenSSL's parse costs about half a millisecond a
 * certificate and a server sends the same chain on every connection. Bounded; least recently used goes first.
 */
export class CertCache {
  private readonly map = new Map<string, CertResult>();
  constructor(private readonly max = 256) {}
  get(sha256: string): CertResult | undefined {
    const hit = this.map.get(sha256);
    if (hit) {
      this.map.delete(sha256);
      this.map.set(sha256, hit);
    }
    return hit;
  }
  set(sha256: string, r: CertResult): void {
    this.map.set(sha256, r);
    if (this.map.size > this.max) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
  }
  get size(): number {
    return this.map.size;
  }
}

/** A copy an event may own (the cached original stays as it was). */
function copy(r: CertResult): CertResult {
  const fields: EventFields = {};
  for (const [k, v] of Object.entries(r.fields)) fields[k] = Array.isArray(v) ? [...v] : v;
  return { ...r, fields };
}

/** The event fields of one DER certificate. Never throws: whatever the parser refuses is `ok: false`. */
export function describeCertificate(der: Uint8Array, limits: CertLimits, cache?: CertCache): CertResult {
  const sha256 = createHash('sha256').update(der).digest('hex');
  const hit = cache?.get(sha256);
  if (hit) return copy(hit);
  const r = parseCertificate(der, sha256, limits);
  cache?.set(sha256, r);
  return cache ? copy(r) : r;
}

function parseCertificate(der: Uint8Array, sha256: string, limits: CertLimits): CertResult {
  const base: EventFields = { sha256, der_bytes: der.length };
  if (der.length > limits.maxCertBytes) return { ok: false, tooLarge: true, fields: base };
  try {
    const cert = new X509Certificate(der);
    const legacy = cert.toLegacyObject() as unknown as Record<string, unknown>;
    const max = limits.maxFieldChars;
    const fields: Record<string, FieldValue | undefined> = {
      subject_cn: nameAttr(legacy.subject, 'CN', max),
      subject_o: nameAttr(legacy.subject, 'O', max),
      issuer_cn: nameAttr(legacy.issuer, 'CN', max),
      issuer_o: nameAttr(legacy.issuer, 'O', max),
      not_before: iso(cert.validFrom),
      not_after: iso(cert.validTo),
      ...(() => {
        const k = keyBits(cert, legacy.bits);
        return { key_type: k.type, key_bits: k.bits };
      })(),
      sha256,
      san_dns:
        cert.subjectAltName === undefined
          ? undefined
          : sanDnsNames(cert.subjectAltName, limits.maxSanNames, max),
      self_signed: cert.subject === cert.issuer,
      der_bytes: der.length,
    };
    const out: EventFields = {};
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
    return { ok: true, fields: out };
  } catch {
    return { ok: false, tooLarge: false, fields: base };
  }
}
