// The one-pass HL7 parser and session against the implementation they replaced (kept under reference/): on random,
// structured and mutated input both must frame, parse and report exactly the same (issue 12, faster analyzers).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseBlock, parseFrame } from '../../../agent/protocols/hl7/parse.js';
import { DEFAULT_LIMITS, type Hl7Limits } from '../../../agent/protocols/hl7/constants.js';
import { Hl7Session } from '../../../agent/protocols/hl7/session.js';
import * as ref from './reference/parse.js';
import { Hl7Session as RefSession } from './reference/session.js';
import { RecordingSink } from './builders.js';
import { readCorpus } from './helpers.js';

const seeds = readCorpus().map((c) => c.bytes);
const enc = new TextEncoder();

/** Field text over an alphabet rich in separators, escapes, terminators and non-ASCII bytes. */
const text = fc.stringMatching(/^[A-Z0-9 ^&~\\|#!.XFSTRE_]{0,12}$|^[a-z0-9]{40,70}$/);
const weird = fc.constantFrom(
  '\\F\\',
  '\\X41\\',
  '\\X4\\',
  '\\E\\',
  '\\.br\\',
  '\\',
  '\u00e9',
  '\n',
  '\r\n',
  '',
);
const value = fc.oneof({ weight: 6, arbitrary: text }, { weight: 2, arbitrary: weird });
const fields = (max: number): fc.Arbitrary<string[]> =>
  fc.array(
    fc.array(value, { minLength: 1, maxLength: 3 }).map((p) => p.join('')),
    { maxLength: max },
  );

/** Device ids that repeat, and pairs whose raw bytes equal another's decoded text (\\E\\F\\E\\ reads as \\F\\). */
const deviceId = fc.oneof(
  value,
  fc.constantFrom('\\E\\F\\E\\', '\\F\\', 'DEV-1', ' DEV-1', 'DEV-1 ', 'DEV&1', 'DEV-1^X', 'D\u00e9V'),
);

/** MSH with standard or unusual encoding characters and messy fields. */
const mshSeg = fc
  .tuple(
    fc.constantFrom(
      '|^~\\&',
      '|^~\\&',
      '#!$%*',
      '|^~\\',
      '|^',
      '|',
      'A^~\\&',
      '|^^\\&',
      '|^~\\&#',
      '|^~\\#',
      '|^~\\*',
      '|^~#&',
      '|&~\\^',
    ),
    fields(22),
    fc.constantFrom(
      'ORU^R01^ORU_R01',
      'ADT^A01',
      'ACK',
      'ACK^R01^ACK',
      'RGV^O15',
      '^R01',
      'ORU^',
      '',
      'X\\S\\Y^Z',
    ),
    fc.constantFrom('IHE_PCD_001', 'X~IHE_PCD_001^A', '', 'IHE_PCD_001&X'),
  )
  .map(([encChars, f, type, profile]) => {
    const all = [
      '',
      '',
      'APP',
      'FAC',
      'RAPP',
      'RFAC',
      '2026',
      '',
      type,
      'CTRL1',
      'P^T',
      '2.6',
      '',
      '',
      'AL',
      'NE',
    ];
    for (let i = 0; i < f.length; i++) if (f[i] !== undefined && i % 3 !== 0) all[i + 2] = f[i] ?? '';
    all[20] = profile;
    return `MSH${encChars}${all.slice(2).join('|')}`;
  });

const otherSeg = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('OBX', 'PRT', 'MSA', 'PID', 'BTS', 'FTS', 'BHS', 'FHS', 'NTE', 'ZZ1', 'ab1', 'O'),
      fields(24),
    )
    .map(([id, f]) => `${id}|${f.join('|')}`),
  fc.tuple(fc.constantFrom('OBX', 'PRT'), fc.array(deviceId, { maxLength: 4 })).map(([id, ids]) => {
    const n = id === 'OBX' ? 18 : 16;
    return `${id}${'|'.repeat(n)}${ids.join('~')}|tail`;
  }),
  fc.constantFrom(
    'MSA|AA|CTRL1',
    'MSA|CE|X^Y|Z',
    'MSA|TOOLONGCODE',
    'BTS|2',
    'BTS|x',
    'BHS|^~\\&',
    'PID|1||X',
  ),
);

/** A block's content: segments joined by CR, LF or CRLF, sometimes with junk. */
const blockContent = fc
  .tuple(
    fc.array(fc.oneof({ weight: 1, arbitrary: mshSeg }, { weight: 4, arbitrary: otherSeg }), {
      maxLength: 12,
    }),
    fc.constantFrom('\r', '\r', '\r', '\n', '\r\n'),
    fc.boolean(),
  )
  .map(([segs, term, lead]) => enc.encode((lead ? '' : 'MSH|^~\\&|A|B|C|D||||ID|P|2.5\r') + segs.join(term)));

/** A seed with a few bytes overwritten (as in fuzz.test.ts). */
const mutated = fc
  .tuple(
    fc.constantFrom(...seeds),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
  )
  .map(([seed, flips]) => {
    const out = seed.slice();
    for (const [i, v] of flips) out[i % out.length] = v;
    return out;
  });

const limits: fc.Arbitrary<Hl7Limits> = fc
  .record({
    maxSegments: fc.integer({ min: 1, max: 20 }),
    maxDeviceIds: fc.integer({ min: 1, max: 5 }),
    maxFieldChars: fc.oneof(fc.integer({ min: 1, max: 16 }), fc.constant(256)),
    maxMessageBytes: fc.integer({ min: 8, max: 4096 }),
  })
  .map((l) => ({ ...DEFAULT_LIMITS, ...l }));

/** A block whose last segment is a header id the bounds may cut short (the rest of it lies beyond the block). */
const cutHeader = fc
  .tuple(blockContent, fc.constantFrom('\rMSH', '\rFHS', '\rBHS', '\rMSH|'))
  .map(([c, tail]) => Uint8Array.from([...c, ...enc.encode(tail)]));

const anyBytes = fc.oneof(blockContent, cutHeader, mutated, fc.uint8Array({ maxLength: 200 }));

/** Half of the inputs as Buffers, as the reassembly hands them over; the rest plain Uint8Arrays. */
const asInput = (b: Uint8Array, buffer: boolean): Uint8Array => (buffer ? Buffer.from(b) : b);

describe('hl7 parser against the reference implementation', () => {
  it('parseBlock: the same messages and notes, for any bounds inside the bytes', () => {
    fc.assert(
      fc.property(anyBytes, limits, fc.boolean(), fc.nat(), fc.nat(3), (raw, lim, buffer, cut, short) => {
        const bytes = asInput(raw, buffer);
        // the block may end before the bytes do (an oversized block's prefix): nothing after it may be read
        const end = Math.max(0, bytes.length - short);
        const start = cut % (end + 1);
        expect(parseBlock(bytes, start, end, lim)).toEqual(ref.parseBlock(bytes, start, end, lim));
      }),
      { seed: 7, numRuns: 3000 },
    );
  });

  it('parseFrame: the same verdict at every offset', () => {
    const framed = fc.oneof(
      mutated,
      blockContent.map((c) => Uint8Array.from([0x0b, ...c, 0x1c, 0x0d, 0x0b, 0x4d])),
      fc
        .uint8Array({ maxLength: 64 })
        .map((b) => b.map((x) => (x % 3 === 0 ? 0x0b : x % 5 === 0 ? 0x1c : x))),
    );
    fc.assert(
      fc.property(framed, limits, fc.nat(), fc.nat(), (bytes, lim, off, res) => {
        const offset = bytes.length === 0 ? 0 : off % bytes.length;
        const resume = res % (bytes.length + 2);
        expect(parseFrame(bytes, offset, lim, resume)).toEqual(ref.parseFrame(bytes, offset, lim, resume));
      }),
      { seed: 7, numRuns: 3000 },
    );
  });

  it('session: the same events and anomalies for any chunking, gaps and ends', () => {
    const piece = fc.oneof(
      blockContent.map((c) => Uint8Array.from([0x0b, ...c, 0x1c, 0x0d])),
      mutated,
      fc.constantFrom(...seeds),
      fc.uint8Array({ maxLength: 32 }),
      fc.constantFrom(Uint8Array.of(0x0b), Uint8Array.of(0x1c), Uint8Array.of(0x1c, 0x0d)),
    );
    type Op =
      { kind: 'data'; dir: 0 | 1; bytes: Uint8Array; buffer: boolean } | { kind: 'gap' | 'end'; dir: 0 | 1 };
    const dir = fc.constantFrom<0 | 1>(0, 1);
    const op: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 12,
        arbitrary: fc
          .tuple(dir, piece, fc.boolean())
          .map(([d, bytes, buffer]): Op => ({ kind: 'data', dir: d, bytes, buffer })),
      },
      { weight: 1, arbitrary: dir.map((d): Op => ({ kind: 'gap', dir: d })) },
      { weight: 1, arbitrary: dir.map((d): Op => ({ kind: 'end', dir: d })) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), limits, (ops, lim) => {
        const a = new RecordingSink();
        const b = new RecordingSink();
        const mine = new Hl7Session(a, lim);
        const theirs = new RefSession(b, lim);
        let ts = 0;
        for (const o of ops) {
          ts += 1500;
          if (o.kind === 'data') {
            // each session gets its own copy, scribbled over afterwards: neither may keep a view of its input
            const x = asInput(o.bytes.slice(), o.buffer);
            const y = o.bytes.slice();
            mine.onData(o.dir, x, ts);
            theirs.onData(o.dir, y, ts);
            x.fill(0x41);
            y.fill(0x41);
          } else if (o.kind === 'gap') {
            mine.onGap(o.dir, 10, ts);
            theirs.onGap(o.dir, 10, ts);
          } else {
            mine.onEnd(o.dir, ts);
            theirs.onEnd(o.dir, ts);
          }
          expect(mine.bufferedBytes()).toBe(theirs.bufferedBytes());
        }
        expect(a.out).toEqual(b.out);
        expect([a.confirmed, a.violations]).toEqual([b.confirmed, b.violations]);
        expect(mine.stats).toEqual(theirs.stats);
      }),
      { seed: 7, numRuns: 1500 },
    );
  });
});
