// Hostile frames through the whole agent pipeline (decode, flows, reassembly, detection, analyzers, engine):
// nothing throws out of it, and what it holds stays under its caps.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RawFrame } from '../../agent/capture/types.js';
import { LinkType } from '../../agent/capture/types.js';
import { loadRules } from '../../agent/engine/rules/rules.js';
import { Pipeline } from '../../agent/pipeline.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { eth, ipv4, tcp, text } from '../decode/builders.js';
import path from 'node:path';

const RULES = loadRules(path.join(REPO_ROOT, 'rules'));
const SERVER_PORTS = [104, 11112, 2575, 1883, 6661, 5000];
/** Starts of real protocol messages, so that analyzers attach and then see hostile continuations. */
const SEEDS = [
  text('\x0bMSH|^~\\&|A|B|C|D|20260101||ORU^R01|1|P|2.5\rPID|1||X\r\x1c\r'),
  Uint8Array.from([
    0x10, 0x10, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x04, 0x74, 0x65, 0x73,
    0x74,
  ]),
  Uint8Array.from([
    0x01,
    0x00,
    0x00,
    0x00,
    0x00,
    0x44,
    0x00,
    0x01,
    0x00,
    0x00,
    ...text('PACS_MAIN       CT01            '),
    ...new Uint8Array(32),
  ]),
];

function frameOf(data: Uint8Array, index: number, ts: number): RawFrame {
  return { index, ts, linkType: LinkType.ETHERNET, origLen: data.length, data, ifIndex: 0 };
}

describe('pipeline under hostile input', () => {
  it('random bytes as frames of every link type never throw', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.constantFrom(0, 1, 101, 113, 228, 229, 276), fc.uint8Array({ maxLength: 300 })),
          { maxLength: 60 },
        ),
        (frames) => {
          const p = new Pipeline({ rules: RULES }, {});
          frames.forEach(([linkType, data], i) =>
            p.onFrame({ ...frameOf(data, i + 1, 1e15 + i * 1000), linkType }),
          );
          p.finish();
          expect(p.stats().packets).toBe(frames.length);
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });

  it('TCP sessions whose payloads start like a protocol and continue as garbage never throw, and buffers stay capped', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SERVER_PORTS),
        fc.constantFrom(...SEEDS),
        fc.array(
          fc.tuple(
            fc.boolean(),
            fc.uint8Array({ minLength: 1, maxLength: 1400 }),
            fc.integer({ min: -3000, max: 3000 }),
          ),
          {
            maxLength: 40,
          },
        ),
        (port, seed, segments) => {
          const p = new Pipeline({ rules: RULES }, {});
          const seq = [1000, 9000];
          let ts = 1e15;
          let i = 0;
          const send = (fromClient: boolean, payload: Uint8Array, jitter = 0, flags = 0x18): void => {
            const d = fromClient ? 0 : 1;
            const frame = eth(
              { type: 0x0800 },
              ipv4(
                {
                  src: fromClient ? '10.20.30.17' : '10.20.40.10',
                  dst: fromClient ? '10.20.40.10' : '10.20.30.17',
                  proto: 6,
                },
                tcp(
                  {
                    sport: fromClient ? 40000 : port,
                    dport: fromClient ? port : 40000,
                    seq: ((seq[d] ?? 0) + jitter) >>> 0,
                    ack: seq[1 - d] ?? 0,
                    flags,
                  },
                  payload,
                ),
              ),
            );
            p.onFrame(frameOf(frame, ++i, (ts += 1000)));
            if (jitter === 0) seq[d] = ((seq[d] ?? 0) + payload.length + (flags & 0x03 ? 1 : 0)) >>> 0;
          };
          send(true, new Uint8Array(0), 0, 0x02);
          send(false, new Uint8Array(0), 0, 0x12);
          send(true, seed);
          for (const [fromClient, payload, jitter] of segments)
            send(fromClient, payload, Math.abs(jitter) < 2000 ? 0 : jitter);
          // What the flow table and analyzers hold is bounded whatever came in.
          expect(p.flows.heldBytes).toBeLessThanOrEqual(64 * 1024 * 1024);
          p.finish();
          const s = p.stats();
          expect(s.packets).toBe(i);
          expect(s.activeFlows).toBe(0);
        },
      ),
      { seed: 42, numRuns: 200 },
    );
  });
});
