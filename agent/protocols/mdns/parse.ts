// mDNS message parser (RFC 1035 §4.1 format, RFC 6762 mDNS, RFC 6763 DNS-SD naming): service types, instances, hosts and TXT keys, capped.
import { bounds, capString, pushCapped, readDnsName, readText, type Bounds } from '../bounded.js';
import type { Decoded } from '../datagram.js';
import type { EventFields, FieldValue } from '../types.js';
import { TXT_VALUE_KEYS } from './events.js';
import { u16 } from '../../wire/bytes.js';

/** Questions and records read per message; the rest are counted as cut. */
const MAX_RECORDS = 64;
const T_A = 1;
const T_PTR = 12;
const T_TXT = 16;
const T_AAAA = 28;
const T_SRV = 33;
const SERVICES_META = '_services._dns-sd._udp.local';

/**
 * `_name._tcp.local` / `_name._udp.local` (RFC 6763 §7), any `_sub` prefix dropped; DNS-SD's own enumeration
 * name (`_services._dns-sd._udp.local`, §9) is no service.
 */
export function serviceTypeOf(name: string): string | null {
  const m = /(?:^|\.)(_[^.]+\._(?:tcp|udp)\.local)$/i.exec(name);
  const st = m?.[1] ?? null;
  return st !== null && st.toLowerCase() === '_dns-sd._udp.local' ? null : st;
}

export function parseMdns(d: Uint8Array, b: Bounds = bounds()): Decoded {
  if (d.length < 12) return { anomaly: 'mdns.malformed', malformed: true };
  const isResponse = (d[2]! & 0x80) !== 0;
  const qd = u16(d, 4);
  const rr = u16(d, 6) + u16(d, 8) + u16(d, 10);
  const services: FieldValue[] = [];
  const instances: FieldValue[] = [];
  const hosts: FieldValue[] = [];
  const txtKeys: FieldValue[] = [];
  const txt: Record<string, FieldValue> = {};
  const addService = (name: string): void => {
    const st = serviceTypeOf(name);
    if (st !== null) pushCapped(services, capString(st, b), b, true);
  };
  const addInstance = (name: string): void => {
    const st = serviceTypeOf(name);
    // An instance is a label in front of a service type: `Name._svc._tcp.local` (not `_sub._svc...`).
    if (st !== null && name.length > st.length && !/\._sub\./i.test(name)) {
      pushCapped(instances, capString(name, b), b, true);
    }
  };
  let o = 12;
  let read = 0;
  for (let i = 0; i < qd; i++) {
    const n = readDnsName(d, o);
    if (n === null || n.next + 4 > d.length) return { anomaly: 'mdns.malformed', malformed: true };
    o = n.next + 4;
    if (++read > MAX_RECORDS) {
      b.cut++;
      continue;
    }
    addService(n.name);
    addInstance(n.name);
  }
  for (let i = 0; i < rr; i++) {
    const n = readDnsName(d, o);
    if (n === null || n.next + 10 > d.length) return { anomaly: 'mdns.malformed', malformed: true };
    const type = u16(d, n.next);
    const rdlen = u16(d, n.next + 8);
    const rd = n.next + 10;
    if (rd + rdlen > d.length) return { anomaly: 'mdns.malformed', malformed: true };
    o = rd + rdlen;
    if (++read > MAX_RECORDS) {
      b.cut++;
      continue;
    }
    switch (type) {
      case T_PTR: {
        addService(n.name);
        const target = readDnsName(d, rd);
        if (target === null) return { anomaly: 'mdns.malformed', malformed: true };
        if (n.name.toLowerCase() === SERVICES_META) addService(target.name);
        else addInstance(target.name);
        break;
      }
      case T_SRV: {
        addInstance(n.name);
        const target = rdlen >= 7 ? readDnsName(d, rd + 6) : null;
        if (target === null) return { anomaly: 'mdns.malformed', malformed: true };
        if (target.name !== '') pushCapped(hosts, capString(target.name, b), b, true);
        break;
      }
      case T_A:
      case T_AAAA:
        if (!n.name.includes('.arpa')) pushCapped(hosts, capString(n.name, b), b, true);
        break;
      case T_TXT:
        addInstance(n.name);
        readTxt(d, rd, rdlen, txtKeys, txt, b);
        break;
    }
  }
  const fields: EventFields = { questions: qd, answers: rr };
  if (services.length > 0) fields.services = services;
  if (instances.length > 0) fields.instances = instances;
  if (hosts.length > 0) fields.hosts = hosts;
  if (txtKeys.length > 0) fields.txt_keys = txtKeys;
  if (Object.keys(txt).length > 0) fields.txt = txt;
  return { type: isResponse ? 'response' : 'query', fields, cut: b.cut };
}

/** RFC 6763 §6: length-prefixed `key=value` strings; only allowlisted keys keep their value. */
function readTxt(
  d: Uint8Array,
  off: number,
  len: number,
  keys: FieldValue[],
  values: Record<string, FieldValue>,
  b: Bounds,
): void {
  let i = off;
  const end = off + len;
  while (i < end) {
    const n = d[i]!;
    const s = i + 1;
    i = s + n;
    if (n === 0 || i > end) continue;
    let eq = s;
    while (eq < s + n && d[eq] !== 0x3d) eq++;
    const key = readText(d, s, eq - s, b).toLowerCase();
    if (key === '') continue;
    pushCapped(keys, key, b, true);
    if (TXT_VALUE_KEYS.has(key) && eq < s + n && !(key in values)) {
      values[key] = readText(d, eq + 1, s + n - eq - 1, b);
    }
  }
}
