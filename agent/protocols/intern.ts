// Recent short ASCII texts of an analyzer, found again by a hash of their bytes instead of being made anew.
//
// The metadata an analyzer reads repeats on a connection (HL7 applications, facilities, message types, device ids;
// MQTT topics and client ids): comparing a few bytes is cheaper than making a string, and the engine then meets the
// same string object again (pointer-equal, its hash already computed). Only metadata fields are read through it,
// never patient values or payloads, and its memory is fixed.

/** One step of the FNV-1a style hash callers compute while they scan a field's bytes anyway. */
export function hashStep(hash: number, byte: number): number {
  return Math.imul(hash ^ byte, 0x01000193);
}

export class AsciiIntern {
  private readonly bytes: Uint8Array;
  private readonly lens: Int32Array;
  private readonly texts: string[];

  /** `slots` must be a power of two. */
  constructor(
    private readonly slots = 1024,
    readonly maxBytes = 48,
  ) {
    this.bytes = new Uint8Array(slots * maxBytes);
    this.lens = new Int32Array(slots).fill(-1);
    this.texts = new Array<string>(slots).fill('');
  }

  /**
   * The text of the ASCII bytes[a, b) (at most maxBytes, checked by the caller), whose hash the caller computed
   * with hashStep from `b - a`.
   */
  text(bytes: Uint8Array, a: number, b: number, hash: number): string {
    const slot = (hash ^ (hash >>> 16)) & (this.slots - 1);
    const len = b - a;
    const base = slot * this.maxBytes;
    if (this.lens[slot] === len) {
      const kept = this.bytes;
      let k = 0;
      while (k < len && kept[base + k] === bytes[a + k]) k++;
      if (k === len) return this.texts[slot] ?? latin1(bytes, a, b);
    }
    const text = latin1(bytes, a, b);
    // a byte loop: a subarray() view per miss costs more than copying at most maxBytes bytes
    const kept = this.bytes;
    for (let k = 0; k < len; k++) kept[base + k] = bytes[a + k] ?? 0;
    this.lens[slot] = len;
    this.texts[slot] = text;
    return text;
  }
}

type Latin1Slice = (this: Uint8Array, start: number, end: number) => string;

/**
 * Node's native latin1 slicer (what `Buffer#toString('latin1')` ends in), which reads any Uint8Array: no Buffer view
 * per call for the plain Uint8Arrays of reassembly and session buffers, no encoding lookup. Absent, the public way.
 */
const LATIN1_SLICE = (Buffer.prototype as unknown as { latin1Slice?: Latin1Slice }).latin1Slice;

/**
 * bytes[a, b) as a string, each byte its own character (ASCII text as is), without copying the bytes first. The
 * range is clamped to the view (a negative start to 0): the native slicer throws where `toString` clamps.
 */
export function latin1(bytes: Uint8Array, a: number, b: number): string {
  const start = a > 0 ? a : 0;
  const end = Math.min(b, bytes.length);
  if (start >= end) return '';
  if (LATIN1_SLICE !== undefined) return LATIN1_SLICE.call(bytes, start, end);
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buf.toString('latin1', start, end);
}
