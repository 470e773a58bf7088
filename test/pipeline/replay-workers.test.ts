// `replay --workers N` in pieces: the shard of a frame (checked against the decoder's own reading of the addresses),
// the merge order, the wait for a slower worker, the summed statistics, and a worker that fails.
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FrameSlot, LinkType, type RawFrame } from '../../agent/capture/types.js';
import { readEngineInputs } from '../../agent/engine-inputs.js';
import { Decoder } from '../../agent/decode/decoder.js';
import { flowShard, ipPairKey } from '../../agent/decode/flow-shard.js';
import { createPacket } from '../../agent/decode/packet.js';
import { replayFiles, type PipelineStats } from '../../agent/pipeline.js';
import { DONE, slowestBehind, type OutputRecord } from '../../agent/replay-shard.js';
import {
  OrderedMerge,
  replayInWorkers,
  ReplayWorkerError,
  sumPipelineStats,
} from '../../agent/replay-workers.js';
import { arp, eth, ipv4, ipv6, mpls, nullHeader, sll, sll2, tcp, udp } from '../decode/builders.js';
import { FIXTURES } from '../helpers/paths.js';

function frame(linkType: number, data: Uint8Array, ts = 1_700_000_000_000_000, index = 1): RawFrame {
  return { index, ts, linkType, origLen: data.length, data, ifIndex: 0 };
}

const ipv4Text = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join('.'));
const ipv6Text = fc
  .array(fc.nat(0xffff), { minLength: 8, maxLength: 8 })
  .map((w) => w.map((x) => x.toString(16)).join(':'));

/** An IP packet from a to b in one of the link framings the shard peeks through. */
const framings = (ip: Uint8Array, v6: boolean): fc.Arbitrary<RawFrame> => {
  const type = v6 ? 0x86dd : 0x0800;
  return fc.oneof(
    fc.constant(frame(LinkType.ETHERNET, eth({ type }, ip))),
    fc
      .array(fc.nat(4094), { minLength: 1, maxLength: 3 })
      .map((vids) => frame(LinkType.ETHERNET, eth({ type, tags: vids.map((vid) => ({ vid })) }, ip))),
    fc
      .array(fc.nat(0xfffff), { minLength: 1, maxLength: 3 })
      .map((labels) => frame(LinkType.ETHERNET, eth({ type: 0x8847 }, mpls(labels, ip)))),
    fc.constant(frame(LinkType.LINUX_SLL, sll(type, ip))),
    fc.constant(frame(LinkType.LINUX_SLL2, sll2(type, ip))),
    fc.constant(frame(LinkType.NULL, nullHeader(v6 ? 30 : 2, ip))),
    fc.constant(frame(LinkType.RAW, ip)),
  );
};

const tcpBetween = (src: string, dst: string, sport: number, dport: number, v6: boolean): Uint8Array =>
  v6
    ? ipv6({ src, dst, next: 6 }, tcp({ sport, dport }))
    : ipv4({ src, dst, proto: 6 }, tcp({ sport, dport }));

/** A TCP segment between two random hosts (IPv4 or IPv6) in any of the framings. */
const tcpFrames: fc.Arbitrary<RawFrame> = fc
  .boolean()
  .chain((v6) =>
    fc
      .tuple(v6 ? ipv6Text : ipv4Text, v6 ? ipv6Text : ipv4Text, fc.nat(65535), fc.nat(65535))
      .chain(([a, b, sp, dp]) => framings(tcpBetween(a, b, sp, dp, v6), v6)),
  );

describe('flowShard', () => {
  it('keys a frame on the addresses the decoder reads, whatever the framing (IPv4 and IPv6)', () => {
    const decoder = new Decoder();
    const pkt = createPacket();
    fc.assert(
      fc.property(tcpFrames, (f) => {
        expect(decoder.decode(f, pkt)).toBe('ok');
        let want = 0;
        for (let i = 0; i < pkt.src.length; i += 4) {
          const word = (s: Uint8Array): number =>
            (((s[i] ?? 0) << 24) | ((s[i + 1] ?? 0) << 16) | ((s[i + 2] ?? 0) << 8) | (s[i + 3] ?? 0)) >>> 0;
          want ^= word(pkt.src) ^ word(pkt.dst);
        }
        expect(ipPairKey(f)).toBe(want >>> 0);
      }),
      { numRuns: 400 },
    );
  });

  it('reads a frame in place in the reader buffer (FrameSlot) as it reads the same bytes alone, never past its end', () => {
    fc.assert(
      fc.property(
        tcpFrames,
        fc.uint8Array({ maxLength: 40 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.nat(80),
        (f, before, after, cut) => {
          const len = Math.max(0, f.data.length - cut);
          const buffer = new Uint8Array([...before, ...f.data, ...after]);
          const slot = new FrameSlot();
          slot.linkType = f.linkType;
          slot.point(buffer, before.length, len);
          expect(ipPairKey(slot)).toBe(ipPairKey(frame(f.linkType, f.data.subarray(0, len))));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('sends both directions, every port pair and every fragment of two hosts to one worker', () => {
    fc.assert(
      fc.property(
        ipv4Text,
        ipv4Text,
        fc.nat(65535),
        fc.nat(65535),
        fc.integer({ min: 2, max: 64 }),
        (a, b, sp, dp, n) => {
          const there = flowShard(
            frame(LinkType.ETHERNET, eth({ type: 0x0800 }, tcpBetween(a, b, sp, dp, false))),
            n,
          );
          const back = flowShard(
            frame(LinkType.ETHERNET, eth({ type: 0x0800 }, tcpBetween(b, a, dp, sp, false))),
            n,
          );
          const fragment = flowShard(
            frame(
              LinkType.ETHERNET,
              eth({ type: 0x0800 }, ipv4({ src: a, dst: b, proto: 17, fragOffset: 1480 }, new Uint8Array(8))),
            ),
            n,
          );
          const otherPorts = flowShard(frame(LinkType.RAW, ipv4({ src: b, dst: a, proto: 17 }, udp({}))), n);
          expect(there).toBeGreaterThanOrEqual(0);
          expect(there).toBeLessThan(n);
          expect(new Set([there, back, fragment, otherPorts]).size).toBe(1);
        },
      ),
    );
  });

  it('spreads the host pairs of one subnet over the workers', () => {
    const counts = [0, 0, 0];
    for (let i = 1; i < 255; i++) {
      const f = frame(LinkType.RAW, tcpBetween('10.20.40.10', `10.20.30.${i}`, 40000, 104, false));
      counts[flowShard(f, 3)]!++;
    }
    // 254 pairs over 3 workers: each gets a fair part (an even split is 84 or 85).
    for (const c of counts) expect(c).toBeGreaterThan(50);
  });

  it('sends what is not IP, or too short to tell, to worker 0', () => {
    expect(flowShard(frame(LinkType.ETHERNET, eth({ type: 0x0806 }, arp())), 4)).toBe(0);
    expect(flowShard(frame(LinkType.ETHERNET, eth({ type: 0x0800 }, Uint8Array.of(0x45, 0))), 4)).toBe(0);
    expect(flowShard(frame(147, tcpBetween('10.0.0.1', '10.0.0.2', 1, 2, false)), 4)).toBe(0);
    expect(ipPairKey(frame(LinkType.ETHERNET, eth({ type: 0x0800 }, new Uint8Array(0))))).toBe(-1);
  });

  it('never throws and stays in range on random bytes of any link type', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0, 1, 12, 14, 101, 108, 113, 147, 228, 229, 276),
        fc.uint8Array({ maxLength: 120 }),
        fc.integer({ min: 1, max: 64 }),
        (link, data, n) => {
          const w = flowShard(frame(link, data), n);
          expect(Number.isInteger(w) && w >= 0 && w < n).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('the merge', () => {
  const rec = (seq: number, line: string): OutputRecord => ({ seq, line });
  const lines = (rs: readonly OutputRecord[]): string[] => rs.map((r) => r.line);

  it('writes only what every worker has answered for, by input position, ties by worker', () => {
    const m = new OrderedMerge(3);
    m.add(0, [rec(1, 'a'), rec(4, 'b')], 5);
    m.add(1, [rec(2, 'd'), rec(4, 'x'), rec(4, 'x2')], 6);
    // Worker 2 has not answered yet: nothing can go.
    expect(m.take()).toEqual([]);
    m.add(2, [rec(0, 'e'), rec(0, 'e2')], 3);
    expect(lines(m.take())).toEqual(['e', 'e2', 'a', 'd']);
    m.add(2, [rec(4, 'y')], 9);
    expect(lines(m.take())).toEqual(['b', 'x', 'x2', 'y']);
    m.add(0, [rec(9, 'c')], 9);
    m.add(1, [], 9);
    expect(lines(m.take())).toEqual(['c']);
    expect(m.take()).toEqual([]);
  });

  it('gives every record once, in the order of one sorted stream, however the answers are cut', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((n) =>
          fc.tuple(
            fc.constant(n),
            // Per worker: sorted positions; the answers cut them into pieces at random points.
            fc.array(
              fc.array(fc.nat(200), { maxLength: 30 }).map((xs) => xs.sort((x, y) => x - y)),
              {
                minLength: n,
                maxLength: n,
              },
            ),
            fc.array(fc.nat(3), { maxLength: 200 }),
          ),
        ),
        ([n, streams, order]) => {
          const m = new OrderedMerge(n);
          const got: OutputRecord[] = [];
          const next = streams.map(() => 0);
          const tag = (w: number, i: number, seq: number): OutputRecord => ({ seq, line: `${w}:${i}` });
          // Workers answer in a random interleaving, each a random number of its records at a time.
          for (const pick of order) {
            const w = pick % n;
            const s = streams[w] as number[];
            const from = next[w] as number;
            const to = Math.min(s.length, from + 1 + (pick % 3));
            const part = s.slice(from, to).map((seq, k) => tag(w, from + k, seq));
            next[w] = to;
            // Answered up to just below the next record (or the last one, at the end of its stream).
            const upTo = to < s.length ? (s[to] as number) - 1 : 1000;
            m.add(w, part, upTo);
            got.push(...m.take());
          }
          streams.forEach((s, w) => {
            const from = next[w] as number;
            m.add(
              w,
              s.slice(from).map((seq, k) => tag(w, from + k, seq)),
              1000,
            );
          });
          got.push(...m.take());
          const want = streams
            .flatMap((s, w) => s.map((seq, i) => ({ seq, line: `${w}:${i}`, w })))
            .sort((x, y) => x.seq - y.seq || x.w - y.w);
          expect(got.map((r) => r.line)).toEqual(want.map((r) => r.line));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('waiting for the slowest worker', () => {
  it('names the slowest other worker only when this one is more than the allowed chunks ahead', () => {
    const p = new Int32Array([10, 3, 7, 0]);
    expect(slowestBehind(p, 3, 0, 10, 4)).toEqual({ slot: 1, value: 3 });
    expect(slowestBehind(p, 3, 0, 7, 4)).toBeNull();
    // A worker that has read everything holds nobody back.
    p[1] = DONE;
    expect(slowestBehind(p, 3, 0, 10, 4)).toBeNull();
    expect(slowestBehind(p, 3, 0, 12, 4)).toEqual({ slot: 2, value: 7 });
  });
});

describe('summed statistics', () => {
  it('add up two pipelines as one summary', async () => {
    const a = await replayFiles([path.join(FIXTURES, 'dicom/store.pcap')], {}, {});
    const b = await replayFiles([path.join(FIXTURES, 'scenarios/mqtt-anonymous.pcap')], {}, {});
    const sum = sumPipelineStats([a, b])!;
    expect(sum.packets).toBe(a.packets + b.packets);
    expect(sum.bytes).toBe(a.bytes + b.bytes);
    expect(sum.flows).toBe(a.flows + b.flows);
    expect(sum.firstTs).toBe(Math.min(a.firstTs, b.firstTs));
    expect(sum.lastTs).toBe(Math.max(a.lastTs, b.lastTs));
    for (const proto of ['dicom', 'mqtt']) {
      const count = (s: PipelineStats): number =>
        Object.values(s.protocols.messages[proto] ?? {}).reduce((x, y) => x + y, 0);
      expect(count(sum)).toBe(count(a) + count(b));
    }
    // The first summary is not changed by the sum.
    expect(a.packets).toBeLessThan(sum.packets);
    expect(sumPipelineStats([])).toBeNull();
  });
});

describe('inputs that do not load', () => {
  it('end the replay with their error before any packet, the started workers stopped', async () => {
    const lines: string[] = [];
    const run = replayInWorkers(
      [path.join(FIXTURES, 'scenarios/normal.pcap')],
      {
        workers: 2,
        readInputs: () => readEngineInputs({ rules: path.join(FIXTURES, 'no-such-rules-dir') }),
        agentId: 'test',
        format: 'jsonl',
        events: false,
        flows: false,
      },
      { onLine: (l) => lines.push(l) },
    );
    await expect(run).rejects.toThrow(/no-such-rules-dir: rules directory not found/);
    expect(lines).toEqual([]);
  });
});

describe('a worker that fails', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ww-replay-workers-'));
  const capture = path.join(FIXTURES, 'scenarios/normal.pcap');
  const options = (workerUrl: URL) => ({
    workers: 2,
    readInputs: () => readEngineInputs({ useRules: false }),
    agentId: 'test',
    format: 'jsonl' as const,
    events: false,
    flows: false,
    workerUrl,
  });

  it.each([
    [
      'throws when started',
      "parentPort.on('message', () => { throw new Error('boom in a worker'); });",
      /boom in a worker/,
    ],
    [
      'exits without a word',
      "parentPort.on('message', () => process.exit(7));",
      /exited \(status 7\) before the end/,
    ],
    [
      'says it cannot start',
      "parentPort.postMessage({ type: 'error', message: 'rules did not load' });",
      /rules did not load/,
    ],
  ])('is reported when it %s, and the replay ends (no hang)', async (_what, body, message) => {
    const file = path.join(dir, `${_what.replace(/\W+/g, '-')}.mjs`);
    writeFileSync(file, `import { parentPort } from 'node:worker_threads';\n${body}\n`);
    const lines: string[] = [];
    const run = replayInWorkers([capture], options(new URL(`file://${file}`)), {
      onLine: (l) => lines.push(l),
    });
    await expect(run).rejects.toBeInstanceOf(ReplayWorkerError);
    await expect(run).rejects.toThrow(message);
    await expect(run).rejects.toThrow(/replay worker [01]: /);
    expect(lines).toEqual([]);
  });
});
