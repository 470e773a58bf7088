// TLS event types, anomaly codes and the fields rules may match: handshake metadata only, never application data.
import { bool, ident, list, num, str } from '../schema.js';
import type { AnomalySpec, EventTypeSpec, FieldSpec, ProtocolSchema } from '../types.js';

/** Event `type` values this analyzer emits (besides "anomaly"). */
export const EVENT_TYPES = ['client_hello', 'server_hello', 'certificate', 'alert'] as const;
export type TlsEventType = (typeof EVENT_TYPES)[number];

/** Anomaly codes; `malformed` says whether the analyzer counts it as a parse error. */
export const ANOMALIES = {
  'tls.malformed_record': {
    malformed: true,
    doc: 'A record header with a version other than 3.x or a length over 2^14+2048 [RFC 5246 §6.2.3]: framing is lost, the direction is no longer parsed.',
  },
  'tls.unknown_record_type': {
    malformed: true,
    doc: 'A record content type other than 20-24 after the handshake began [RFC 8446 §5.1]: the direction is no longer parsed.',
  },
  'tls.handshake_too_large': {
    malformed: false,
    doc: 'A handshake message longer than the cap (64 KiB): skipped by length, never buffered.',
  },
  'tls.malformed_handshake': {
    malformed: true,
    doc: 'A ClientHello, ServerHello or Certificate whose body does not match its lengths (vector past the end, bytes left over).',
  },
  'tls.bad_certificate': {
    malformed: true,
    doc: 'A certificate in a TLS 1.2 Certificate message that is not a parsable X.509 DER: listed with its SHA-256 only.',
  },
  'tls.certificate_too_large': {
    malformed: false,
    doc: 'A certificate over the DER cap (16 KiB): listed with its size and SHA-256 only.',
  },
  'tls.chain_too_long': {
    malformed: false,
    doc: 'More certificates in one chain than the cap (8): the rest are counted in `certs_cut`, not listed.',
  },
  'tls.wrong_direction': {
    malformed: false,
    doc: 'A ClientHello from the server or a ServerHello from the client (reported once per flow).',
  },
  'tls.gap': {
    malformed: false,
    doc: 'Capture loss inside the handshake: the direction is no longer parsed (its framing is unknown).',
  },
} as const satisfies Record<string, AnomalySpec>;

export type TlsAnomalyCode = keyof typeof ANOMALIES;
export const ANOMALY_CODES: readonly TlsAnomalyCode[] = Object.keys(ANOMALIES) as TlsAnomalyCode[];

const version = str('negotiated or offered version by name: "TLS 1.2", "TLS 1.3", "SSL 3.0", else hex');
const versionCode = num('the same version as its code point, e.g. 771 (0x0303) for TLS 1.2: for < and >');
const cut = num('list items left out of this event at the caps (absent when nothing was cut)');

/** Fields of one certificate, in the chain array and (leaf) flattened on the event. */
const certFields: Record<string, FieldSpec> = {
  subject_cn: ident('subject common name'),
  subject_o: str('subject organisation'),
  issuer_cn: str('issuer common name'),
  issuer_o: str('issuer organisation'),
  not_before: str('start of validity, ISO 8601 UTC'),
  not_after: str('end of validity, ISO 8601 UTC'),
  key_type: str('public key algorithm: rsa, ec, ed25519, dsa, ...'),
  key_bits: num('public key size in bits (RSA modulus, EC curve size)'),
  sha256: str('SHA-256 of the DER, lower-case hex'),
  san_dns: list('subjectAltName DNS names, capped'),
  self_signed: bool('subject and issuer are the same name'),
  der_bytes: num('size of the DER'),
};

const events: Record<TlsEventType, EventTypeSpec> = {
  client_hello: {
    doc: 'a client opens a TLS handshake (sent in clear in every version)',
    fields: {
      version,
      version_code: versionCode,
      legacy_version: str('ClientHello.legacy_version by name (1.3 clients say TLS 1.2 here)'),
      supported_versions: list('supported_versions extension, code points in order (GREASE included)'),
      sni: ident('server name (SNI host_name)'),
      alpn: list('ALPN protocol names offered, in order'),
      cipher_suites: list('cipher suite code points in order (GREASE included)'),
      extensions: list('extension type code points in order (GREASE included)'),
      supported_groups: list('supported_groups code points in order'),
      ec_point_formats: list('ec_point_formats in order'),
      signature_algorithms: list('signature_algorithms code points in order'),
      retry: bool('the second ClientHello, answering a HelloRetryRequest'),
      ja4: ident('JA4 client fingerprint (FoxIO, BSD-3-Clause)'),
      ja3: ident('JA3 fingerprint: MD5 of ja3_full'),
      ja3_full: str('JA3 string: version,ciphers,extensions,groups,point formats (GREASE left out)'),
      cut,
    },
  },
  server_hello: {
    doc: 'the server picks the version and cipher suite (or asks the client to retry)',
    fields: {
      version,
      version_code: versionCode,
      legacy_version: str('ServerHello.legacy_version by name'),
      cipher_suite: num('selected cipher suite code point'),
      extensions: list('extension type code points in order'),
      alpn: str('selected ALPN protocol'),
      hello_retry_request: bool('a HelloRetryRequest (RFC 8446 §4.1.4), not a final ServerHello'),
      ja3s: ident('JA3S fingerprint: MD5 of ja3s_full'),
      ja3s_full: str('JA3S string: version,cipher,extensions'),
      cut,
    },
  },
  certificate: {
    doc: 'the certificate chain one side sent in clear (TLS 1.2 and older); the leaf is flattened on the event',
    fields: {
      ...certFields,
      count: num('certificates in the message'),
      certs: list('the chain as sent, leaf first, capped at 8', certFields),
      certs_cut: num('certificates past the cap, counted only'),
      days_to_expiry: num('whole days from the packet to the leaf’s not_after (negative once expired)'),
      expired: bool('the leaf’s not_after is before the packet'),
      not_yet_valid: bool('the leaf’s not_before is after the packet'),
    },
  },
  alert: {
    doc: 'an alert sent in clear, before encryption starts: why a handshake was refused (at most 16 per flow)',
    fields: {
      level: num('1 warning, 2 fatal'),
      description: num(
        'AlertDescription code, e.g. 48 unknown_ca, 45 certificate_expired, 70 protocol_version',
      ),
      description_name: str('the code by its RFC 8446 name, when it has one'),
    },
  },
};

export const tlsSchema: ProtocolSchema = {
  proto: 'tls',
  title: 'TLS handshake metadata (SSL 3.0 to TLS 1.3) on any port',
  events,
  anomalies: ANOMALIES,
  identity: [
    // The client's TLS stack: another fingerprint from the same device is another client (or a changed firmware).
    { types: ['client_hello'], field: 'ja4', attr: 'tls_client_fingerprint', side: 'src', tracked: true },
    { types: ['client_hello'], field: 'sni', attr: 'tls_server_name', side: 'dst' },
    { types: ['certificate'], field: 'subject_cn', attr: 'tls_certificate_cn', side: 'src' },
  ],
  anomalyFields: {
    bytes: num('bytes skipped or lost'),
    record_type: num('record content type involved'),
    handshake_type: num('handshake message type involved'),
    detail: str('what was wrong'),
    count: num('items past the cap'),
  },
};
