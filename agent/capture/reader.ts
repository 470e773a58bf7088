// Chunk-fed capture file parser: libpcap format (draft-ietf-opsawg-pcap) and pcapng (draft-ietf-opsawg-pcapng §4) → RawFrame.
import { CaptureFormatError, FrameSlot, type RawFrame } from './types.js';
import { u16, u16le, u32, u32le } from '../wire/bytes.js';

/** Hard limits: hostile or corrupt files become a CaptureFormatError, never a big allocation. */
export interface CaptureLimits {
  /** Largest captured length of one packet; a record claiming more is "absurd" (libpcap uses 256 KiB too). */
  maxPacketBytes: number;
  /** Largest pcapng section header or interface description block we parse. */
  maxMetaBlockBytes: number;
  /** Largest pcapng block of another type; these are skipped unread, never buffered (Wireshark's cap is 16 MiB). */
  maxSkipBlockBytes: number;
  /** Most interfaces per pcapng section. */
  maxInterfaces: number;
}

export const DEFAULT_CAPTURE_LIMITS: CaptureLimits = {
  maxPacketBytes: 256 * 1024,
  maxMetaBlockBytes: 1024 * 1024,
  maxSkipBlockBytes: 16 * 1024 * 1024,
  maxInterfaces: 4096,
};

/**
 * Called once per frame with the parser's one reused RawFrame; `data` is a view valid until the callback returns.
 * Returning `false` pauses the parser *before* this frame: it is delivered again by `resume()`.
 */
export type FrameCallback = (frame: RawFrame) => void | boolean;

export type CaptureFormat = 'pcap' | 'pcapng';

const PCAP_US = 0xa1b2c3d4;
const PCAP_NS = 0xa1b23c4d;
const PCAP_KUZNETZOV = 0xa1b2cd34; // patched libpcap: 8 more bytes per record header
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
const BLOCK_IDB = 1;
const BLOCK_OPB = 2; // obsolete packet block, still written by old tools
const BLOCK_SPB = 3;
const BLOCK_EPB = 6;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;
/** Room for headers and options around the packet data of a pcapng packet block. */
const PACKET_BLOCK_SLACK = 64 * 1024;
const TWO32 = 4294967296;

const NEED = 0;
const ERROR = -1;
const PAUSE = -2;

const enum Mode {
  Detect,
  Pcap,
  Pcapng,
}

/** A capture file's own byte order (pcap and pcapng headers say which). */
function read32(b: Uint8Array, o: number, le: boolean): number {
  return le ? u32le(b, o) : u32(b, o);
}

function read16(b: Uint8Array, o: number, le: boolean): number {
  return le ? u16le(b, o) : u16(b, o);
}

/** floor((hi·2^32 + lo) / d) exactly, for d ≤ 2^20 (the remainder term stays under 2^53). */
function divide64(hi: number, lo: number, d: number): number {
  const qHi = Math.floor(hi / d);
  const rest = (hi - qHi * d) * TWO32 + lo;
  return qHi * TWO32 + Math.floor(rest / d);
}

/** One pcapng interface's clock: how its 64-bit timestamp becomes microseconds (if_tsresol, if_tsoffset). */
interface Clock {
  /** 0: decimal resolution 10^-exp s; 1: binary resolution 2^-exp s. */
  binary: boolean;
  exp: number;
  offsetUs: number;
}

function toMicros(hi: number, lo: number, c: Clock): number {
  let us: number;
  if (c.binary) {
    // Doubles: exact for the resolutions writers use (2^-20 .. 2^-32); sub-µs rounding otherwise.
    const scale = 1e6 / 2 ** c.exp;
    us = Math.floor(hi * TWO32 * scale + lo * scale);
  } else if (c.exp === 6) {
    us = hi * TWO32 + lo;
  } else if (c.exp < 6) {
    us = (hi * TWO32 + lo) * 10 ** (6 - c.exp);
  } else if (c.exp <= 12) {
    us = divide64(hi, lo, 10 ** (c.exp - 6));
  } else {
    // floor(floor(x/a)/b) = floor(x/(ab)): first step exact, the quotient then fits in a double.
    us = Math.floor(divide64(hi, lo, 1e6) / 10 ** (c.exp - 12));
  }
  return us + c.offsetUs;
}

/**
 * Streaming reader for pcap and pcapng, fed with chunks of any size (pg-protocol style, no events).
 *
 * `push(chunk, onFrame)` parses every whole record in the chunk and calls `onFrame` for each packet, with
 * `frame.data` a zero-copy view into the chunk (made only when read: `frame.buffer`, `offset` and `capLen` name the
 * same bytes without a view); only a record that straddles two chunks is copied (into one
 * reused remainder buffer, at most one record long). The caller may reuse the chunk's memory once `push`
 * (or `resume`) has returned with `paused` false.
 *
 * Errors are returned, never thrown: `push` and `end` return a CaptureFormatError (`packet N at byte B: reason`)
 * after every valid frame before the fault was delivered; later calls return the same error. `end()` must be
 * called at end of input to detect a truncated file.
 */
export class CaptureParser {
  /** Frames delivered so far. */
  frames = 0;
  /** Detected file format, null until the first 4 bytes are seen. */
  format: CaptureFormat | null = null;

  private readonly limits: CaptureLimits;
  private readonly frame = new FrameSlot();
  private mode = Mode.Detect;
  private le = true;
  private error: CaptureFormatError | null = null;
  private onFrame: FrameCallback = () => undefined;

  // Current chunk and position (bytes before pos are consumed or copied into the remainder).
  private chunk: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private isPaused = false;
  /** File offset of the next byte not yet consumed (start of the record being assembled). */
  private consumed = 0;
  /** Bytes the record at `consumed` needs in total, once parseAt returned NEED. */
  private need = 0;
  private rem: Uint8Array = new Uint8Array(0);
  private remView: DataView<ArrayBufferLike> = new DataView(this.rem.buffer);
  private chunkView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  /** View of the buffer parseAt is reading (chunk or remainder): DataView reads are cheaper than byte assembly. */
  private dv = this.chunkView;
  private remLen = 0;
  /** Bytes of an uninteresting pcapng block still to skip without buffering. */
  private skip = 0;
  private skipStart = 0;

  // pcap state
  private nanos = false;
  private recHeader = 16;
  private linkType = 0;

  // pcapng state: per interface of the current section
  private ifCount = 0;
  private readonly ifLink: number[] = [];
  private readonly ifSnap: number[] = [];
  private readonly ifClock: Clock[] = [];
  private lastTs = 0;

  constructor(limits: Partial<CaptureLimits> = {}) {
    this.limits = { ...DEFAULT_CAPTURE_LIMITS, ...limits };
  }

  /** True when the last callback returned false; call `resume` before pushing more. */
  get paused(): boolean {
    return this.isPaused;
  }

  /** File offset up to which input has been fully parsed. */
  get offset(): number {
    return this.consumed;
  }

  push(chunk: Uint8Array, onFrame: FrameCallback): CaptureFormatError | null {
    if (this.error) return this.error;
    if (this.isPaused) throw new Error('CaptureParser.push while paused: call resume() first');
    // Views of a Buffer are Buffers, built through its species constructor: several times slower per frame.
    this.chunk =
      chunk.constructor === Uint8Array
        ? chunk
        : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.chunkView = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.pos = 0;
    this.onFrame = onFrame;
    return this.run();
  }

  /** Continue the chunk given to the last `push`, starting with the frame that paused it. */
  resume(onFrame: FrameCallback): CaptureFormatError | null {
    if (this.error) return this.error;
    this.isPaused = false;
    this.onFrame = onFrame;
    return this.run();
  }

  /** End of input: returns an error when the file stopped inside a header or record. */
  end(): CaptureFormatError | null {
    if (this.error) return this.error;
    if (this.mode === Mode.Detect) {
      const have = this.remLen;
      return this.fail(have === 0 ? 'empty file' : `truncated file header (${have} bytes)`);
    }
    if (this.skip > 0) return this.fail(`truncated block: ${this.skip} bytes missing`, this.skipStart);
    if (this.remLen > 0) {
      const need = Math.max(this.need, this.remLen + 1);
      return this.fail(`truncated record: needs ${need} bytes, file ends after ${this.remLen}`);
    }
    return null;
  }

  private fail(reason: string, at = this.consumed): CaptureFormatError {
    this.error = new CaptureFormatError(this.frames + 1, at, reason);
    return this.error;
  }

  private run(): CaptureFormatError | null {
    const chunk = this.chunk;
    const len = chunk.length;
    // 1. A record that started in an earlier chunk: copy only the bytes it still needs.
    while (this.remLen > 0 && this.skip === 0) {
      const want = this.need - this.remLen;
      const take = Math.min(want, len - this.pos);
      if (take > 0) {
        this.growRemainder(this.need);
        this.rem.set(chunk.subarray(this.pos, this.pos + take), this.remLen);
        this.remLen += take;
        this.pos += take;
      }
      if (this.remLen < this.need) return null;
      this.dv = this.remView;
      const r = this.parseAt(this.rem, 0, this.remLen);
      if (r === NEED) continue;
      if (r === PAUSE) {
        this.isPaused = true;
        return null;
      }
      if (r === ERROR) return this.error;
      this.consumed += r;
      if (r < this.remLen) {
        // Only a skipped block can end early inside the remainder; keep what follows it.
        this.rem.copyWithin(0, r, this.remLen);
      }
      this.remLen -= r;
    }
    // 2. Whole records inside the chunk: zero-copy.
    this.dv = this.chunkView;
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, len - this.pos);
        this.skip -= n;
        this.pos += n;
        this.consumed += n;
        if (this.skip > 0) return null;
      }
      if (this.pos >= len) return null;
      const r = this.parseAt(chunk, this.pos, len);
      if (r > 0) {
        this.pos += r;
        this.consumed += r;
        continue;
      }
      if (r === NEED) {
        const left = len - this.pos;
        this.growRemainder(Math.max(left, this.need));
        this.rem.set(chunk.subarray(this.pos, len), 0);
        this.remLen = left;
        this.pos = len;
        return null;
      }
      if (r === PAUSE) {
        this.isPaused = true;
        return null;
      }
      return this.error;
    }
  }

  private growRemainder(size: number): void {
    if (this.rem.length >= size) return;
    const next = new Uint8Array(Math.max(size, Math.min(this.rem.length * 2, size * 2), 4096));
    next.set(this.rem.subarray(0, this.remLen), 0);
    this.rem = next;
    this.remView = new DataView(next.buffer);
  }

  /** Parse one unit at buf[off..end): bytes consumed (> 0), NEED (this.need set), PAUSE or ERROR. */
  private parseAt(buf: Uint8Array, off: number, end: number): number {
    if (this.mode === Mode.Pcap) return this.parsePcapRecord(buf, off, end);
    if (this.mode === Mode.Pcapng) return this.parseBlock(buf, off, end);
    return this.detect(buf, off, end);
  }

  private needBytes(n: number): number {
    this.need = n;
    return NEED;
  }

  private detect(buf: Uint8Array, off: number, end: number): number {
    if (end - off < 4) return this.needBytes(4);
    const be = read32(buf, off, false);
    const le = read32(buf, off, true);
    if (be === PCAPNG_SHB) {
      this.mode = Mode.Pcapng;
      this.format = 'pcapng';
      return this.parseBlock(buf, off, end);
    }
    let magic: number;
    if (be === PCAP_US || be === PCAP_NS || be === PCAP_KUZNETZOV) {
      this.le = false;
      magic = be;
    } else if (le === PCAP_US || le === PCAP_NS || le === PCAP_KUZNETZOV) {
      this.le = true;
      magic = le;
    } else {
      this.fail(`unknown file format (magic 0x${be.toString(16).padStart(8, '0')})`);
      return ERROR;
    }
    if (end - off < 24) return this.needBytes(24);
    const major = read16(buf, off + 4, this.le);
    const minor = read16(buf, off + 6, this.le);
    if (major !== 2) {
      this.fail(`unsupported pcap version ${major}.${minor}`);
      return ERROR;
    }
    this.nanos = magic === PCAP_NS;
    this.recHeader = magic === PCAP_KUZNETZOV ? 24 : 16;
    this.linkType = read32(buf, off + 20, this.le) & 0x03ffffff; // upper bits carry FCS information
    this.mode = Mode.Pcap;
    this.format = 'pcap';
    return 24;
  }

  private parsePcapRecord(buf: Uint8Array, off: number, end: number): number {
    const hdr = this.recHeader;
    if (end - off < hdr) return this.needBytes(hdr);
    const le = this.le;
    const dv = this.dv;
    const capLen = dv.getUint32(off + 8, le);
    if (capLen > this.limits.maxPacketBytes) {
      this.fail(`absurd record length ${capLen} (limit ${this.limits.maxPacketBytes})`);
      return ERROR;
    }
    const total = hdr + capLen;
    if (end - off < total) return this.needBytes(total);
    const sec = dv.getUint32(off, le);
    const frac = dv.getUint32(off + 4, le);
    const f = this.frame;
    f.index = this.frames + 1;
    f.ts = sec * 1e6 + (this.nanos ? Math.floor(frac / 1000) : frac);
    f.linkType = this.linkType;
    f.origLen = dv.getUint32(off + 12, le);
    f.point(buf, off + hdr, capLen);
    f.ifIndex = 0;
    if (this.onFrame(f) === false) return PAUSE;
    this.frames++;
    return total;
  }

  private parseBlock(buf: Uint8Array, off: number, end: number): number {
    if (end - off < 12) return this.needBytes(12);
    const type = read32(buf, off, this.le);
    if (type === PCAPNG_SHB) {
      // The byte-order magic decides how this whole section, including this block's length, is read.
      const bom = read32(buf, off + 8, true);
      if (bom === PCAPNG_BOM) this.le = true;
      else if (read32(buf, off + 8, false) === PCAPNG_BOM) this.le = false;
      else {
        this.fail('bad pcapng byte-order magic');
        return ERROR;
      }
    }
    const le = this.le;
    const blockLen = read32(buf, off + 4, le);
    if (blockLen < 12 || blockLen % 4 !== 0) {
      this.fail(`bad block length ${blockLen}`);
      return ERROR;
    }
    const isPacket = type === BLOCK_EPB || type === BLOCK_SPB || type === BLOCK_OPB;
    const isMeta = type === PCAPNG_SHB || type === BLOCK_IDB;
    const cap = isPacket
      ? this.limits.maxPacketBytes + PACKET_BLOCK_SLACK
      : isMeta
        ? this.limits.maxMetaBlockBytes
        : this.limits.maxSkipBlockBytes;
    if (blockLen > cap) {
      this.fail(`absurd block length ${blockLen} (limit ${cap})`);
      return ERROR;
    }
    if (!isPacket && !isMeta && end - off < blockLen) {
      // Unknown or uninteresting block (NRB, ISB, DSB, custom): stream past it.
      this.skip = blockLen - (end - off);
      this.skipStart = this.consumed;
      return end - off;
    }
    if (end - off < blockLen) return this.needBytes(blockLen);
    if (read32(buf, off + blockLen - 4, le) !== blockLen) {
      this.fail(`block length mismatch (${blockLen} vs trailer ${read32(buf, off + blockLen - 4, le)})`);
      return ERROR;
    }
    switch (type) {
      case PCAPNG_SHB:
        return this.parseSectionHeader(buf, off, blockLen);
      case BLOCK_IDB:
        return this.parseInterface(buf, off, blockLen);
      case BLOCK_EPB:
      case BLOCK_OPB:
        return this.parsePacketBlock(buf, off, blockLen, type);
      case BLOCK_SPB:
        return this.parseSimplePacket(buf, off, blockLen);
      default:
        return blockLen;
    }
  }

  private parseSectionHeader(buf: Uint8Array, off: number, blockLen: number): number {
    if (blockLen < 28) {
      this.fail(`bad section header length ${blockLen}`);
      return ERROR;
    }
    const major = read16(buf, off + 12, this.le);
    if (major !== 1) {
      this.fail(`unsupported pcapng version ${major}.${read16(buf, off + 14, this.le)}`);
      return ERROR;
    }
    this.ifCount = 0; // interface ids are per section
    return blockLen;
  }

  private parseInterface(buf: Uint8Array, off: number, blockLen: number): number {
    if (blockLen < 20) {
      this.fail(`bad interface description length ${blockLen}`);
      return ERROR;
    }
    if (this.ifCount >= this.limits.maxInterfaces) {
      this.fail(`too many interfaces (limit ${this.limits.maxInterfaces})`);
      return ERROR;
    }
    const le = this.le;
    const i = this.ifCount++;
    this.ifLink[i] = read16(buf, off + 8, le);
    this.ifSnap[i] = read32(buf, off + 12, le);
    const clock: Clock = { binary: false, exp: 6, offsetUs: 0 };
    const optEnd = off + blockLen - 4;
    let p = off + 16;
    while (p + 4 <= optEnd) {
      const code = read16(buf, p, le);
      const len = read16(buf, p + 2, le);
      if (code === 0 || p + 4 + len > optEnd) break; // opt_endofopt, or a malformed option list
      if (code === OPT_IF_TSRESOL && len >= 1) {
        const v = buf[p + 4] ?? 6;
        clock.binary = (v & 0x80) !== 0;
        clock.exp = v & 0x7f;
      } else if (code === OPT_IF_TSOFFSET && len >= 8) {
        // int64 seconds; the high word as signed keeps negative offsets
        const hi = le ? read32(buf, p + 8, true) | 0 : read32(buf, p + 4, false) | 0;
        const lo = le ? read32(buf, p + 4, true) : read32(buf, p + 8, false);
        clock.offsetUs = (hi * TWO32 + lo) * 1e6;
      }
      p += 4 + ((len + 3) & ~3);
    }
    this.ifClock[i] = clock;
    return blockLen;
  }

  private parsePacketBlock(buf: Uint8Array, off: number, blockLen: number, type: number): number {
    if (blockLen < 32) {
      this.fail(`bad packet block length ${blockLen}`);
      return ERROR;
    }
    const le = this.le;
    const ifId = type === BLOCK_EPB ? read32(buf, off + 8, le) : read16(buf, off + 8, le);
    const capLen = read32(buf, off + 20, le);
    if (capLen > this.limits.maxPacketBytes) {
      this.fail(`absurd record length ${capLen} (limit ${this.limits.maxPacketBytes})`);
      return ERROR;
    }
    if (capLen > blockLen - 32) {
      this.fail(`captured length ${capLen} exceeds block length ${blockLen}`);
      return ERROR;
    }
    const clock = this.ifClock[ifId];
    if (ifId >= this.ifCount || clock === undefined) {
      this.fail(`packet on undeclared interface ${ifId}`);
      return ERROR;
    }
    const f = this.frame;
    f.index = this.frames + 1;
    f.ts = toMicros(read32(buf, off + 12, le), read32(buf, off + 16, le), clock);
    f.linkType = this.ifLink[ifId] ?? 0;
    f.origLen = read32(buf, off + 24, le);
    f.point(buf, off + 28, capLen);
    f.ifIndex = ifId;
    if (this.onFrame(f) === false) return PAUSE;
    this.lastTs = f.ts;
    this.frames++;
    return blockLen;
  }

  private parseSimplePacket(buf: Uint8Array, off: number, blockLen: number): number {
    if (this.ifCount === 0) {
      this.fail('simple packet block before any interface description');
      return ERROR;
    }
    const origLen = read32(buf, off + 8, this.le);
    const snap = this.ifSnap[0] ?? 0;
    let capLen = Math.min(origLen, blockLen - 16);
    if (snap > 0) capLen = Math.min(capLen, snap);
    if (capLen > this.limits.maxPacketBytes) {
      this.fail(`absurd record length ${capLen} (limit ${this.limits.maxPacketBytes})`);
      return ERROR;
    }
    const f = this.frame;
    f.index = this.frames + 1;
    // A simple packet block has no time: keep packet time monotonic with the previous packet's.
    f.ts = this.lastTs;
    f.linkType = this.ifLink[0] ?? 0;
    f.origLen = origLen;
    f.point(buf, off + 12, capLen);
    f.ifIndex = 0;
    if (this.onFrame(f) === false) return PAUSE;
    this.frames++;
    return blockLen;
  }
}

/** Format an error the way the CLI reports it: `FILE: packet N at byte B: reason`. */
export function describeCaptureError(file: string, err: CaptureFormatError): string {
  return `${file}: ${err.message}`;
}
