// Shared by the analyzer throughput benches: byte concatenation, 1460-byte segmenting, a null sink and the timing loop.
import type { Analyzer, AnalyzerSink } from '../agent/protocols/types.js';

/** TCP segment size the benches feed analyzers with (a full Ethernet MSS). */
export const SEG = 1460;

export const NULL_SINK: AnalyzerSink = { event() {}, anomaly() {}, confirm() {}, violation() {} };

export function cat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Calls `fn` with consecutive `SEG`-byte views of `bytes` (a Buffer's views are Buffers). */
export function segments<T extends Uint8Array>(bytes: T, fn: (seg: T) => void): void {
  for (let o = 0; o < bytes.length; o += SEG) fn(bytes.subarray(o, o + SEG) as T);
}

/** Seconds taken by `rounds` calls of `feed`, after `warmup` untimed calls. */
export function time(rounds: number, warmup: number, feed: () => void): number {
  for (let i = 0; i < warmup; i++) feed();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) feed();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** The client and server byte streams of one connection and the protocol messages they carry. */
export interface Flow {
  client: Uint8Array;
  server: Uint8Array;
  messages: number;
}

export interface BenchResult {
  messagesPerSecond: number;
  mbPerSecond: number;
}

/** Timestamps given to the client data, the server data and both ends of the stream. */
export interface FeedTimes {
  client: number;
  server: number;
  end: number;
}

/**
 * Times a fresh analyzer per round fed the whole client stream then the whole server stream in `SEG`-byte
 * segments, then both ends; throughput in messages and megabytes per second.
 */
export function benchAnalyzer(
  flow: Flow,
  newSession: () => Analyzer,
  o: { rounds: number; warmup: number; ts: FeedTimes },
): BenchResult {
  const { client, server, messages } = flow;
  const { ts } = o;
  const sec = time(o.rounds, o.warmup, () => {
    const s = newSession();
    segments(client, (b) => s.onData(0, b, ts.client));
    segments(server, (b) => s.onData(1, b, ts.server));
    s.onEnd(0, ts.end);
    s.onEnd(1, ts.end);
  });
  return {
    messagesPerSecond: (messages * o.rounds) / sec,
    mbPerSecond: ((client.length + server.length) * o.rounds) / sec / 1e6,
  };
}
