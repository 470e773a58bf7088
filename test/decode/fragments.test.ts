// IPv4/IPv6 fragment reassembly through the Decoder: order, overlaps (first copy wins), caps, timeout, counters.
import { describe, expect, it } from 'vitest';
import { LinkType, type RawFrame } from '../../agent/capture/types.js';
import { Decoder, type DecodeStatus } from '../../agent/decode/decoder.js';
import { FragmentTable } from '../../agent/decode/fragments.js';
import { createPacket, type Packet } from '../../agent/decode/packet.js';
import { concat, eth, ext6, frag6, ipv4, ipv6, text, udp } from './builders.js';

const SEC = 1_000_000;

function raw(data: Uint8Array, ts = 0): RawFrame {
  return { index: 1, ts, linkType: LinkType.RAW, origLen: data.length, data, ifIndex: 0 };
}

/** Cut an IPv4 UDP datagram's payload into fragments of `size` bytes (multiple of 8). */
function fragments4(payload: Uint8Array, size: number, id = 77, src = '10.0.0.1'): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload.length; off += size) {
    const part = payload.subarray(off, Math.min(off + size, payload.length));
    out.push(
      ipv4(
        { src, dst: '10.0.0.2', proto: 17, id, fragOffset: off, moreFragments: off + size < payload.length },
        part,
      ),
    );
  }
  return out;
}

function fragments6(payload: Uint8Array, size: number, next: number, id = 99): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload.length; off += size) {
    const part = payload.subarray(off, Math.min(off + size, payload.length));
    out.push(
      ipv6(
        { src: 'fd00::a', dst: 'fd00::b', next: 44 },
        concat(frag6(next, off, off + size < payload.length, id), part),
      ),
    );
  }
  return out;
}

function feed(d: Decoder, frames: Uint8Array[], p: Packet, ts = 0): DecodeStatus[] {
  return frames.map((f) => d.decode(raw(f, ts), p));
}

const body = text('0123456789abcdef'.repeat(20)); // 320 bytes
const datagram = udp({ sport: 123, dport: 456 }, body);

describe('IPv4 fragments', () => {
  it('reassembles in order', () => {
    const d = new Decoder();
    const p = createPacket();
    const st = feed(d, fragments4(datagram, 96), p);
    expect(st).toEqual(['fragment_pending', 'fragment_pending', 'fragment_pending', 'ok']);
    expect(p.srcPort).toBe(123);
    expect(p.dstPort).toBe(456);
    expect(p.payload).toEqual(body);
    expect(d.stats).toMatchObject({
      fragmentsReassembled: 1,
      fragmentBuffers: 0,
      fragmentBytes: 0,
      fragments: 4,
    });
  });

  it('reassembles in any order', () => {
    const d = new Decoder();
    const p = createPacket();
    const fr = fragments4(datagram, 64);
    const order = [3, 0, 5, 1, 4, 2];
    const st = feed(
      d,
      order.map((i) => fr[i]!),
      p,
    );
    expect(st.at(-1)).toBe('ok');
    expect(st.slice(0, -1).every((s) => s === 'fragment_pending')).toBe(true);
    expect(p.payload).toEqual(body);
  });

  it('keeps the first copy of overlapping bytes and counts inconsistency', () => {
    const d = new Decoder();
    const p = createPacket();
    const fr = fragments4(datagram, 96);
    const evil = new Uint8Array(96).fill(0x41);
    const overlap = ipv4(
      { src: '10.0.0.1', dst: '10.0.0.2', proto: 17, id: 77, fragOffset: 96, moreFragments: true },
      evil,
    );
    const st = feed(d, [fr[0]!, fr[1]!, overlap, fr[2]!, fr[3]!], p);
    expect(st.at(-1)).toBe('ok');
    expect(p.payload).toEqual(body);
    expect(d.stats.fragmentOverlaps).toBe(1);
    expect(d.stats.fragmentInconsistentOverlaps).toBe(1);
  });

  it('a duplicate fragment is a consistent overlap', () => {
    const d = new Decoder();
    const p = createPacket();
    const fr = fragments4(datagram, 96);
    feed(d, [fr[0]!, fr[0]!, fr[1]!, fr[2]!, fr[3]!], p);
    expect(p.payload).toEqual(body);
    expect(d.stats).toMatchObject({ fragmentOverlaps: 1, fragmentInconsistentOverlaps: 0 });
  });

  it('keeps datagrams apart by id and source', () => {
    const d = new Decoder();
    const p = createPacket();
    const a = fragments4(datagram, 168, 1);
    const b = fragments4(udp({ sport: 9, dport: 9 }, text('x'.repeat(300))), 168, 1, '10.0.0.9');
    expect(feed(d, [a[0]!, b[0]!, b[1]!], p).at(-1)).toBe('ok');
    expect(p.srcPort).toBe(9);
    expect(d.decode(raw(a[1]!), p)).toBe('ok');
    expect(p.srcPort).toBe(123);
  });

  it('reassembles behind Ethernet and VLAN', () => {
    const d = new Decoder();
    const p = createPacket();
    const st = fragments4(datagram, 168).map((f) =>
      d.decode(
        {
          index: 1,
          ts: 0,
          linkType: LinkType.ETHERNET,
          origLen: 0,
          data: eth({ type: 0x0800, tags: [{ vid: 7 }] }, f),
          ifIndex: 0,
        },
        p,
      ),
    );
    expect(st).toEqual(['fragment_pending', 'ok']);
    expect(p.vlan).toBe(7);
  });

  it('drops a datagram beyond 65535 bytes', () => {
    const d = new Decoder();
    const p = createPacket();
    const far = ipv4({ proto: 17, id: 5, fragOffset: 65528, moreFragments: false }, new Uint8Array(100));
    expect(d.decode(raw(far), p)).toBe('fragment_overflow');
    expect(d.stats).toMatchObject({ fragmentOverflows: 1, fragmentBuffers: 0, fragmentBytes: 0 });
  });

  it('drops a datagram with too many fragments', () => {
    const d = new Decoder({ fragments: { maxFragments: 4 } });
    const p = createPacket();
    const st = feed(d, fragments4(datagram, 48), p);
    expect(st).toContain('fragment_overflow');
    expect(d.stats.fragmentBuffers).toBeLessThanOrEqual(1);
  });

  it('times out by packet time, on expire() and on the next fragment', () => {
    const d = new Decoder({ fragments: { timeoutUs: 10 * SEC } });
    const p = createPacket();
    const fr = fragments4(datagram, 160);
    expect(d.decode(raw(fr[0]!, 0), p)).toBe('fragment_pending');
    d.expire(5 * SEC);
    expect(d.stats.fragmentBuffers).toBe(1);
    d.expire(11 * SEC);
    expect(d.stats).toMatchObject({
      fragmentBuffers: 0,
      fragmentBytes: 0,
      fragmentsTimedOut: 1,
      fragmentsEvicted: 1,
    });
    // The last fragment alone, late, starts a new incomplete datagram.
    expect(d.decode(raw(fr[1]!, 12 * SEC), p)).toBe('fragment_pending');
    expect(d.decode(raw(fr[0]!, 30 * SEC), p)).toBe('fragment_pending');
    expect(d.stats.fragmentsTimedOut).toBe(2);
  });

  it('holds total bytes under the cap by evicting the oldest', () => {
    const d = new Decoder({ fragments: { maxBytes: 8192 } });
    const p = createPacket();
    for (let id = 0; id < 100; id++) {
      d.decode(raw(ipv4({ proto: 17, id, moreFragments: true }, new Uint8Array(1000))), p);
      expect(d.stats.fragmentBytes).toBeLessThanOrEqual(8192);
    }
    expect(d.stats.fragmentsEvicted).toBeGreaterThan(80);
  });

  it('caps the number of datagrams', () => {
    const t = new FragmentTable({ maxDatagrams: 3 });
    const a = Uint8Array.of(10, 0, 0, 1);
    for (let id = 0; id < 10; id++) t.add(4, a, a, id, 17, 0, true, new Uint8Array(8), 0);
    expect(t.stats.buffers).toBe(3);
    expect(t.stats.evicted).toBe(7);
  });
});

describe('IPv6 fragments', () => {
  it('reassembles and walks headers after the fragment header', () => {
    const d = new Decoder();
    const p = createPacket();
    const inner = concat(ext6(17), datagram); // destination options, then UDP
    const st = feed(d, fragments6(inner, 128, 60), p);
    expect(st).toEqual(['fragment_pending', 'fragment_pending', 'ok']);
    expect(p.ipVersion).toBe(6);
    expect(p.proto).toBe(17);
    expect(p.dstPort).toBe(456);
    expect(p.payload).toEqual(body);
  });

  it('reassembles out of order', () => {
    const d = new Decoder();
    const p = createPacket();
    const fr = fragments6(datagram, 64, 17);
    const st = feed(d, [...fr].reverse(), p);
    expect(st.at(-1)).toBe('ok');
    expect(p.payload).toEqual(body);
  });
});
