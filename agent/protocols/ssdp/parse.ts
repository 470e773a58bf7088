// SSDP message parser: an HTTP/1.1 start line and headers over UDP (UPnP Device Architecture 2.0 §1.1–1.3), capped.
import { bounds, capString, type Bounds } from '../bounded.js';
import type { Decoded } from '../datagram.js';
import type { EventFields } from '../types.js';

const MAX_LINE = 1024;
const MAX_HEADERS = 32;
/** Header → field; SERVER and USER-AGENT both name the software. */
const HEADERS: Readonly<Record<string, string>> = {
  nt: 'nt',
  nts: 'nts',
  st: 'st',
  usn: 'usn',
  server: 'server',
  'user-agent': 'server',
  location: 'location',
};

const latin1 = new TextDecoder('latin1');

export function parseSsdp(d: Uint8Array, b: Bounds = bounds()): Decoded {
  const lines = splitLines(d, b);
  const start = lines[0] ?? '';
  let type: string;
  let method: string;
  if (/^M-SEARCH \S+ HTTP\/1\.\d$/i.test(start)) [type, method] = ['msearch', 'M-SEARCH'];
  else if (/^NOTIFY \S+ HTTP\/1\.\d$/i.test(start)) [type, method] = ['notify', 'NOTIFY'];
  else if (/^HTTP\/1\.\d \d{3}/i.test(start)) [type, method] = ['response', 'HTTP'];
  else return { anomaly: 'ssdp.malformed', malformed: true };
  const fields: EventFields = { method };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') break;
    if (i > MAX_HEADERS) {
      b.cut++;
      break;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const field = HEADERS[line.slice(0, colon).trim().toLowerCase()];
    if (field === undefined || field in fields) continue;
    fields[field] = capString(line.slice(colon + 1).trim(), b);
  }
  return { type, fields, cut: b.cut };
}

/** CRLF (or bare LF) lines, each cut at MAX_LINE bytes; at most MAX_HEADERS + 2 lines are made. */
function splitLines(d: Uint8Array, b: Bounds): string[] {
  const out: string[] = [];
  let s = 0;
  while (s < d.length && out.length < MAX_HEADERS + 2) {
    let e = d.indexOf(0x0a, s);
    if (e < 0) e = d.length;
    let end = e > s && d[e - 1] === 0x0d ? e - 1 : e;
    if (end - s > MAX_LINE) {
      b.cut++;
      end = s + MAX_LINE;
    }
    out.push(latin1.decode(d.subarray(s, end)));
    s = e + 1;
  }
  return out;
}
