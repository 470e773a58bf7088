// Frames for the identity fixture (fixtures/identity/identity.pcap): LLDP, CDP, DHCP, DHCPv6, mDNS, SSDP and WS-Discovery built byte by byte. All names are made up.
import { pcap } from '../../capture/builders.js';
import { bytes, concat, eth, ip4, ip6, ipv4, ipv6, mac, text, udp } from '../../decode/builders.js';

const u16 = (v: number): number[] => [(v >> 8) & 255, v & 255];
const u32 = (v: number): number[] => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];

function lldpTlv(type: number, value: Uint8Array): Uint8Array {
  return concat(bytes(...u16((type << 9) | value.length)), value);
}

export function lldpFrame(o: {
  src: string;
  chassis: Uint8Array;
  port: Uint8Array;
  ttl: number;
  portDesc?: string;
  name?: string;
  desc?: string;
  caps?: [number, number];
  mgmt?: Uint8Array;
}): Uint8Array {
  const tlvs = [lldpTlv(1, o.chassis), lldpTlv(2, o.port), lldpTlv(3, bytes(...u16(o.ttl)))];
  if (o.portDesc !== undefined) tlvs.push(lldpTlv(4, text(o.portDesc)));
  if (o.name !== undefined) tlvs.push(lldpTlv(5, text(o.name)));
  if (o.desc !== undefined) tlvs.push(lldpTlv(6, text(o.desc)));
  if (o.caps) tlvs.push(lldpTlv(7, bytes(...u16(o.caps[0]), ...u16(o.caps[1]))));
  if (o.mgmt) {
    // Address string length (family + address), family, address, interface numbering subtype 2, ifIndex, no OID.
    const fam = o.mgmt.length === 4 ? 1 : 2;
    tlvs.push(lldpTlv(8, concat(bytes(o.mgmt.length + 1, fam), o.mgmt, bytes(2, ...u32(7), 0))));
  }
  tlvs.push(lldpTlv(0, new Uint8Array(0)));
  return eth({ dst: '01:80:c2:00:00:0e', src: o.src, type: 0x88cc }, concat(...tlvs));
}

function cdpTlv(type: number, value: Uint8Array): Uint8Array {
  return concat(bytes(...u16(type), ...u16(value.length + 4)), value);
}

function checksum(d: Uint8Array): number {
  let s = 0;
  for (let i = 0; i + 1 < d.length; i += 2) s += (d[i]! << 8) | d[i + 1]!;
  if (d.length % 2 === 1) s += d[d.length - 1]!;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

export function cdpFrame(src: string): Uint8Array {
  const addr = concat(bytes(...u32(1), 1, 1, 0xcc, ...u16(4)), ip4('10.10.0.2'));
  const body = concat(
    cdpTlv(1, text('SW-WARD3.hospital.example')),
    cdpTlv(2, addr),
    cdpTlv(3, text('GigabitEthernet1/0/7')),
    cdpTlv(4, bytes(...u32(0x28))),
    cdpTlv(5, text('Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 15.0(2)SE11')),
    cdpTlv(6, text('cisco WS-C2960-24TT-L')),
  );
  const cdp = concat(bytes(2, 180, 0, 0), body);
  const c = checksum(cdp);
  cdp[2] = c >> 8;
  cdp[3] = c & 255;
  const llc = concat(bytes(0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00), cdp);
  return concat(mac('01:00:0c:cc:cc:cc'), mac(src), bytes(...u16(llc.length)), llc);
}

function dhcpOption(code: number, value: Uint8Array): Uint8Array {
  return concat(bytes(code, value.length), value);
}

export function dhcpFrame(o: {
  src: string;
  msgType: number;
  op?: number;
  hostname?: string;
  vendor?: string;
  params?: number[];
  requested?: string;
  fqdn?: string;
}): Uint8Array {
  const head = new Uint8Array(236);
  head[0] = o.op ?? 1;
  head[1] = 1;
  head[2] = 6;
  head.set(bytes(...u32(0x1d2c3b4a)), 4);
  head.set(mac(o.src), 28);
  const opts = [dhcpOption(53, bytes(o.msgType)), dhcpOption(61, concat(bytes(1), mac(o.src)))];
  if (o.requested) opts.push(dhcpOption(50, ip4(o.requested)));
  if (o.hostname) opts.push(dhcpOption(12, text(o.hostname)));
  if (o.fqdn) opts.push(dhcpOption(81, concat(bytes(0x01, 0, 0), text(o.fqdn))));
  if (o.vendor) opts.push(dhcpOption(60, text(o.vendor)));
  if (o.params) opts.push(dhcpOption(55, bytes(...o.params)));
  const msg = concat(head, bytes(0x63, 0x82, 0x53, 0x63), ...opts, bytes(255));
  return eth(
    { dst: 'ff:ff:ff:ff:ff:ff', src: o.src, type: 0x0800 },
    ipv4({ src: '0.0.0.0', dst: '255.255.255.255', proto: 17 }, udp({ sport: 68, dport: 67 }, msg)),
  );
}

function dnsName(name: string): number[] {
  const out: number[] = [];
  for (const l of name.split('.')) {
    const b = text(l);
    out.push(b.length, ...b);
  }
  out.push(0);
  return out;
}

export function dhcpv6Frame(src: string): Uint8Array {
  const opt = (code: number, v: number[]): number[] => [...u16(code), ...u16(v.length), ...v];
  const vendorData = [...text('Acme-Ventilator-V500')];
  const msg = bytes(
    1,
    0x12,
    0x34,
    0x56,
    ...opt(1, [0, 3, 0, 1, ...mac(src)]),
    ...opt(8, [0, 0]),
    ...opt(6, [...u16(23), ...u16(24), ...u16(39), ...u16(17)]),
    ...opt(16, [...u32(12345), ...u16(vendorData.length), ...vendorData]),
    ...opt(39, [0x01, ...dnsName('vent-v500-12.icu.example')]),
  );
  return eth(
    { dst: '33:33:00:01:00:02', src, type: 0x86dd },
    ipv6(
      { src: 'fe80::21b:21ff:feaa:bb05', dst: 'ff02::1:2', next: 17 },
      udp({ sport: 546, dport: 547 }, msg),
    ),
  );
}

export function mdnsFrame(src: string): Uint8Array {
  const rr = (name: number[], type: number, rdata: number[]): number[] => [
    ...name,
    ...u16(type),
    ...u16(0x8001),
    ...u32(120),
    ...u16(rdata.length),
    ...rdata,
  ];
  const inst = 'US-Cart 4._dicom._tcp.local';
  const txt = ['md=Vivid iq', 'manufacturer=Acme Ultrasound', 'txtvers=1', 'serial=XYZ123'].flatMap((s) => {
    const b = [...text(s)];
    return [b.length, ...b];
  });
  const msg = bytes(
    0,
    0,
    0x84,
    0,
    ...u16(0),
    ...u16(4),
    ...u16(0),
    ...u16(0),
    ...rr(dnsName('_dicom._tcp.local'), 12, dnsName(inst)),
    ...rr(dnsName(inst), 33, [...u16(0), ...u16(0), ...u16(104), ...dnsName('us-cart-4.local')]),
    ...rr(dnsName(inst), 16, txt),
    ...rr(dnsName('us-cart-4.local'), 1, [...ip4('10.10.40.4')]),
  );
  return eth(
    { dst: '01:00:5e:00:00:fb', src, type: 0x0800 },
    ipv4({ src: '10.10.40.4', dst: '224.0.0.251', proto: 17 }, udp({ sport: 5353, dport: 5353 }, msg)),
  );
}

export function udpTextFrame(o: {
  src: string;
  ip: string;
  dst: string;
  sport: number;
  dport: number;
  body: string;
}): Uint8Array {
  return eth(
    { dst: '01:00:5e:7f:ff:fa', src: o.src, type: 0x0800 },
    ipv4({ src: o.ip, dst: o.dst, proto: 17 }, udp({ sport: o.sport, dport: o.dport }, text(o.body))),
  );
}

const SSDP_NOTIFY = [
  'NOTIFY * HTTP/1.1',
  'HOST: 239.255.255.250:1900',
  'CACHE-CONTROL: max-age=1800',
  'LOCATION: http://10.10.50.9:49152/description.xml',
  'NT: urn:schemas-upnp-org:device:MediaRenderer:1',
  'NTS: ssdp:alive',
  'SERVER: Linux/4.9 UPnP/1.0 AcmeDisplay/2.3',
  'USN: uuid:4d696e69-444c-164e-9d41-001ec0ab1c3d::urn:schemas-upnp-org:device:MediaRenderer:1',
  '',
  '',
].join('\r\n');

const SSDP_SEARCH = [
  'M-SEARCH * HTTP/1.1',
  'HOST: 239.255.255.250:1900',
  'MAN: "ssdp:discover"',
  'MX: 2',
  'ST: ssdp:all',
  'USER-AGENT: AcmeViewer/1.0 UPnP/1.1',
  '',
  '',
].join('\r\n');

const WSD_HELLO = `<?xml version="1.0" encoding="UTF-8"?>
<s12:Envelope xmlns:s12="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing" xmlns:wsd="http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01" xmlns:dpws="http://docs.oasis-open.org/ws-dd/ns/dpws/2009/01" xmlns:mdpws="http://standards.ieee.org/downloads/11073/11073-20702-2016">
  <s12:Header>
    <wsa:Action>http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01/Hello</wsa:Action>
    <wsa:To>urn:docs-oasis-open-org:ws-dd:ns:discovery:2009:01</wsa:To>
    <wsa:MessageID>urn:uuid:0d0f9a32-4b0a-4d3e-9a56-6c3d7c1b2e01</wsa:MessageID>
  </s12:Header>
  <s12:Body>
    <wsd:Hello>
      <wsa:EndpointReference><wsa:Address>urn:uuid:6f1c2a3b-0001-4abc-8def-00a0b0c0d0e1</wsa:Address></wsa:EndpointReference>
      <wsd:Types>dpws:Device mdpws:MedicalDevice</wsd:Types>
      <wsd:Scopes>sdc.mds.pkp:1.2.840.10004.20701.1.1 sdc.ctxt.loc:/sdc.ctxt.loc.detail/ICU%2FBed7?fac=NorthWing</wsd:Scopes>
      <wsd:XAddrs>https://10.10.60.7:6464/6f1c2a3b</wsd:XAddrs>
      <wsd:MetadataVersion>3</wsd:MetadataVersion>
    </wsd:Hello>
  </s12:Body>
</s12:Envelope>`;

const WSD_PROBE = `<?xml version="1.0" encoding="UTF-8"?>
<s12:Envelope xmlns:s12="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing" xmlns:wsd="http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01" xmlns:mdpws="http://standards.ieee.org/downloads/11073/11073-20702-2016">
  <s12:Header><wsa:Action>http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01/Probe</wsa:Action></s12:Header>
  <s12:Body><wsd:Probe><wsd:Types>mdpws:MedicalDevice</wsd:Types></wsd:Probe></s12:Body>
</s12:Envelope>`;

/** Every fixture frame with its time (µs): one second apart, so that each event names its frame by time. */
export function identityFrames(): { ts: number; data: Uint8Array }[] {
  const frames = [
    lldpFrame({
      src: '00:1b:21:aa:bb:01',
      chassis: bytes(4, ...mac('00:1b:21:aa:bb:01')),
      port: bytes(5, ...text('eth0')),
      ttl: 120,
      portDesc: 'Ethernet port 1',
      name: 'INFUSION-GW-07',
      desc: 'Acme Infusion Gateway IG-200, firmware 8.2.1',
      caps: [0x80, 0x80],
      mgmt: ip4('10.10.30.7'),
    }),
    lldpFrame({
      src: '00:25:90:01:02:03',
      chassis: bytes(7, ...text('SW-ICU-2')),
      port: bytes(3, ...mac('00:25:90:01:02:0a')),
      ttl: 120,
      portDesc: 'Gi1/0/10 ICU bed 10',
      name: 'SW-ICU-2',
      desc: 'Acme Switch OS 12.4, model AS-2400',
      caps: [0x14, 0x04],
      mgmt: ip6('fd00:10::2'),
    }),
    cdpFrame('00:1e:bd:11:22:33'),
    dhcpFrame({
      src: '00:09:fb:12:34:56',
      msgType: 1,
      hostname: 'MX450-bed07',
      vendor: 'Acme PatientMonitor MX450',
      params: [1, 3, 6, 15, 28, 42, 119, 252],
    }),
    dhcpFrame({
      src: '00:09:fb:12:34:56',
      msgType: 3,
      hostname: 'MX450-bed07',
      vendor: 'Acme PatientMonitor MX450',
      params: [1, 3, 6, 15, 28, 42, 119, 252],
      requested: '10.10.10.57',
      fqdn: 'mx450-bed07.icu.example',
    }),
    dhcpv6Frame('00:1b:21:aa:bb:05'),
    mdnsFrame('00:1b:21:aa:bb:06'),
    udpTextFrame({
      src: '00:1b:21:aa:bb:07',
      ip: '10.10.50.9',
      dst: '239.255.255.250',
      sport: 1900,
      dport: 1900,
      body: SSDP_NOTIFY,
    }),
    udpTextFrame({
      src: '00:1b:21:aa:bb:08',
      ip: '10.10.50.10',
      dst: '239.255.255.250',
      sport: 50123,
      dport: 1900,
      body: SSDP_SEARCH,
    }),
    udpTextFrame({
      src: '00:1b:21:aa:bb:09',
      ip: '10.10.60.7',
      dst: '239.255.255.250',
      sport: 3702,
      dport: 3702,
      body: WSD_HELLO,
    }),
    udpTextFrame({
      src: '00:1b:21:aa:bb:0a',
      ip: '10.10.60.8',
      dst: '239.255.255.250',
      sport: 51000,
      dport: 3702,
      body: WSD_PROBE,
    }),
  ];
  const t0 = 1_780_000_000_000_000;
  return frames.map((data, i) => ({ ts: t0 + i * 1_000_000, data }));
}

export function identityPcap(): Uint8Array {
  return pcap(identityFrames().map((f) => ({ sec: Math.floor(f.ts / 1e6), frac: f.ts % 1e6, data: f.data })));
}
