// Test helpers for the HL7 analyzer: run a byte stream through a session in chunks, read the seed corpus.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hl7Session } from '../../../agent/protocols/hl7/session.js';
import type { Hl7Limits } from '../../../agent/protocols/hl7/constants.js';
import type { Direction } from '../../../agent/protocols/types.js';
import { RecordingSink, type Recorded } from './builders.js';

export const CORPUS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'corpus');

export function readCorpus(): { name: string; bytes: Uint8Array }[] {
  return readdirSync(CORPUS_DIR)
    .filter((f) => f.endsWith('.bin'))
    .sort()
    .map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(path.join(CORPUS_DIR, f))) }));
}

/** Feeds `bytes` in direction `dir` cut at `cuts` (sorted offsets), then ends the stream; returns what was emitted. */
export function feedSplit(
  bytes: Uint8Array,
  cuts: readonly number[],
  opts: { dir?: Direction; limits?: Partial<Hl7Limits>; end?: boolean } = {},
): { out: Recorded[]; maxBuffered: number; session: Hl7Session } {
  const sink = new RecordingSink();
  const session = new Hl7Session(sink, opts.limits ?? {});
  const dir = opts.dir ?? 0;
  let prev = 0;
  let maxBuffered = 0;
  for (const c of [...cuts, bytes.length]) {
    if (c < prev) continue;
    // a fresh copy per chunk, then scribbled over: the session must not keep views of its input
    const chunk = bytes.slice(prev, c);
    session.onData(dir, chunk, 1_000_000);
    chunk.fill(0x41);
    maxBuffered = Math.max(maxBuffered, session.bufferedBytes());
    prev = c;
  }
  if (opts.end !== false) session.onEnd(dir, 1_000_000);
  return { out: sink.out, maxBuffered, session };
}
