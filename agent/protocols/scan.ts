// Byte search for text protocols (HL7 framing and segments): Node's native memchr-based search on any Uint8Array.
//
// `Uint8Array#indexOf` is a generic engine builtin: about 100 ns to enter and a byte-at-a-time loop after that, which
// made the HL7 analyzer read each block four times over (end byte, start byte, CR, LF). `Buffer#indexOf` ends in
// memchr, whose cost barely depends on the distance, and accepts any Uint8Array as its receiver (no Buffer view).

type NativeIndexOf = (this: Uint8Array, value: number, byteOffset: number) => number;

const NATIVE_INDEX_OF = Buffer.prototype.indexOf as unknown as NativeIndexOf;

/** First index >= from of `byte` in `bytes`, or -1 (a negative `from` counts from 0, not from the end). */
export function indexOfByte(bytes: Uint8Array, byte: number, from: number): number {
  if (from >= bytes.length) return -1;
  return NATIVE_INDEX_OF.call(bytes, byte, from > 0 ? from : 0);
}

/** First index of `byte` in bytes[from, to), or -1. */
export function indexOfByteIn(bytes: Uint8Array, byte: number, from: number, to: number): number {
  if (from >= to) return -1;
  const i = indexOfByte(bytes, byte, from);
  return i < to ? i : -1;
}
