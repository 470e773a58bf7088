// Builds the large deterministic benchmark capture: interleaved MQTT, HL7/MLLP, DICOM C-STORE and DNS sessions (synthetic, no patient data).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  DICOM_RELEASE_RP,
  DICOM_RELEASE_RQ,
  MQTT_DISCONNECT,
  MQTT_PINGREQ,
  MQTT_PINGRESP,
  dicomAssociateAc,
  dicomAssociateRq,
  dicomCStoreRq,
  dicomCStoreRsp,
  dicomDataset,
  dicomPData,
  dnsQuery,
  dnsResponse,
  hl7Ack,
  hl7Adt,
  hl7Oru,
  mqttConnack,
  mqttConnect,
  mqttPuback,
  mqttPublish,
  mqttSuback,
  mqttSubscribe,
  telemetry,
} from './payloads.js';
import { PcapWriter, type FrameSpec } from './pcap-writer.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
// Compiled to dist/bench/ or run from bench/ (vitest): either way the output goes to <repo>/bench/out.
export const REPO_ROOT = path.resolve(HERE, path.basename(path.dirname(HERE)) === 'dist' ? '../..' : '..');
export const BENCH_DIR = path.join(REPO_ROOT, 'bench', 'out');
export const DEFAULT_CAPTURE = path.join(BENCH_DIR, 'bench-1m.pcap');

export interface MakeCaptureOptions {
  /** Stop starting sessions once this many packets are written (running sessions finish). */
  packets: number;
  seed: number;
  /** Sessions in progress at once, interleaved packet by packet. */
  concurrency: number;
}

export interface MakeCaptureResult {
  file: string;
  packets: number;
  bytes: number;
  flows: number;
  sessions: Record<SessionKind, number>;
  packetsByKind: Record<SessionKind, number>;
  seconds: number;
}

type SessionKind = 'mqtt' | 'hl7' | 'dicom' | 'dns';

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;
const MSS = 1460;

/** mulberry32: small, fast and deterministic. */
function makeRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Host {
  ip: number;
  mac: number;
  vlan: number;
  nextPort: number;
}

function ipv4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

const PACS: Host = { ip: ipv4(10, 20, 40, 10), mac: 0x00_1b_21_40_00_0a, vlan: -1, nextPort: 0 };
const HL7_ENGINE: Host = { ip: ipv4(10, 20, 50, 5), mac: 0x00_1b_21_50_00_05, vlan: -1, nextPort: 0 };
const BROKER: Host = { ip: ipv4(10, 20, 60, 2), mac: 0x00_1b_21_60_00_02, vlan: -1, nextPort: 0 };
const DNS: Host = { ip: ipv4(10, 20, 50, 53), mac: 0x00_1b_21_50_00_35, vlan: -1, nextPort: 0 };

/** Devices: 10.20.30.1 onwards, a quarter of them behind 802.1Q VLAN 30. */
function makeDevices(n: number): Host[] {
  const hosts: Host[] = [];
  for (let i = 0; i < n; i++) {
    const ip = ipv4(10, 20, 30 + Math.floor(i / 250), 1 + (i % 250));
    hosts.push({
      ip,
      mac: 0x02_00_5e_00_00_00 + i,
      vlan: i % 4 === 0 ? 30 : -1,
      nextPort: 32768 + ((i * 97) % 20000),
    });
  }
  return hosts;
}

type Frame = FrameSpec;

/** One TCP connection's sequence state; yields frames for handshake, data with ACKs, and close. */
class TcpConn {
  private seqC: number;
  private seqS: number;
  private readonly sport: number;

  constructor(
    private readonly c: Host,
    private readonly s: Host,
    private readonly dport: number,
    rng: () => number,
  ) {
    this.seqC = Math.floor(rng() * 4294967296);
    this.seqS = Math.floor(rng() * 4294967296);
    this.sport = c.nextPort;
    c.nextPort = c.nextPort >= 60999 ? 32768 : c.nextPort + 1;
  }

  private frame(fromClient: boolean, flags: number, payload: Uint8Array): Frame {
    const a = fromClient ? this.c : this.s;
    const b = fromClient ? this.s : this.c;
    const f: Frame = {
      ts: 0,
      srcMac: a.mac,
      dstMac: b.mac,
      vlan: this.c.vlan,
      src: a.ip,
      dst: b.ip,
      proto: 6,
      sport: fromClient ? this.sport : this.dport,
      dport: fromClient ? this.dport : this.sport,
      seq: fromClient ? this.seqC : this.seqS,
      ack: (flags & ACK) !== 0 ? (fromClient ? this.seqS : this.seqC) : 0,
      flags,
      window: 64240,
      payload,
    };
    const adv = payload.length + ((flags & (SYN | FIN)) !== 0 ? 1 : 0);
    if (fromClient) this.seqC = (this.seqC + adv) >>> 0;
    else this.seqS = (this.seqS + adv) >>> 0;
    return f;
  }

  *open(): Generator<Frame> {
    yield this.frame(true, SYN, EMPTY);
    yield this.frame(false, SYN | ACK, EMPTY);
    yield this.frame(true, ACK, EMPTY);
  }

  /** Sends a message in MSS segments; the receiver ACKs every second segment and the last. */
  *send(fromClient: boolean, data: Uint8Array): Generator<Frame> {
    let n = 0;
    for (let off = 0; off < data.length; off += MSS) {
      const end = Math.min(data.length, off + MSS);
      yield this.frame(fromClient, end === data.length ? ACK | PSH : ACK, data.subarray(off, end));
      n++;
      if (n % 2 === 0 || end === data.length) yield this.frame(!fromClient, ACK, EMPTY);
    }
  }

  *close(fromClient: boolean): Generator<Frame> {
    yield this.frame(fromClient, FIN | ACK, EMPTY);
    yield this.frame(!fromClient, FIN | ACK, EMPTY);
    yield this.frame(fromClient, ACK, EMPTY);
  }

  *reset(fromClient: boolean): Generator<Frame> {
    yield this.frame(fromClient, RST | ACK, EMPTY);
  }
}

const EMPTY = new Uint8Array(0);

function* mqttSession(dev: Host, idx: number, rng: () => number): Generator<Frame> {
  const t = new TcpConn(dev, BROKER, 1883, rng);
  yield* t.open();
  yield* t.send(true, mqttConnect(`pump-${idx % 5000}`, 'device', 'synthetic-secret', 60));
  yield* t.send(false, mqttConnack());
  if (rng() < 0.3) {
    yield* t.send(true, mqttSubscribe(1, `ward/3/pump/${idx % 5000}/cmd`, 1));
    yield* t.send(false, mqttSuback(1, 1));
  }
  const publishes = 10 + Math.floor(rng() * 30);
  for (let i = 0; i < publishes; i++) {
    const qos = rng() < 0.5 ? 1 : 0;
    const id = (i % 65535) + 1;
    yield* t.send(
      true,
      mqttPublish(`ward/3/pump/${idx % 5000}/status`, telemetry(i, 20 + rng() * 80), qos, id),
    );
    if (qos === 1) yield* t.send(false, mqttPuback(id));
    if (i % 15 === 14) {
      yield* t.send(true, MQTT_PINGREQ);
      yield* t.send(false, MQTT_PINGRESP);
    }
  }
  yield* t.send(true, MQTT_DISCONNECT);
  yield* t.close(true);
}

function* hl7Session(dev: Host, idx: number, rng: () => number): Generator<Frame> {
  const t = new TcpConn(dev, HL7_ENGINE, 2575, rng);
  yield* t.open();
  const messages = 3 + Math.floor(rng() * 12);
  for (let i = 0; i < messages; i++) {
    const id = `MSG${idx}.${i}`;
    const msg = rng() < 0.8 ? hl7Oru(id, idx % 1000, 2 + Math.floor(rng() * 20)) : hl7Adt(id, idx % 1000);
    yield* t.send(true, msg);
    yield* t.send(false, hl7Ack(id, `ACK${idx}.${i}`));
  }
  yield* t.close(true);
}

function* dicomSession(dev: Host, idx: number, rng: () => number): Generator<Frame> {
  const t = new TcpConn(dev, PACS, rng() < 0.5 ? 104 : 11112, rng);
  yield* t.open();
  const calling = `MODALITY${idx % 50}`;
  yield* t.send(true, dicomAssociateRq('PACS_MAIN', calling));
  yield* t.send(false, dicomAssociateAc('PACS_MAIN', calling));
  const images = 1 + Math.floor(rng() * 2);
  for (let i = 0; i < images; i++) {
    const uid = `1.2.826.0.1.3680043.10.999.${idx}.${i}`;
    yield* t.send(true, dicomPData(dicomCStoreRq(i + 1, uid), true, true));
    const ds = dicomDataset(uid, 150_000 + Math.floor(rng() * 350_000));
    const maxPdv = 16384 - 6;
    for (let off = 0; off < ds.length; off += maxPdv) {
      const end = Math.min(ds.length, off + maxPdv);
      yield* t.send(true, dicomPData(ds.subarray(off, end), false, end === ds.length));
    }
    yield* t.send(false, dicomPData(dicomCStoreRsp(i + 1, uid), true, true));
  }
  yield* t.send(true, DICOM_RELEASE_RQ);
  yield* t.send(false, DICOM_RELEASE_RP);
  if (rng() < 0.1) yield* t.reset(true);
  else yield* t.close(true);
}

function* dnsSession(dev: Host, idx: number): Generator<Frame> {
  const sport = dev.nextPort;
  dev.nextPort = dev.nextPort >= 60999 ? 32768 : dev.nextPort + 1;
  const name = `svc${idx % 40}.hospital.example`;
  const id = idx & 0xffff;
  const base = {
    srcMac: dev.mac,
    dstMac: DNS.mac,
    vlan: dev.vlan,
    proto: 17 as const,
    seq: 0,
    ack: 0,
    flags: 0,
    window: 0,
    ts: 0,
  };
  yield { ...base, src: dev.ip, dst: DNS.ip, sport, dport: 53, payload: dnsQuery(id, name) };
  yield {
    ...base,
    srcMac: DNS.mac,
    dstMac: dev.mac,
    src: DNS.ip,
    dst: dev.ip,
    sport: 53,
    dport: sport,
    payload: dnsResponse(id, name, ipv4(10, 20, 60, 2)),
  };
}

/** Writes the capture and returns what it holds. Same options, same bytes. */
export function makeCapture(file: string, opts: Partial<MakeCaptureOptions> = {}): MakeCaptureResult {
  const o: MakeCaptureOptions = { packets: 1_050_000, seed: 20261128, concurrency: 48, ...opts };
  const started = Date.now();
  mkdirSync(path.dirname(file), { recursive: true });
  const rng = makeRng(o.seed);
  const devices = makeDevices(400);
  const w = new PcapWriter(file);
  const sessions: Record<SessionKind, number> = { mqtt: 0, hl7: 0, dicom: 0, dns: 0 };
  const packetsByKind: Record<SessionKind, number> = { mqtt: 0, hl7: 0, dicom: 0, dns: 0 };
  const active: { gen: Generator<Frame>; kind: SessionKind }[] = [];
  let ts = Date.UTC(2026, 10, 28, 10, 0, 0) * 1000;
  let idx = 0;
  const spawn = (): void => {
    const dev = devices[Math.floor(rng() * devices.length)] ?? devices[0];
    if (dev === undefined) return;
    const r = rng();
    const kind: SessionKind = r < 0.035 ? 'dicom' : r < 0.33 ? 'mqtt' : r < 0.6 ? 'hl7' : 'dns';
    idx++;
    sessions[kind]++;
    const gen =
      kind === 'dicom'
        ? dicomSession(dev, idx, rng)
        : kind === 'mqtt'
          ? mqttSession(dev, idx, rng)
          : kind === 'hl7'
            ? hl7Session(dev, idx, rng)
            : dnsSession(dev, idx);
    active.push({ gen, kind });
  };
  while (active.length > 0 || w.packets < o.packets) {
    while (active.length < o.concurrency && w.packets < o.packets) spawn();
    const k = Math.floor(rng() * active.length);
    const s = active[k];
    if (s === undefined) break;
    const r = s.gen.next();
    if (r.done === true) {
      active[k] = active[active.length - 1] ?? s;
      active.pop();
      continue;
    }
    ts += 5 + Math.floor(rng() * 50);
    r.value.ts = ts;
    w.write(r.value);
    packetsByKind[s.kind]++;
  }
  w.close();
  const flows = sessions.mqtt + sessions.hl7 + sessions.dicom + sessions.dns;
  return {
    file,
    packets: w.packets,
    bytes: w.bytes,
    flows,
    sessions,
    packetsByKind,
    seconds: (Date.now() - started) / 1000,
  };
}

function parseArgs(argv: readonly string[]): { out: string; opts: Partial<MakeCaptureOptions> } {
  let out = DEFAULT_CAPTURE;
  const opts: Partial<MakeCaptureOptions> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--out' && v !== undefined) out = path.resolve(v);
    else if (a === '--packets' && v !== undefined) opts.packets = Number(v);
    else if (a === '--seed' && v !== undefined) opts.seed = Number(v);
    else if (a === '--help') {
      console.log('usage: node dist/bench/make-capture.js [--out FILE] [--packets N] [--seed S]');
      process.exit(0);
    } else {
      console.error(`make-capture: unknown argument ${a ?? ''}`);
      process.exit(2);
    }
    i++;
  }
  return { out, opts };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { out, opts } = parseArgs(process.argv.slice(2));
  const r = makeCapture(out, opts);
  console.log(JSON.stringify(r, null, 2));
}
