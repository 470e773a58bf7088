// Fuzzing the DICOM parsers and session with fast-check (fixed seed, bounded runs), seeded from our committed corpus of real dcmtk streams.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type DicomLimits } from '../../../agent/protocols/dicom/constants.js';
import { parseCommandSet, parseIdentifier, parsePdu } from '../../../agent/protocols/dicom/parse.js';
import { probeDicom } from '../../../agent/protocols/dicom/index.js';
import { FIXTURES } from '../../helpers/paths.js';
import {
  abort,
  associateAc,
  associateRq,
  commandSet,
  concat,
  CT_STORAGE,
  EXPLICIT,
  pdata,
  releaseRp,
  releaseRq,
} from './builders.js';
import { readTcpSegments, streamBytes } from './pcap-streams.js';
import { newSession } from './sink.js';

const CORPUS = path.join(path.dirname(new URL(import.meta.url).pathname), 'corpus');

/** The seed corpus: both directions of our own fixture streams, plus builder-made sessions. */
function buildCorpus(): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const name of ['echo', 'find', 'move', 'reject', 'abort']) {
    const streams = streamBytes(readTcpSegments(path.join(FIXTURES, 'dicom', `${name}.pcap`)));
    for (const [id, [client, server]] of streams) {
      out.set(`${name}-${id}-client.bin`, client);
      out.set(`${name}-${id}-server.bin`, server);
    }
  }
  out.set(
    'builder-identity-client.bin',
    concat(
      associateRq({
        userIdentity: { type: 2, primary: 'u', secondary: 'p' },
        roles: [{ uid: CT_STORAGE, scu: 1, scp: 0 }],
        async: [3, 3],
        rq: [{ id: 1, abstract: CT_STORAGE, ts: [EXPLICIT] }],
      }),
      pdata({
        ctx: 1,
        ctl: 3,
        data: commandSet({
          field: 1,
          messageId: 1,
          affectedClass: CT_STORAGE,
          affectedInstance: '1.2.3',
          dataSet: true,
        }),
      }),
      pdata({ ctx: 1, ctl: 0, data: new Uint8Array(64) }, { ctx: 1, ctl: 2, data: new Uint8Array(32) }),
      releaseRq(),
    ),
  );
  out.set(
    'builder-identity-server.bin',
    concat(
      associateAc({ ac: [{ id: 1, result: 0, ts: EXPLICIT }], userIdentityAc: 'ok' }),
      pdata({ ctx: 1, ctl: 3, data: commandSet({ field: 0x8001, respondedTo: 1, status: 0 }) }),
      releaseRp(),
      abort(2, 1),
    ),
  );
  return out;
}

describe('DICOM seed corpus', () => {
  it('is committed and equals what our fixtures and builders produce', () => {
    const want = buildCorpus();
    if (process.env.UPDATE_DICOM_CORPUS === '1') {
      mkdirSync(CORPUS, { recursive: true });
      for (const [name, b] of want) writeFileSync(path.join(CORPUS, name), b);
    }
    expect(existsSync(CORPUS)).toBe(true);
    expect(readdirSync(CORPUS).sort()).toEqual([...want.keys()].sort());
    for (const [name, b] of want)
      expect(Buffer.compare(readFileSync(path.join(CORPUS, name)), Buffer.from(b)), name).toBe(0);
  });
});

function loadPairs(): [Uint8Array, Uint8Array][] {
  const files = existsSync(CORPUS) ? readdirSync(CORPUS) : [];
  return files
    .filter((f) => f.endsWith('-client.bin'))
    .map((f) => {
      const server = path.join(CORPUS, f.replace('-client.bin', '-server.bin'));
      return [
        new Uint8Array(readFileSync(path.join(CORPUS, f))),
        existsSync(server) ? new Uint8Array(readFileSync(server)) : new Uint8Array(0),
      ];
    });
}

const SMALL: DicomLimits = {
  ...DEFAULT_LIMITS,
  maxPduLength: 4096,
  maxCommandLength: 512,
  maxIdentifierLength: 512,
  maxPdataLength: 8192,
};
/** Everything a session may hold for both directions under SMALL (body, command, identifier, headers, resync tail). */
const BUFFER_BOUND =
  2 * (SMALL.maxPduLength + 6 + SMALL.maxCommandLength + SMALL.maxIdentifierLength + 6 + 12);

type Mutation = { at: number; kind: 'flip' | 'set' | 'cut' | 'dup'; value: number };

function mutate(b: Uint8Array, muts: Mutation[]): Uint8Array {
  let out = b;
  for (const m of muts) {
    if (out.length === 0) break;
    const at = m.at % out.length;
    if (m.kind === 'flip') {
      out = out.slice();
      out[at] = (out[at] ?? 0) ^ (1 << (m.value & 7));
    } else if (m.kind === 'set') {
      out = out.slice();
      out[at] = m.value & 0xff;
    } else if (m.kind === 'cut')
      out = concat(out.subarray(0, at), out.subarray(Math.min(out.length, at + (m.value & 63) + 1)));
    else
      out = concat(
        out.subarray(0, at),
        out.subarray(at, Math.min(out.length, at + (m.value & 63) + 1)),
        out.subarray(at),
      );
  }
  return out;
}

const mutationArb = fc.array(
  fc.record({
    at: fc.nat(),
    kind: fc.constantFrom<Mutation['kind']>('flip', 'set', 'cut', 'dup'),
    value: fc.nat(255),
  }),
  { maxLength: 6 },
);

describe('DICOM fuzz', () => {
  const pairs = loadPairs();

  it('session: mutated corpus streams, random chunking and gaps, both directions interleaved', () => {
    expect(pairs.length).toBeGreaterThan(4);
    fc.assert(
      fc.property(
        fc.nat(pairs.length - 1),
        mutationArb,
        mutationArb,
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 12 }),
        fc.option(fc.record({ at: fc.nat(), len: fc.integer({ min: 1, max: 3000 }) }), { nil: undefined }),
        (idx, m0, m1, sizes, gap) => {
          const [c, s] = pairs[idx]!;
          const streams: [Uint8Array, Uint8Array] = [mutate(c, m0), mutate(s, m1)];
          const { s: session, sink } = newSession(SMALL);
          const pos = [0, 0];
          let turn = 0;
          let k = 0;
          let gapDone = false;
          while (pos[0]! < streams[0].length || pos[1]! < streams[1].length) {
            const dir = (pos[turn]! < streams[turn]!.length ? turn : 1 - turn) as 0 | 1;
            const b = streams[dir];
            const size = sizes[k++ % sizes.length]!;
            if (gap && !gapDone && dir === 0 && pos[0]! >= gap.at % Math.max(1, b.length)) {
              gapDone = true;
              session.onGap(0, gap.len, k);
              pos[0] = Math.min(b.length, pos[0]! + gap.len);
              continue;
            }
            session.onData(dir, b.subarray(pos[dir]!, pos[dir]! + size), k);
            pos[dir] = Math.min(b.length, pos[dir]! + size);
            expect(session.bufferedBytes()).toBeLessThanOrEqual(BUFFER_BOUND);
            turn = 1 - turn;
          }
          session.onEnd(0, k);
          session.onEnd(1, k);
          expect(sink.confirmed).toBeLessThanOrEqual(1);
          expect(() => JSON.stringify(sink.events)).not.toThrow();
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });

  it('session: random bytes never throw and stay under the caps', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom<0 | 1>(0, 1), fc.uint8Array({ maxLength: 600 })), {
          maxLength: 20,
        }),
        (chunks) => {
          const { s } = newSession(SMALL);
          for (const [dir, b] of chunks) {
            s.onData(dir, b, 1);
            expect(s.bufferedBytes()).toBeLessThanOrEqual(BUFFER_BOUND);
          }
          s.onEnd(0, 2);
          s.onEnd(1, 2);
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });

  it('pure parsers: never throw, consumed within the input', () => {
    const seeds = pairs.flatMap(([c, s]) => [c, s]).filter((b) => b.length > 0);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 400 }),
          fc.tuple(fc.nat(seeds.length - 1), mutationArb, fc.nat()).map(([i, m, off]) => {
            const b = mutate(seeds[i]!, m);
            return b.subarray(off % Math.max(1, b.length));
          }),
        ),
        (b) => {
          const r = parsePdu(b, 0, SMALL);
          if (r.ok) expect(r.consumed).toBeLessThanOrEqual(b.length);
          const c = parseCommandSet(b, 0, b.length);
          if (c.ok) expect(c.consumed).toBe(b.length);
          for (const enc of ['implicit_le', 'explicit_le'] as const)
            parseIdentifier(b, 0, b.length, enc, SMALL);
          expect(['match', 'no', 'need_more']).toContain(probeDicom(0, b));
        },
      ),
      { seed: 42, numRuns: 400 },
    );
  });
});
