// Capture reader benchmark: packets/s of a plain record loop, CaptureParser (in memory and from file) and pcap-parser on one large pcap.
// Figures are printed, never asserted. Usage: node dist/bench/capture-reader.js [PACKETS] (default 600000).
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EventEmitter } from 'node:events';
import { readCaptureFile } from '../agent/capture/file.js';
import { CaptureParser } from '../agent/capture/reader.js';
import { Decoder } from '../agent/decode/decoder.js';
import { createPacket } from '../agent/decode/packet.js';

interface PcapParserModule {
  parse(input: string): EventEmitter;
}

const require = createRequire(import.meta.url);
const pcapParser = require('pcap-parser') as PcapParserModule;

/** The shared corpus beside the clone (run from the repository root), or WARDWATCH_CAPTURES. */
const CORPUS = [process.env['WARDWATCH_CAPTURES'], path.resolve(process.cwd(), '../shared/captures')].find(
  (p) => {
    if (p === undefined) return false;
    try {
      return readdirSync(p).length > 0;
    } catch {
      return false;
    }
  },
);

/** Records (header + data) of every little-endian µs Ethernet pcap in the corpus, or synthetic ones without it. */
function sampleRecords(): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (CORPUS) {
    for (const dir of ['mqtt', 'other', 'hl7', 'dicom']) {
      for (const name of readdirSync(path.join(CORPUS, dir))) {
        if (!name.endsWith('.pcap')) continue;
        const b = readFileSync(path.join(CORPUS, dir, name));
        if (b.readUInt32LE(0) !== 0xa1b2c3d4 || b.readUInt32LE(20) !== 1) continue;
        for (let o = 24; o + 16 <= b.length;) {
          const len = b.readUInt32LE(o + 8);
          if (o + 16 + len > b.length) break;
          out.push(b.subarray(o, o + 16 + len));
          o += 16 + len;
        }
      }
    }
  }
  if (out.length === 0) {
    for (let i = 0; i < 64; i++) {
      const len = 60 + ((i * 97) % 1400);
      const r = Buffer.alloc(16 + len);
      r.writeUInt32LE(1_700_000_000, 0);
      r.writeUInt32LE(i, 4);
      r.writeUInt32LE(len, 8);
      r.writeUInt32LE(len, 12);
      out.push(r);
    }
  }
  return out;
}

function buildCapture(file: string, packets: number): { bytes: number; avg: number } {
  const recs = sampleRecords();
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16);
  header.writeUInt32LE(1, 20);
  const parts: Uint8Array[] = [header];
  let bytes = 24;
  for (let i = 0; i < packets; i++) {
    const r = recs[i % recs.length]!;
    parts.push(r);
    bytes += r.length;
  }
  writeFileSync(file, Buffer.concat(parts, bytes));
  return { bytes, avg: (bytes - 24) / packets - 16 };
}

/** (a) the limit: one loop over the record headers of a file already in memory. */
function plainLoop(buf: Buffer): number {
  let n = 0;
  let sum = 0;
  for (let o = 24; o + 16 <= buf.length;) {
    const len = buf.readUInt32LE(o + 8);
    sum += buf[o + 16] ?? 0;
    o += 16 + len;
    n++;
  }
  if (sum < 0) console.log(sum);
  return n;
}

/** (a) from the file: 1 MiB reads into one buffer, each read starting at the first record not yet whole. */
function plainLoopFromFile(file: string): number {
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(1024 * 1024);
  let n = 0;
  let sum = 0;
  let pos = 24;
  try {
    for (;;) {
      const got = readSync(fd, buf, 0, buf.length, pos);
      if (got === 0) break;
      let o = 0;
      while (o + 16 <= got) {
        const len = buf.readUInt32LE(o + 8);
        if (o + 16 + len > got) break;
        sum += buf[o + 16] ?? 0;
        o += 16 + len;
        n++;
      }
      if (o === 0) break;
      pos += o;
    }
  } finally {
    closeSync(fd);
  }
  if (sum < 0) console.log(sum);
  return n;
}

function parserInMemory(buf: Buffer): number {
  const p = new CaptureParser();
  let sum = 0;
  const chunk = 1024 * 1024;
  for (let o = 0; o < buf.length; o += chunk) {
    p.push(buf.subarray(o, o + chunk), (f) => {
      sum += f.data[0] ?? 0;
    });
  }
  if (p.end()) throw new Error('parse error');
  if (sum < 0) console.log(sum);
  return p.frames;
}

async function parserFromFile(file: string): Promise<number> {
  let sum = 0;
  const r = await readCaptureFile(file, (f) => {
    sum += f.data[0] ?? 0;
  });
  if (sum < 0) console.log(sum);
  return r.frames;
}

/** For scale: reading plus decoding every frame to a Packet. */
async function decodeFromFile(file: string): Promise<number> {
  const d = new Decoder();
  const pkt = createPacket();
  let ok = 0;
  const r = await readCaptureFile(file, (f) => {
    if (d.decode(f, pkt) === 'ok') ok++;
  });
  if (ok < 0) console.log(ok);
  return r.frames;
}

function pcapParserFromFile(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    let sum = 0;
    const parser = pcapParser.parse(file);
    parser.on('packet', (pkt: { data: Buffer }) => {
      sum += pkt.data[0] ?? 0;
      n++;
    });
    parser.on('end', () => resolve(sum < 0 ? -1 : n));
    parser.on('error', reject);
  });
}

async function measure(name: string, packets: number, run: () => number | Promise<number>): Promise<void> {
  // Best of three, after one warm-up run.
  await run();
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t = process.hrtime.bigint();
    const n = await run();
    const s = Number(process.hrtime.bigint() - t) / 1e9;
    if (n !== packets) throw new Error(`${name}: read ${n} packets, expected ${packets}`);
    best = Math.min(best, s);
  }
  console.log(
    `${name.padEnd(36)} ${(packets / best / 1e6).toFixed(2).padStart(6)} M packets/s  (${best.toFixed(3)} s)`,
  );
}

async function main(): Promise<void> {
  const packets = Number(process.argv[2] ?? 600_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'ww-bench-'));
  try {
    const file = path.join(dir, 'large.pcap');
    const { bytes, avg } = buildCapture(file, packets);
    console.log(
      `capture: ${packets} packets, ${(bytes / 1e6).toFixed(1)} MB, ${avg.toFixed(0)} bytes/packet on average (${CORPUS ? 'shared corpus records' : 'synthetic records'}); node ${process.version}`,
    );
    const buf = readFileSync(file);
    await measure('(a) plain loop, whole file in memory', packets, () => plainLoop(buf));
    await measure('(a) plain loop, 1 MiB reads from file', packets, () => plainLoopFromFile(file));
    await measure('(b) CaptureParser, whole file in memory', packets, () => parserInMemory(buf));
    await measure('(b) readCaptureFile, 1 MiB reads', packets, () => parserFromFile(file));
    await measure('(b) readCaptureFile + Decoder', packets, () => decodeFromFile(file));
    await measure('(c) pcap-parser 0.2.1, file stream', packets, () => pcapParserFromFile(file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
