// Pure parsers of the clear-text TLS handshake messages: ClientHello, ServerHello, TLS 1.2 Certificate (RFC 8446 §4.1.2-4.1.4, RFC 5246 §7.4.1-7.4.2, RFC 6066 §3, RFC 7301 §3.1): never throw, read only inside the message.
import { Ext, HRR_RANDOM } from './constants.js';

export interface TlsLimits {
  /** Largest handshake message buffered and parsed; longer ones are skipped by length (default 64 KiB). */
  maxHandshakeBytes: number;
  /** Items per list in an event (cipher suites, extensions, ALPN, groups, ...); the rest are counted in `cut`. */
  maxListItems: number;
  /** Strings in events (SNI, ALPN names, certificate names) are cut to this many characters. */
  maxFieldChars: number;
  /** Certificates described per chain; further ones are counted only. */
  maxChain: number;
  /** Largest certificate DER handed to the X.509 parser. */
  maxCertBytes: number;
  /** subjectAltName DNS names kept per certificate. */
  maxSanNames: number;
  /** Anomaly events per flow; later ones are only counted (session stats). */
  maxAnomalies: number;
}

export const DEFAULT_LIMITS: Readonly<TlsLimits> = Object.freeze({
  maxHandshakeBytes: 64 * 1024,
  maxListItems: 128,
  maxFieldChars: 256,
  maxChain: 8,
  maxCertBytes: 16 * 1024,
  maxSanNames: 32,
  maxAnomalies: 64,
});

export interface ClientHello {
  legacyVersion: number;
  /** The supported_versions extension's list, or null without the extension. */
  supportedVersions: number[] | null;
  /** First host_name of server_name; null without one. */
  sni: string | null;
  /** The server_name extension is present (JA4 "d"), even with no host_name in it. */
  hasSni: boolean;
  /** ALPN protocol names as sent (bytes), or null without the extension. */
  alpn: Uint8Array[] | null;
  cipherSuites: number[];
  extensions: number[];
  supportedGroups: number[];
  ecPointFormats: number[];
  signatureAlgorithms: number[];
}

export interface ServerHello {
  legacyVersion: number;
  /** supported_versions selected_version (TLS 1.3), or null. */
  selectedVersion: number | null;
  cipherSuite: number;
  extensions: number[];
  alpn: Uint8Array | null;
  helloRetryRequest: boolean;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; detail: string };

/** A bounds-checked cursor over one message: a read past `end` sets `bad` and returns 0 instead of throwing. */
class Reader {
  bad = false;
  constructor(
    private readonly b: Uint8Array,
    public pos: number,
    public end: number,
  ) {}
  left(): number {
    return this.end - this.pos;
  }
  u8(): number {
    if (this.pos + 1 > this.end) return this.fail();
    return this.b[this.pos++] ?? 0;
  }
  u16(): number {
    if (this.pos + 2 > this.end) return this.fail();
    const v = ((this.b[this.pos] ?? 0) << 8) | (this.b[this.pos + 1] ?? 0);
    this.pos += 2;
    return v;
  }
  u24(): number {
    if (this.pos + 3 > this.end) return this.fail();
    const v =
      ((this.b[this.pos] ?? 0) << 16) | ((this.b[this.pos + 1] ?? 0) << 8) | (this.b[this.pos + 2] ?? 0);
    this.pos += 3;
    return v;
  }
  bytes(n: number): Uint8Array {
    if (this.pos + n > this.end) {
      this.fail();
      return new Uint8Array(0);
    }
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /** A sub-reader over the next `n` bytes (a length-prefixed vector); this reader moves past them. */
  sub(n: number): Reader {
    if (this.pos + n > this.end) {
      this.fail();
      return new Reader(this.b, this.end, this.end);
    }
    const r = new Reader(this.b, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }
  private fail(): number {
    this.bad = true;
    this.pos = this.end;
    return 0;
  }
}

/** A vector of u16 items whose byte length is `r`'s extent; an odd length is malformed. */
function u16List(r: Reader): number[] | null {
  if (r.left() % 2 !== 0) return null;
  const out: number[] = [];
  while (r.left() > 0) out.push(r.u16());
  return out;
}

/** server_name [RFC 6066 §3]: the first host_name (type 0). */
function readServerName(r: Reader): string | null | undefined {
  const list = r.sub(r.u16());
  if (r.bad || r.left() !== 0) return undefined;
  let name: string | null = null;
  while (list.left() > 0) {
    const type = list.u8();
    const value = list.bytes(list.u16());
    if (list.bad) return undefined;
    if (type === 0 && name === null) name = latin1(value);
  }
  return name;
}

/** ALPN ProtocolNameList [RFC 7301 §3.1]: u16 length, then u8-prefixed names. */
function readAlpn(r: Reader): Uint8Array[] | undefined {
  const list = r.sub(r.u16());
  if (r.bad || r.left() !== 0) return undefined;
  const out: Uint8Array[] = [];
  while (list.left() > 0) {
    const name = list.bytes(list.u8());
    if (list.bad) return undefined;
    out.push(name);
  }
  return out;
}

/** Extensions block (absent in some pre-1.3 hellos: then nothing follows the compression method). */
function readExtensions(
  r: Reader,
  onExt: (type: number, body: Reader) => string | null,
): { types: number[]; error: string | null } {
  const types: number[] = [];
  if (r.left() === 0) return { types, error: null };
  const all = r.sub(r.u16());
  if (r.bad) return { types, error: 'extensions length past the end' };
  if (r.left() !== 0) return { types, error: 'bytes after the extensions' };
  while (all.left() > 0) {
    const type = all.u16();
    const body = all.sub(all.u16());
    if (all.bad) return { types, error: 'extension length past the end' };
    types.push(type);
    const err = onExt(type, body);
    if (err !== null) return { types, error: `extension ${type}: ${err}` };
  }
  return { types, error: null };
}

/** ClientHello body (after the 4-byte handshake header) [RFC 8446 §4.1.2, RFC 5246 §7.4.1.2]. */
export function parseClientHello(b: Uint8Array): Parsed<ClientHello> {
  const r = new Reader(b, 0, b.length);
  const legacyVersion = r.u16();
  r.bytes(32);
  const sid = r.u8();
  if (sid > 32) return { ok: false, detail: 'session id longer than 32' };
  r.bytes(sid);
  const suites = r.sub(r.u16());
  const compression = r.sub(r.u8());
  if (r.bad) return { ok: false, detail: 'fixed part past the end' };
  const cipherSuites = u16List(suites);
  if (!cipherSuites) return { ok: false, detail: 'odd cipher suites length' };
  if (compression.left() === 0) return { ok: false, detail: 'no compression method' };
  const hello: ClientHello = {
    legacyVersion,
    supportedVersions: null,
    sni: null,
    hasSni: false,
    alpn: null,
    cipherSuites,
    extensions: [],
    supportedGroups: [],
    ecPointFormats: [],
    signatureAlgorithms: [],
  };
  const { types, error } = readExtensions(r, (type, body) => {
    switch (type) {
      case Ext.SERVER_NAME: {
        hello.hasSni = true;
        // An empty server_name is legal in a ServerHello only, but clients sending one exist: no name, not malformed.
        if (body.left() === 0) return null;
        const name = readServerName(body);
        if (name === undefined) return 'bad server_name';
        hello.sni ??= name;
        return null;
      }
      case Ext.ALPN: {
        const alpn = readAlpn(body);
        if (!alpn) return 'bad ALPN list';
        hello.alpn = alpn;
        return null;
      }
      case Ext.SUPPORTED_VERSIONS: {
        const list = u16List(body.sub(body.u8()));
        if (!list || body.bad || body.left() !== 0) return 'bad supported_versions';
        hello.supportedVersions = list;
        return null;
      }
      case Ext.SUPPORTED_GROUPS:
      case Ext.SIGNATURE_ALGORITHMS: {
        const list = u16List(body.sub(body.u16()));
        if (!list || body.bad || body.left() !== 0) return 'bad list';
        if (type === Ext.SUPPORTED_GROUPS) hello.supportedGroups = list;
        else hello.signatureAlgorithms = list;
        return null;
      }
      case Ext.EC_POINT_FORMATS: {
        const list = body.sub(body.u8());
        if (body.bad || body.left() !== 0) return 'bad ec_point_formats';
        hello.ecPointFormats = [];
        while (list.left() > 0) hello.ecPointFormats.push(list.u8());
        return null;
      }
      default:
        return null;
    }
  });
  hello.extensions = types;
  if (error !== null) return { ok: false, detail: error };
  return { ok: true, value: hello };
}

/** ServerHello body [RFC 8446 §4.1.3, RFC 5246 §7.4.1.3]; a HelloRetryRequest is a ServerHello with a fixed random. */
export function parseServerHello(b: Uint8Array): Parsed<ServerHello> {
  const r = new Reader(b, 0, b.length);
  const legacyVersion = r.u16();
  const random = r.bytes(32);
  const sid = r.u8();
  if (sid > 32) return { ok: false, detail: 'session id longer than 32' };
  r.bytes(sid);
  const cipherSuite = r.u16();
  r.u8();
  if (r.bad) return { ok: false, detail: 'fixed part past the end' };
  const hello: ServerHello = {
    legacyVersion,
    selectedVersion: null,
    cipherSuite,
    extensions: [],
    alpn: null,
    helloRetryRequest: sameBytes(random, HRR_RANDOM),
  };
  const { types, error } = readExtensions(r, (type, body) => {
    if (type === Ext.SUPPORTED_VERSIONS) {
      const v = body.u16();
      if (body.bad || body.left() !== 0) return 'bad supported_versions';
      hello.selectedVersion = v;
    } else if (type === Ext.ALPN) {
      const alpn = readAlpn(body);
      if (!alpn || alpn.length !== 1) return 'ALPN must name one protocol';
      hello.alpn = alpn[0] ?? null;
    }
    return null;
  });
  hello.extensions = types;
  if (error !== null) return { ok: false, detail: error };
  return { ok: true, value: hello };
}

/** One entry of a Certificate message: its DER (a view into the message), or only its size when over the cap. */
export interface CertEntry {
  der: Uint8Array;
  size: number;
}

export interface CertificateList {
  /** At most `maxChain` entries, leaf first. */
  certs: CertEntry[];
  /** Certificates in the message. */
  count: number;
}

/** TLS 1.0-1.2 Certificate body: u24 list length, then u24-prefixed DER certificates [RFC 5246 §7.4.2]. */
export function parseCertificateList(b: Uint8Array, maxChain: number): Parsed<CertificateList> {
  const r = new Reader(b, 0, b.length);
  const list = r.sub(r.u24());
  if (r.bad || r.left() !== 0)
    return { ok: false, detail: 'certificate list length does not match the message' };
  const out: CertificateList = { certs: [], count: 0 };
  while (list.left() > 0) {
    const size = list.u24();
    const der = list.bytes(size);
    if (list.bad) return { ok: false, detail: 'certificate length past the end' };
    out.count++;
    if (out.certs.length < maxChain) out.certs.push({ der, size });
  }
  return { ok: true, value: out };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Bytes as a string one character per byte (names on the wire are ASCII; anything else stays visible). */
export function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i] ?? 0);
  return s;
}
