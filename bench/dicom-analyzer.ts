// DICOM analyzer throughput on a synthetic association (C-ECHO, C-FIND with identifier, C-STORE of 8 KiB data sets) fed in 1460-byte segments; printed, never asserted.
import { pathToFileURL } from 'node:url';
import { DicomSession } from '../agent/protocols/dicom/session.js';
import { NULL_SINK, benchAnalyzer, cat, type BenchResult, type Flow } from './analyzer-harness.js';

const enc = new TextEncoder();

function be16(v: number): Uint8Array {
  return Uint8Array.of(v >> 8, v & 0xff);
}
function be32(v: number): Uint8Array {
  return Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}
function le32(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
}
function even(s: string): Uint8Array {
  const b = enc.encode(s);
  return b.length % 2 ? cat([b, Uint8Array.of(0)]) : b;
}
function pdu(type: number, body: Uint8Array): Uint8Array {
  return cat([Uint8Array.of(type, 0), be32(body.length), body]);
}
function item(type: number, body: Uint8Array): Uint8Array {
  return cat([Uint8Array.of(type, 0), be16(body.length), body]);
}
function el(tag: number, value: Uint8Array): Uint8Array {
  return cat([
    Uint8Array.of((tag >>> 16) & 0xff, tag >>> 24, tag & 0xff, (tag >>> 8) & 0xff),
    le32(value.length),
    value,
  ]);
}
function us(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff, v >> 8);
}
function command(field: number, id: number, cls: string, data: boolean, status?: number): Uint8Array {
  const body = cat([
    el(0x00000002, even(cls)),
    el(0x00000100, us(field)),
    el(field & 0x8000 ? 0x00000120 : 0x00000110, us(id)),
    el(0x00000800, us(data ? 0 : 0x0101)),
    ...(status === undefined ? [] : [el(0x00000900, us(status))]),
  ]);
  return cat([el(0, le32(body.length)), body]);
}
function pdv(ctx: number, ctl: number, data: Uint8Array): Uint8Array {
  return cat([be32(data.length + 2), Uint8Array.of(ctx, ctl), data]);
}
function ae(s: string): Uint8Array {
  const b = new Uint8Array(16).fill(0x20);
  b.set(enc.encode(s));
  return b;
}

const CT = '1.2.840.10008.5.1.4.1.1.2';
const FIND = '1.2.840.10008.5.1.4.1.2.2.1';
const ECHO = '1.2.840.10008.1.1';
const IMPLICIT = '1.2.840.10008.1.2';

/** Client and server byte streams of one association with `stores` C-STOREs, and the DIMSE message count. */
export function buildAssociation(stores: number): Flow {
  const ctx = (id: number, abs: string): Uint8Array =>
    item(
      0x20,
      cat([Uint8Array.of(id, 0, 0, 0), item(0x30, enc.encode(abs)), item(0x40, enc.encode(IMPLICIT))]),
    );
  const fixed = cat([be16(1), be16(0), ae('PACS'), ae('CT01'), new Uint8Array(32)]);
  const ui = item(
    0x50,
    cat([item(0x51, be32(16384)), item(0x52, enc.encode('1.2.3.4')), item(0x55, enc.encode('BENCH'))]),
  );
  const rq = pdu(
    1,
    cat([fixed, item(0x10, enc.encode('1.2.840.10008.3.1.1.1')), ctx(1, ECHO), ctx(3, FIND), ctx(5, CT), ui]),
  );
  const acCtx = (id: number): Uint8Array =>
    item(0x21, cat([Uint8Array.of(id, 0, 0, 0), item(0x40, enc.encode(IMPLICIT))]));
  const ac = pdu(
    2,
    cat([fixed, item(0x10, enc.encode('1.2.840.10008.3.1.1.1')), acCtx(1), acCtx(3), acCtx(5), ui]),
  );
  const ident = cat([
    el(0x00080052, even('STUDY ')),
    el(0x00100010, even('*')),
    el(0x0020000d, new Uint8Array(0)),
  ]);
  const client: Uint8Array[] = [
    rq,
    pdu(4, pdv(1, 3, command(0x30, 1, ECHO, false))),
    pdu(4, cat([pdv(3, 3, command(0x20, 2, FIND, true)), pdv(3, 2, ident)])),
  ];
  const server: Uint8Array[] = [
    ac,
    pdu(4, pdv(1, 3, command(0x8030, 1, ECHO, false, 0))),
    pdu(4, pdv(3, 3, command(0x8020, 2, FIND, false, 0))),
  ];
  const data = new Uint8Array(8192).map((_, i) => i & 0xff);
  for (let i = 0; i < stores; i++) {
    client.push(
      pdu(4, pdv(5, 3, command(1, 10 + i, CT, true))),
      pdu(4, pdv(5, 0, data.subarray(0, 4096))),
      pdu(4, pdv(5, 2, data.subarray(4096))),
    );
    server.push(pdu(4, pdv(5, 3, command(0x8001, 10 + i, CT, false, 0))));
  }
  client.push(pdu(5, new Uint8Array(4)));
  server.push(pdu(6, new Uint8Array(4)));
  return { client: cat(client), server: cat(server), messages: 4 + 2 * stores };
}

export function runDicomBench(rounds = 200, stores = 50): BenchResult {
  return benchAnalyzer(buildAssociation(stores), () => new DicomSession(NULL_SINK), {
    rounds,
    warmup: 20,
    ts: { client: 1, server: 1, end: 2 },
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = runDicomBench();
  console.log(
    `dicom analyzer: ${Math.round(r.messagesPerSecond).toLocaleString('en')} DIMSE messages/s, ${r.mbPerSecond.toFixed(0)} MB/s (1460-byte segments, 8 KiB C-STORE data sets)`,
  );
}
