// Identity parsers: WS-Discovery (which tshark 4.0 cannot decode on UDP), caps, malformed input, hostile XML, and link-frame plumbing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bounds } from '../../../agent/protocols/bounded.js';
import { parseCdp } from '../../../agent/protocols/cdp/parse.js';
import { parseDhcp } from '../../../agent/protocols/dhcp/parse.js';
import { parseDhcpv6 } from '../../../agent/protocols/dhcpv6/parse.js';
import { parseLldp } from '../../../agent/protocols/lldp/parse.js';
import { parseMdns } from '../../../agent/protocols/mdns/parse.js';
import { parseSsdp } from '../../../agent/protocols/ssdp/parse.js';
import { ACTIONS } from '../../../agent/protocols/wsd/events.js';
import { parseWsd } from '../../../agent/protocols/wsd/parse.js';
import { Pipeline } from '../../../agent/pipeline.js';
import type { EventRecord } from '../../../agent/protocols/types.js';
import { bytes, concat, text } from '../../decode/builders.js';
import { dhcpFrame, identityFrames, lldpFrame } from './frames.js';

const ACTION_TYPES = Object.fromEntries(Object.values(ACTIONS).map((t) => [t, true]));
const PARSERS = { parseCdp, parseDhcp, parseDhcpv6, parseLldp, parseMdns, parseSsdp, parseWsd };

function envelope(body: string): Uint8Array {
  return text(
    `<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/><s:Body>${body}</s:Body></s:Envelope>`,
  );
}

function eventsOf(frames: { ts: number; data: Uint8Array }[]): EventRecord[] {
  const out: EventRecord[] = [];
  const p = new Pipeline({}, { onEvent: (e) => out.push(e) });
  frames.forEach((f, i) =>
    p.onFrame({ ts: f.ts, index: i, linkType: 1, ifIndex: 0, origLen: f.data.length, data: f.data }),
  );
  p.finish();
  return out;
}

describe('WS-Discovery', () => {
  it('reads a Hello: types, scopes, XAddrs, endpoint and metadata version as the fixture wrote them', () => {
    const evs = eventsOf(identityFrames()).filter((e) => e.proto === 'wsd');
    expect(evs.map((e) => e.type)).toEqual(['hello', 'probe']);
    expect(evs[0]?.fields).toEqual({
      action: 'Hello',
      types: ['dpws:Device', 'mdpws:MedicalDevice'],
      scopes: [
        'sdc.mds.pkp:1.2.840.10004.20701.1.1',
        'sdc.ctxt.loc:/sdc.ctxt.loc.detail/ICU%2FBed7?fac=NorthWing',
      ],
      xaddrs: ['https://10.10.60.7:6464/6f1c2a3b'],
      endpoint: 'urn:uuid:6f1c2a3b-0001-4abc-8def-00a0b0c0d0e1',
      metadata_version: 3,
    });
    expect(evs[1]?.fields).toEqual({ action: 'Probe', types: ['mdpws:MedicalDevice'] });
  });

  it('aggregates every ProbeMatch and unescapes the predefined entities only', () => {
    const r = parseWsd(
      envelope(
        '<d:ProbeMatches><d:ProbeMatch><d:Types>a:X</d:Types><d:XAddrs>http://h/?a=1&amp;b=2</d:XAddrs></d:ProbeMatch>' +
          '<d:ProbeMatch><d:Types>b:Y &foo;</d:Types></d:ProbeMatch></d:ProbeMatches>',
      ),
    );
    expect(r).toMatchObject({
      type: 'probe_matches',
      fields: { types: ['a:X', 'b:Y', '&foo;'], xaddrs: ['http://h/?a=1&b=2'] },
    });
  });

  it('keeps only the kind of SDC context scopes that may name a patient, operator or order', () => {
    const r = parseWsd(
      envelope(
        '<d:Hello><d:Scopes>sdc.ctxt.loc:/sdc.ctxt.loc.detail/ICU?bed=7 sdc.ctxt.pat:/1.2.3/PATIENT-4711 ' +
          'sdc.ctxt.opr:/x/NURSE-9 http://example/scope</d:Scopes></d:Hello>',
      ),
    );
    expect(r).toMatchObject({
      fields: {
        scopes: [
          'sdc.ctxt.loc:/sdc.ctxt.loc.detail/ICU?bed=7',
          'sdc.ctxt.pat',
          'sdc.ctxt.opr',
          'http://example/scope',
        ],
      },
    });
    expect(JSON.stringify(r)).not.toContain('4711');
  });

  it('refuses a DOCTYPE (no entity is ever expanded) and unbalanced tags', () => {
    const bomb = text(
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><s:Envelope><s:Body><d:Hello/></s:Body></s:Envelope>',
    );
    expect(parseWsd(bomb)).toEqual({ anomaly: 'wsd.doctype', malformed: true });
    expect(parseWsd(envelope('<d:Hello><d:Types>x</d:Scopes></d:Hello>'))).toEqual({
      anomaly: 'wsd.malformed',
      malformed: true,
    });
  });

  it('caps the element count and list sizes, counting what it cut', () => {
    const many = Array.from({ length: 600 }, (_, i) => `<x:E${i}/>`).join('');
    const r = parseWsd(
      envelope(
        `<d:Hello><d:Types>${Array.from({ length: 50 }, (_, i) => `t:${i}`).join(' ')}</d:Types>${many}</d:Hello>`,
      ),
    );
    expect('anomaly' in r).toBe(false);
    if (!('anomaly' in r)) {
      expect((r.fields.types as string[]).length).toBe(32);
      expect(r.cut).toBeGreaterThanOrEqual(19);
    }
  });
});

describe('caps and malformed input', () => {
  it('cuts a long DHCP host name to the string cap and counts it', () => {
    const f = dhcpFrame({ src: '00:00:00:00:00:01', msgType: 1, hostname: 'h'.repeat(250) });
    const payload = f.subarray(14 + 20 + 8);
    const r = parseDhcp(payload, bounds(100, 32));
    expect(r).toMatchObject({ type: 'discover', cut: 1 });
    if (!('anomaly' in r)) expect(r.fields.hostname).toBe('h'.repeat(100));
  });

  it('reports a DHCP option running past the datagram as malformed', () => {
    const f = dhcpFrame({ src: '00:00:00:00:00:01', msgType: 1, hostname: 'pump' });
    const payload = f.subarray(14 + 20 + 8, f.length - 3);
    expect(parseDhcp(payload)).toEqual({ anomaly: 'dhcp.malformed', malformed: true });
  });

  it('requires LLDP’s Chassis ID, Port ID and TTL first', () => {
    const f = lldpFrame({
      src: '00:00:00:00:00:02',
      chassis: new Uint8Array([4, 0, 0, 0, 0, 0, 2]),
      port: text('\x05p'),
      ttl: 1,
    });
    const lldp = f.subarray(14);
    expect(parseLldp(lldp)).toMatchObject({ type: 'advertisement' });
    expect(parseLldp(lldp.subarray(9))).toEqual({ anomaly: 'lldp.malformed', malformed: true });
  });

  it('stops at a DNS compression loop', () => {
    const loop = new Uint8Array([0, 0, 0x84, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 12, 0, 1]);
    expect(parseMdns(loop)).toEqual({ anomaly: 'mdns.malformed', malformed: true });
  });

  it('keeps TXT values only for allowlisted keys', () => {
    const evs = eventsOf(identityFrames()).filter((e) => e.proto === 'mdns');
    expect(evs[0]?.fields.txt).toEqual({ md: 'Vivid iq', manufacturer: 'Acme Ultrasound' });
    expect(evs[0]?.fields.txt_keys).toEqual(['md', 'manufacturer', 'txtvers', 'serial']);
  });

  it('names link-layer senders by MAC with no IP, and the engine takes such events', () => {
    const out: EventRecord[] = [];
    const p = new Pipeline({ rules: { rules: [], lists: {}, files: [] } }, { onEvent: (e) => out.push(e) });
    identityFrames().forEach((f, i) =>
      p.onFrame({ ts: f.ts, index: i, linkType: 1, ifIndex: 0, origLen: f.data.length, data: f.data }),
    );
    p.finish();
    const lldp = out.find((e) => e.proto === 'lldp');
    expect(lldp?.src).toEqual({ ip: '', port: 0, mac: '00:1b:21:aa:bb:01' });
    expect(p.stats().engineErrors).toBe(0);
    expect(out.filter((e) => e.proto === 'cdp')).toHaveLength(1);
  });
});

describe('fuzz: never throws, output bounded', () => {
  for (const [name, parse] of Object.entries(PARSERS)) {
    it(name, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 2048 }), (d) => {
          const r = parse(d);
          if ('anomaly' in r) return;
          for (const v of Object.values(r.fields)) {
            if (typeof v === 'string') expect(v.length).toBeLessThanOrEqual(256);
            if (Array.isArray(v)) expect(v.length).toBeLessThanOrEqual(32);
          }
        }),
        { numRuns: 300 },
      );
    });
  }

  // Random bytes rarely pass a magic number or a mandatory first TLV: these start valid and go random after.
  const PREFIXED: [string, (d: Uint8Array) => unknown, Uint8Array][] = [
    ['dhcp options', parseDhcp, concat(new Uint8Array(236), bytes(0x63, 0x82, 0x53, 0x63))],
    ['dhcpv6 options', parseDhcpv6, bytes(1, 0, 0, 1)],
    ['lldp TLVs', parseLldp, bytes(2, 7, 4, 0, 0, 0, 0, 0, 1, 4, 3, 5, 0x70, 0x31, 6, 2, 0, 120)],
    ['cdp TLVs', parseCdp, bytes(0xaa, 0xaa, 0x03, 0, 0, 0x0c, 0x20, 0x00, 2, 180, 0, 0)],
    ['mdns records', parseMdns, bytes(0, 0, 0x84, 0, 0, 1, 0, 4, 0, 0, 0, 0)],
  ];
  for (const [name, parse, head] of PREFIXED) {
    it(`${name} after a valid head`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 1024 }), (tail) => {
          parse(concat(head, tail));
        }),
        { numRuns: 500 },
      );
    });
  }

  it('wsd on random markup', () => {
    const piece = fc.constantFrom(
      '<s:Envelope>',
      '</s:Envelope>',
      '<s:Body>',
      '</s:Body>',
      '<d:Hello>',
      '</d:Hello>',
      '<d:Types>',
      '</d:Types>',
      '<d:Scopes>',
      '</d:Scopes>',
      '<a:EndpointReference>',
      '</a:EndpointReference>',
      '<a:Address>',
      '</a:Address>',
      '<!--',
      '-->',
      '<![CDATA[',
      ']]>',
      '&amp;',
      '&#x41;',
      '&#99999999;',
      'x y',
      '<',
      '>',
      '/>',
      '<?x?>',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 60 }), (parts) => {
        const r = parseWsd(text(parts.join('')));
        if (!('anomaly' in r)) expect(Object.keys(ACTION_TYPES)).toContain(r.type);
      }),
      { numRuns: 1000 },
    );
  });

  it('mutated fixture frames through the whole pipeline never throw', () => {
    const frames = identityFrames();
    fc.assert(
      fc.property(
        fc.nat(frames.length - 1),
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 8 }),
        (i, muts) => {
          const data = frames[i]!.data.slice();
          for (const [at, v] of muts) data[at % data.length] = v;
          const p = new Pipeline({}, {});
          p.onFrame({ ts: 1, index: 0, linkType: 1, ifIndex: 0, origLen: data.length, data });
          expect(Object.values(p.stats().protocols.analyzerErrors).every((n) => n === 0)).toBe(true);
        },
      ),
      { numRuns: 400 },
    );
  });
});
