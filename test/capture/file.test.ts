// readCaptureFile: chunked reads, gzip input, exact `FILE: packet N at byte B: reason` errors, abort, and the --speed pacer.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureFileError, Pacer, readCaptureFile } from '../../agent/capture/file.js';
import type { RawFrame } from '../../agent/capture/types.js';
import { concat } from '../decode/builders.js';
import { epb, idb, pcap, pcapRecord, shb } from './builders.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ww-capture-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, data: Uint8Array): string {
  const f = path.join(dir, name);
  writeFileSync(f, data);
  return f;
}

const pkt = (n: number, len = 100): Uint8Array => Uint8Array.from({ length: len }, (_, i) => (n + i) & 255);
const records = Array.from({ length: 50 }, (_, n) => ({
  sec: 1_700_000_000 + n,
  frac: n,
  data: pkt(n, 60 + n * 7),
}));
const file = pcap(records);

async function collect(
  f: string,
  opts = {},
): Promise<{ frames: [number, number, number][]; error: string | null }> {
  const frames: [number, number, number][] = [];
  try {
    await readCaptureFile(
      f,
      (fr: RawFrame) => {
        frames.push([fr.index, fr.ts, fr.data.reduce((a, b) => a + b, 0)]);
      },
      opts,
    );
    return { frames, error: null };
  } catch (err) {
    return { frames, error: (err as Error).message };
  }
}

describe('readCaptureFile', () => {
  it('reads a pcap whole and in small chunks, with the same frames and counts', async () => {
    const f = write('a.pcap', file);
    const whole = await collect(f);
    expect(whole.error).toBeNull();
    expect(whole.frames).toHaveLength(50);
    expect(await collect(f, { chunkBytes: 37 })).toEqual(whole);
    const res = await readCaptureFile(f, () => undefined);
    expect(res).toEqual({
      frames: 50,
      bytes: records.reduce((n, r) => n + r.data.length, 0),
      fileBytes: file.length,
      format: 'pcap',
      gzip: false,
    });
  });

  it('reads gzip input by its magic, whatever the file name', async () => {
    const plain = await collect(write('b.pcap', file));
    const gz = write('b.pcap.bin', gzipSync(file));
    expect(await collect(gz)).toEqual(plain);
    expect(await collect(gz, { chunkBytes: 64 })).toEqual(plain);
    const res = await readCaptureFile(gz, () => undefined);
    expect(res).toMatchObject({ frames: 50, gzip: true, fileBytes: file.length });
  });

  it('reads gzip pcapng', async () => {
    const ng = concat(
      shb(),
      idb({ tsresol: 9 }),
      epb(0, 1_500_000_000n, pkt(1)),
      epb(0, 2_500_000_000n, pkt(2)),
    );
    const r = await collect(write('c.pcapng.gz', gzipSync(ng)));
    expect(r.error).toBeNull();
    expect(r.frames.map((f) => f[1])).toEqual([1_500_000, 2_500_000]);
  });

  it('reports a truncated file after delivering every valid frame', async () => {
    const cut = file.subarray(0, file.length - 10);
    const f = write('cut.pcap', cut);
    for (const chunkBytes of [undefined, 50]) {
      const r = await collect(f, chunkBytes ? { chunkBytes } : {});
      expect(r.frames).toHaveLength(49);
      const lastStart = file.length - (16 + records[49]!.data.length);
      expect(r.error).toBe(
        `${f}: packet 50 at byte ${lastStart}: truncated record: needs ${16 + records[49]!.data.length} bytes, file ends after ${16 + records[49]!.data.length - 10}`,
      );
    }
    // the same through gzip: offsets count decompressed bytes
    const gz = write('cut.pcap.gz', gzipSync(cut));
    const r = await collect(gz);
    expect(r.frames).toHaveLength(49);
    expect(r.error).toMatch(
      new RegExp(`^${gz.replace(/[.]/g, '\\.')}: packet 50 at byte \\d+: truncated record`),
    );
  });

  it('reports wrong magic with the file name as given', async () => {
    const f = write('notes.txt', new TextEncoder().encode('hello world, not a capture'));
    expect((await collect(f)).error).toBe(`${f}: packet 1 at byte 0: unknown file format (magic 0x68656c6c)`);
  });

  it('reports an absurd record length after the valid frames', async () => {
    const bad = concat(
      pcap(records.slice(0, 3)),
      pcapRecord({ sec: 1, frac: 0, data: pkt(1), capLen: 5_000_000 }),
    );
    const f = write('absurd.pcap', bad);
    const r = await collect(f);
    expect(r.frames).toHaveLength(3);
    const at = bad.length - 116;
    expect(r.error).toBe(`${f}: packet 4 at byte ${at}: absurd record length 5000000 (limit 262144)`);
  });

  it('rejects with CaptureFileError carrying packet and offset', async () => {
    const f = write('empty.pcap', new Uint8Array(0));
    const err = await readCaptureFile(f, () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaptureFileError);
    expect(err).toMatchObject({
      file: f,
      packet: 1,
      byteOffset: 0,
      reason: 'empty file',
      message: `${f}: packet 1 at byte 0: empty file`,
    });
  });

  it('reports a broken gzip stream', async () => {
    const gz = gzipSync(file);
    const f = write('broken.gz', gz.subarray(0, gz.length - 30));
    const r = await collect(f);
    expect(r.error).toMatch(/: packet \d+ at byte \d+: gzip: unexpected end of file$/);
    expect(r.frames.length).toBeGreaterThan(0);
  });

  it('reports a missing file in one line', async () => {
    const f = path.join(dir, 'nope.pcap');
    expect((await collect(f)).error).toBe(`${f}: cannot read: ENOENT: no such file or directory`);
  });

  it('reports a directory in one line', async () => {
    expect((await collect(dir)).error).toBe(`${dir}: cannot read: EISDIR: illegal operation on a directory`);
  });

  it('honours an already aborted signal', async () => {
    const f = write('abort.pcap', file);
    const ac = new AbortController();
    ac.abort();
    await expect(readCaptureFile(f, () => undefined, { signal: ac.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });

  it('--speed waits for capture time: aborting during the wait stops before the late frame', async () => {
    // Two frames an hour apart at capture pace: the second is never due within this test.
    const f = write(
      'paced.pcap',
      pcap([
        { sec: 1000, frac: 0, data: pkt(1) },
        { sec: 4600, frac: 0, data: pkt(2) },
      ]),
    );
    const ac = new AbortController();
    const seen: number[] = [];
    const p = readCaptureFile(
      f,
      (fr) => {
        seen.push(fr.index);
        setImmediate(() => ac.abort());
      },
      { speed: 1, signal: ac.signal },
    );
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toEqual([1]);
  });

  it('--speed delivers every frame in order when they are due', async () => {
    const f = write(
      'paced2.pcap',
      pcap([0, 1, 2, 3].map((n) => ({ sec: 1000, frac: n * 1000, data: pkt(n) }))),
    );
    const r = await collect(f, { speed: 1000 });
    expect(r.frames.map((x) => x[0])).toEqual([1, 2, 3, 4]);
  });
});

describe('Pacer', () => {
  it('maps packet time to wall time divided by speed, and sleeps only in batches', () => {
    let now = 500;
    const p = new Pacer(10, () => now);
    expect(p.delayFor(1_000_000)).toBe(0); // first frame sets the origin
    expect(p.delayFor(1_020_000)).toBe(0); // 20 ms capture = 2 ms wall: within the batch slack
    expect(p.delayFor(2_000_000)).toBe(100); // 1 s capture = 100 ms wall at 10×
    now = 600;
    expect(p.delayFor(2_000_000)).toBe(0);
    expect(p.delayFor(1_500_000)).toBe(0); // time going backwards never waits
  });

  it('speed 1 is capture pace', () => {
    const now = 0;
    const p = new Pacer(1, () => now);
    p.delayFor(0);
    expect(p.delayFor(250_000)).toBe(250);
  });

  it('rejects a non-positive speed', () => {
    expect(() => new Pacer(0)).toThrow(/speed/);
    expect(() => new Pacer(Number.NaN)).toThrow(/speed/);
  });
});
