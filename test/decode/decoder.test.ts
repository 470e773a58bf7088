// Table-driven decoder cases built from byte builders, with an error table beside them.
import { describe, expect, it } from 'vitest';
import { LinkType, type RawFrame } from '../../agent/capture/types.js';
import { ipToString, macToString } from '../../agent/decode/addr.js';
import { Decoder, type DecodeStatus } from '../../agent/decode/decoder.js';
import { createPacket, type Packet } from '../../agent/decode/packet.js';
import {
  arp,
  bytes,
  concat,
  eth,
  ext6,
  frag6,
  ipv4,
  ipv6,
  mpls,
  nullHeader,
  sll,
  sll2,
  tcp,
  text,
  packetContent,
  udp,
} from './builders.js';

function frame(linkType: number, data: Uint8Array, ts = 1_700_000_000_000_000): RawFrame {
  return { index: 1, ts, linkType, origLen: data.length, data, ifIndex: 0 };
}

interface Summary {
  status: DecodeStatus;
  ipVersion: number;
  src: string;
  dst: string;
  proto: number;
  srcPort: number;
  dstPort: number;
  vlan: number;
  vlanDepth: number;
  payload: string;
  srcMac: string;
  ttl: number;
}

function summarize(status: DecodeStatus, p: Packet): Summary {
  return {
    status,
    ipVersion: p.ipVersion,
    src: ipToString(p.src),
    dst: ipToString(p.dst),
    proto: p.proto,
    srcPort: p.srcPort,
    dstPort: p.dstPort,
    vlan: p.vlan,
    vlanDepth: p.vlanDepth,
    payload: new TextDecoder().decode(p.payload),
    srcMac: macToString(p.srcMac),
    ttl: p.ttl,
  };
}

function decodeOne(linkType: number, data: Uint8Array): Summary {
  const d = new Decoder();
  const p = createPacket();
  return summarize(d.decode(frame(linkType, data), p), p);
}

const V4 = { src: '192.0.2.1', dst: '198.51.100.7' };
const V6 = { src: '2001:db8::1', dst: '2001:db8::2' };
const tcpHello = tcp({ sport: 51000, dport: 2575, flags: 0x18 }, text('hello'));
const udpDns = udp({ sport: 5353, dport: 53 }, text('query'));

const okCases: { name: string; link: number; data: Uint8Array; want: Partial<Summary> }[] = [
  {
    name: 'ethernet ipv4 tcp',
    link: LinkType.ETHERNET,
    data: eth({ type: 0x0800, src: '00:1a:2b:3c:4d:5e' }, ipv4({ ...V4, proto: 6, ttl: 63 }, tcpHello)),
    want: {
      ipVersion: 4,
      ...V4,
      proto: 6,
      srcPort: 51000,
      dstPort: 2575,
      payload: 'hello',
      srcMac: '00:1a:2b:3c:4d:5e',
      ttl: 63,
      vlan: -1,
    },
  },
  {
    name: 'ethernet ipv4 udp with Ethernet padding trimmed by total length',
    link: LinkType.ETHERNET,
    data: concat(eth({ type: 0x0800 }, ipv4({ ...V4, proto: 17 }, udpDns)), new Uint8Array(12).fill(0xee)),
    want: { proto: 17, srcPort: 5353, dstPort: 53, payload: 'query' },
  },
  {
    name: 'ipv4 options skipped by IHL',
    link: LinkType.ETHERNET,
    data: eth({ type: 0x0800 }, ipv4({ ...V4, proto: 6, options: [0x94, 0x04, 0, 0, 1, 1, 1, 0] }, tcpHello)),
    want: { proto: 6, dstPort: 2575, payload: 'hello' },
  },
  {
    name: 'ipv4 total length 0 (TSO capture) uses captured bytes',
    link: LinkType.ETHERNET,
    data: eth({ type: 0x0800 }, ipv4({ ...V4, proto: 6, totalLength: 0 }, tcpHello)),
    want: { proto: 6, payload: 'hello' },
  },
  {
    name: 'udp length field trims trailing bytes',
    link: LinkType.RAW,
    data: ipv4({ ...V4, proto: 17 }, concat(udp({ length: 8 + 3 }, text('abc')), text('zz'))),
    want: { proto: 17, payload: 'abc' },
  },
  {
    name: 'tcp options skipped by data offset',
    link: LinkType.ETHERNET,
    data: eth(
      { type: 0x0800 },
      ipv4(
        { ...V4, proto: 6 },
        tcp({ options: [2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0] }, text('data')),
      ),
    ),
    want: { payload: 'data' },
  },
  {
    name: 'ipv4 icmp: other protocol, payload kept',
    link: LinkType.ETHERNET,
    data: eth({ type: 0x0800 }, ipv4({ ...V4, proto: 1 }, bytes(8, 0, 0, 0, 0, 1, 0, 1))),
    want: { proto: 1, srcPort: 0, payload: '\b\0\0\0\0\x01\0\x01' },
  },
  {
    name: '802.1Q tag',
    link: LinkType.ETHERNET,
    data: eth({ type: 0x0800, tags: [{ vid: 100, pcp: 5 }] }, ipv4({ ...V4, proto: 17 }, udpDns)),
    want: { vlan: 100, vlanDepth: 1, srcPort: 5353 },
  },
  {
    name: 'VLAN 0 priority tag',
    link: LinkType.ETHERNET,
    data: eth({ type: 0x0800, tags: [{ vid: 0, pcp: 3 }] }, ipv4({ ...V4, proto: 17 }, udpDns)),
    want: { vlan: 0, vlanDepth: 1 },
  },
  {
    name: '802.1ad S-tag + C-tag: innermost id',
    link: LinkType.ETHERNET,
    data: eth(
      { type: 0x0800, tags: [{ tpid: 0x88a8, vid: 200 }, { vid: 300 }] },
      ipv4({ ...V4, proto: 6 }, tcpHello),
    ),
    want: { vlan: 300, vlanDepth: 2, dstPort: 2575 },
  },
  {
    name: 'three stacked 802.1Q tags',
    link: LinkType.ETHERNET,
    data: eth(
      { type: 0x0800, tags: [{ vid: 1 }, { vid: 10 }, { vid: 100 }] },
      ipv4({ ...V4, proto: 6 }, tcpHello),
    ),
    want: { vlan: 100, vlanDepth: 3 },
  },
  {
    name: 'MPLS two labels then ipv4',
    link: LinkType.ETHERNET,
    data: eth({ type: 0x8847 }, mpls([16, 17], ipv4({ ...V4, proto: 6 }, tcpHello))),
    want: { ipVersion: 4, ...V4, dstPort: 2575, payload: 'hello' },
  },
  {
    name: 'MPLS then ipv6',
    link: LinkType.ETHERNET,
    data: eth({ type: 0x8847 }, mpls([16], ipv6({ ...V6, next: 17 }, udpDns))),
    want: { ipVersion: 6, ...V6, proto: 17 },
  },
  {
    name: 'ethernet ipv6 tcp',
    link: LinkType.ETHERNET,
    data: eth({ type: 0x86dd }, ipv6({ ...V6, next: 6, hopLimit: 9 }, tcpHello)),
    want: { ipVersion: 6, ...V6, proto: 6, srcPort: 51000, payload: 'hello', ttl: 9 },
  },
  {
    name: 'ipv6 hop-by-hop, routing, destination options chain',
    link: LinkType.ETHERNET,
    data: eth({ type: 0x86dd }, ipv6({ ...V6, next: 0 }, concat(ext6(43), ext6(60, 2), ext6(17), udpDns))),
    want: { proto: 17, dstPort: 53, payload: 'query' },
  },
  {
    name: 'ipv6 atomic fragment is not reassembled',
    link: LinkType.ETHERNET,
    data: eth({ type: 0x86dd }, ipv6({ ...V6, next: 44 }, concat(frag6(6, 0, false, 7), tcpHello))),
    want: { status: 'ok', proto: 6, payload: 'hello' },
  },
  {
    name: 'ipv6 no next header',
    link: LinkType.RAW,
    data: ipv6({ ...V6, next: 59 }, new Uint8Array(0)),
    want: { status: 'ok', proto: 59, payload: '' },
  },
  {
    name: 'linux cooked v1',
    link: LinkType.LINUX_SLL,
    data: sll(0x0800, ipv4({ ...V4, proto: 6 }, tcpHello)),
    want: { ipVersion: 4, dstPort: 2575, srcMac: '66:77:88:99:aa:bb' },
  },
  {
    name: 'linux cooked v2',
    link: LinkType.LINUX_SLL2,
    data: sll2(0x86dd, ipv6({ ...V6, next: 17 }, udpDns)),
    want: { ipVersion: 6, dstPort: 53, srcMac: '66:77:88:99:aa:bb' },
  },
  {
    name: 'linux cooked v1 with 802.1Q tag left in',
    link: LinkType.LINUX_SLL,
    data: sll(0x8100, concat(bytes(0, 42, 0x08, 0x00), ipv4({ ...V4, proto: 17 }, udpDns))),
    want: { vlan: 42, dstPort: 53 },
  },
  {
    name: 'BSD null, little-endian AF_INET',
    link: LinkType.NULL,
    data: nullHeader(2, ipv4({ ...V4, proto: 6 }, tcpHello)),
    want: { ipVersion: 4, dstPort: 2575, srcMac: '' },
  },
  {
    name: 'BSD null, big-endian AF_INET',
    link: LinkType.NULL,
    data: nullHeader(2, ipv4({ ...V4, proto: 6 }, tcpHello), false),
    want: { ipVersion: 4, dstPort: 2575 },
  },
  ...[24, 28, 30].flatMap((af) =>
    [true, false].map((le) => ({
      name: `BSD null AF_INET6=${af} ${le ? 'LE' : 'BE'}`,
      link: LinkType.NULL,
      data: nullHeader(af, ipv6({ ...V6, next: 17 }, udpDns), le),
      want: { ipVersion: 6, dstPort: 53 } as Partial<Summary>,
    })),
  ),
  {
    name: 'OpenBSD loop (network order)',
    link: LinkType.LOOP,
    data: nullHeader(24, ipv6({ ...V6, next: 17 }, udpDns), false),
    want: { ipVersion: 6, dstPort: 53 },
  },
  {
    name: 'raw ipv4',
    link: LinkType.RAW,
    data: ipv4({ ...V4, proto: 6 }, tcpHello),
    want: { ipVersion: 4, dstPort: 2575 },
  },
  {
    name: 'raw ipv6',
    link: LinkType.RAW,
    data: ipv6({ ...V6, next: 6 }, tcpHello),
    want: { ipVersion: 6, dstPort: 2575 },
  },
  {
    name: 'DLT_RAW 12 written by old tools',
    link: 12,
    data: ipv6({ ...V6, next: 17 }, udpDns),
    want: { ipVersion: 6, dstPort: 53 },
  },
  {
    name: 'DLT_RAW 14 (OpenBSD)',
    link: 14,
    data: ipv4({ ...V4, proto: 17 }, udpDns),
    want: { ipVersion: 4, dstPort: 53 },
  },
  {
    name: 'LINKTYPE_IPV4',
    link: LinkType.IPV4,
    data: ipv4({ ...V4, proto: 17 }, udpDns),
    want: { ipVersion: 4 },
  },
  {
    name: 'LINKTYPE_IPV6',
    link: LinkType.IPV6,
    data: ipv6({ ...V6, next: 17 }, udpDns),
    want: { ipVersion: 6 },
  },
  {
    name: 'LLDP is other',
    link: LinkType.ETHERNET,
    data: eth({ type: 0x88cc }, new Uint8Array(30)),
    want: { status: 'other', ipVersion: 0 },
  },
  {
    name: '802.3 length frame is other',
    link: LinkType.ETHERNET,
    data: eth({ type: 0x0026 }, new Uint8Array(38)),
    want: { status: 'other' },
  },
  {
    name: 'null loopback unknown AF is other',
    link: LinkType.NULL,
    data: nullHeader(7, new Uint8Array(20)),
    want: { status: 'other' },
  },
  {
    name: 'MPLS pseudowire is other',
    link: LinkType.ETHERNET,
    data: eth({ type: 0x8847 }, mpls([16], new Uint8Array(20))),
    want: { status: 'other' },
  },
  {
    name: 'sll netlink is other',
    link: LinkType.LINUX_SLL,
    data: sll(0x0800, new Uint8Array(20), 824),
    want: { status: 'other' },
  },
];

describe('Decoder: valid frames', () => {
  it.each(okCases)('$name', ({ link, data, want }) => {
    const got = decodeOne(link, data);
    expect(got).toMatchObject({ status: 'ok', ...want });
  });

  it('ARP request over Ethernet', () => {
    const d = new Decoder();
    const p = createPacket();
    const status = d.decode(
      frame(
        LinkType.ETHERNET,
        eth(
          { type: 0x0806 },
          arp({ op: 2, senderIp: '10.1.2.3', senderMac: '00:aa:bb:cc:dd:ee', targetIp: '10.1.2.4' }),
        ),
      ),
      p,
    );
    expect(status).toBe('ok');
    expect(p.isArp).toBe(true);
    expect(p.arpOp).toBe(2);
    expect(macToString(p.arpSenderMac)).toBe('00:aa:bb:cc:dd:ee');
    expect(p.arpSenderIp).toBe(0x0a010203);
    expect(p.arpTargetIp).toBe(0x0a010204);
    expect(p.ipVersion).toBe(0);
  });

  it('fills TCP numbers and IPv4 integers', () => {
    const d = new Decoder();
    const p = createPacket();
    const data = eth(
      { type: 0x0800 },
      ipv4({ ...V4, proto: 6 }, tcp({ seq: 0xfffffff0, ack: 0x80000001, flags: 0x12, window: 1234 })),
    );
    expect(d.decode(frame(LinkType.ETHERNET, data), p)).toBe('ok');
    expect(p).toMatchObject({
      seq: 0xfffffff0,
      ack: 0x80000001,
      tcpFlags: 0x12,
      window: 1234,
      src4: 0xc0000201,
      dst4: 0xc6336407,
    });
    expect(p.payload.length).toBe(0);
  });

  it('resets every field between frames', () => {
    const d = new Decoder();
    const p = createPacket();
    d.decode(
      frame(
        LinkType.ETHERNET,
        eth({ type: 0x0800, tags: [{ vid: 5 }] }, ipv4({ ...V4, proto: 6 }, tcpHello)),
      ),
      p,
    );
    d.decode(frame(LinkType.ETHERNET, eth({ type: 0x88cc }, new Uint8Array(30))), p);
    const fresh = createPacket();
    // A non-IP frame keeps its EtherType and bytes for the link-layer analyzers (issue 15); nothing else stays.
    expect(p.etherType).toBe(0x88cc);
    expect(p.payload.length).toBe(30);
    expect({
      ...packetContent(p),
      ts: 0,
      frameIndex: 0,
      frameLen: 0,
      srcMac: -1,
      dstMac: -1,
      etherType: 0,
      payload: [],
      payloadLen: 0,
    }).toEqual(packetContent(fresh));
  });
});

const errorCases: { name: string; link: number; data: Uint8Array; want: DecodeStatus }[] = [
  { name: 'ethernet header cut', link: LinkType.ETHERNET, data: new Uint8Array(10), want: 'truncated' },
  {
    name: 'vlan tag cut',
    link: LinkType.ETHERNET,
    data: eth({ type: 0x8100 }, bytes(0, 1)),
    want: 'truncated',
  },
  {
    name: 'five stacked tags',
    link: LinkType.ETHERNET,
    data: eth(
      { type: 0x0800, tags: [1, 2, 3, 4, 5].map((vid) => ({ vid })) },
      ipv4({ ...V4, proto: 6 }, tcpHello),
    ),
    want: 'too_many_tags',
  },
  {
    name: 'MPLS without bottom of stack',
    link: LinkType.ETHERNET,
    data: eth({ type: 0x8847 }, new Uint8Array(40)),
    want: 'too_many_tags',
  },
  { name: 'MPLS cut', link: LinkType.ETHERNET, data: eth({ type: 0x8847 }, bytes(0, 1)), want: 'truncated' },
  {
    name: 'ipv4 cut',
    link: LinkType.RAW,
    data: ipv4({ ...V4, proto: 6 }, tcpHello).subarray(0, 19),
    want: 'truncated',
  },
  {
    name: 'ipv4 version 5 via ethertype',
    link: LinkType.ETHERNET,
    data: eth({ type: 0x0800 }, ipv4({ ...V4, proto: 6, version: 5 }, tcpHello)),
    want: 'bad_header',
  },
  {
    name: 'ipv4 IHL 4',
    link: LinkType.RAW,
    data: ipv4({ ...V4, proto: 6, ihl: 4 }, tcpHello),
    want: 'bad_header',
  },
  {
    name: 'ipv4 IHL past data',
    link: LinkType.RAW,
    data: ipv4({ ...V4, proto: 6, ihl: 15 }, bytes(1, 2, 3)),
    want: 'truncated',
  },
  {
    name: 'ipv4 total length below header',
    link: LinkType.RAW,
    data: ipv4({ ...V4, proto: 6, totalLength: 12 }, tcpHello),
    want: 'bad_header',
  },
  { name: 'raw version 7', link: LinkType.RAW, data: bytes(0x70, 0, 0, 0), want: 'bad_header' },
  { name: 'raw empty', link: LinkType.RAW, data: new Uint8Array(0), want: 'truncated' },
  {
    name: 'ipv6 cut',
    link: LinkType.RAW,
    data: ipv6({ ...V6, next: 6 }, tcpHello).subarray(0, 30),
    want: 'truncated',
  },
  {
    name: 'ipv6 version wrong',
    link: LinkType.IPV6,
    data: ipv4({ ...V4, proto: 6 }, new Uint8Array(40)),
    want: 'bad_header',
  },
  {
    name: 'ipv6 extension chain over the cap',
    link: LinkType.RAW,
    data: ipv6({ ...V6, next: 60 }, concat(...Array.from({ length: 9 }, () => ext6(60)), ext6(17), udpDns)),
    want: 'bad_header',
  },
  {
    name: 'ipv6 extension header cut',
    link: LinkType.RAW,
    data: ipv6({ ...V6, next: 0 }, concat(ext6(17, 4))).subarray(0, 60),
    want: 'truncated',
  },
  {
    name: 'tcp cut',
    link: LinkType.RAW,
    data: ipv4({ ...V4, proto: 6 }, tcpHello.subarray(0, 10)),
    want: 'truncated',
  },
  {
    name: 'tcp data offset 3',
    link: LinkType.RAW,
    data: ipv4({ ...V4, proto: 6 }, tcp({ dataOffset: 3 })),
    want: 'bad_header',
  },
  {
    name: 'tcp data offset past data',
    link: LinkType.RAW,
    data: ipv4({ ...V4, proto: 6 }, tcp({ dataOffset: 15 })),
    want: 'truncated',
  },
  {
    name: 'udp cut',
    link: LinkType.RAW,
    data: ipv4({ ...V4, proto: 17 }, bytes(0, 53, 0, 53, 0)),
    want: 'truncated',
  },
  {
    name: 'udp length 4',
    link: LinkType.RAW,
    data: ipv4({ ...V4, proto: 17 }, udp({ length: 4 })),
    want: 'bad_header',
  },
  {
    name: 'arp cut',
    link: LinkType.ETHERNET,
    data: eth({ type: 0x0806 }, arp().subarray(0, 20)),
    want: 'truncated',
  },
  { name: 'sll cut', link: LinkType.LINUX_SLL, data: new Uint8Array(15), want: 'truncated' },
  { name: 'sll2 cut', link: LinkType.LINUX_SLL2, data: new Uint8Array(19), want: 'truncated' },
  { name: 'null cut', link: LinkType.NULL, data: bytes(2, 0), want: 'truncated' },
  { name: 'unknown link type', link: 147, data: new Uint8Array(40), want: 'unsupported_link' },
];

describe('Decoder: error table', () => {
  it.each(errorCases)('$name → $want', ({ link, data, want }) => {
    expect(decodeOne(link, data).status).toBe(want);
  });

  it('counts statuses and frames', () => {
    const d = new Decoder();
    const p = createPacket();
    for (const c of errorCases) d.decode(frame(c.link, c.data), p);
    for (const c of okCases) d.decode(frame(c.link, c.data), p);
    const s = d.stats;
    expect(s.frames).toBe(errorCases.length + okCases.length);
    expect(Object.values(s.status).reduce((a, b) => a + b, 0)).toBe(s.frames);
    expect(s.status.truncated).toBe(errorCases.filter((c) => c.want === 'truncated').length);
    expect(s.status.other).toBe(okCases.filter((c) => c.want.status === 'other').length);
  });
});
