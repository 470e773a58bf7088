// A tiny MLLP sender and receiver on 127.0.0.0/8 for making HL7 fixtures (HL7 v2.x Appendix C MLLP, ch. 2.9 acknowledgments, 2.10.3 batches).
import net from 'node:net';

const VT = 0x0b;
const FS = 0x1c;
const CR = 0x0d;

export function frame(content: string): Buffer {
  return Buffer.concat([Buffer.of(VT), Buffer.from(content, 'latin1'), Buffer.of(FS, CR)]);
}

/** Splits a byte stream into complete MLLP block contents; returns the unused tail. */
export function deframe(buf: Buffer): { blocks: string[]; rest: Buffer } {
  const blocks: string[] = [];
  let pos = 0;
  for (;;) {
    const start = buf.indexOf(VT, pos);
    if (start < 0) return { blocks, rest: Buffer.alloc(0) };
    const end = buf.indexOf(FS, start + 1);
    if (end < 0 || end + 1 >= buf.length) return { blocks, rest: buf.subarray(start) };
    blocks.push(buf.subarray(start + 1, end).toString('latin1'));
    pos = end + 2;
  }
}

interface Header {
  field: string;
  enc: string;
  fields: string[];
}

/** The declared separators and fields of a header segment (MSH-1, MSH-2; ch. 2.5.4). */
function readHeader(segment: string): Header {
  const field = segment[3] ?? '|';
  const fields = segment.split(field);
  return { field, enc: fields[1] ?? '^~\\&', fields };
}

function stamp(): string {
  return new Date()
    .toISOString()
    .replace(/[-:TZ]/g, '')
    .slice(0, 17);
}

let ackSeq = 0;

/** An original-mode ACK for one message (MSH-9 ACK^<trigger>^ACK, MSA-1 code, MSA-2 = MSH-10). */
export function buildAck(msh: string, code: string): string {
  const h = readHeader(msh);
  const comp = h.enc[0] ?? '^';
  const f = h.field;
  const trigger = (h.fields[8] ?? '').split(comp)[1] ?? '';
  const type = trigger ? ['ACK', trigger, 'ACK'].join(comp) : 'ACK';
  ackSeq++;
  const header = [
    'MSH',
    h.enc,
    h.fields[4] ?? '',
    h.fields[5] ?? '',
    h.fields[2] ?? '',
    h.fields[3] ?? '',
    stamp(),
    '',
    type,
    `ACK${String(ackSeq).padStart(5, '0')}`,
    h.fields[10] ?? 'P',
    h.fields[11] ?? '2.5',
  ].join(f);
  return `${header}\r${['MSA', code, h.fields[9] ?? ''].join(f)}\r`;
}

export interface ReceiverOptions {
  host?: string;
  port?: number;
  /** MSA-1 to answer for a control id (default AA). */
  ackCode?: (controlId: string) => string;
}

export interface MllpReceiver {
  port: number;
  /** Every byte the receiver read, per connection, in order. */
  received: Buffer[];
  close(): Promise<void>;
}

/** Answers each message with an ACK and each batch with a batch of ACKs ([FHS] BHS, ACK per MSH, BTS [FTS]). */
export async function startMllpReceiver(opts: ReceiverOptions = {}): Promise<MllpReceiver> {
  const sockets = new Set<net.Socket>();
  const received: Buffer[] = [];
  const server = net.createServer((sock) => {
    sockets.add(sock);
    const idx = received.push(Buffer.alloc(0)) - 1;
    let pending: Buffer = Buffer.alloc(0);
    sock.setNoDelay(true);
    sock.on('data', (chunk) => {
      received[idx] = Buffer.concat([received[idx] ?? Buffer.alloc(0), chunk]);
      const { blocks, rest } = deframe(Buffer.concat([pending, chunk]));
      pending = rest;
      for (const b of blocks) sock.write(frame(answer(b, opts)));
    });
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => sockets.delete(sock));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function answer(block: string, opts: ReceiverOptions): string {
  const segments = block.split(/\r\n|\r|\n/).filter((s) => s.length > 0);
  const code = (msh: string): string => opts.ackCode?.(readHeader(msh).fields[9] ?? '') ?? 'AA';
  const first = segments[0] ?? '';
  if (first.startsWith('FHS') || first.startsWith('BHS')) {
    const bhs = segments.find((s) => s.startsWith('BHS')) ?? first;
    const h = readHeader(bhs);
    const acks = segments.filter((s) => s.startsWith('MSH')).map((m) => buildAck(m, code(m)));
    // FHS/BHS-9..12 as the request had them (Wireshark 4.0 skips a header segment shorter than that)
    const header = [
      'BHS',
      h.enc,
      h.fields[4] ?? '',
      h.fields[5] ?? '',
      h.fields[2] ?? '',
      h.fields[3] ?? '',
      stamp(),
      '',
      '',
      `ACK${h.fields[10] ?? ''}`,
      h.fields[11] ?? 'P',
      h.fields[12] ?? '2.5',
    ].join(h.field);
    const body = `${header}\r${acks.join('')}BTS${h.field}${acks.length}\r`;
    // mirror a file wrapper (FHS ... FTS) when the request had one
    if (!first.startsWith('FHS')) return body;
    return `${header.replace('BHS', 'FHS')}\r${body}FTS${h.field}1\r`;
  }
  return buildAck(first, code(first));
}

export type SendMode = 'each' | 'together' | 'split';

export interface SendStep {
  /** Block contents (segments joined with CR). */
  blocks: string[];
  /** each: one write per block, waiting for its answer; together: one write; split: each block in two writes. */
  mode: SendMode;
  /** Where a split block is cut (bytes from the start of the framed block). */
  splitAt?: number;
  /** Pause before the step (ms), so packet times differ. */
  pauseMs?: number;
}

export interface SenderOptions {
  host?: string;
  port: number;
  localAddress?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sends the steps on one connection and returns the answers' contents in order. */
export async function runMllpSender(opts: SenderOptions, steps: SendStep[]): Promise<string[]> {
  const sock = net.connect({
    host: opts.host ?? '127.0.0.1',
    port: opts.port,
    ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
  });
  sock.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', () => resolve());
    sock.once('error', reject);
  });
  const answers: string[] = [];
  let pending: Buffer = Buffer.alloc(0);
  let waiter: (() => void) | null = null;
  sock.on('data', (chunk) => {
    const { blocks, rest } = deframe(Buffer.concat([pending, chunk]));
    pending = rest;
    answers.push(...blocks);
    waiter?.();
  });
  const waitFor = async (n: number): Promise<void> => {
    const deadline = Date.now() + 5000;
    while (answers.length < n) {
      if (Date.now() > deadline) throw new Error(`mllp sender: ${answers.length} of ${n} answers`);
      await new Promise<void>((resolve) => {
        waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
    waiter = null;
  };
  let expected = 0;
  for (const step of steps) {
    if (step.pauseMs) await sleep(step.pauseMs);
    if (step.mode === 'together') {
      sock.write(Buffer.concat(step.blocks.map(frame)));
      expected += step.blocks.length;
      await waitFor(expected);
      continue;
    }
    for (const b of step.blocks) {
      const bytes = frame(b);
      if (step.mode === 'split') {
        const at = Math.min(Math.max(1, step.splitAt ?? bytes.length >> 1), bytes.length - 1);
        sock.write(bytes.subarray(0, at));
        await sleep(20);
        sock.write(bytes.subarray(at));
      } else sock.write(bytes);
      expected++;
      await waitFor(expected);
    }
  }
  await new Promise<void>((resolve) => sock.end(() => resolve()));
  await sleep(20);
  sock.destroy();
  return answers;
}
