// Parser details the fixture does not cover: DHCPv6 relays, DHCP FQDN in wire form, CDP IPv6 addresses, SSDP
// responses, DNS-SD's service enumeration, LLDP network-address ids.
import { describe, expect, it } from 'vitest';
import { parseCdp } from '../../../agent/protocols/cdp/parse.js';
import { parseDhcp } from '../../../agent/protocols/dhcp/parse.js';
import { parseDhcpv6 } from '../../../agent/protocols/dhcpv6/parse.js';
import { parseLldp } from '../../../agent/protocols/lldp/parse.js';
import { parseMdns } from '../../../agent/protocols/mdns/parse.js';
import { parseSsdp } from '../../../agent/protocols/ssdp/parse.js';
import { bytes, concat, ip6, text } from '../../decode/builders.js';
import { dhcpFrame } from './frames.js';

const u16 = (v: number): number[] => [(v >> 8) & 255, v & 255];
const opt6 = (code: number, v: Uint8Array): Uint8Array => concat(bytes(...u16(code), ...u16(v.length)), v);
const name = (s: string): number[] => [...s.split('.').flatMap((l) => [l.length, ...text(l)]), 0];

describe('DHCPv6', () => {
  const solicit = concat(
    bytes(1, 0, 0, 1),
    opt6(1, bytes(0, 3, 0, 1, 1, 2, 3, 4, 5, 6)),
    opt6(6, bytes(0, 23, 0, 24)),
  );

  it('reports a relayed message with the innermost message’s fields', () => {
    const relay = concat(bytes(12, 0), new Uint8Array(32), opt6(9, solicit));
    const twice = concat(bytes(12, 1), new Uint8Array(32), opt6(9, relay));
    expect(parseDhcpv6(twice)).toEqual({
      type: 'relay_forw',
      fields: { msg_type: 1, duid: '00030001010203040506', oro: [23, 24], fingerprint: '23,24' },
      cut: 0,
    });
  });

  it('calls an option past the message malformed', () => {
    expect(parseDhcpv6(solicit.subarray(0, solicit.length - 1))).toEqual({
      anomaly: 'dhcpv6.malformed',
      malformed: true,
    });
  });
});

describe('DHCP', () => {
  it('reads an FQDN in DNS wire form when the E flag is set (RFC 4702 §2.3.1)', () => {
    const f = dhcpFrame({ src: '00:00:00:00:00:01', msgType: 3 });
    const msg = f.subarray(14 + 20 + 8, f.length - 1); // without the end option
    const withFqdn = concat(
      msg,
      bytes(81, 3 + name('a.example').length, 0x05, 0, 0, ...name('a.example')),
      bytes(255),
    );
    expect(parseDhcp(withFqdn)).toMatchObject({
      type: 'request',
      fields: { fqdn: 'a.example', msg_type: 3 },
    });
  });

  it('calls a BOOTP message without option 53 other', () => {
    const head = new Uint8Array(236);
    head[0] = 1;
    expect(parseDhcp(concat(head, bytes(0x63, 0x82, 0x53, 0x63, 255)))).toMatchObject({
      type: 'other',
      fields: { msg_type: 0 },
    });
  });
});

describe('CDP', () => {
  it('reads an IPv6 address (802.2 SNAP protocol)', () => {
    const addr = concat(bytes(0, 0, 0, 1, 2, 8, 0xaa, 0xaa, 3, 0, 0, 0, 0x86, 0xdd, 0, 16), ip6('fd00::7'));
    const tlv = concat(bytes(0, 2, ...u16(addr.length + 4)), addr);
    const cdp = concat(bytes(0xaa, 0xaa, 0x03, 0, 0, 0x0c, 0x20, 0x00, 2, 180, 0, 0), tlv);
    expect(parseCdp(cdp)).toMatchObject({ fields: { addresses: ['fd00::7'] } });
  });
});

describe('SSDP', () => {
  it('reads a search response', () => {
    const r = parseSsdp(
      text(
        'HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\nUSN: uuid:1::upnp:rootdevice\r\nServer: X/1 UPnP/1.0 Y/2\r\n\r\n',
      ),
    );
    expect(r).toEqual({
      type: 'response',
      fields: {
        method: 'HTTP',
        st: 'upnp:rootdevice',
        usn: 'uuid:1::upnp:rootdevice',
        server: 'X/1 UPnP/1.0 Y/2',
      },
      cut: 0,
    });
  });

  it('calls anything else malformed', () => {
    expect(parseSsdp(text('GET / HTTP/1.1\r\n\r\n'))).toEqual({ anomaly: 'ssdp.malformed', malformed: true });
  });
});

describe('mDNS', () => {
  it('takes service types from a DNS-SD service enumeration answer', () => {
    const q = name('_services._dns-sd._udp.local');
    const target = name('_dicom._tcp.local');
    const msg = bytes(
      0,
      0,
      0x84,
      0,
      0,
      0,
      0,
      1,
      0,
      0,
      0,
      0,
      ...q,
      0,
      12,
      0,
      1,
      0,
      0,
      0,
      120,
      ...u16(target.length),
      ...target,
    );
    expect(parseMdns(msg)).toMatchObject({ type: 'response', fields: { services: ['_dicom._tcp.local'] } });
  });
});

describe('LLDP', () => {
  it('prints a network-address chassis id as an IP address', () => {
    const tlv = (t: number, v: number[]): number[] => [...u16((t << 9) | v.length), ...v];
    const pdu = bytes(...tlv(1, [5, 1, 10, 0, 0, 9]), ...tlv(2, [7, ...text('p1')]), ...tlv(3, [0, 0]), 0, 0);
    expect(parseLldp(pdu)).toMatchObject({ fields: { chassis_id: '10.0.0.9', port_id: 'p1', ttl: 0 } });
  });
});
