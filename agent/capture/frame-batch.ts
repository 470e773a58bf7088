// Frames packed into one transferable ArrayBuffer (`replay --workers N`): the reading thread hands a worker
// thousands of frames in one postMessage, without a copy on the way (the buffer's ownership moves).
import { FrameSlot, type RawFrame } from './types.js';

/** seq f64, ts f64, caplen u32, origLen u32, linkType u32, index u32; data follows, padded to 8 bytes. */
const RECORD_HEADER = 32;

/** One packed batch: `count` records in the first `bytes` bytes of `buffer`. */
export interface FrameBatch {
  buffer: ArrayBuffer;
  count: number;
  bytes: number;
}

/**
 * Packs frames with their sequence number in the input (the merge of the workers' output orders by it). The
 * buffer is allocated once per batch and given away by `take()`; a frame that does not fit is refused (`add`
 * returns false) so the caller sends the batch and adds it again.
 */
export class FrameBatchWriter {
  private buffer: ArrayBuffer | null = null;
  private view: DataView | null = null;
  private u8: Uint8Array | null = null;
  private count = 0;
  private bytes = 0;

  /** `capacity` must hold the largest frame plus its header (the reader caps frames at 256 KiB). */
  constructor(readonly capacity: number) {}

  get frames(): number {
    return this.count;
  }

  add(frame: RawFrame, seq: number): boolean {
    const caplen = frame.data.length;
    const size = RECORD_HEADER + ((caplen + 7) & ~7);
    if (this.bytes + size > this.capacity) return false;
    if (!this.buffer) {
      this.buffer = new ArrayBuffer(this.capacity);
      this.view = new DataView(this.buffer);
      this.u8 = new Uint8Array(this.buffer);
    }
    const v = this.view as DataView;
    const at = this.bytes;
    v.setFloat64(at, seq, true);
    v.setFloat64(at + 8, frame.ts, true);
    v.setUint32(at + 16, caplen, true);
    v.setUint32(at + 20, frame.origLen >>> 0, true);
    v.setUint32(at + 24, frame.linkType >>> 0, true);
    v.setUint32(at + 28, frame.index >>> 0, true);
    (this.u8 as Uint8Array).set(frame.data, at + RECORD_HEADER);
    this.bytes += size;
    this.count++;
    return true;
  }

  /** The batch so far (null when empty); the writer starts a new buffer at the next `add`. */
  take(): FrameBatch | null {
    if (!this.buffer || this.count === 0) return null;
    const batch = { buffer: this.buffer, count: this.count, bytes: this.bytes };
    this.buffer = null;
    this.view = null;
    this.u8 = null;
    this.count = 0;
    this.bytes = 0;
    return batch;
  }
}

/**
 * Calls `onFrame` for each frame of a batch with one reused RawFrame (its data a view into the batch, valid during
 * the call). A record running past `bytes` ends the batch: it was built by us, so that is a bug, counted by the
 * caller from the return value (frames delivered).
 */
export function readFrameBatch(batch: FrameBatch, onFrame: (frame: RawFrame, seq: number) => void): number {
  const limit = Math.min(batch.bytes, batch.buffer.byteLength);
  const v = new DataView(batch.buffer, 0, limit);
  const u8 = new Uint8Array(batch.buffer, 0, limit);
  const frame = new FrameSlot();
  let at = 0;
  let delivered = 0;
  while (delivered < batch.count && at + RECORD_HEADER <= limit) {
    const caplen = v.getUint32(at + 16, true);
    const end = at + RECORD_HEADER + caplen;
    if (end > limit) break;
    const seq = v.getFloat64(at, true);
    frame.ts = v.getFloat64(at + 8, true);
    frame.origLen = v.getUint32(at + 20, true);
    frame.linkType = v.getUint32(at + 24, true);
    frame.index = v.getUint32(at + 28, true);
    frame.point(u8, at + RECORD_HEADER, caplen);
    onFrame(frame, seq);
    delivered++;
    at += RECORD_HEADER + ((caplen + 7) & ~7);
  }
  return delivered;
}
