// Property tests: random frames never throw, every status is a known one, fragment memory stays under its caps.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameSlot, LinkType, type RawFrame } from '../../agent/capture/types.js';
import { Decoder, type DecodeStatus } from '../../agent/decode/decoder.js';
import { createPacket } from '../../agent/decode/packet.js';
import { u32 } from '../../agent/wire/bytes.js';
import { concat, eth, ipv4, ipv6, frag6, packetContent } from './builders.js';

const STATUSES: ReadonlySet<DecodeStatus> = new Set([
  'ok',
  'fragment_pending',
  'other',
  'truncated',
  'bad_header',
  'unsupported_link',
  'bad_checksum',
  'fragment_overflow',
  'too_many_tags',
]);

const LINKS = [
  LinkType.ETHERNET,
  LinkType.LINUX_SLL,
  LinkType.LINUX_SLL2,
  LinkType.NULL,
  LinkType.LOOP,
  LinkType.RAW,
  LinkType.IPV4,
  LinkType.IPV6,
  147,
];

function frame(linkType: number, data: Uint8Array, ts: number): RawFrame {
  return { index: 1, ts, linkType, origLen: data.length, data, ifIndex: 0 };
}

/** Random bytes behind a plausible prefix, so that fuzzing reaches the deeper layers too. */
const prefixed = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((b) => eth({ type: 0x0800 }, concat(Uint8Array.of(0x45), b))),
  fc.uint8Array({ maxLength: 200 }).map((b) => eth({ type: 0x86dd }, concat(Uint8Array.of(0x60), b))),
  fc.uint8Array({ maxLength: 200 }).map((b) => eth({ type: 0x8100, tags: [] }, b)),
  fc.uint8Array({ maxLength: 200 }).map((b) => eth({ type: 0x8847 }, b)),
);

describe('decoder fuzz', () => {
  it('random frames on every link type never throw and yield a known status', () => {
    const d = new Decoder();
    const p = createPacket();
    fc.assert(
      fc.property(fc.constantFrom(...LINKS), prefixed, fc.nat(), (link, data, ts) => {
        const s = d.decode(frame(link, data, ts), p);
        expect(STATUSES.has(s)).toBe(true);
        expect(p.payload.length).toBeLessThanOrEqual(Math.max(data.length, 65535));
        // The payload's place (what the flow table reads) and the view made from it say the same bytes.
        expect(p.payload.length).toBe(p.payloadLen);
        expect([...p.payload]).toEqual([...p.payloadBuf.subarray(p.payloadOff, p.payloadOff + p.payloadLen)]);
        // IPv4 addresses are kept as numbers; the bytes written out on read are the same.
        if (p.ipVersion === 4) {
          expect(u32(p.src, 0)).toBe(p.src4);
          expect(u32(p.dst, 0)).toBe(p.dst4);
        }
      }),
      { seed: 42, numRuns: 2000 },
    );
    expect(d.stats.frames).toBe(2000);
  });

  it("a frame inside a larger buffer (the readers' FrameSlot) decodes as the same bytes on their own", () => {
    const plain = new Decoder();
    const slotted = new Decoder();
    const a = createPacket();
    const b = createPacket();
    fc.assert(
      fc.property(
        fc.constantFrom(...LINKS),
        prefixed,
        fc.uint8Array({ maxLength: 40 }),
        fc.uint8Array({ maxLength: 40 }),
        (link, data, before, after) => {
          const slot = new FrameSlot();
          slot.index = 1;
          slot.linkType = link;
          slot.origLen = data.length;
          slot.point(concat(before, data, after), before.length, data.length);
          const s1 = plain.decode(frame(link, data, 0), a);
          const s2 = slotted.decode(slot, b);
          expect(s2).toBe(s1);
          // Views compared by content: the slotted packet's point into the larger buffer.
          expect(packetContent(b)).toEqual(packetContent(a));
        },
      ),
      { seed: 7, numRuns: 2000 },
    );
  });

  it('random fragments keep reassembly memory under the caps', () => {
    const maxBytes = 64 * 1024;
    const maxDatagrams = 16;
    const d = new Decoder({ fragments: { maxBytes, maxDatagrams, timeoutUs: 5_000_000 } });
    const p = createPacket();
    const fragment = fc.record({
      v6: fc.boolean(),
      id: fc.integer({ min: 0, max: 40 }),
      src: fc.integer({ min: 1, max: 4 }),
      offset: fc.integer({ min: 0, max: 8191 }).map((n) => n * 8),
      more: fc.boolean(),
      len: fc.integer({ min: 0, max: 1400 }),
      dt: fc.integer({ min: 0, max: 1_000_000 }),
    });
    let ts = 0;
    fc.assert(
      fc.property(fc.array(fragment, { minLength: 1, maxLength: 60 }), (frags) => {
        for (const f of frags) {
          ts += f.dt;
          const body = new Uint8Array(f.len).fill(f.id);
          const data = f.v6
            ? ipv6({ src: `fd00::${f.src}`, next: 44 }, concat(frag6(17, f.offset, f.more, f.id), body))
            : ipv4(
                { src: `10.0.0.${f.src}`, proto: 17, id: f.id, fragOffset: f.offset, moreFragments: f.more },
                body,
              );
          const s = d.decode(frame(LinkType.RAW, data, ts), p);
          expect(STATUSES.has(s)).toBe(true);
          const st = d.stats;
          expect(st.fragmentBytes).toBeLessThanOrEqual(maxBytes);
          expect(st.fragmentBuffers).toBeLessThanOrEqual(maxDatagrams);
          expect(st.fragmentBytes).toBeGreaterThanOrEqual(0);
        }
      }),
      { seed: 42, numRuns: 200 },
    );
    d.expire(ts + 10_000_000);
    expect(d.stats).toMatchObject({ fragmentBuffers: 0, fragmentBytes: 0 });
  });
});
