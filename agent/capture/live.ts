// Live capture through our libpcap binding (native/pcap): batches of frames with kernel timestamps, drop counters.
import { createRequire } from 'node:module';
import { FrameSlot, type RawFrame } from './types.js';
import { UserError } from '../wire/errors.js';

/** What the native binding exports (native/pcap/src/binding.c). */
interface PcapBinding {
  open(opts: {
    device: string;
    snaplen?: number;
    promisc?: boolean;
    bufferSize?: number;
    timeoutMs?: number;
    immediate?: boolean;
    filter?: string;
    queueBytes?: number;
    fanoutGroup?: number;
  }): unknown;
  start(handle: unknown, cb: (ab: ArrayBuffer, count: number, bytes: number, error?: string) => void): void;
  stop(handle: unknown): void;
  stats(handle: unknown): CaptureStats;
  linkType(handle: unknown): number;
  list(): InterfaceInfo[];
  version(): string;
  /** True when open() joins a PACKET_FANOUT group (Linux builds since fanout support); absent in older builds. */
  fanout?: boolean;
}

export interface CaptureStats {
  /** Packets the kernel handed to the capture (pcap_stats ps_recv). */
  received: number;
  /** Dropped by the kernel because the capture buffer was full (ps_drop). */
  dropped: number;
  /** Dropped by the interface or its driver (ps_ifdrop). */
  ifDropped: number;
  /** Dropped by us: both batch buffers full while the pipeline was busy. */
  queueDropped: number;
  queueDroppedBytes: number;
}

export interface InterfaceInfo {
  name: string;
  description: string;
  loopback: boolean;
  up: boolean;
  running: boolean;
  addresses: string[];
}

export interface LiveOptions {
  device: string;
  /** Bytes kept per packet (default 65535: the analyzers need whole payloads). */
  snaplen?: number;
  promisc?: boolean;
  /** Kernel ring buffer, bytes (default 32 MiB). */
  bufferSize?: number;
  /** BPF filter expression. */
  filter?: string;
  /** Deliver each packet at once instead of in kernel blocks (lower latency, more CPU). */
  immediate?: boolean;
  /** Our two batch buffers together, bytes (default 64 MiB): the bounded queue between capture and pipeline. */
  queueBytes?: number;
  /**
   * Join this kernel fanout group (PACKET_FANOUT, hash mode, 0..65535): every handle of the group on the device gets
   * a share of the packets by a symmetric flow hash. Linux only; elsewhere opening fails with EFANOUT.
   */
  fanoutGroup?: number;
}

/** How `agent --workers N` splits the traffic: the kernel's fanout hash, or one BPF filter per worker. */
export type ShareMode = 'hash' | 'bpf';
export const SHARE_MODES: readonly ShareMode[] = ['hash', 'bpf'];

/** A live-capture problem the user can fix; `code` says which (ENODEV, EPERM, EBPF, ENOBINDING, ...). */
export class LiveCaptureError extends UserError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'LiveCaptureError';
  }
}

let cached: PcapBinding | null | undefined;

/** The native binding, or null when it was not built (libpcap headers or a compiler missing at install). */
export function loadPcapBinding(): PcapBinding | null {
  if (cached !== undefined) return cached;
  try {
    cached = createRequire(import.meta.url)('wardwatch-pcap') as PcapBinding;
  } catch {
    cached = null;
  }
  return cached;
}

const NO_BINDING =
  'live capture needs the native binding, which was not built: install libpcap-dev, python3, make and g++, ' +
  'then run `npm rebuild wardwatch-pcap` (replaying files works without it)';

function requireBinding(): PcapBinding {
  const b = loadPcapBinding();
  if (!b) throw new LiveCaptureError('ENOBINDING', NO_BINDING);
  return b;
}

export function listInterfaces(): InterfaceInfo[] {
  return requireBinding().list();
}

function explain(device: string, code: string, detail: string): string {
  switch (code) {
    case 'ENODEV':
      return `--interface ${device}: no such capture device (see \`wardwatch interfaces\`)`;
    case 'EPERM':
    case 'EPERM_PROMISC':
      return (
        `--interface ${device}: permission denied: capturing needs the cap_net_raw capability ` +
        `(and cap_net_admin for promiscuous mode); run as root, or grant them: ` +
        `setcap cap_net_raw,cap_net_admin=eip "$(readlink -f "$(command -v node)")" (${detail})`
      );
    case 'EIFDOWN':
      return `--interface ${device}: the interface is down (${detail})`;
    case 'EBPF':
      return `--bpf: ${detail}`;
    case 'EFANOUT':
      return `--fanout hash on ${device}: ${detail}; use --fanout bpf`;
    default:
      return `--interface ${device}: ${detail}`;
  }
}

const RECORD_HEADER = 16;

export class LiveCapture {
  private readonly frame = new FrameSlot();
  private started = false;
  private stopped = false;
  private lastStats: CaptureStats = {
    received: 0,
    dropped: 0,
    ifDropped: 0,
    queueDropped: 0,
    queueDroppedBytes: 0,
  };
  readonly linkType: number;

  private constructor(
    private readonly binding: PcapBinding,
    private readonly handle: unknown,
  ) {
    this.linkType = binding.linkType(handle);
    this.frame.linkType = this.linkType;
  }

  static open(opts: LiveOptions): LiveCapture {
    const binding = requireBinding();
    if (opts.fanoutGroup !== undefined && binding.fanout !== true) {
      // An older build would ignore the option: every worker would get all the traffic.
      const why =
        binding.fanout === false
          ? 'PACKET_FANOUT is not available on this system (Linux only)'
          : 'the capture binding was built without fanout support: run `npm rebuild wardwatch-pcap`';
      throw new LiveCaptureError('EFANOUT', explain(opts.device, 'EFANOUT', why));
    }
    try {
      const handle = binding.open({
        device: opts.device,
        snaplen: opts.snaplen ?? 65535,
        promisc: opts.promisc ?? true,
        bufferSize: opts.bufferSize ?? 32 * 1024 * 1024,
        timeoutMs: 100,
        immediate: opts.immediate ?? false,
        ...(opts.filter ? { filter: opts.filter } : {}),
        // Room for about 1.5 s of a 300 Mbit/s mirror while the pipeline is busy (GC, a burst of findings).
        queueBytes: opts.queueBytes ?? 64 * 1024 * 1024,
        ...(opts.fanoutGroup !== undefined ? { fanoutGroup: opts.fanoutGroup } : {}),
      });
      return new LiveCapture(binding, handle);
    } catch (err) {
      const e = err as Error & { code?: string };
      const code = e.code ?? 'EPCAP';
      throw new LiveCaptureError(code, explain(opts.device, code, e.message));
    }
  }

  /**
   * Starts the capture thread. `onFrame` runs on the main thread for each frame of a batch; the frame and
   * its data are valid only during the call. `onError` reports a capture failure (interface gone).
   */
  start(onFrame: (f: RawFrame) => void, onError: (err: LiveCaptureError) => void): void {
    if (this.started) return;
    this.started = true;
    const frame = this.frame;
    this.binding.start(this.handle, (ab, count, bytes, error) => {
      const view = new DataView(ab);
      const u8 = new Uint8Array(ab);
      let off = 0;
      for (let i = 0; i < count && off + RECORD_HEADER <= bytes; i++) {
        const sec = view.getUint32(off, true);
        const usec = view.getUint32(off + 4, true);
        const caplen = view.getUint32(off + 8, true);
        frame.origLen = view.getUint32(off + 12, true);
        frame.ts = sec * 1_000_000 + usec;
        frame.index++;
        frame.point(u8, off + RECORD_HEADER, caplen);
        onFrame(frame);
        off += RECORD_HEADER + ((caplen + 3) & ~3);
      }
      if (error) onError(new LiveCaptureError('EPCAP', `capture failed: ${error}`));
    });
  }

  stats(): CaptureStats {
    if (!this.stopped) this.lastStats = this.binding.stats(this.handle);
    return this.lastStats;
  }

  /** Stops capturing; frames still in the batch buffers are delivered before it returns. */
  stop(): void {
    if (this.stopped) return;
    this.lastStats = this.binding.stats(this.handle);
    this.binding.stop(this.handle);
    this.stopped = true;
  }
}
