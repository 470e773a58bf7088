// Captures for the flow-memory and SYN-flood benchmarks: one SYN per flow (a scan of a /16 and beyond), or
// short established MQTT sessions that stay open. Synthetic and deterministic, written with the bench pcap writer.
import { mqttConnack, mqttConnect } from './payloads.js';
import { PcapWriter } from './pcap-writer.js';

const SYN = 0x02;
const ACK = 0x10;
const PSH = 0x08;

/** 2026-11-28 00:00:00 UTC in µs: the same epoch as the main bench capture. */
export const FLOOD_T0 = 1_795_824_000 * 1_000_000;

const SCANNER = (10 << 24) | (9 << 16) | 1; // 10.9.0.1
const SCANNER_MAC = 0x02_00_5e_09_00_01;
const GATEWAY_MAC = 0x00_1b_21_00_00_01;
/** Ports a scan of medical devices tries: DICOM, MLLP, MQTT and two that no analyzer claims. */
const SCAN_PORTS = [104, 2575, 1883, 22, 443] as const;

export interface SynFloodOptions {
  flows: number;
  /** Packets per second of packet time: sets how long the flood lasts (1M at 10k/s = 100 s). */
  rate: number;
  /** The first flow's time, µs. */
  t0?: number;
}

/** Address of the i-th target: 10.128.0.0 onwards, so 1M flows cover sixteen /16s. */
function target(i: number): number {
  return ((10 << 24) | (128 << 16)) + (i >>> 0);
}

/**
 * One SYN from the scanner to each of `flows` targets, never answered (filtered hosts): every flow stays
 * embryonic. Returns packets written.
 */
export function writeSynFlood(file: string, opts: SynFloodOptions): number {
  const w = new PcapWriter(file);
  const t0 = opts.t0 ?? FLOOD_T0;
  const step = 1e6 / opts.rate;
  const empty = new Uint8Array(0);
  for (let i = 0; i < opts.flows; i++) {
    w.write({
      ts: t0 + Math.floor(i * step),
      srcMac: SCANNER_MAC,
      dstMac: GATEWAY_MAC,
      vlan: -1,
      src: SCANNER >>> 0,
      dst: target(i) >>> 0,
      proto: 6,
      sport: 40000 + (i % 20000),
      dport: SCAN_PORTS[i % SCAN_PORTS.length] ?? 104,
      seq: Math.imul(i + 1, 0x9e3779b1) >>> 0,
      ack: 0,
      flags: SYN,
      window: 1024,
      payload: empty,
    });
  }
  w.close();
  return w.packets;
}

export interface EstablishedOptions {
  flows: number;
  rate: number;
  t0?: number;
}

/**
 * `flows` MQTT clients, each with a handshake, CONNECT, CONNACK and an ACK, left open (no FIN): every flow
 * has carried a little payload through a real analyzer. Six packets per flow. Returns packets written.
 */
export function writeEstablished(file: string, opts: EstablishedOptions): number {
  const w = new PcapWriter(file);
  const t0 = opts.t0 ?? FLOOD_T0;
  const step = 1e6 / opts.rate;
  const broker = ((10 << 24) | (20 << 16) | (60 << 8) | 2) >>> 0;
  const brokerMac = 0x00_1b_21_60_00_02;
  const connack = mqttConnack();
  let n = 0;
  for (let i = 0; i < opts.flows; i++) {
    const client = (((10 << 24) | (64 << 16)) + i) >>> 0;
    const cmac = 0x02_00_5e_40_00_00 + i;
    const sport = 32768 + (i % 28000);
    let seqC = Math.imul(i + 7, 0x85ebca6b) >>> 0;
    let seqS = Math.imul(i + 11, 0xc2b2ae35) >>> 0;
    const connect = mqttConnect(`pump-${i}`, 'ward3', 'synthetic', 60);
    const empty = new Uint8Array(0);
    const frame = (fromClient: boolean, flags: number, payload: Uint8Array): void => {
      w.write({
        ts: t0 + Math.floor(n++ * step),
        srcMac: fromClient ? cmac : brokerMac,
        dstMac: fromClient ? brokerMac : cmac,
        vlan: -1,
        src: fromClient ? client : broker,
        dst: fromClient ? broker : client,
        proto: 6,
        sport: fromClient ? sport : 1883,
        dport: fromClient ? 1883 : sport,
        seq: fromClient ? seqC : seqS,
        ack: flags & ACK ? (fromClient ? seqS : seqC) : 0,
        flags,
        window: 64240,
        payload,
      });
      const len = payload.length + (flags & SYN ? 1 : 0);
      if (fromClient) seqC = (seqC + len) >>> 0;
      else seqS = (seqS + len) >>> 0;
    };
    frame(true, SYN, empty);
    frame(false, SYN | ACK, empty);
    frame(true, ACK, empty);
    frame(true, PSH | ACK, connect);
    frame(false, PSH | ACK, connack);
    frame(true, ACK, empty);
  }
  w.close();
  return w.packets;
}
