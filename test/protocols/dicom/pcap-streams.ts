// Test helper: TCP payloads per stream and direction from a classic pcap (NULL, Ethernet/VLAN, raw IPv4), in capture order.
import { readFileSync } from 'node:fs';

export interface Segment {
  stream: number;
  /** 0 = from the SYN sender (or the first sender), 1 = the other side. */
  dir: 0 | 1;
  srcPort: number;
  dstPort: number;
  ts: number;
  frame: number;
  payload: Uint8Array;
}

interface Frame {
  link: number;
  ts: number;
  pkt: Buffer;
}

/** Frames of a classic pcap (either byte order, µs or ns) or a little-endian pcapng (µs). */
function readFrames(path: string): Frame[] {
  const f = readFileSync(path);
  const magic = f.readUInt32LE(0);
  const frames: Frame[] = [];
  if (magic === 0x0a0d0d0a) {
    const links: number[] = [];
    let off = 0;
    while (off + 12 <= f.length) {
      const type = f.readUInt32LE(off);
      const len = f.readUInt32LE(off + 4);
      if (type === 1) links.push(f.readUInt16LE(off + 8));
      else if (type === 6) {
        const ifc = f.readUInt32LE(off + 8);
        const ts = f.readUInt32LE(off + 12) * 2 ** 32 + f.readUInt32LE(off + 16);
        const cap = f.readUInt32LE(off + 20);
        frames.push({ link: links[ifc] ?? 1, ts, pkt: f.subarray(off + 28, off + 28 + cap) });
      }
      off += len;
    }
    return frames;
  }
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  const u32 = (o: number): number => (le ? f.readUInt32LE(o) : f.readUInt32BE(o));
  const link = u32(20);
  let off = 24;
  while (off + 16 <= f.length) {
    const ts = u32(off) * 1e6 + Math.floor(u32(off + 4) / (nano ? 1000 : 1));
    const incl = u32(off + 8);
    frames.push({ link, ts, pkt: f.subarray(off + 16, off + 16 + incl) });
    off += 16 + incl;
  }
  return frames;
}

/** Segments in frame order; retransmitted bytes (sequence below the next expected) are dropped. */
export function readTcpSegments(path: string): Segment[] {
  const streams = new Map<string, { id: number; client: string; next: [number, number] }>();
  const out: Segment[] = [];
  let frame = 0;
  for (const { link, ts, pkt } of readFrames(path)) {
    frame++;
    let ip: number;
    if (link === 0) ip = 4;
    else if (link === 101 || link === 228) ip = 0;
    else if (link === 1) {
      let et = pkt.readUInt16BE(12);
      ip = 14;
      while (et === 0x8100 || et === 0x88a8) {
        et = pkt.readUInt16BE(ip + 2);
        ip += 4;
      }
      if (et !== 0x0800) continue;
    } else continue;
    if ((pkt[ip] ?? 0) >> 4 !== 4 || pkt[ip + 9] !== 6) continue;
    const ihl = ((pkt[ip] ?? 0) & 0x0f) * 4;
    const totalLen = pkt.readUInt16BE(ip + 2);
    const src = pkt.subarray(ip + 12, ip + 16).join('.');
    const dst = pkt.subarray(ip + 16, ip + 20).join('.');
    const t = ip + ihl;
    const sp = pkt.readUInt16BE(t);
    const dp = pkt.readUInt16BE(t + 2);
    const seq = pkt.readUInt32BE(t + 4);
    const doff = ((pkt[t + 12] ?? 0) >> 4) * 4;
    const flags = pkt[t + 13] ?? 0;
    const a = `${src}:${sp}`;
    const b = `${dst}:${dp}`;
    const key = a < b ? `${a}|${b}` : `${b}|${a}`;
    let st = streams.get(key);
    const syn = (flags & 0x02) !== 0;
    if (!st || (syn && (flags & 0x10) === 0 && st.client !== a)) {
      st = { id: streams.size, client: syn && (flags & 0x10) !== 0 ? b : a, next: [-1, -1] };
      streams.set(key, st);
    }
    const dir: 0 | 1 = a === st.client ? 0 : 1;
    const payload = pkt.subarray(t + doff, ip + totalLen);
    if (syn) {
      st.next[dir] = (seq + 1) >>> 0;
      continue;
    }
    if (payload.length === 0) continue;
    const expect = st.next[dir];
    let data = payload;
    if (expect >= 0) {
      const delta = (seq - expect) | 0;
      if (delta < 0) {
        if (-delta >= payload.length) continue;
        data = payload.subarray(-delta);
      }
    }
    st.next[dir] = (seq + payload.length) >>> 0;
    out.push({ stream: st.id, dir, srcPort: sp, dstPort: dp, ts, frame, payload: new Uint8Array(data) });
  }
  return out;
}

/** Each stream's bytes per direction, concatenated. */
export function streamBytes(segs: Segment[]): Map<number, [Uint8Array, Uint8Array]> {
  const parts = new Map<number, [Uint8Array[], Uint8Array[]]>();
  for (const s of segs) {
    let p = parts.get(s.stream);
    if (!p) parts.set(s.stream, (p = [[], []]));
    p[s.dir].push(s.payload);
  }
  const out = new Map<number, [Uint8Array, Uint8Array]>();
  for (const [k, [a, b]] of parts) out.set(k, [Buffer.concat(a), Buffer.concat(b)]);
  return out;
}
