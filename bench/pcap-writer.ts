// Writes classic pcap files (microsecond, little-endian, LINKTYPE_ETHERNET) of Ethernet/802.1Q/IPv4/TCP|UDP frames with valid checksums (RFC 791, 9293, 768).
import { closeSync, openSync, writeSync } from 'node:fs';

export interface FrameSpec {
  ts: number; // µs
  srcMac: number;
  dstMac: number;
  vlan: number; // -1 untagged
  src: number; // IPv4 as uint32
  dst: number;
  proto: 6 | 17;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  payload: Uint8Array;
}

const OUT_CHUNK = 8 << 20;

export class PcapWriter {
  private readonly fd: number;
  private readonly out = new Uint8Array(OUT_CHUNK);
  private readonly view = new DataView(this.out.buffer);
  private used = 0;
  private ipId = 1;
  packets = 0;
  bytes = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
    this.view.setUint32(0, 0xa1b2c3d4, true);
    this.view.setUint16(4, 2, true);
    this.view.setUint16(6, 4, true);
    this.view.setUint32(8, 0, true);
    this.view.setUint32(12, 0, true);
    this.view.setUint32(16, 65535, true);
    this.view.setUint32(20, 1, true);
    this.used = 24;
  }

  write(f: FrameSpec): void {
    const l4 = f.proto === 6 ? 20 : 8;
    const l2 = f.vlan >= 0 ? 18 : 14;
    const ipLen = 20 + l4 + f.payload.length;
    const frameLen = l2 + ipLen;
    if (this.used + 16 + frameLen > this.out.length) this.flush();
    const v = this.view;
    const o = this.out;
    let p = this.used;
    const sec = Math.floor(f.ts / 1e6);
    v.setUint32(p, sec, true);
    v.setUint32(p + 4, f.ts - sec * 1e6, true);
    v.setUint32(p + 8, frameLen, true);
    v.setUint32(p + 12, frameLen, true);
    p += 16;
    const start = p;
    writeMac(v, p, f.dstMac);
    writeMac(v, p + 6, f.srcMac);
    p += 12;
    if (f.vlan >= 0) {
      v.setUint16(p, 0x8100);
      v.setUint16(p + 2, f.vlan & 0xfff);
      p += 4;
    }
    v.setUint16(p, 0x0800);
    p += 2;
    const ip = p;
    v.setUint8(ip, 0x45);
    v.setUint8(ip + 1, 0);
    v.setUint16(ip + 2, ipLen);
    v.setUint16(ip + 4, this.ipId);
    this.ipId = (this.ipId + 1) & 0xffff;
    v.setUint16(ip + 6, 0x4000); // DF
    v.setUint8(ip + 8, 64);
    v.setUint8(ip + 9, f.proto);
    v.setUint16(ip + 10, 0);
    v.setUint32(ip + 12, f.src);
    v.setUint32(ip + 16, f.dst);
    v.setUint16(ip + 10, checksum(o, ip, 20, 0));
    const th = ip + 20;
    v.setUint16(th, f.sport);
    v.setUint16(th + 2, f.dport);
    if (f.proto === 6) {
      v.setUint32(th + 4, f.seq >>> 0);
      v.setUint32(th + 8, f.ack >>> 0);
      v.setUint8(th + 12, 5 << 4);
      v.setUint8(th + 13, f.flags);
      v.setUint16(th + 14, f.window);
      v.setUint16(th + 16, 0);
      v.setUint16(th + 18, 0);
    } else {
      v.setUint16(th + 4, 8 + f.payload.length);
      v.setUint16(th + 6, 0);
    }
    o.set(f.payload, th + l4);
    const l4Len = l4 + f.payload.length;
    // Pseudo-header sum (RFC 9293 §3.1): addresses, protocol, length.
    const pseudo = (f.src >>> 16) + (f.src & 0xffff) + (f.dst >>> 16) + (f.dst & 0xffff) + f.proto + l4Len;
    let sum = checksum(o, th, l4Len, pseudo);
    if (f.proto === 17 && sum === 0) sum = 0xffff;
    v.setUint16(th + (f.proto === 6 ? 16 : 6), sum);
    this.used = start + frameLen;
    this.packets++;
    this.bytes += frameLen;
  }

  flush(): void {
    let off = 0;
    while (off < this.used) off += writeSync(this.fd, this.out, off, this.used - off);
    this.used = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

function writeMac(v: DataView, p: number, mac: number): void {
  v.setUint16(p, Math.floor(mac / 2 ** 32) & 0xffff);
  v.setUint32(p + 2, mac >>> 0);
}

/** Internet checksum (RFC 1071) of `len` bytes at `off`, starting from `initial`. */
function checksum(b: Uint8Array, off: number, len: number, initial: number): number {
  let sum = initial;
  const end = off + len - 1;
  let i = off;
  for (; i < end; i += 2) sum += ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
  if (i === end) sum += (b[i] ?? 0) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return ~sum & 0xffff;
}
