// Decoded texts of a stretch of a header segment, found again by its bytes: MSH-3..6 and MSH-11..16 repeat on every
// message of a connection, and comparing their bytes once costs less than locating and decoding each field again.
//
// A cache of a pure function: the texts depend only on the bytes, the separators and the character cap, which are the
// key; a hit gives what decoding would give (and whether it cut a text). Fixed memory; only metadata fields go in.

/** The separators a header declares (parse.ts `Encoding`, repeated here so that parse.ts alone imports the other). */
export interface Separators {
  readonly field: number;
  readonly component: number;
  readonly repetition: number;
  readonly escape: number;
  readonly subcomponent: number;
}

/** What a stretch decoded to, and whether a text was cut (the parser notes `field_truncated` again on a hit). */
export interface StretchTexts {
  readonly texts: readonly string[];
  readonly cut: boolean;
}

export class StretchMemo {
  private readonly bytes: Uint8Array;
  private readonly lens: Int32Array;
  /** The decoding context of each slot: field, component, repetition and escape separators; subcomponent; cap. */
  private readonly seps: Int32Array;
  private readonly subs: Int32Array;
  private readonly caps: Float64Array;
  private readonly values: (StretchTexts | null)[];

  /** `slots` must be a power of two. */
  constructor(
    private readonly slots = 256,
    readonly maxBytes = 96,
  ) {
    this.bytes = new Uint8Array(slots * maxBytes);
    this.lens = new Int32Array(slots).fill(-1);
    this.seps = new Int32Array(slots);
    this.subs = new Int32Array(slots);
    this.caps = new Float64Array(slots);
    this.values = new Array<StretchTexts | null>(slots).fill(null);
  }

  /** The texts kept for bytes[a, b) under `enc` and `maxChars`, or null. */
  get(bytes: Uint8Array, a: number, b: number, enc: Separators, maxChars: number): StretchTexts | null {
    const len = b - a;
    if (len < 0 || len > this.maxBytes) return null;
    const slot = this.slotOf(bytes, a, b);
    if (
      this.lens[slot] !== len ||
      this.seps[slot] !== sepKey(enc) ||
      this.subs[slot] !== enc.subcomponent ||
      this.caps[slot] !== maxChars
    )
      return null;
    const kept = this.bytes;
    const base = slot * this.maxBytes;
    for (let k = 0; k < len; k++) if (kept[base + k] !== bytes[a + k]) return null;
    return this.values[slot] ?? null;
  }

  set(bytes: Uint8Array, a: number, b: number, enc: Separators, maxChars: number, value: StretchTexts): void {
    const len = b - a;
    if (len < 0 || len > this.maxBytes) return;
    const slot = this.slotOf(bytes, a, b);
    const kept = this.bytes;
    const base = slot * this.maxBytes;
    for (let k = 0; k < len; k++) kept[base + k] = bytes[a + k] ?? 0;
    this.lens[slot] = len;
    this.seps[slot] = sepKey(enc);
    this.subs[slot] = enc.subcomponent;
    this.caps[slot] = maxChars;
    this.values[slot] = value;
  }

  private slotOf(bytes: Uint8Array, a: number, b: number): number {
    let h = b - a;
    for (let i = a; i < b; i++) h = Math.imul(h ^ (bytes[i] ?? 0), 0x01000193);
    return (h ^ (h >>> 16)) & (this.slots - 1);
  }
}

/** Four separators as one exact number (each a byte, checked by readEncoding). */
function sepKey(enc: Separators): number {
  return enc.field | (enc.component << 8) | (enc.repetition << 16) | (enc.escape << 24);
}

/**
 * Lists of segment ids, one frozen array shared by every message with the same list: a connection sends a handful of
 * message shapes (ORU with n OBX, ADT, ACK), and a list per message was a growing array of up to 256 entries made
 * for each. The key is the list itself (compared in full on a hit), found by a hash the parser folds as it reads.
 * Frozen like the parser's empty lists: a consumer that pushed into one would throw rather than alter other events.
 * Fixed memory: `slots` lists of at most the parser's segment cap.
 */
export class SharedLists {
  private readonly kept: (readonly string[] | null)[];

  /** `slots` must be a power of two. */
  constructor(private readonly slots = 256) {
    this.kept = new Array<readonly string[] | null>(slots).fill(null);
  }

  /** The shared list equal to items[0, n), made (and kept) on a miss. `hash` is the caller's hash of the items. */
  list(items: readonly string[], n: number, hash: number): readonly string[] {
    const slot = (hash ^ (hash >>> 16)) & (this.slots - 1);
    const kept = this.kept[slot] ?? null;
    if (kept !== null && kept.length === n) {
      let k = 0;
      while (k < n && kept[k] === items[k]) k++;
      if (k === n) return kept;
    }
    const made = Object.freeze(items.slice(0, n));
    this.kept[slot] = made;
    return made;
  }
}
