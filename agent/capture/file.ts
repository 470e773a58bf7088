// Capture file source (I/O edge): streams a pcap/pcapng file, plain or gzip (RFC 1952), through CaptureParser, optionally paced.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGunzip } from 'node:zlib';
import { CaptureParser, type CaptureFormat, type CaptureLimits, type FrameCallback } from './reader.js';
import type { CaptureFormatError, RawFrame } from './types.js';
import { UserError } from '../wire/errors.js';

export interface ReadCaptureOptions {
  /** Replay pace: 1 = capture pace, 10 = ten times faster; absent = as fast as possible. */
  speed?: number;
  /** Aborting rejects the promise with `signal.reason` (an AbortError unless the caller gave another). */
  signal?: AbortSignal;
  /** Read size; 1 MiB by default. */
  chunkBytes?: number;
  limits?: Partial<CaptureLimits>;
  /** Called after each chunk with the capture bytes read so far (decompressed bytes for gzip input). */
  onProgress?: (bytesRead: number) => void;
  /** Called after each chunk; a promise it returns is awaited before the next chunk (the agent's full spool). */
  gate?: () => Promise<void> | null;
}

export interface ReadCaptureResult {
  frames: number;
  /** Captured bytes of all frames (what decode saw). */
  bytes: number;
  /** Bytes of the (decompressed) capture file. */
  fileBytes: number;
  format: CaptureFormat | null;
  gzip: boolean;
}

/**
 * Why a capture file could not be read to its end. The message is the one line the CLI prints:
 * `FILE: packet N at byte B: reason` for format faults (B counts decompressed bytes for gzip input),
 * `FILE: cannot read: reason` for I/O faults.
 */
export class CaptureFileError extends UserError {
  constructor(
    readonly file: string,
    readonly reason: string,
    readonly packet: number | null = null,
    readonly byteOffset: number | null = null,
  ) {
    super(
      packet === null
        ? `${file}: cannot read: ${reason}`
        : `${file}: packet ${packet} at byte ${byteOffset}: ${reason}`,
    );
    this.name = 'CaptureFileError';
  }

  static fromFormat(file: string, err: CaptureFormatError): CaptureFileError {
    return new CaptureFileError(file, err.reason, err.packet, err.byteOffset);
  }
}

/** Below this, a frame that is not yet due is delivered anyway: the pacer sleeps in batches, not per packet. */
const PACE_SLACK_MS = 4;
const DEFAULT_CHUNK = 1024 * 1024;

/** Maps packet time to wall time for `--speed`: how long to wait before a frame is due. */
export class Pacer {
  private t0 = -1;
  private w0 = 0;

  constructor(
    private readonly speed: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(speed > 0)) throw new Error(`speed must be a positive number, got ${speed}`);
  }

  /** Milliseconds to wait before delivering a frame with this packet time, or 0 when it is (nearly) due. */
  delayFor(tsMicros: number): number {
    if (this.t0 < 0) {
      this.t0 = tsMicros;
      this.w0 = this.now();
      return 0;
    }
    const due = this.w0 + (tsMicros - this.t0) / 1000 / this.speed;
    const wait = due - this.now();
    return wait > PACE_SLACK_MS ? wait : 0;
  }
}

function describeIoError(err: unknown): string {
  // "ENOENT: no such file or directory, open 'x'" → "ENOENT: no such file or directory": the caller names the file.
  if (err instanceof Error) return err.message.replace(/, \w+(?: '[^']*')?$/, '');
  return String(err);
}

/**
 * Read a capture file and call `onFrame` for every frame, in order (the RawFrame and its data are reused:
 * copy what you keep). Resolves with counts; rejects with a CaptureFileError after delivering every valid
 * frame that preceded a fault.
 */
export async function readCaptureFile(
  file: string,
  onFrame: (f: RawFrame) => void,
  opts: ReadCaptureOptions = {},
): Promise<ReadCaptureResult> {
  const { signal } = opts;
  signal?.throwIfAborted();
  const parser = new CaptureParser(opts.limits);
  const pacer = opts.speed === undefined ? null : new Pacer(opts.speed);
  let bytes = 0;
  let fileBytes = 0;
  let wait = 0;
  const deliver: FrameCallback = pacer
    ? (f) => {
        wait = pacer.delayFor(f.ts);
        if (wait > 0) return false;
        bytes += f.capLen ?? f.data.length;
        onFrame(f);
        return true;
      }
    : (f) => {
        bytes += f.capLen ?? f.data.length;
        onFrame(f);
      };

  const feed = async (chunk: Uint8Array): Promise<void> => {
    fileBytes += chunk.length;
    let err = parser.push(chunk, deliver);
    while (err === null && parser.paused) {
      await sleep(wait, undefined, signal ? { signal } : {});
      err = parser.resume(deliver);
    }
    if (err) throw CaptureFileError.fromFormat(file, err);
    opts.onProgress?.(fileBytes);
    const held = opts.gate?.();
    if (held) await held;
  };

  const chunkSize = opts.chunkBytes ?? DEFAULT_CHUNK;
  const gzip = await readPlainFile(file, chunkSize, feed, signal);
  if (gzip) {
    const source = createReadStream(file, { highWaterMark: chunkSize });
    const gunzip = createGunzip({ chunkSize });
    source.on('error', (err) => gunzip.destroy(err));
    source.pipe(gunzip);
    try {
      for await (const chunk of gunzip) {
        await feed(chunk as Buffer);
        signal?.throwIfAborted();
      }
    } catch (err) {
      if (err instanceof CaptureFileError || signal?.aborted) throw err;
      throw new CaptureFileError(file, `gzip: ${describeIoError(err)}`, parser.frames + 1, parser.offset);
    } finally {
      source.destroy();
      gunzip.destroy();
    }
  }
  const err = parser.end();
  if (err) throw CaptureFileError.fromFormat(file, err);
  return { frames: parser.frames, bytes, fileBytes, format: parser.format, gzip };
}

/** Feed a plain file to `feed`; returns true without feeding anything when the file is gzip-compressed. */
async function readPlainFile(
  file: string,
  chunkSize: number,
  feed: (chunk: Uint8Array) => Promise<void>,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw new CaptureFileError(file, describeIoError(err));
  }
  // Two buffers: the next chunk is read (on libuv's thread pool) while this one is parsed, so the pipeline does not
  // sit idle waiting on the disk (issue 12: 14 % of a replay was that wait). The parser copies what straddles a
  // chunk and frames are views valid only during their callback, so a buffer is free again once its feed returns.
  const bufs = [new Uint8Array(chunkSize), new Uint8Array(chunkSize)] as const;
  let inFlight: Promise<number> | null = null;
  const read = (buf: Uint8Array): Promise<number> => {
    const p = fh.read(buf, 0, buf.length, null).then(
      (r) => r.bytesRead,
      (err: unknown) => {
        throw new CaptureFileError(file, describeIoError(err));
      },
    );
    // Awaited below; a rejection while the current chunk is being parsed must not count as unhandled.
    p.catch(() => undefined);
    inFlight = p;
    return p;
  };
  try {
    let cur = 0;
    let n = await read(bufs[0]);
    if (n >= 2 && bufs[0][0] === 0x1f && bufs[0][1] === 0x8b) return true;
    while (n > 0) {
      const next = read(bufs[cur === 0 ? 1 : 0]);
      await feed(bufs[cur === 0 ? 0 : 1].subarray(0, n));
      signal?.throwIfAborted();
      n = await next;
      cur = cur === 0 ? 1 : 0;
    }
    return false;
  } finally {
    // A read still running (the feed failed or was aborted) finishes before its file handle closes.
    if (inFlight) await (inFlight as Promise<number>).catch(() => undefined);
    await fh.close();
  }
}
