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

/** AlertDescription names [RFC 8446 §6, RFC 5246 §7.2, RFC 7301 §3.2 no_application_protocol]. */
export const ALERT_NAMES: Readonly<Record<number, string>> = {
  0: 'close_notify',
  10: 'unexpected_message',
  20: 'bad_record_mac',
  21: 'decryption_failed',
  22: 'record_overflow',
  30: 'decompression_failure',
  40: 'handshake_failure',
  41: 'no_certificate',
  42: 'bad_certificate',
  43: 'unsupported_certificate',
  44: 'certificate_revoked',
  45: 'certificate_expired',
  46: 'certificate_unknown',
  47: 'illegal_parameter',
  48: 'unknown_ca',
  49: 'access_denied',
  50: 'decode_error',
  51: 'decrypt_error',
  60: 'export_restriction',
  70: 'protocol_version',
  71: 'insufficient_security',
  80: 'internal_error',
  86: 'inappropriate_fallback',
  90: 'user_canceled',
  100: 'no_renegotiation',
  109: 'missing_extension',
  110: 'unsupported_extension',
  111: 'certificate_unobtainable',
  112: 'unrecognized_name',
  113: 'bad_certificate_status_response',
  114: 'bad_certificate_hash_value',
  115: 'unknown_psk_identity',
  116: 'certificate_required',
  120: 'no_application_protocol',
};
