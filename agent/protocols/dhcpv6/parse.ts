// DHCPv6 message parser (RFC 8415 §8 client/server and §9 relay formats, §21 options): metadata only, capped.
import { bounds, capString, hex, pushCapped, readDnsName, readText, type Bounds } from '../bounded.js';
import type { Decoded } from '../datagram.js';
import type { EventFields, FieldValue } from '../types.js';
import { MESSAGE_TYPES } from './events.js';
import { u16, u32 } from '../../wire/bytes.js';

const MAX_OPTIONS = 64;
/** Relay messages nest (RFC 8415 §9: hop count up to 32); deeper than this is counted as cut. */
const MAX_RELAY_DEPTH = 4;
const RELAY_FORW = 12;
const RELAY_REPL = 13;
const OPT_RELAY_MSG = 9;

export function parseDhcpv6(d: Uint8Array, b: Bounds = bounds()): Decoded {
  const outer = d[0];
  if (outer === undefined) return { anomaly: 'dhcpv6.malformed', malformed: true };
  let msg = d;
  for (let depth = 0; ; depth++) {
    const t = msg[0]!;
    if (t !== RELAY_FORW && t !== RELAY_REPL) break;
    // Relay header: type, hop count, link address, peer address (34 bytes), then options.
    if (msg.length < 34) return { anomaly: 'dhcpv6.malformed', malformed: true };
    if (depth >= MAX_RELAY_DEPTH) {
      b.cut++;
      break;
    }
    const inner = findOption(msg, 34, OPT_RELAY_MSG);
    if (inner === null) return { anomaly: 'dhcpv6.malformed', malformed: true };
    if (inner.length === 0) break;
    msg = inner;
  }
  const t = msg[0]!;
  if (t === RELAY_FORW || t === RELAY_REPL) {
    return { type: MESSAGE_TYPES[outer] ?? 'other', fields: { msg_type: t }, cut: b.cut };
  }
  if (msg.length < 4) return { anomaly: 'dhcpv6.malformed', malformed: true };
  const fields: EventFields = { msg_type: t };
  let o = 4;
  let count = 0;
  while (o < msg.length) {
    if (o + 4 > msg.length) return { anomaly: 'dhcpv6.malformed', malformed: true };
    const code = u16(msg, o);
    const len = u16(msg, o + 2);
    const v = o + 4;
    if (v + len > msg.length) return { anomaly: 'dhcpv6.malformed', malformed: true };
    o = v + len;
    if (++count > MAX_OPTIONS) {
      b.cut++;
      continue;
    }
    switch (code) {
      case 1:
        fields.duid = hex(msg, v, len, b);
        break;
      case 6: {
        const oro: FieldValue[] = [];
        const all: number[] = [];
        for (let i = 0; i + 1 < len; i += 2) {
          pushCapped(oro, u16(msg, v + i), b);
          all.push(u16(msg, v + i));
        }
        fields.oro = oro;
        fields.fingerprint = capString(all.join(','), b);
        break;
      }
      case 16: {
        if (len < 4) return { anomaly: 'dhcpv6.malformed', malformed: true };
        fields.vendor_enterprise = u32(msg, v);
        const items: string[] = [];
        let i = v + 4;
        while (i + 2 <= v + len) {
          const n = u16(msg, i);
          if (i + 2 + n > v + len) return { anomaly: 'dhcpv6.malformed', malformed: true };
          pushCapped(items, readText(msg, i + 2, n, b), b);
          i += 2 + n;
        }
        fields.vendor_class = capString(items.join(' '), b);
        break;
      }
      case 39: {
        if (len < 1) break;
        const name = readDnsName(msg.subarray(v + 1, v + len), 0);
        if (name) fields.fqdn = capString(name.name, b);
        break;
      }
    }
  }
  return { type: MESSAGE_TYPES[outer] ?? 'other', fields, cut: b.cut };
}

/** The value of the first option `code` in `d` from `off`, or null when the options are malformed or it is absent. */
function findOption(d: Uint8Array, off: number, code: number): Uint8Array | null {
  let o = off;
  while (o + 4 <= d.length) {
    const c = u16(d, o);
    const len = u16(d, o + 2);
    if (o + 4 + len > d.length) return null;
    if (c === code) return d.subarray(o + 4, o + 4 + len);
    o += 4 + len;
  }
  return null;
}
