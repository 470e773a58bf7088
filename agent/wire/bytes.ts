// Reading fixed-width integers out of packet bytes: the one byte reader of decode, capture, reassembly and the
// protocol parsers (issue 12). Network order unless the name says `le`. A byte past the end reads as 0, so a read
// never throws and never yields NaN; callers check their lengths first, as every parser here does.

/** Big-endian unsigned 16 bits at `o`. */
export function u16(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
}

/** Big-endian unsigned 32 bits at `o`. */
export function u32(b: Uint8Array, o: number): number {
  return (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;
}

/** Little-endian unsigned 16 bits at `o`. */
export function u16le(b: Uint8Array, o: number): number {
  return (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8);
}

/** Little-endian unsigned 32 bits at `o`. */
export function u32le(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) | ((b[o + 2] ?? 0) << 16) | ((b[o + 3] ?? 0) << 24)) >>> 0;
}

/** Big-endian unsigned 48 bits at `o` (a MAC address as a number; exact, below 2^53). */
export function u48(b: Uint8Array, o: number): number {
  return (
    ((b[o] ?? 0) * 0x10000 + (((b[o + 1] ?? 0) << 8) | (b[o + 2] ?? 0))) * 0x1000000 +
    (((b[o + 3] ?? 0) << 16) | ((b[o + 4] ?? 0) << 8) | (b[o + 5] ?? 0))
  );
}
