// CaptureParser: pcap (both byte orders, µs/ns), pcapng (interfaces, resolutions, block kinds, sections), chunking, errors, fuzz.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CaptureParser } from '../../agent/capture/reader.js';
import type { CaptureFormatError, RawFrame } from '../../agent/capture/types.js';
import { concat } from '../decode/builders.js';
import {
  epb,
  idb,
  opb,
  option,
  otherBlock,
  pcap,
  pcapHeader,
  pcapRecord,
  shb,
  spb,
  splitAt,
  block,
} from './builders.js';

interface Got {
  index: number;
  ts: number;
  linkType: number;
  origLen: number;
  ifIndex: number;
  data: number[];
}

/** The frame's bytes as decode reads them (buffer, offset, capLen), checked against the `data` view. */
function snapshot(f: RawFrame): Got {
  const { buffer, offset, capLen } = f;
  expect(buffer).toBeDefined();
  const bytes = [...(buffer ?? new Uint8Array(0)).subarray(offset, (offset ?? 0) + (capLen ?? 0))];
  expect([...f.data]).toEqual(bytes);
  return {
    index: f.index,
    ts: f.ts,
    linkType: f.linkType,
    origLen: f.origLen,
    ifIndex: f.ifIndex,
    data: bytes,
  };
}

/** Parse chunks; returns frames (copied) and the first error. */
function parse(
  chunks: Uint8Array[],
  p = new CaptureParser(),
): { frames: Got[]; error: CaptureFormatError | null } {
  const frames: Got[] = [];
  for (const c of chunks) {
    const error = p.push(c, (f) => {
      frames.push(snapshot(f));
    });
    if (error) return { frames, error };
  }
  return { frames, error: p.end() };
}

const pkt = (n: number, len = 60): Uint8Array =>
  Uint8Array.from({ length: len }, (_, i) => (n * 31 + i) & 255);

describe('pcap', () => {
  const records = [
    { sec: 1_700_000_000, frac: 123_456, data: pkt(1) },
    { sec: 1_700_000_001, frac: 999_999, data: pkt(2, 1514), origLen: 1514 },
    { sec: 1_700_000_002, frac: 0, data: pkt(3, 40), origLen: 9000 },
  ];

  it.each([true, false])('microsecond, little-endian=%s', (le) => {
    const { frames, error } = parse([pcap(records, { littleEndian: le, linkType: 113 })]);
    expect(error).toBeNull();
    expect(frames.map((f) => [f.index, f.ts, f.linkType, f.origLen, f.data.length])).toEqual([
      [1, 1_700_000_000_123_456, 113, 60, 60],
      [2, 1_700_000_001_999_999, 113, 1514, 1514],
      [3, 1_700_000_002_000_000, 113, 9000, 40],
    ]);
    expect(frames[1]!.data).toEqual([...pkt(2, 1514)]);
  });

  it.each([true, false])('nanosecond magic truncates to µs, little-endian=%s', (le) => {
    const ns = [{ sec: 1_700_000_000, frac: 123_456_789, data: pkt(1) }];
    const { frames, error } = parse([pcap(ns, { littleEndian: le, nanos: true })]);
    expect(error).toBeNull();
    expect(frames[0]!.ts).toBe(1_700_000_000_123_456);
  });

  it('modified (Kuznetzov) magic with 24-byte record headers', () => {
    const rec = concat(
      pcapRecord({ sec: 5, frac: 6, data: pkt(1), capLen: 60 }).subarray(0, 16),
      new Uint8Array(8),
      pkt(1),
    );
    const { frames, error } = parse([concat(pcapHeader({ magic: 0xa1b2cd34 }), rec)]);
    expect(error).toBeNull();
    expect(frames).toHaveLength(1);
    expect(frames[0]!.data).toEqual([...pkt(1)]);
  });

  it('masks FCS bits out of the link type', () => {
    const { frames } = parse([pcap(records.slice(0, 1), { linkType: 0x10000001 })]);
    expect(frames[0]!.linkType).toBe(1);
  });

  it('header only: no frames, no error', () => {
    expect(parse([pcapHeader()])).toEqual({ frames: [], error: null });
  });

  it('gives zero-copy views into a chunk holding whole records', () => {
    const file = pcap(records);
    const p = new CaptureParser();
    const buffers: ArrayBufferLike[] = [];
    p.push(file, (f) => {
      buffers.push(f.data.buffer);
    });
    expect(buffers).toHaveLength(3);
    expect(buffers.every((b) => b === file.buffer)).toBe(true);
  });

  it('reuses one RawFrame object', () => {
    const seen = new Set<RawFrame>();
    new CaptureParser().push(pcap(records), (f) => {
      seen.add(f);
    });
    expect(seen.size).toBe(1);
  });

  it('gives the same frames for every split point', () => {
    const file = pcap(records.slice(0, 1).concat([{ sec: 9, frac: 9, data: pkt(9, 30) }]), {
      littleEndian: false,
    });
    const whole = parse([file]);
    for (let cut = 1; cut < file.length; cut++) {
      expect(parse(splitAt(file, [cut]))).toEqual(whole);
    }
    // and byte by byte
    expect(
      parse(
        splitAt(
          file,
          Array.from({ length: file.length }, (_, i) => i),
        ),
      ),
    ).toEqual(whole);
  });
});

describe('pcapng', () => {
  for (const le of [true, false]) {
    it(`several interfaces with their own link types and resolutions (${le ? 'little' : 'big'}-endian)`, () => {
      const file = concat(
        shb(le),
        idb({ linkType: 1 }, le), // µs by default
        idb({ linkType: 113, tsresol: 9 }, le), // ns
        idb({ linkType: 101, tsresol: 0x80 | 20 }, le), // 2^-20 s
        idb({ linkType: 276, tsresol: 3, tsoffset: 1_000 }, le), // ms, offset 1000 s
        epb(0, 1_700_000_000_123_456n, pkt(1), le),
        otherBlock(4, 37, le), // name resolution block: skipped
        epb(1, 1_700_000_000_123_456_789n, pkt(2), le, 1500),
        epb(2, (1_700_000_000n << 20n) + (1n << 19n), pkt(3), le), // .5 s
        otherBlock(5, 20, le), // interface statistics: skipped
        epb(3, 1_234_567n, pkt(4), le),
        opb(1, 2_000_000_000_000_000_001n, pkt(5), le),
      );
      const { frames, error } = parse([file]);
      expect(error).toBeNull();
      expect(frames.map((f) => [f.index, f.ifIndex, f.linkType, f.ts, f.origLen])).toEqual([
        [1, 0, 1, 1_700_000_000_123_456, 60],
        [2, 1, 113, 1_700_000_000_123_456, 1500],
        [3, 2, 101, 1_700_000_000_500_000, 60],
        [4, 3, 276, 1_000_000_000 + 1_234_567_000, 60],
        [5, 1, 113, 2_000_000_000_000_000, 60],
      ]);
      expect(frames[2]!.data).toEqual([...pkt(3)]);
    });
  }

  it('several sections, each with its own byte order and interfaces', () => {
    const file = concat(
      shb(true),
      idb({ linkType: 1 }, true),
      epb(0, 10n, pkt(1), true),
      shb(false),
      idb({ linkType: 228, tsresol: 9 }, false),
      epb(0, 20_000n, pkt(2), false),
    );
    const { frames, error } = parse([file]);
    expect(error).toBeNull();
    expect(frames.map((f) => [f.linkType, f.ts])).toEqual([
      [1, 10],
      [228, 20],
    ]);
  });

  it('interfaces are per section: a packet on an interface of an earlier section is an error', () => {
    const file = concat(shb(), idb(), idb(), epb(1, 1n, pkt(1)), shb(), idb(), epb(1, 1n, pkt(2)));
    const { frames, error } = parse([file]);
    expect(frames).toHaveLength(1);
    expect(error?.message).toMatch(/^packet 2 at byte \d+: packet on undeclared interface 1$/);
  });

  it('simple packet blocks use the snap length of interface 0', () => {
    const file = concat(
      shb(),
      idb({ snaplen: 50, linkType: 101 }),
      epb(0, 7n, pkt(1)),
      spb(pkt(2, 64), true, 64),
      spb(pkt(3, 20)),
    );
    const { frames, error } = parse([file]);
    expect(error).toBeNull();
    expect(frames.map((f) => [f.linkType, f.ts, f.origLen, f.data.length])).toEqual([
      [101, 7, 60, 60],
      [101, 7, 64, 50],
      [101, 7, 20, 20],
    ]);
    expect(frames[1]!.data).toEqual([...pkt(2, 64)].slice(0, 50));
  });

  it('skips large unknown blocks across chunks without buffering them', () => {
    const big = otherBlock(0x40000bad, 200_000);
    const file = concat(shb(), idb(), epb(0, 1n, pkt(1)), big, epb(0, 2n, pkt(2)));
    const whole = parse([file]);
    expect(whole.error).toBeNull();
    expect(whole.frames).toHaveLength(2);
    const chunks: Uint8Array[] = [];
    for (let o = 0; o < file.length; o += 4096) chunks.push(file.subarray(o, o + 4096));
    expect(parse(chunks)).toEqual(whole);
  });

  it('reads options past unknown codes and honours the end-of-options marker', () => {
    const le = true;
    const body = concat(
      Uint8Array.of(1, 0, 0, 0, 0, 0, 4, 0), // link 1, snaplen 0x40000
      option(2, new TextEncoder().encode('eth0'), le),
      option(9, Uint8Array.of(9), le),
      option(0, new Uint8Array(0), le),
      option(9, Uint8Array.of(3), le), // after the end marker: ignored
    );
    const file = concat(shb(), block(1, body, le), epb(0, 5_000n, pkt(1)));
    expect(parse([file]).frames[0]!.ts).toBe(5);
  });

  it('gives the same frames for random splits', () => {
    const file = concat(
      shb(false),
      idb({ tsresol: 9 }, false),
      ...[1, 2, 3, 4].map((n) => epb(0, BigInt(n) * 1000n, pkt(n, 100 + n), false)),
    );
    const whole = parse([file]);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: file.length - 1 }), { maxLength: 12 }), (cuts) => {
        expect(parse(splitAt(file, cuts))).toEqual(whole);
      }),
      { seed: 42, numRuns: 200 },
    );
  });
});

describe('errors: valid frames first, then `packet N at byte B: reason`', () => {
  const two = pcap([
    { sec: 1, frac: 0, data: pkt(1) },
    { sec: 2, frac: 0, data: pkt(2) },
  ]);

  it('wrong magic', () => {
    const { frames, error } = parse([Uint8Array.of(0x50, 0x4b, 3, 4, ...new Uint8Array(40))]);
    expect(frames).toEqual([]);
    expect(error?.message).toBe('packet 1 at byte 0: unknown file format (magic 0x504b0304)');
  });

  it('empty file and short header', () => {
    expect(parse([]).error?.message).toBe('packet 1 at byte 0: empty file');
    expect(parse([two.subarray(0, 10)]).error?.message).toBe(
      'packet 1 at byte 0: truncated file header (10 bytes)',
    );
  });

  it('unsupported pcap version', () => {
    const h = pcapHeader();
    h[4] = 3;
    expect(parse([h]).error?.message).toBe('packet 1 at byte 0: unsupported pcap version 3.4');
  });

  it('truncated inside a record body', () => {
    const cut = two.subarray(0, two.length - 7);
    for (const chunks of [[cut], splitAt(cut, [30, 100])]) {
      const { frames, error } = parse(chunks);
      expect(frames.map((f) => f.index)).toEqual([1]);
      expect(error?.message).toBe(
        'packet 2 at byte 100: truncated record: needs 76 bytes, file ends after 69',
      );
      expect(error).toMatchObject({ packet: 2, byteOffset: 100 });
    }
  });

  it('truncated inside a record header', () => {
    const { frames, error } = parse([two.subarray(0, 105)]);
    expect(frames).toHaveLength(1);
    expect(error?.message).toBe('packet 2 at byte 100: truncated record: needs 16 bytes, file ends after 5');
  });

  it('absurd record length', () => {
    const bad = concat(two, pcapRecord({ sec: 3, frac: 0, data: pkt(3), capLen: 0x7fffffff }));
    const { frames, error } = parse([bad]);
    expect(frames).toHaveLength(2);
    expect(error?.message).toBe('packet 3 at byte 176: absurd record length 2147483647 (limit 262144)');
  });

  it('the record cap is configurable', () => {
    const { frames, error } = parse([two], new CaptureParser({ maxPacketBytes: 59 }));
    expect(frames).toHaveLength(0);
    expect(error?.message).toBe('packet 1 at byte 24: absurd record length 60 (limit 59)');
  });

  it('the error sticks: later pushes return it and deliver nothing', () => {
    const p = new CaptureParser();
    const first = p.push(Uint8Array.of(1, 2, 3, 4), () => undefined);
    let called = false;
    expect(
      p.push(two, () => {
        called = true;
      }),
    ).toBe(first);
    expect(p.end()).toBe(first);
    expect(called).toBe(false);
  });

  it('pcapng: bad block length, trailer mismatch, bad byte-order magic, block cut short', () => {
    const head = concat(shb(), idb());
    const good = epb(0, 1n, pkt(1));
    const odd = epb(0, 2n, pkt(2));
    new DataView(odd.buffer).setUint32(4, 13, true);
    expect(parse([concat(head, good, odd)]).error?.message).toBe(
      `packet 2 at byte ${head.length + good.length}: bad block length 13`,
    );
    const mismatch = epb(0, 2n, pkt(2));
    new DataView(mismatch.buffer).setUint32(mismatch.length - 4, 8, true);
    const r = parse([concat(head, good, mismatch)]);
    expect(r.frames).toHaveLength(1);
    expect(r.error?.message).toBe(
      `packet 2 at byte ${head.length + good.length}: block length mismatch (92 vs trailer 8)`,
    );
    const bom = shb();
    bom[8] = 0;
    expect(parse([bom]).error?.message).toBe('packet 1 at byte 0: bad pcapng byte-order magic');
    const cut = concat(head, good, epb(0, 2n, pkt(2))).subarray(0, head.length + good.length + 50);
    expect(parse([cut]).error?.message).toBe(
      `packet 2 at byte ${head.length + good.length}: truncated record: needs 92 bytes, file ends after 50`,
    );
  });

  it('pcapng: absurd packet length, packet before any interface', () => {
    const big = epb(0, 1n, pkt(1));
    new DataView(big.buffer).setUint32(20, 300_000, true);
    expect(parse([concat(shb(), idb(), big)]).error?.message).toBe(
      `packet 1 at byte ${shb().length + idb().length}: absurd record length 300000 (limit 262144)`,
    );
    expect(parse([concat(shb(), spb(pkt(1)))]).error?.message).toBe(
      `packet 1 at byte 28: simple packet block before any interface description`,
    );
    const huge = concat(shb(), Uint8Array.of(6, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0));
    expect(parse([huge]).error?.message).toMatch(
      /^packet 1 at byte 28: absurd block length 1073741824 \(limit \d+\)$/,
    );
  });

  it('truncated skipped block', () => {
    const file = concat(shb(), idb(), otherBlock(4, 1000));
    expect(parse([file.subarray(0, file.length - 100)]).error?.message).toBe(
      'packet 1 at byte 48: truncated block: 100 bytes missing',
    );
  });
});

describe('pause and resume', () => {
  it('returning false pauses before the frame and resume delivers it again', () => {
    const file = pcap([1, 2, 3, 4].map((n) => ({ sec: n, frac: 0, data: pkt(n) })));
    for (const chunks of [[file], splitAt(file, [50, 120, 190])]) {
      const p = new CaptureParser();
      const got: number[] = [];
      let refused = 0;
      const cb = (f: RawFrame): boolean => {
        if (f.index % 2 === 0 && refused < f.index) {
          refused = f.index;
          return false;
        }
        got.push(f.index);
        return true;
      };
      for (const c of chunks) {
        let err = p.push(c, cb);
        while (!err && p.paused) err = p.resume(cb);
        expect(err).toBeNull();
      }
      expect(p.end()).toBeNull();
      expect(got).toEqual([1, 2, 3, 4]);
    }
  });
});

describe('fuzz', () => {
  it('random bytes never throw and never hold more than a record', () => {
    const headers = [
      pcapHeader(),
      pcapHeader({ littleEndian: false, nanos: true }),
      concat(shb(), idb()),
      shb(false),
      new Uint8Array(0),
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...headers),
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(fc.integer({ min: 1, max: 3000 }), { maxLength: 5 }),
        (head, tail, cuts) => {
          const p = new CaptureParser({
            maxPacketBytes: 2048,
            maxMetaBlockBytes: 4096,
            maxSkipBlockBytes: 8192,
          });
          let frames = 0;
          let err: CaptureFormatError | null = null;
          for (const c of splitAt(concat(head, tail), cuts)) {
            err = p.push(c, (f) => {
              frames++;
              expect(f.data.length).toBeLessThanOrEqual(2048);
            });
            if (err) break;
          }
          err ??= p.end();
          expect(frames).toBe(p.frames);
          // Internal remainder never exceeds the largest parsable unit.
          const rem = (p as unknown as { rem: Uint8Array }).rem;
          expect(rem.length).toBeLessThanOrEqual(2048 + 64 * 1024 + 8192);
          if (err) expect(err.message).toMatch(/^packet \d+ at byte \d+: .+/);
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });
});
