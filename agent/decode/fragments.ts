// IP fragment reassembly (RFC 791 §3.2, RFC 8200 §4.5) under byte, count and time caps; overlaps keep the first copy (RFC 5722 spirit).

export interface FragmentLimits {
  /** Bytes of reassembly buffers held at once, all datagrams together. */
  maxBytes: number;
  /** Largest reassembled payload (IPv4 and IPv6 without jumbograms: 65535). */
  maxDatagramBytes: number;
  /** Fragments accepted for one datagram. */
  maxFragments: number;
  /** Datagrams under reassembly at once. */
  maxDatagrams: number;
  /** Packet-time lifetime of an incomplete datagram, from its first fragment (Linux: 30 s). */
  timeoutUs: number;
}

export const DEFAULT_FRAGMENT_LIMITS: FragmentLimits = {
  maxBytes: 4 * 1024 * 1024,
  maxDatagramBytes: 65535,
  maxFragments: 128,
  maxDatagrams: 1024,
  timeoutUs: 30_000_000,
};

export interface FragmentStats {
  /** Datagrams currently under reassembly. */
  buffers: number;
  /** Bytes currently held by their buffers. */
  bytes: number;
  fragments: number;
  reassembled: number;
  /** Incomplete datagrams dropped: timed out, or pushed out by the byte/count caps. */
  evicted: number;
  timedOut: number;
  /** Datagrams dropped for exceeding the size or fragment-count cap. */
  overflows: number;
  /** Fragments that overlapped bytes already held (the first copy was kept). */
  overlaps: number;
  /** Overlaps whose bytes differed from the first copy (evasion attempts, RFC 5722). */
  inconsistentOverlaps: number;
}

interface Datagram {
  buf: Uint8Array;
  /** Covered byte ranges, sorted and merged: [start0, end0, start1, end1, ...]. */
  ranges: number[];
  /** Payload length, known once the last fragment (MF clear) arrived; -1 before. */
  total: number;
  count: number;
  firstTs: number;
}

const EMPTY = new Uint8Array(0);

function makeKey(version: number, proto: number, id: number, src: Uint8Array, dst: Uint8Array): string {
  let k = `${version}:${proto}:${id}:`;
  for (let i = 0; i < src.length; i++) k += String.fromCharCode(src[i]!);
  for (let i = 0; i < dst.length; i++) k += String.fromCharCode(dst[i]!);
  return k;
}

/** Reassembles fragmented datagrams; the only place in decode that allocates (buffers per datagram). */
export class FragmentTable {
  readonly limits: FragmentLimits;
  readonly stats: FragmentStats = {
    buffers: 0,
    bytes: 0,
    fragments: 0,
    reassembled: 0,
    evicted: 0,
    timedOut: 0,
    overflows: 0,
    overlaps: 0,
    inconsistentOverlaps: 0,
  };
  /** Map order is creation order, so the first entry is always the oldest datagram. */
  private readonly table = new Map<string, Datagram>();

  constructor(limits: Partial<FragmentLimits> = {}) {
    this.limits = { ...DEFAULT_FRAGMENT_LIMITS, ...limits };
  }

  /**
   * Add one fragment's payload (`data`, starting `offset` bytes into the datagram's payload).
   * Returns the reassembled payload when this fragment completes its datagram (a fresh buffer, caller-owned),
   * null while it stays incomplete, or 'fragment_overflow' when the datagram broke a cap and was dropped.
   */
  add(
    version: 4 | 6,
    src: Uint8Array,
    dst: Uint8Array,
    id: number,
    proto: number,
    offset: number,
    more: boolean,
    data: Uint8Array,
    ts: number,
  ): Uint8Array | null | 'fragment_overflow' {
    const lim = this.limits;
    this.stats.fragments++;
    this.expire(ts);
    const key = makeKey(version, proto, id, src, dst);
    let dg = this.table.get(key);
    const end = offset + data.length;
    if (end > lim.maxDatagramBytes) {
      if (dg) this.drop(key, dg);
      this.stats.overflows++;
      return 'fragment_overflow';
    }
    if (!dg) {
      while (this.table.size >= lim.maxDatagrams) this.evictOldest();
      dg = { buf: EMPTY, ranges: [], total: -1, count: 0, firstTs: ts };
      this.table.set(key, dg);
      this.stats.buffers++;
    }
    if (++dg.count > lim.maxFragments) {
      this.drop(key, dg);
      this.stats.overflows++;
      return 'fragment_overflow';
    }
    if (!more && dg.total < 0) dg.total = end;
    if (end > dg.buf.length && !this.grow(key, dg, end)) {
      this.stats.overflows++;
      return 'fragment_overflow';
    }
    this.insert(dg, offset, data);
    const r = dg.ranges;
    if (dg.total >= 0 && r.length === 2 && r[0] === 0 && r[1]! >= dg.total) {
      this.table.delete(key);
      this.stats.buffers--;
      this.stats.bytes -= dg.buf.length;
      this.stats.reassembled++;
      return dg.buf.subarray(0, dg.total);
    }
    return null;
  }

  /** Drop datagrams whose first fragment is older than the timeout at packet time `now`. */
  expire(now: number): void {
    for (const [key, dg] of this.table) {
      if (now - dg.firstTs <= this.limits.timeoutUs) break;
      this.drop(key, dg);
      this.stats.evicted++;
      this.stats.timedOut++;
    }
  }

  private drop(key: string, dg: Datagram): void {
    this.table.delete(key);
    this.stats.buffers--;
    this.stats.bytes -= dg.buf.length;
  }

  private evictOldest(): void {
    const first = this.table.entries().next();
    if (first.done) return;
    this.drop(first.value[0], first.value[1]);
    this.stats.evicted++;
  }

  /** Make room for `need` bytes, evicting older datagrams when the global cap is reached. */
  private grow(key: string, dg: Datagram, need: number): boolean {
    const lim = this.limits;
    const size = Math.min(lim.maxDatagramBytes, Math.max(need, dg.buf.length * 2, 1024));
    const extra = size - dg.buf.length;
    while (this.stats.bytes + extra > lim.maxBytes) {
      const first = this.table.entries().next();
      if (first.done) break;
      if (first.value[0] === key) {
        // This datagram is the oldest and still does not fit: give it up.
        this.drop(key, dg);
        return false;
      }
      this.drop(first.value[0], first.value[1]);
      this.stats.evicted++;
    }
    if (this.stats.bytes + extra > lim.maxBytes) {
      this.drop(key, dg);
      return false;
    }
    const buf = new Uint8Array(size);
    buf.set(dg.buf, 0);
    dg.buf = buf;
    this.stats.bytes += extra;
    return true;
  }

  /** Copy the parts of [offset, offset+len) not yet covered (first copy wins), then merge the range. */
  private insert(dg: Datagram, offset: number, data: Uint8Array): void {
    const end = offset + data.length;
    if (end === offset) return;
    const r = dg.ranges;
    let pos = offset;
    let overlapped = false;
    let inconsistent = false;
    for (let i = 0; i < r.length && pos < end; i += 2) {
      const s = r[i]!;
      const e = r[i + 1]!;
      if (e <= pos) continue;
      if (s >= end) break;
      if (s > pos) dg.buf.set(data.subarray(pos - offset, s - offset), pos);
      const ovS = Math.max(s, pos);
      const ovE = Math.min(e, end);
      if (ovE > ovS) {
        overlapped = true;
        for (let j = ovS; j < ovE && !inconsistent; j++)
          if (dg.buf[j] !== data[j - offset]) inconsistent = true;
      }
      pos = Math.max(pos, e);
    }
    if (pos < end) dg.buf.set(data.subarray(pos - offset), pos);
    if (overlapped) {
      this.stats.overlaps++;
      if (inconsistent) this.stats.inconsistentOverlaps++;
    }
    // Merge [offset, end) into the sorted range list.
    const merged: number[] = [];
    let ns = offset;
    let ne = end;
    let placed = false;
    for (let i = 0; i < r.length; i += 2) {
      const s = r[i]!;
      const e = r[i + 1]!;
      if (e < ns) merged.push(s, e);
      else if (s > ne) {
        if (!placed) {
          merged.push(ns, ne);
          placed = true;
        }
        merged.push(s, e);
      } else {
        ns = Math.min(ns, s);
        ne = Math.max(ne, e);
      }
    }
    if (!placed) merged.push(ns, ne);
    dg.ranges = merged;
  }
}
