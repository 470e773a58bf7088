// TLS constants in one table: record content types, handshake types, extension code points, versions, GREASE (RFC 8446, RFC 5246, RFC 8701).

/** Record layer content types [RFC 8446 §5.1, RFC 6520 for heartbeat]. */
export const ContentType = {
  CHANGE_CIPHER_SPEC: 20,
  ALERT: 21,
  HANDSHAKE: 22,
  APPLICATION_DATA: 23,
  HEARTBEAT: 24,
} as const;

/** Handshake message types this analyzer reads; others are skipped by length [RFC 8446 §4, RFC 5246 §7.4]. */
export const HandshakeType = {
  CLIENT_HELLO: 1,
  SERVER_HELLO: 2,
  CERTIFICATE: 11,
} as const;

/** Extension code points the analyzer decodes [IANA TLS ExtensionType Values]. */
export const Ext = {
  SERVER_NAME: 0x0000,
  SUPPORTED_GROUPS: 0x000a,
  EC_POINT_FORMATS: 0x000b,
  SIGNATURE_ALGORITHMS: 0x000d,
  ALPN: 0x0010,
  SUPPORTED_VERSIONS: 0x002b,
} as const;

/** Record header: type, version (2), length (2) [RFC 8446 §5.1]. */
export const RECORD_HEADER = 5;
/** Handshake header: type, 24-bit length [RFC 8446 §4]. */
export const HANDSHAKE_HEADER = 4;
/**
 * Largest record length accepted: TLSCiphertext may be 2^14 + 2048 in TLS 1.2 [RFC 5246 §6.2.3]
 * (1.3 allows 2^14 + 256); anything longer means the framing is lost.
 */
export const MAX_RECORD_LENGTH = 16384 + 2048;

/** ServerHello.random of a HelloRetryRequest: SHA-256 of "HelloRetryRequest" [RFC 8446 §4.1.3]. */
export const HRR_RANDOM = Uint8Array.from(
  Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex'),
);

/** GREASE values 0x0a0a, 0x1a1a, ... 0xfafa [RFC 8701 §2]: both bytes equal, low nibble 0xa. */
export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
}

const VERSION_NAMES: Readonly<Record<number, string>> = {
  0x0002: 'SSL 2.0',
  0x0300: 'SSL 3.0',
  0x0301: 'TLS 1.0',
  0x0302: 'TLS 1.1',
  0x0303: 'TLS 1.2',
  0x0304: 'TLS 1.3',
};

/** "TLS 1.2" for 0x0303; a code point nobody named is shown in hex, e.g. "0x7f1c" (a TLS 1.3 draft). */
export function versionName(v: number): string {
  return VERSION_NAMES[v] ?? `0x${v.toString(16).padStart(4, '0')}`;
}

/** The two JA4 version characters [JA4 spec "TLS and DTLS Version"]. */
export const JA4_VERSIONS: Readonly<Record<number, string>> = {
  0x0304: '13',
  0x0303: '12',
  0x0302: '11',
  0x0301: '10',
  0x0300: 's3',
  0x0002: 's2',
  0xfeff: 'd1',
  0xfefd: 'd2',
  0xfefc: 'd3',
};
