// One TLS analyzer per TCP flow: record and handshake reassembly per direction (bounded), the clear-text hellos and TLS 1.2 certificates, then only counting once encryption starts (RFC 8446 §5, RFC 5246 §6.2).
import type { Analyzer, AnalyzerSink, Direction, EventFields, FieldValue } from '../types.js';
import {
  ALERT_NAMES,
  ContentType,
  HANDSHAKE_HEADER,
  HandshakeType,
  MAX_RECORD_LENGTH,
  RECORD_HEADER,
  versionName,
  Ext,
} from './constants.js';
import { ANOMALIES, type TlsAnomalyCode } from './events.js';
import { ja3, ja3s, ja4, ja4Version } from './fingerprint.js';
import {
  DEFAULT_LIMITS,
  latin1,
  parseCertificateList,
  parseClientHello,
  parseServerHello,
  type ClientHello,
  type ServerHello,
  type TlsLimits,
} from './parse.js';
import { CertCache, describeCertificate } from './x509.js';

/** A handshake message buffer starts this small and doubles up to the declared length (never past the cap). */
const INITIAL_CAPACITY = 2048;
/** JA3 strings of hostile hellos could be as long as the hello: the event keeps this much. */
const MAX_JA3_FULL = 4096;
const TLS13 = 0x0304;
/** Alert events per flow: a peer looping on warnings must not flood the event stream (the rest are counted). */
const MAX_ALERT_EVENTS = 16;

export interface TlsSessionStats {
  records: number;
  handshakeMessages: number;
  /** Bytes of handshake messages skipped by length (types not read, or over the cap). */
  bytesSkipped: number;
  /** Bytes after parsing stopped (encrypted records, or a direction given up): counted, never kept. */
  bytesAfterHandshake: number;
  gaps: number;
  /** Alerts read in clear; events past MAX_ALERT_EVENTS are only counted here. */
  alerts: number;
  anomalies: number;
  parseErrors: number;
  /** Anomalies beyond maxAnomalies: counted here, not emitted. */
  anomaliesSuppressed: number;
}

interface DirState {
  hdr: Uint8Array;
  hdrLen: number;
  /** Body bytes of the current record still to come; 0 = a record header is next. */
  recLeft: number;
  recType: number;
  hsHdr: Uint8Array;
  hsHdrLen: number;
  hsType: number;
  hsLen: number;
  /** The message being reassembled (across records), or null between messages. */
  hsBuf: Uint8Array | null;
  hsFill: number;
  /** Bytes of a handshake message still to skip. */
  hsSkip: number;
  /** Parsing stopped for good (encrypted from here, framing lost, or a gap): bytes are only counted. */
  done: boolean;
  /** A record was seen in this direction (a gap before it is a mid-stream pickup, not a loss). */
  started: boolean;
  /** An alert split across records (two bytes: level, description). */
  alert: Uint8Array;
  alertLen: number;
}

function newDir(): DirState {
  return {
    hdr: new Uint8Array(RECORD_HEADER),
    hdrLen: 0,
    recLeft: 0,
    recType: 0,
    hsHdr: new Uint8Array(HANDSHAKE_HEADER),
    hsHdrLen: 0,
    hsType: 0,
    hsLen: 0,
    hsBuf: null,
    hsFill: 0,
    hsSkip: 0,
    done: false,
    started: false,
    alert: new Uint8Array(2),
    alertLen: 0,
  };
}

const cutTo = (s: string, n: number): string => (s.length > n ? s.slice(0, n) : s);

/** An ALPN name as text when it is printable ASCII, else its bytes in hex ("0x" prefix). */
function alpnText(b: Uint8Array, max: number): string {
  for (const c of b) if (c < 0x20 || c > 0x7e) return cutTo(`0x${Buffer.from(b).toString('hex')}`, max);
  return cutTo(latin1(b), max);
}

export class TlsSession implements Analyzer {
  readonly stats: TlsSessionStats = {
    records: 0,
    handshakeMessages: 0,
    bytesSkipped: 0,
    bytesAfterHandshake: 0,
    gaps: 0,
    alerts: 0,
    anomalies: 0,
    parseErrors: 0,
    anomaliesSuppressed: 0,
  };
  private readonly limits: TlsLimits;
  private readonly dirs: [DirState, DirState] = [newDir(), newDir()];
  private confirmed = false;
  private dead = false;
  private clientHellos = 0;
  private helloRetry = false;
  /** The version the final ServerHello chose (0 until then). */
  private version = 0;
  private readonly once = new Set<TlsAnomalyCode>();
  private alerts = 0;

  /** `certs`: descriptions shared by the sessions of one spec (index.ts); a session alone gets its own. */
  constructor(
    private readonly sink: AnalyzerSink,
    limits: Partial<TlsLimits> = {},
    private readonly certs: CertCache = new CertCache(),
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  bufferedBytes(): number {
    return (this.dirs[0].hsBuf?.length ?? 0) + (this.dirs[1].hsBuf?.length ?? 0);
  }

  onData(dir: Direction, bytes: Uint8Array, ts: number): void {
    if (this.dead || bytes.length === 0) return;
    const d = this.dirs[dir];
    let off = 0;
    while (off < bytes.length && !d.done && !this.dead) {
      if (d.recLeft === 0) {
        const take = Math.min(RECORD_HEADER - d.hdrLen, bytes.length - off);
        d.hdr.set(bytes.subarray(off, off + take), d.hdrLen);
        d.hdrLen += take;
        off += take;
        if (d.hdrLen < RECORD_HEADER) break;
        d.hdrLen = 0;
        this.recordStart(dir, ts);
        continue;
      }
      const n = Math.min(d.recLeft, bytes.length - off);
      const chunk = bytes.subarray(off, off + n);
      off += n;
      d.recLeft -= n;
      if (d.recType === ContentType.HANDSHAKE) this.handshakeBytes(dir, chunk, ts);
      else if (d.recType === ContentType.ALERT) this.alertBytes(dir, chunk, ts);
    }
    if (off < bytes.length) this.stats.bytesAfterHandshake += bytes.length - off;
  }

  /** Bypass: after the handshake (encrypted records) or once given up, a direction is only counted. */
  skippable(dir: Direction): number {
    return this.dead || this.dirs[dir].done ? Infinity : 0;
  }

  onSkip(dir: Direction, len: number): void {
    if (!this.dead) this.stats.bytesAfterHandshake += len;
  }

  onGap(dir: Direction, len: number, ts: number): void {
    const d = this.dirs[dir];
    this.stats.gaps++;
    if (d.done || this.dead) return;
    // Without a record seen yet this is where the capture began, not a loss inside the handshake.
    if (d.started) this.anomaly(dir, ts, 'tls.gap', { bytes: len });
    this.stop(d);
  }

  onEnd(dir: Direction, _ts: number): void {
    // A message cut by the end of the capture is not an anomaly of the peer; drop what was buffered.
    this.stop(this.dirs[dir]);
  }

  /** A complete record header is in `d.hdr`. */
  private recordStart(dir: Direction, ts: number): void {
    const d = this.dirs[dir];
    const h = d.hdr;
    const type = h[0] ?? 0;
    const major = h[1] ?? 0;
    const minor = h[2] ?? 0;
    const length = ((h[3] ?? 0) << 8) | (h[4] ?? 0);
    if (type < ContentType.CHANGE_CIPHER_SPEC || type > ContentType.HEARTBEAT) {
      this.lost(dir, ts, 'tls.unknown_record_type', { record_type: type });
      return;
    }
    if (major !== 3 || minor > 4 || length > MAX_RECORD_LENGTH) {
      this.lost(dir, ts, 'tls.malformed_record', {
        record_type: type,
        detail: `version ${major}.${minor}, length ${length}`,
      });
      return;
    }
    this.stats.records++;
    d.started = true;
    d.recType = type;
    d.recLeft = length;
    if (type === ContentType.APPLICATION_DATA) this.stop(d);
    else if (type === ContentType.CHANGE_CIPHER_SPEC) {
      // TLS 1.3 peers send a dummy ChangeCipherSpec for middleboxes [RFC 8446 §D.4]; after a HelloRetryRequest
      // the client's second ClientHello and the server's final ServerHello still follow it in clear.
      const hrrPending = this.helloRetry && (dir === 0 ? this.clientHellos < 2 : this.version === 0);
      if (!hrrPending) this.stop(d);
    }
  }

  /** Framing lost in one direction: before the flow proved to be TLS it is not TLS; after, an anomaly. */
  private lost(dir: Direction, ts: number, code: TlsAnomalyCode, fields: EventFields): void {
    if (!this.confirmed) {
      this.dead = true;
      this.dirs[0].hsBuf = this.dirs[1].hsBuf = null;
      this.sink.violation(`${code}: ${JSON.stringify(fields)}`);
      return;
    }
    this.anomaly(dir, ts, code, fields);
    this.stop(this.dirs[dir]);
  }

  private handshakeBytes(dir: Direction, chunk: Uint8Array, ts: number): void {
    const d = this.dirs[dir];
    let off = 0;
    while (off < chunk.length && !d.done && !this.dead) {
      if (d.hsSkip > 0) {
        const n = Math.min(d.hsSkip, chunk.length - off);
        d.hsSkip -= n;
        off += n;
        this.stats.bytesSkipped += n;
        continue;
      }
      if (d.hsBuf === null) {
        const take = Math.min(HANDSHAKE_HEADER - d.hsHdrLen, chunk.length - off);
        d.hsHdr.set(chunk.subarray(off, off + take), d.hsHdrLen);
        d.hsHdrLen += take;
        off += take;
        if (d.hsHdrLen < HANDSHAKE_HEADER) break;
        d.hsHdrLen = 0;
        const type = d.hsHdr[0] ?? 0;
        const len = ((d.hsHdr[1] ?? 0) << 16) | ((d.hsHdr[2] ?? 0) << 8) | (d.hsHdr[3] ?? 0);
        this.stats.handshakeMessages++;
        if (
          type !== HandshakeType.CLIENT_HELLO &&
          type !== HandshakeType.SERVER_HELLO &&
          type !== HandshakeType.CERTIFICATE
        ) {
          d.hsSkip = len;
          continue;
        }
        if (len > this.limits.maxHandshakeBytes) {
          this.anomaly(dir, ts, 'tls.handshake_too_large', { handshake_type: type, bytes: len });
          d.hsSkip = len;
          continue;
        }
        d.hsType = type;
        d.hsLen = len;
        d.hsFill = 0;
        d.hsBuf = new Uint8Array(Math.min(len, INITIAL_CAPACITY));
        if (len === 0) this.messageDone(dir, ts);
        continue;
      }
      const n = Math.min(d.hsLen - d.hsFill, chunk.length - off);
      if (d.hsFill + n > d.hsBuf.length) {
        const grown = new Uint8Array(Math.min(d.hsLen, Math.max(d.hsBuf.length * 2, d.hsFill + n)));
        grown.set(d.hsBuf.subarray(0, d.hsFill));
        d.hsBuf = grown;
      }
      d.hsBuf.set(chunk.subarray(off, off + n), d.hsFill);
      d.hsFill += n;
      off += n;
      if (d.hsFill === d.hsLen) this.messageDone(dir, ts);
    }
    if (off < chunk.length) this.stats.bytesAfterHandshake += chunk.length - off;
  }

  /** Alerts in clear (before encryption starts): why a handshake failed, e.g. an unknown CA or an expired certificate. */
  private alertBytes(dir: Direction, chunk: Uint8Array, ts: number): void {
    const d = this.dirs[dir];
    for (const byte of chunk) {
      d.alert[d.alertLen++] = byte;
      if (d.alertLen < 2) continue;
      d.alertLen = 0;
      this.stats.alerts++;
      if (this.alerts >= MAX_ALERT_EVENTS) continue;
      this.alerts++;
      const level = d.alert[0] ?? 0;
      const description = d.alert[1] ?? 0;
      const fields: EventFields = { level, description };
      const name = ALERT_NAMES[description];
      if (name !== undefined) fields.description_name = name;
      this.sink.event(dir, ts, 'alert', fields);
    }
  }

  private messageDone(dir: Direction, ts: number): void {
    const d = this.dirs[dir];
    const body = (d.hsBuf ?? new Uint8Array(0)).subarray(0, d.hsLen);
    d.hsBuf = null;
    switch (d.hsType) {
      case HandshakeType.CLIENT_HELLO:
        if (dir !== 0) this.wrongDirection(dir, ts, d.hsType);
        else this.clientHello(body, ts);
        break;
      case HandshakeType.SERVER_HELLO:
        if (dir !== 1) this.wrongDirection(dir, ts, d.hsType);
        else this.serverHello(body, ts);
        break;
      default:
        // TLS 1.3 certificates are encrypted; a clear one under 1.3 would be a stranger's business, not ours.
        if (this.version < TLS13) this.certificate(dir, body, ts);
    }
  }

  private wrongDirection(dir: Direction, ts: number, type: number): void {
    if (this.once.has('tls.wrong_direction')) return;
    this.once.add('tls.wrong_direction');
    this.anomaly(dir, ts, 'tls.wrong_direction', { handshake_type: type });
  }

  private malformed(dir: Direction, ts: number, type: number, detail: string): void {
    this.anomaly(dir, ts, 'tls.malformed_handshake', { handshake_type: type, detail });
  }

  private confirm(): void {
    if (this.confirmed) return;
    this.confirmed = true;
    this.sink.confirm();
  }

  /** A list for an event: at most maxListItems, the rest added to `cut`. */
  private capped(l: readonly number[], cut: { n: number }): number[] {
    const max = this.limits.maxListItems;
    if (l.length <= max) return [...l];
    cut.n += l.length - max;
    return l.slice(0, max);
  }

  private clientHello(body: Uint8Array, ts: number): void {
    const res = parseClientHello(body);
    if (!res.ok) {
      this.malformed(0, ts, HandshakeType.CLIENT_HELLO, res.detail);
      return;
    }
    this.confirm();
    const h: ClientHello = res.value;
    const cut = { n: 0 };
    const max = this.limits.maxFieldChars;
    const offered = ja4Version(h);
    const j3 = ja3(h);
    const fields: EventFields = {
      version: versionName(offered),
      version_code: offered,
      legacy_version: versionName(h.legacyVersion),
    };
    if (h.supportedVersions) fields.supported_versions = this.capped(h.supportedVersions, cut);
    if (h.sni !== null) fields.sni = cutTo(h.sni, max);
    if (h.alpn) {
      const names = h.alpn.map((a) => alpnText(a, max));
      fields.alpn = names.slice(0, this.limits.maxListItems);
      cut.n += names.length - (fields.alpn as FieldValue[]).length;
    }
    fields.cipher_suites = this.capped(h.cipherSuites, cut);
    fields.extensions = this.capped(h.extensions, cut);
    if (h.extensions.includes(Ext.SUPPORTED_GROUPS))
      fields.supported_groups = this.capped(h.supportedGroups, cut);
    if (h.extensions.includes(Ext.EC_POINT_FORMATS))
      fields.ec_point_formats = this.capped(h.ecPointFormats, cut);
    if (h.extensions.includes(Ext.SIGNATURE_ALGORITHMS))
      fields.signature_algorithms = this.capped(h.signatureAlgorithms, cut);
    fields.retry = this.helloRetry && this.clientHellos > 0;
    fields.ja4 = ja4(h).ja4;
    fields.ja3 = j3.ja3;
    fields.ja3_full = cutTo(j3.full, MAX_JA3_FULL);
    if (cut.n > 0) fields.cut = cut.n;
    this.clientHellos++;
    this.sink.event(0, ts, 'client_hello', fields);
  }

  private serverHello(body: Uint8Array, ts: number): void {
    const res = parseServerHello(body);
    if (!res.ok) {
      this.malformed(1, ts, HandshakeType.SERVER_HELLO, res.detail);
      return;
    }
    this.confirm();
    const h: ServerHello = res.value;
    const cut = { n: 0 };
    const chosen = h.selectedVersion ?? h.legacyVersion;
    const j3s = ja3s(h);
    const fields: EventFields = {
      version: versionName(chosen),
      version_code: chosen,
      legacy_version: versionName(h.legacyVersion),
      cipher_suite: h.cipherSuite,
      extensions: this.capped(h.extensions, cut),
    };
    if (h.alpn) fields.alpn = alpnText(h.alpn, this.limits.maxFieldChars);
    fields.hello_retry_request = h.helloRetryRequest;
    fields.ja3s = j3s.ja3s;
    fields.ja3s_full = cutTo(j3s.full, MAX_JA3_FULL);
    if (cut.n > 0) fields.cut = cut.n;
    if (h.helloRetryRequest) this.helloRetry = true;
    else {
      this.version = chosen;
      // From a TLS 1.3 ServerHello on, the server's handshake is encrypted [RFC 8446 §2].
      if (chosen >= TLS13) this.stop(this.dirs[1]);
    }
    this.sink.event(1, ts, 'server_hello', fields);
  }

  private certificate(dir: Direction, body: Uint8Array, ts: number): void {
    const res = parseCertificateList(body, this.limits.maxChain);
    if (!res.ok) {
      this.malformed(dir, ts, HandshakeType.CERTIFICATE, res.detail);
      return;
    }
    const { certs, count } = res.value;
    if (count > certs.length) this.anomaly(dir, ts, 'tls.chain_too_long', { count: count - certs.length });
    const described: EventFields[] = [];
    for (const c of certs) {
      const r = describeCertificate(c.der, this.limits, this.certs);
      if (!r.ok)
        this.anomaly(dir, ts, r.tooLarge ? 'tls.certificate_too_large' : 'tls.bad_certificate', {
          bytes: c.size,
        });
      described.push(r.fields);
    }
    const fields: EventFields = { ...(described[0] ?? {}), count, certs: described };
    if (count > certs.length) fields.certs_cut = count - certs.length;
    // Validity against packet time (deterministic in a replay), so rules can say "expired" without a clock.
    const leaf = described[0];
    const notAfter = typeof leaf?.not_after === 'string' ? Date.parse(leaf.not_after) : NaN;
    const notBefore = typeof leaf?.not_before === 'string' ? Date.parse(leaf.not_before) : NaN;
    const nowMs = ts / 1000;
    if (Number.isFinite(notAfter)) {
      fields.days_to_expiry = Math.floor((notAfter - nowMs) / 86_400_000);
      fields.expired = notAfter < nowMs;
    }
    if (Number.isFinite(notBefore)) fields.not_yet_valid = notBefore > nowMs;
    this.sink.event(dir, ts, 'certificate', fields);
  }

  private stop(d: DirState): void {
    d.done = true;
    d.hsBuf = null;
  }

  private anomaly(dir: Direction, ts: number, code: TlsAnomalyCode, fields: EventFields): void {
    const malformed = ANOMALIES[code].malformed;
    if (malformed) this.stats.parseErrors++;
    if (this.stats.anomalies >= this.limits.maxAnomalies) {
      this.stats.anomaliesSuppressed++;
      return;
    }
    this.stats.anomalies++;
    this.sink.anomaly(dir, ts, code, malformed, fields);
  }
}
