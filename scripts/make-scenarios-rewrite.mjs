// Rewrites loopback recordings (pcap, Ethernet) onto the hospital addressing plan and merges them: used by make-scenarios.sh.
// Usage: node make-scenarios-rewrite.mjs PLAN.mjs REC_DIR OUT_DIR   (PLAN's default export: { hosts, captures })
// capture: { out, base (ISO time), parts: [{ rec (recording name), at (s after base), scale? | span? (s), mss?,
//         conns: [{ port (server port in the recording, or "*"), client: name|[names], server: name|[names],
//                   serverPort?: number|[numbers] }], replace?: [[from, to]] (same-length byte edits of payloads) }] }
// Each TCP connection is matched by its server port (the side that received the SYN); list values are used
// one per connection in order, so one recording can become many devices. Checksums are recomputed and
// segments larger than `mss` (default 1448) are split, as on an Ethernet segment.
import { Buffer } from 'node:buffer';
import { readFileSync, writeFileSync } from 'node:fs';
import process from 'node:process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const plan = (await import(pathToFileURL(path.resolve(process.argv[2])).href)).default;
const recDir = process.argv[3];
const outDir = process.argv[4];
const only = new Set(process.argv.slice(5));

function macBytes(text) {
  return Buffer.from(text.replace(/[:-]/g, ''), 'hex');
}
function ipBytes(text) {
  return Buffer.from(text.split('.').map(Number));
}

function readPcap(path) {
  const buf = readFileSync(path);
  const magic = buf.readUInt32LE(0);
  if (magic !== 0xa1b2c3d4) throw new Error(`${path}: not a little-endian microsecond pcap`);
  if (buf.readUInt32LE(20) !== 1)
    throw new Error(`${path}: link type ${buf.readUInt32LE(20)} is not Ethernet`);
  const out = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const sec = buf.readUInt32LE(off);
    const usec = buf.readUInt32LE(off + 4);
    const incl = buf.readUInt32LE(off + 8);
    out.push({ ts: sec * 1e6 + usec, data: Buffer.from(buf.subarray(off + 16, off + 16 + incl)) });
    off += 16 + incl;
  }
  return out;
}

function sum16(buf, start, end, acc = 0) {
  for (let i = start; i + 1 < end; i += 2) acc += buf.readUInt16BE(i);
  if ((end - start) % 2 === 1) acc += buf[end - 1] << 8;
  return acc;
}
function fold(acc) {
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  return ~acc & 0xffff;
}

/** Build an Ethernet/IPv4/TCP|UDP frame with fresh checksums. */
function buildFrame(tpl, ipHdrLen, l4Hdr, payload, proto) {
  const ipTotal = ipHdrLen + l4Hdr.length + payload.length;
  const f = Buffer.alloc(14 + ipTotal);
  tpl.copy(f, 0, 0, 14 + ipHdrLen);
  f.writeUInt16BE(ipTotal, 16);
  f.writeUInt16BE(0, 24);
  f.writeUInt16BE(fold(sum16(f, 14, 14 + ipHdrLen)), 24);
  const l4 = 14 + ipHdrLen;
  l4Hdr.copy(f, l4);
  payload.copy(f, l4 + l4Hdr.length);
  const l4Len = l4Hdr.length + payload.length;
  const ck = proto === 6 ? l4 + 16 : l4 + 6;
  f.writeUInt16BE(0, ck);
  if (proto === 17) f.writeUInt16BE(l4Len, l4 + 4);
  let acc = sum16(f, 26, 34);
  acc += proto + l4Len;
  acc = sum16(f, l4, l4 + l4Len, acc);
  let c = fold(acc);
  if (proto === 17 && c === 0) c = 0xffff;
  f.writeUInt16BE(c, ck);
  return f;
}

function writeCapture(spec, hosts) {
  const baseUs = Date.parse(spec.base) * 1000;
  const frames = [];
  for (const part of spec.parts) {
    const file = path.join(recDir, `${part.rec}.pcap`);
    const recs = readPcap(file);
    if (recs.length === 0) continue;
    const t0 = recs[0].ts;
    // `span` stretches the whole recording to that many seconds (a periodic feed recorded fast); `scale` multiplies.
    const dur = recs[recs.length - 1].ts - t0;
    const scale = part.span !== undefined && dur > 0 ? (part.span * 1e6) / dur : (part.scale ?? 1);
    const mss = part.mss ?? 1448;
    const conns = new Map(); // key → {clientKey, client, server, serverPort}
    const useCount = new Map(); // rule index → connections seen
    const pick = (v, i) => (Array.isArray(v) ? v[i % v.length] : v);
    for (const r of recs) {
      const d = r.data;
      if (d.length < 34 || d.readUInt16BE(12) !== 0x0800) continue;
      const ihl = (d[14] & 15) * 4;
      const proto = d[23];
      if (proto !== 6 && proto !== 17) continue;
      const l4 = 14 + ihl;
      const ipTotal = d.readUInt16BE(16);
      const sport = d.readUInt16BE(l4);
      const dport = d.readUInt16BE(l4 + 2);
      const src = d.subarray(26, 30).join('.');
      const dst = d.subarray(30, 34).join('.');
      const a = `${src}:${sport}`;
      const b = `${dst}:${dport}`;
      const key = `${proto}|${a < b ? a : b}|${a < b ? b : a}`;
      let c = conns.get(key);
      if (!c) {
        const syn = proto === 6 && (d[l4 + 13] & 0x12) === 0x02;
        const ruleIdx = part.conns.findIndex((x) => x.port === dport || x.port === sport || x.port === '*');
        if (ruleIdx < 0) continue;
        const rule = part.conns[ruleIdx];
        const toServer = syn || rule.port === dport || (rule.port === '*' && sport > dport);
        const n = useCount.get(ruleIdx) ?? 0;
        useCount.set(ruleIdx, n + 1);
        c = {
          clientKey: toServer ? a : b,
          client: hosts[pick(rule.client, n)],
          server: hosts[pick(rule.server, n)],
          serverPort: pick(rule.serverPort, n),
        };
        if (!c.client || !c.server) throw new Error(`${file}: unknown host in rule ${JSON.stringify(rule)}`);
        conns.set(key, c);
      }
      const fromClient = c.clientKey === a;
      const s = fromClient ? c.client : c.server;
      const t = fromClient ? c.server : c.client;
      const tpl = Buffer.from(d.subarray(0, 14 + ihl));
      macBytes(t.mac).copy(tpl, 0);
      macBytes(s.mac).copy(tpl, 6);
      ipBytes(s.ip).copy(tpl, 26);
      ipBytes(t.ip).copy(tpl, 30);
      const hdrLen = proto === 6 ? (d[l4 + 12] >> 4) * 4 : 8;
      const l4Hdr = Buffer.from(d.subarray(l4, l4 + hdrLen));
      if (c.serverPort) l4Hdr.writeUInt16BE(c.serverPort, fromClient ? 2 : 0);
      let payload = Buffer.from(d.subarray(l4 + hdrLen, 14 + ipTotal));
      for (const [from, to] of part.replace ?? []) {
        if (from.length !== to.length) throw new Error('replace needs equal lengths');
        let i;
        while ((i = payload.indexOf(from)) >= 0)
          payload = Buffer.concat([
            payload.subarray(0, i),
            Buffer.from(to),
            payload.subarray(i + from.length),
          ]);
      }
      const ts = Math.round(baseUs + part.at * 1e6 + (r.ts - t0) * scale);
      if (proto === 6 && payload.length > mss) {
        const seq = l4Hdr.readUInt32BE(4);
        const flags = l4Hdr[13];
        for (let o = 0; o < payload.length; o += mss) {
          const h = Buffer.from(l4Hdr);
          h.writeUInt32BE((seq + o) >>> 0, 4);
          const last = o + mss >= payload.length;
          h[13] = last ? flags : flags & ~0x09; // FIN and PSH only on the last piece
          frames.push({
            ts: ts + Math.floor(o / mss),
            data: buildFrame(tpl, ihl, h, payload.subarray(o, o + mss), proto),
          });
        }
      } else {
        frames.push({ ts, data: buildFrame(tpl, ihl, l4Hdr, payload, proto) });
      }
    }
  }

  frames.sort((x, y) => x.ts - y.ts);
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(1, 20);
  const parts = [head];
  for (const f of frames) {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(Math.floor(f.ts / 1e6), 0);
    h.writeUInt32LE(f.ts % 1e6, 4);
    h.writeUInt32LE(f.data.length, 8);
    h.writeUInt32LE(f.data.length, 12);
    parts.push(h, f.data);
  }
  const out = path.join(outDir, spec.out);
  writeFileSync(out, Buffer.concat(parts));
  process.stdout.write(`${spec.out}: ${frames.length} frames, ${Buffer.concat(parts).length} bytes\n`);
}

for (const c of plan.captures) if (only.size === 0 || only.has(c.out)) writeCapture(c, plan.hosts);
