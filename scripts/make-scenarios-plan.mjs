// Where each loopback recording lands on the hospital plan of fixtures/site.yaml, per capture (read by make-scenarios-rewrite.mjs).
// Recording names are those of make-scenarios.sh; ports in `conns` are the 127.0.0.1 ports used while recording.
const GW = '10:57:25:00:00:01'; // Cisco: the default gateway, the MAC every outside address is seen behind

const hosts = {
  pacs: { ip: '10.20.40.10', mac: '00:25:90:40:00:10' }, // Super Micro
  ct: { ip: '10.20.40.21', mac: '00:18:65:40:00:21' }, // Siemens Healthcare
  us: { ip: '10.20.40.22', mac: '44:4b:5d:40:00:22' }, // GE Healthcare
  viewer: { ip: '10.20.40.31', mac: '10:65:30:40:00:31' }, // Dell
  engine: { ip: '10.20.50.5', mac: '00:0c:29:50:00:05' }, // VMware
  lis: { ip: '10.20.50.7', mac: '00:0c:29:50:00:07' },
  his: { ip: '10.20.50.8', mac: '00:0c:29:50:00:08' },
  dashboard: { ip: '10.20.50.30', mac: '10:65:30:50:00:30' }, // Dell
  fileserver: { ip: '10.20.50.40', mac: '00:0c:29:50:00:40' },
  termserver: { ip: '10.20.50.41', mac: '00:0c:29:50:00:41' },
  monitor: { ip: '10.20.30.17', mac: '00:1a:2b:3c:4d:5e' }, // the site's ICU monitor gateway
  monitorSpoof: { ip: '10.20.30.17', mac: '28:cd:c1:30:00:17' }, // Raspberry Pi claiming the gateway's address
  pump1: { ip: '10.20.30.31', mac: '00:12:21:30:00:31' }, // B. Braun
  pump2: { ip: '10.20.30.32', mac: '00:12:21:30:00:32' },
  rogue: { ip: '10.20.30.99', mac: '28:cd:c1:30:00:99' }, // Raspberry Pi
  broker: { ip: '10.20.60.2', mac: '00:0c:29:60:00:02' },
  manager: { ip: '10.20.60.10', mac: '00:0c:29:60:00:10' },
  guestHost: { ip: '10.99.0.15', mac: '14:76:49:99:00:15' }, // HPE, guest zone
  foreignPacs: { ip: '203.0.113.50', mac: GW },
  extHl7: { ip: '203.0.113.80', mac: GW },
  extBroker: { ip: '203.0.113.20', mac: GW },
  internet: { ip: '198.51.100.7', mac: GW },
};
for (let i = 0; i < 40; i++)
  hosts[`img${i}`] = { ip: `10.20.40.${100 + i}`, mac: `00:25:90:40:01:${(i + 16).toString(16)}` };

const DICOM_PORTS = (client, extra = []) => [
  { port: 27104, client, server: 'pacs', serverPort: 104 },
  ...extra,
];
const HL7 = (client) => [{ port: 27661, client, server: 'engine', serverPort: 6661 }];
const MQTT = (client) => [{ port: 27883, client, server: 'broker', serverPort: 1883 }];

/** The ten minutes of ordinary traffic every baseline-driven scenario is learned from. */
function normalParts(at = 0) {
  return [
    {
      rec: 'n-mqtt',
      at,
      span: 590,
      conns: MQTT(['dashboard', 'pump1', 'pump2', 'pump1', 'pump2', ...Array(8).fill('manager')]),
    },
    { rec: 'n-ct-1', at: at + 10, conns: DICOM_PORTS('ct') },
    { rec: 'n-ct-2', at: at + 210, conns: DICOM_PORTS('ct') },
    {
      rec: 'n-viewer-1',
      at: at + 100,
      conns: DICOM_PORTS('viewer', [{ port: 27113, client: 'pacs', server: 'viewer', serverPort: 11112 }]),
    },
    {
      rec: 'n-viewer-2',
      at: at + 300,
      conns: DICOM_PORTS('viewer', [{ port: 27113, client: 'pacs', server: 'viewer', serverPort: 11112 }]),
    },
    {
      rec: 'n-us-tls-1',
      at: at + 50,
      conns: [{ port: 27762, client: 'us', server: 'pacs', serverPort: 2762 }],
    },
    {
      rec: 'n-us-tls-2',
      at: at + 350,
      conns: [{ port: 27762, client: 'us', server: 'pacs', serverPort: 2762 }],
    },
    { rec: 'n-mon1', at: at + 5, span: 560, conns: HL7('monitor') },
    { rec: 'n-adt-1', at: at + 30, span: 150, conns: HL7('his') },
    { rec: 'n-adt-2', at: at + 250, span: 90, conns: HL7('his') },
    { rec: 'n-lis', at: at + 40, span: 240, conns: HL7('lis') },
  ];
}

/**
 * A second normal day (normal-day2.pcap, 2026-12-01 14:00Z): the hosts and kinds of sessions of normalParts, twenty
 * minutes, other patients, more volume: five CT stores (12 images), five viewer C-FIND + C-MOVE, four ultrasound TLS
 * sessions, the monitor's ORU every ~62 s as in normal.pcap (20 messages), two ADT A01 and two A03 connections, two
 * LIS ORU connections, 100 telemetry messages per pump, eight rounds of rate confirmations. Its HL7 goes to a
 * receiver of its own (27664) that stamps the ACKs with that day.
 */
function normalDay2Parts() {
  const viewer = DICOM_PORTS('viewer', [
    { port: 27113, client: 'pacs', server: 'viewer', serverPort: 11112 },
  ]);
  const hl7 = (client) => [{ port: 27664, client, server: 'engine', serverPort: 6661 }];
  const us = [{ port: 27762, client: 'us', server: 'pacs', serverPort: 2762 }];
  return [
    {
      rec: 'n2-mqtt',
      at: 0,
      span: 1190,
      conns: MQTT(['dashboard', 'pump1', 'pump2', 'pump1', 'pump2', ...Array(16).fill('manager')]),
    },
    ...[10, 250, 480, 720, 960].map((at, i) => ({ rec: `n2-ct-${i + 1}`, at, conns: DICOM_PORTS('ct') })),
    ...[100, 330, 560, 800, 1040].map((at, i) => ({ rec: `n2-viewer-${i + 1}`, at, conns: viewer })),
    ...[50, 400, 650, 900].map((at, i) => ({ rec: `n2-us-tls-${i + 1}`, at, conns: us })),
    // 20 messages over 1182 s: the ~62 s period of normal.pcap's feed (10 messages over 560 s)
    { rec: 'n2-mon1', at: 5, span: 1182, conns: hl7('monitor') },
    { rec: 'n2-adt-1', at: 30, span: 150, conns: hl7('his') },
    { rec: 'n2-adt-2', at: 250, span: 90, conns: hl7('his') },
    { rec: 'n2-adt-3', at: 620, span: 150, conns: hl7('his') },
    { rec: 'n2-adt-4', at: 860, span: 150, conns: hl7('his') },
    { rec: 'n2-lis-1', at: 40, span: 240, conns: hl7('lis') },
    { rec: 'n2-lis-2', at: 640, span: 300, conns: hl7('lis') },
  ];
}

const BASE = '2026-11-28T11:00:00Z';
const one = (out, rec, conns, extra = {}) => ({
  out: `scenarios/${out}`,
  base: BASE,
  parts: [{ rec, at: 0, conns, ...extra }],
});

// G3: 30 ports on the PACS, then port 104 on 30 imaging hosts (the recording connects to 27001..27060 in order).
const scanPorts = [
  21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 161, 389, 443, 445, 465, 587, 631, 993, 995, 1433, 1521,
  2049, 2762, 3306, 3389, 5432, 5900, 8080, 8443,
];
const scanServers = [...scanPorts.map(() => 'pacs'), ...Array.from({ length: 30 }, (_, i) => `img${i}`)];
const scanServerPorts = [...scanPorts, ...Array.from({ length: 30 }, () => 104)];

const captures = [
  { out: 'scenarios/normal.pcap', base: '2026-11-28T10:00:00Z', parts: normalParts() },
  { out: 'scenarios/normal-day2.pcap', base: '2026-12-01T14:00:00Z', parts: normalDay2Parts() },
  one('dicom-unknown-scu.pcap', 'd1-unknown-scu', DICOM_PORTS('rogue')),
  one('dicom-ae-enumeration.pcap', 'd2-ae-enum', DICOM_PORTS('rogue')),
  one('dicom-abort-storm.pcap', 'd13-abort-storm', DICOM_PORTS('rogue')),
  one('dicom-echo-sweep.pcap', 'd3-echo-sweep', [
    {
      port: 27105,
      client: 'rogue',
      server: Array.from({ length: 12 }, (_, i) => `img${i}`),
      serverPort: [104, 11112],
    },
  ]),
  one('dicom-cfind-harvest.pcap', 'd4-cfind-harvest', DICOM_PORTS('viewer')),
  one(
    'dicom-cmove-foreign.pcap',
    'd5-cmove-foreign',
    DICOM_PORTS('viewer', [{ port: 27114, client: 'pacs', server: 'foreignPacs', serverPort: 104 }]),
  ),
  {
    out: 'scenarios/dicom-bulk-offhours.pcap',
    base: '2026-11-29T02:30:00Z',
    parts: [
      {
        rec: 'd6-bulk-retrieve',
        at: 0,
        conns: DICOM_PORTS('viewer', [{ port: 27113, client: 'pacs', server: 'viewer', serverPort: 11112 }]),
      },
    ],
  },
  one('dicom-store-from-viewer.pcap', 'd7-store-from-viewer', DICOM_PORTS('viewer')),
  one('dicom-internet.pcap', 'd8-inbound-internet', DICOM_PORTS('internet')),
  one('dicom-tls-downgrade.pcap', 'd9-tls-downgrade', DICOM_PORTS('us')),
  one('dicom-cleartext-credentials.pcap', 'd10-cleartext-credentials', DICOM_PORTS('ct')),
  // The implementation version name is edited in place (same length): dcmtk cannot announce another version.
  one('dicom-firmware-change.pcap', 'd11-firmware-change', DICOM_PORTS('ct'), {
    replace: [['OFFIS_DCMTK_367', 'OFFIS_DCMTK_370']],
  }),
  one('dicom-new-sop-class.pcap', 'd12-new-sop-class', DICOM_PORTS('ct')),
  one('hl7-new-sender.pcap', 'h1-new-sender', HL7('rogue')),
  one('hl7-sender-mismatch.pcap', 'h2-sender-mismatch', HL7('monitor')),
  one('hl7-spoofed-results.pcap', 'h3-spoofed-results', HL7('his')),
  one('hl7-unauthorized-orders.pcap', 'h4-orders', HL7('viewer')),
  one('hl7-query-harvest.pcap', 'h5-query-harvest', HL7('lis')),
  one('hl7-external-ip.pcap', 'h6-external-ip', [
    { port: 27663, client: 'monitor', server: 'extHl7', serverPort: 6661 },
  ]),
  one('hl7-phi-cross-zone.pcap', 'h7-phi-cross-zone', [
    { port: 27663, client: 'monitor', server: 'guestHost', serverPort: 2575 },
  ]),
  one('hl7-nak-spike.pcap', 'h8-nak-spike', [
    { port: 27662, client: 'lis', server: 'engine', serverPort: 6661 },
  ]),
  one('hl7-merge-unusual-sender.pcap', 'h9-merge', HL7('lis')),
  {
    out: 'scenarios/hl7-replay.pcap',
    base: BASE,
    parts: [
      { rec: 'h10-replay-a', at: 0, conns: HL7('his') },
      { rec: 'h10-replay-b', at: 600, conns: HL7('rogue') },
    ],
  },
  {
    // The monitor's ORU feed (every 60 s) stops after 5 messages while the lab keeps sending for 20 minutes.
    out: 'scenarios/hl7-feed-stops.pcap',
    base: BASE,
    parts: [
      { rec: 'h11-feed-b', at: 0, span: 250, conns: HL7('monitor') },
      { rec: 'h11-feed-a', at: 30, span: 1200, conns: HL7('lis') },
    ],
  },
  one('hl7-config-drift.pcap', 'h12-config-drift', HL7('his')),
  one('mqtt-wildcard-subscribe.pcap', 'm1-wildcard', MQTT('dashboard')),
  one('mqtt-anonymous.pcap', 'm3-anonymous', MQTT('rogue')),
  one('mqtt-password-guessing.pcap', 'm4-password-guessing', [
    { port: 27884, client: 'rogue', server: 'broker', serverPort: 1883 },
  ]),
  one('mqtt-command-unexpected-client.pcap', 'm6-cmd-publish', MQTT('dashboard')),
  one('mqtt-retained-command.pcap', 'm7-retained-cmd', MQTT('manager')),
  one('mqtt-client-takeover.pcap', 'm8-client-takeover', MQTT(['pump1', 'rogue', 'pump1'])),
  one('mqtt-exfil.pcap', 'm9-exfil', MQTT('pump1')),
  one('mqtt-external-broker.pcap', 'm10-external-broker', [
    { port: 27883, client: 'pump2', server: 'extBroker', serverPort: 1883 },
  ]),
  one('net-new-service.pcap', 'g2-new-service', [
    { port: 27022, client: 'monitor', server: 'engine', serverPort: 22 },
    { port: 27445, client: 'monitor', server: 'fileserver', serverPort: 445 },
    { port: 27389, client: 'monitor', server: 'termserver', serverPort: 3389 },
  ]),
  one('net-scan.pcap', 'g3-scan', [
    { port: '*', client: 'rogue', server: scanServers, serverPort: scanServerPorts },
  ]),
  one('net-mac-change.pcap', 'g4-mac-change', HL7('monitorSpoof')),
  {
    // wardwatch demo: ten minutes of normal traffic, then M1, M3, D4, H6 and G1 (a rogue laptop's DICOM).
    out: 'demo/demo.pcap',
    base: '2026-11-28T10:00:00Z',
    parts: [
      ...normalParts(),
      { rec: 'm1-wildcard', at: 620, conns: MQTT('dashboard') },
      { rec: 'm3-anonymous', at: 640, conns: MQTT('rogue') },
      { rec: 'd4-cfind-harvest', at: 660, conns: DICOM_PORTS('viewer') },
      {
        rec: 'h6-external-ip',
        at: 680,
        conns: [{ port: 27663, client: 'monitor', server: 'extHl7', serverPort: 6661 }],
      },
      { rec: 'd1-unknown-scu', at: 700, conns: DICOM_PORTS('rogue') },
    ],
  },
];

export default { hosts, captures };
