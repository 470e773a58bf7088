// Capture file builders for tests: classic pcap (both byte orders, µs/ns) and pcapng blocks (SHB, IDB, EPB, SPB, OPB, custom).
import { concat } from '../decode/builders.js';

export interface PcapRecord {
  /** Seconds and fraction (µs or ns, per the file's magic). */
  sec: number;
  frac: number;
  data: Uint8Array;
  origLen?: number;
  /** Override the captured length field. */
  capLen?: number;
}

export interface PcapOptions {
  littleEndian?: boolean;
  nanos?: boolean;
  linkType?: number;
  snaplen?: number;
  magic?: number;
}

function w32(v: number, le: boolean): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, le);
  return b;
}

function w16(v: number, le: boolean): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, v, le);
  return b;
}

export function pcapHeader(o: PcapOptions = {}): Uint8Array {
  const le = o.littleEndian ?? true;
  return concat(
    w32(o.magic ?? (o.nanos ? 0xa1b23c4d : 0xa1b2c3d4), le),
    w16(2, le),
    w16(4, le),
    w32(0, le),
    w32(0, le),
    w32(o.snaplen ?? 262144, le),
    w32(o.linkType ?? 1, le),
  );
}

export function pcapRecord(r: PcapRecord, littleEndian = true): Uint8Array {
  const le = littleEndian;
  return concat(
    w32(r.sec, le),
    w32(r.frac, le),
    w32(r.capLen ?? r.data.length, le),
    w32(r.origLen ?? r.data.length, le),
    r.data,
  );
}

export function pcap(records: PcapRecord[], o: PcapOptions = {}): Uint8Array {
  return concat(pcapHeader(o), ...records.map((r) => pcapRecord(r, o.littleEndian ?? true)));
}

function pad4(b: Uint8Array): Uint8Array {
  const n = (4 - (b.length % 4)) % 4;
  return n === 0 ? b : concat(b, new Uint8Array(n));
}

/** A pcapng block: type, total length, body (padded), total length. */
export function block(type: number, body: Uint8Array, le: boolean): Uint8Array {
  const b = pad4(body);
  const len = 12 + b.length;
  return concat(w32(type, le), w32(len, le), b, w32(len, le));
}

export function option(code: number, value: Uint8Array, le: boolean): Uint8Array {
  return concat(w16(code, le), w16(value.length, le), pad4(value));
}

export function shb(le = true): Uint8Array {
  return block(
    0x0a0d0d0a,
    concat(w32(0x1a2b3c4d, le), w16(1, le), w16(0, le), w32(0xffffffff, le), w32(0xffffffff, le)),
    le,
  );
}

export interface IdbOptions {
  linkType?: number;
  snaplen?: number;
  /** Raw if_tsresol byte (e.g. 9 for ns, 0x80|20 for 2^-20 s). */
  tsresol?: number;
  /** if_tsoffset seconds. */
  tsoffset?: number;
}

export function idb(o: IdbOptions = {}, le = true): Uint8Array {
  const opts: Uint8Array[] = [];
  if (o.tsresol !== undefined) opts.push(option(9, Uint8Array.of(o.tsresol), le));
  if (o.tsoffset !== undefined) {
    const v = new Uint8Array(8);
    new DataView(v.buffer).setBigInt64(0, BigInt(o.tsoffset), le);
    opts.push(option(14, v, le));
  }
  if (opts.length > 0) opts.push(option(0, new Uint8Array(0), le));
  return block(1, concat(w16(o.linkType ?? 1, le), w16(0, le), w32(o.snaplen ?? 262144, le), ...opts), le);
}

/** Enhanced packet block; `ts` is the raw 64-bit timestamp in the interface's units. */
export function epb(ifId: number, ts: bigint, data: Uint8Array, le = true, origLen?: number): Uint8Array {
  return block(
    6,
    concat(
      w32(ifId, le),
      w32(Number(ts >> 32n), le),
      w32(Number(ts & 0xffffffffn), le),
      w32(data.length, le),
      w32(origLen ?? data.length, le),
      data,
    ),
    le,
  );
}

export function opb(ifId: number, ts: bigint, data: Uint8Array, le = true): Uint8Array {
  return block(
    2,
    concat(
      w16(ifId, le),
      w16(0, le),
      w32(Number(ts >> 32n), le),
      w32(Number(ts & 0xffffffffn), le),
      w32(data.length, le),
      w32(data.length, le),
      data,
    ),
    le,
  );
}

export function spb(data: Uint8Array, le = true, origLen?: number): Uint8Array {
  return block(3, concat(w32(origLen ?? data.length, le), data), le);
}

/** A block of a type the reader does not interpret (e.g. name resolution 4, statistics 5). */
export function otherBlock(type: number, bodyLen: number, le = true): Uint8Array {
  return block(type, new Uint8Array(bodyLen).fill(0xab), le);
}

/** Split a buffer into pieces of the given sizes (the last piece takes the rest). */
export function splitAt(buf: Uint8Array, cuts: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    if (c <= prev || c >= buf.length) continue;
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  out.push(buf.subarray(prev));
  return out;
}
