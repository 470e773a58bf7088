// MQTT over WebSocket (MQTT 5.0 §6, MQTT 3.1.1 §6; RFC 6455 §4-5): strips the HTTP upgrade and the WebSocket framing, streaming, with bounded state.

/** Longest HTTP upgrade request or response kept while waiting for its blank line. */
export const MAX_HTTP_HEAD = 8192;
/** Unmasking works in slices of this size, so the scratch buffer never grows beyond it. */
const SLICE = 16 * 1024;

const CR = 0x0d;
const LF = 0x0a;

/** True when `bytes` start like an HTTP GET (a WebSocket upgrade request starts so). */
export function looksLikeHttpGet(bytes: Uint8Array): boolean {
  return bytes[0] === 0x47 && bytes[1] === 0x45 && bytes[2] === 0x54 && bytes[3] === 0x20;
}

const latin1 = new TextDecoder('latin1');

/**
 * Client probe: an upgrade request asking for the "mqtt" subprotocol [MQTT-6.0.0-3] (or "mqttv3.1").
 * Returns null while the request head is incomplete.
 */
export function isMqttUpgrade(bytes: Uint8Array): boolean | null {
  if (!looksLikeHttpGet(bytes)) return false;
  const text = latin1.decode(bytes.subarray(0, Math.min(bytes.length, MAX_HTTP_HEAD))).toLowerCase();
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const upgrade = /\r\nupgrade:\s*websocket/.test(head);
  const proto = /\r\nsec-websocket-protocol:[^\r]*\bmqtt(v3\.1)?\b/.test(head);
  if (upgrade && proto) return true;
  return end < 0 ? null : false;
}

/**
 * One direction of a WebSocket connection: first the HTTP head (request or 101 response), then frames.
 * Data frames (binary, text, continuation) are unmasked and passed on; control frames are skipped.
 */
export class WsUnframer {
  private phase: 'http' | 'header' | 'payload' | 'dead' = 'http';
  private head = new Uint8Array(0);
  private headLen = 0;
  private readonly hdr = new Uint8Array(14);
  private hdrLen = 0;
  private remaining = 0;
  private readonly mask = new Uint8Array(4);
  private masked = false;
  private maskOff = 0;
  private data = false;
  private scratch = new Uint8Array(0);
  /** Frames seen, for tests and stats. */
  frames = 0;
  failure = '';

  constructor(
    private readonly isServer: boolean,
    private readonly out: (bytes: Uint8Array, ts: number) => void,
    private readonly gap: (len: number, ts: number) => void,
  ) {}

  get dead(): boolean {
    return this.phase === 'dead';
  }

  buffered(): number {
    return this.headLen + this.hdrLen;
  }

  push(bytes: Uint8Array, ts: number): void {
    let off = 0;
    while (off < bytes.length && this.phase !== 'dead') {
      if (this.phase === 'http') off = this.readHead(bytes, off);
      else if (this.phase === 'header') off = this.readHeader(bytes, off);
      else off = this.readPayload(bytes, off, ts);
    }
  }

  /** Bytes lost: inside a payload the framing survives; elsewhere it is gone for this direction. */
  onGap(len: number, ts: number): void {
    if (this.phase === 'payload' && len <= this.remaining) {
      this.remaining -= len;
      this.maskOff = (this.maskOff + len) & 3;
      if (this.data) this.gap(len, ts);
      if (this.remaining === 0) this.phase = 'header';
      return;
    }
    this.fail('gap across WebSocket framing');
  }

  private fail(reason: string): void {
    this.phase = 'dead';
    this.failure = reason;
    this.head = new Uint8Array(0);
    this.headLen = 0;
    this.hdrLen = 0;
  }

  private readHead(bytes: Uint8Array, off: number): number {
    // Look for CR LF CR LF across the kept head and the new bytes, one byte at a time (heads are short).
    if (this.head.length === 0) this.head = new Uint8Array(MAX_HTTP_HEAD);
    while (off < bytes.length) {
      if (this.headLen >= MAX_HTTP_HEAD) {
        this.fail('HTTP head longer than the cap');
        return bytes.length;
      }
      this.head[this.headLen++] = bytes[off++] ?? 0;
      const n = this.headLen;
      if (
        n >= 4 &&
        this.head[n - 1] === LF &&
        this.head[n - 2] === CR &&
        this.head[n - 3] === LF &&
        this.head[n - 4] === CR
      ) {
        const ok = this.isServer
          ? /^HTTP\/1\.[01] 101/.test(latin1.decode(this.head.subarray(0, Math.min(n, 16))))
          : looksLikeHttpGet(this.head);
        this.head = new Uint8Array(0);
        this.headLen = 0;
        if (!ok) {
          this.fail(this.isServer ? 'upgrade refused' : 'not an HTTP upgrade');
          return bytes.length;
        }
        this.phase = 'header';
        return off;
      }
    }
    return off;
  }

  /** Frame header [RFC 6455 §5.2]: 2 bytes, extended length 2 or 8, mask key 4 when masked. */
  private readHeader(bytes: Uint8Array, off: number): number {
    while (off < bytes.length) {
      this.hdr[this.hdrLen++] = bytes[off++] ?? 0;
      if (this.hdrLen < 2) continue;
      const b1 = this.hdr[1] ?? 0;
      const len7 = b1 & 0x7f;
      const extra = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
      const need = 2 + extra + (b1 & 0x80 ? 4 : 0);
      if (this.hdrLen < need) continue;
      let len = len7;
      if (extra === 2) len = ((this.hdr[2] ?? 0) << 8) | (this.hdr[3] ?? 0);
      else if (extra === 8) {
        len = 0;
        for (let i = 2; i < 10; i++) len = len * 256 + (this.hdr[i] ?? 0);
      }
      const opcode = (this.hdr[0] ?? 0) & 0x0f;
      this.masked = (b1 & 0x80) !== 0;
      // Clients mask, servers do not [RFC 6455 §5.1]; a mismatch means this is not WebSocket.
      if (this.masked === this.isServer || (this.hdr[0] ?? 0) & 0x70) {
        this.fail('bad WebSocket frame header');
        return bytes.length;
      }
      if (this.masked) this.mask.set(this.hdr.subarray(need - 4, need));
      this.maskOff = 0;
      this.data = opcode <= 2;
      this.remaining = len;
      this.hdrLen = 0;
      this.frames++;
      this.phase = len > 0 ? 'payload' : 'header';
      return off;
    }
    return off;
  }

  private readPayload(bytes: Uint8Array, off: number, ts: number): number {
    const n = Math.min(this.remaining, bytes.length - off, SLICE);
    if (this.data) {
      if (!this.masked) this.out(bytes.subarray(off, off + n), ts);
      else {
        if (this.scratch.length < n) this.scratch = new Uint8Array(Math.min(SLICE, Math.max(n, 256)));
        const s = this.scratch;
        for (let i = 0; i < n; i++) s[i] = (bytes[off + i] ?? 0) ^ (this.mask[(this.maskOff + i) & 3] ?? 0);
        this.out(s.subarray(0, n), ts);
      }
    }
    this.maskOff = (this.maskOff + n) & 3;
    this.remaining -= n;
    if (this.remaining === 0) this.phase = 'header';
    return off + n;
  }
}
