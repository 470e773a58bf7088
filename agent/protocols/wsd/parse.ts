// WS-Discovery SOAP parser: a tiny bounded XML scanner (no XML library, no DTD, no entity but the five predefined and character references).
import { bounds, capString, pushCapped, type Bounds } from '../bounded.js';
import type { Decoded } from '../datagram.js';
import type { EventFields, FieldValue } from '../types.js';
import { ACTIONS } from './events.js';

const MAX_BYTES = 64 * 1024;
const MAX_ELEMENTS = 512;
const MAX_DEPTH = 32;
const utf8 = new TextDecoder('utf-8', { fatal: false });
const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Local name of a tag (`wsd:Hello` → `Hello`). */
function local(name: string): string {
  const c = name.indexOf(':');
  return c < 0 ? name : name.slice(c + 1);
}

function unescape(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,4});/gi, (m, ref: string) => {
    if (ref[0] === '#') {
      const cp = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    }
    // Any other entity would need a DTD: left as written, never expanded.
    return PREDEFINED[ref] ?? m;
  });
}

/**
 * A scope as kept: SDC context scopes (IEEE 11073-20701, `sdc.ctxt.<kind>:...`) other than location may name a
 * patient, an operator or a workflow (an order): only their kind is kept. Location and every other scope stay whole.
 */
export function scopeOf(scope: string): string {
  const m = /^(sdc\.ctxt\.([a-z]{3}))[:/]/i.exec(scope);
  if (m && m[2]?.toLowerCase() !== 'loc') return m[1] ?? scope;
  return scope;
}

export function parseWsd(d: Uint8Array, b: Bounds = bounds()): Decoded {
  let bytes = d;
  if (bytes.length > MAX_BYTES) {
    b.cut++;
    bytes = bytes.subarray(0, MAX_BYTES);
  }
  const x = utf8.decode(bytes);
  const stack: string[] = [];
  let sawEnvelope = false;
  let inBody = false;
  let action = '';
  const types: FieldValue[] = [];
  const scopes: FieldValue[] = [];
  const xaddrs: FieldValue[] = [];
  let endpoint: string | undefined;
  let metadataVersion: number | undefined;
  let elements = 0;
  let text = '';
  let i = 0;
  while (i < x.length) {
    const lt = x.indexOf('<', i);
    if (lt < 0) break;
    text += x.slice(i, lt);
    if (x.startsWith('<!--', lt)) {
      const e = x.indexOf('-->', lt + 4);
      if (e < 0) return { anomaly: 'wsd.malformed', malformed: true };
      i = e + 3;
      continue;
    }
    if (x.startsWith('<![CDATA[', lt)) {
      const e = x.indexOf(']]>', lt + 9);
      if (e < 0) return { anomaly: 'wsd.malformed', malformed: true };
      // Kept escaped so that unescape() below leaves it as written.
      text += x.slice(lt + 9, e).replace(/&/g, '&amp;');
      i = e + 3;
      continue;
    }
    if (x.startsWith('<!', lt)) return { anomaly: 'wsd.doctype', malformed: true };
    const gt = x.indexOf('>', lt + 1);
    if (gt < 0) return { anomaly: 'wsd.malformed', malformed: true };
    i = gt + 1;
    if (x[lt + 1] === '?') continue;
    const closing = x[lt + 1] === '/';
    const selfClosing = !closing && x[gt - 1] === '/';
    const m = /^[^\s/>]+/.exec(x.slice(lt + (closing ? 2 : 1), Math.min(gt, lt + 258)));
    const name = local(m?.[0] ?? '');
    if (name === '') return { anomaly: 'wsd.malformed', malformed: true };
    if (closing) {
      const open = stack.pop();
      if (open === undefined || open !== name) return { anomaly: 'wsd.malformed', malformed: true };
      const parent = stack[stack.length - 1] ?? '';
      const value = unescape(text).trim();
      if (inBody) {
        if (name === 'Types')
          for (const t of value.split(/\s+/)) if (t) pushCapped(types, capString(t, b), b, true);
        if (name === 'Scopes')
          for (const t of value.split(/\s+/)) if (t) pushCapped(scopes, capString(scopeOf(t), b), b, true);
        if (name === 'XAddrs')
          for (const t of value.split(/\s+/)) if (t) pushCapped(xaddrs, capString(t, b), b, true);
        if (name === 'Address' && parent === 'EndpointReference' && endpoint === undefined) {
          endpoint = capString(value, b);
        }
        if (name === 'MetadataVersion' && /^\d{1,10}$/.test(value)) metadataVersion ??= Number(value);
      }
      if (name === 'Body') inBody = false;
      text = '';
      continue;
    }
    text = '';
    if (++elements > MAX_ELEMENTS || stack.length >= MAX_DEPTH) {
      b.cut++;
      break;
    }
    if (stack.length === 0 && name === 'Envelope') sawEnvelope = true;
    if (inBody && action === '' && stack[stack.length - 1] === 'Body') action = name;
    if (name === 'Body' && stack[stack.length - 1] === 'Envelope') inBody = true;
    if (!selfClosing) stack.push(name);
  }
  const type = ACTIONS[action];
  if (!sawEnvelope || type === undefined) return { anomaly: 'wsd.malformed', malformed: true };
  const fields: EventFields = { action };
  if (types.length > 0) fields.types = types;
  if (scopes.length > 0) fields.scopes = scopes;
  if (xaddrs.length > 0) fields.xaddrs = xaddrs;
  if (endpoint !== undefined) fields.endpoint = endpoint;
  if (metadataVersion !== undefined) fields.metadata_version = metadataVersion;
  return { type, fields, cut: b.cut };
}
