// Test helpers for reassembly: a recording stream consumer and TCP/UDP packet builders (Packet objects, no decoder).
import { createPacket, type Packet } from '../../agent/decode/packet.js';
import type { StreamConsumer } from '../../agent/reassembly/types.js';

export type Piece = { kind: 'data'; bytes: number[] } | { kind: 'gap'; len: number } | { kind: 'end' };

/** Records what a stream delivered, per direction; adjacent data pieces are merged. */
export class Recorder implements StreamConsumer {
  readonly out: [Piece[], Piece[]] = [[], []];
  calls = 0;

  onData(dir: 0 | 1, bytes: Uint8Array): void {
    this.calls++;
    const list = this.out[dir];
    const last = list[list.length - 1];
    if (last?.kind === 'data') last.bytes.push(...bytes);
    else list.push({ kind: 'data', bytes: Array.from(bytes) });
  }

  onGap(dir: 0 | 1, len: number): void {
    this.out[dir].push({ kind: 'gap', len });
  }

  onEnd(dir: 0 | 1): void {
    this.out[dir].push({ kind: 'end' });
  }

  /** Delivered bytes of a direction, with each gap replaced by `len` copies of `fill` (default -1). */
  flat(dir: 0 | 1, fill = -1): number[] {
    const r: number[] = [];
    for (const p of this.out[dir]) {
      if (p.kind === 'data') r.push(...p.bytes);
      else if (p.kind === 'gap') for (let i = 0; i < p.len; i++) r.push(fill);
    }
    return r;
  }

  gapTotal(dir: 0 | 1): number {
    let n = 0;
    for (const p of this.out[dir]) if (p.kind === 'gap') n += p.len;
    return n;
  }

  ended(dir: 0 | 1): number {
    return this.out[dir].filter((p) => p.kind === 'end').length;
  }
}

export const F = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

export function ip4(text: string): number {
  const p = text.split('.').map(Number);
  return (((p[0] ?? 0) << 24) | ((p[1] ?? 0) << 16) | ((p[2] ?? 0) << 8) | (p[3] ?? 0)) >>> 0;
}

export interface PacketSpec {
  ts: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  proto?: number;
  flags?: number;
  seq?: number;
  ack?: number;
  payload?: Uint8Array;
  vlan?: number;
  frameLen?: number;
  srcMac?: number;
  dstMac?: number;
}

/** A Packet as decode would fill it (IPv4 when addresses have dots, else IPv6 hex groups fully written). */
export function makePacket(s: PacketSpec): Packet {
  const p = createPacket();
  p.ts = s.ts;
  p.vlan = s.vlan ?? -1;
  p.vlanDepth = s.vlan === undefined ? 0 : 1;
  p.proto = s.proto ?? 6;
  p.srcPort = s.sport;
  p.dstPort = s.dport;
  p.tcpFlags = s.flags ?? 0;
  p.seq = (s.seq ?? 0) >>> 0;
  p.ack = (s.ack ?? 0) >>> 0;
  p.payload = s.payload ?? new Uint8Array(0);
  p.srcMac = s.srcMac ?? -1;
  p.dstMac = s.dstMac ?? -1;
  if (s.src.includes('.')) {
    p.ipVersion = 4;
    p.src4 = ip4(s.src);
    p.dst4 = ip4(s.dst);
    p.src = u32bytes(p.src4);
    p.dst = u32bytes(p.dst4);
  } else {
    p.ipVersion = 6;
    p.src = v6bytes(s.src);
    p.dst = v6bytes(s.dst);
  }
  p.frameLen = s.frameLen ?? 14 + (p.ipVersion === 4 ? 20 : 40) + (p.proto === 6 ? 20 : 8) + p.payload.length;
  return p;
}

function u32bytes(n: number): Uint8Array {
  return new Uint8Array([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}

function v6bytes(text: string): Uint8Array {
  const groups = text.split(':');
  const b = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    b[i * 2] = (v >>> 8) & 255;
    b[i * 2 + 1] = v & 255;
  });
  return b;
}

export function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
