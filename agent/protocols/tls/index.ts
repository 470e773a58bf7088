// The TLS analyzer spec: HTTPS, DICOM-TLS, MQTT-TLS and syslog-TLS ports, a content probe on the client's ClientHello record (RFC 8446 §5.1, §4.1.2), the session factory.
import type { AnalyzerSink, AnalyzerSpec, Direction, ProbeResult } from '../types.js';
import { ContentType, HandshakeType, MAX_RECORD_LENGTH } from './constants.js';
import { tlsSchema } from './events.js';
import type { TlsLimits } from './parse.js';
import { TlsSession } from './session.js';
import { CertCache } from './x509.js';

export { ANOMALIES, ANOMALY_CODES, EVENT_TYPES, tlsSchema } from './events.js';
export type { TlsAnomalyCode, TlsEventType } from './events.js';
export { ja3, ja3s, ja4 } from './fingerprint.js';
export { DEFAULT_LIMITS, parseCertificateList, parseClientHello, parseServerHello } from './parse.js';
export type { ClientHello, ServerHello, TlsLimits } from './parse.js';
export { TlsSession } from './session.js';

/** 443 HTTPS, 2762 DICOM over TLS (PS3.15 Annex B), 8883 MQTT over TLS, 6514 syslog over TLS (RFC 5425). */
export const TLS_PORTS = [443, 2762, 8883, 6514] as const;

/**
 * A client's first bytes are TLS when they are a handshake record (type 22, version 3.0-3.4, a plausible length)
 * whose first message is a ClientHello. The server never speaks first, so its bytes decide nothing.
 */
export function probeTls(dir: Direction, bytes: Uint8Array): ProbeResult {
  if (dir !== 0) return 'need_more';
  const checks: Array<(b: number) => boolean> = [
    (b) => b === ContentType.HANDSHAKE,
    (b) => b === 3,
    (b) => b <= 4,
  ];
  for (let i = 0; i < checks.length; i++) {
    const b = bytes[i];
    if (b === undefined) return 'need_more';
    if (!checks[i]?.(b)) return 'no';
  }
  const hi = bytes[3];
  const lo = bytes[4];
  if (hi === undefined || lo === undefined) return 'need_more';
  const len = (hi << 8) | lo;
  if (len === 0 || len > MAX_RECORD_LENGTH) return 'no';
  const type = bytes[5];
  if (type === undefined) return 'need_more';
  return type === HandshakeType.CLIENT_HELLO ? 'match' : 'no';
}

/** Build a spec with other limits; `tlsSpec` uses the defaults. */
export function createTlsSpec(limits: Partial<TlsLimits> = {}): AnalyzerSpec {
  // One cache per spec: the flows of one agent (or worker) share the chains they have already read.
  const certs = new CertCache();
  return {
    proto: 'tls',
    defaultPorts: TLS_PORTS,
    probe: probeTls,
    create: (sink: AnalyzerSink) => new TlsSession(sink, limits, certs),
    schema: tlsSchema,
  };
}

export const tlsSpec: AnalyzerSpec = createTlsSpec();
