// Bidirectional flow table keyed by VLAN + 5-tuple: client/server sides, idle timeouts in packet time, FIN/RST, a cap with LRU eviction (RFC 9293 §3.5–3.6 for closing).
import type { Packet } from '../decode/packet.js';
import { ipToString, macToString } from '../decode/addr.js';
import { formatTs } from '../wire/time.js';
import { TcpStream, createReassemblyStats, type HoldBudget, type ReassemblyStats } from './tcp-stream.js';
import type { FlowEndReason, FlowHandlers, FlowInfo, FlowRecord, StreamConsumer } from './types.js';

export interface FlowLimits {
  /** Concurrent flows (closed flows lingering for stray packets included); the longest idle is evicted. */
  maxFlows: number;
  /** Idle timeouts in µs of packet time. */
  tcpTimeout: number;
  /** After a FIN from one side, or while holes remain after both FINs. */
  tcpClosingTimeout: number;
  /** How long a closed TCP flow (FIN both ways or RST) absorbs stray ACKs and retransmissions. */
  tcpClosedLinger: number;
  udpTimeout: number;
  /** ICMP and other IP protocols. */
  otherTimeout: number;
  /** Out-of-order bytes held per TCP flow (both directions) and across all flows. */
  flowReassemblyCap: number;
  globalReassemblyCap: number;
  /** Ports that name the server on mid-stream pickup, beside the built-in list and ports < 1024. */
  serverPorts: readonly number[];
}

export const DEFAULT_FLOW_LIMITS: Readonly<FlowLimits> = {
  maxFlows: 100_000,
  tcpTimeout: 300e6,
  tcpClosingTimeout: 30e6,
  tcpClosedLinger: 10e6,
  udpTimeout: 60e6,
  otherTimeout: 60e6,
  flowReassemblyCap: 1 << 20,
  globalReassemblyCap: 64 << 20,
  serverPorts: [],
};

/** Server ports of the protocols we watch: DICOM, DICOM-TLS, MLLP, MQTT, MQTT-TLS. */
export const WELL_KNOWN_SERVER_PORTS: readonly number[] = [104, 11112, 2575, 1883, 8883, 2762];

export interface FlowTableStats {
  packets: number;
  /** Frames without IP (ARP, LLDP, ...) are not flows. */
  nonIp: number;
  active: number;
  started: number;
  ended: Record<FlowEndReason, number>;
  /** Flows ended early because the table was full (also in ended.evicted). */
  evicted: number;
  /** Stray packets absorbed by closed flows (final ACKs, retransmitted FIN/RST). */
  afterClose: number;
  /** A new SYN on a live flow with another ISN: the old one ended (as a timeout) and a new one began. */
  portReuse: number;
  /** RSTs ignored because their sequence number is far outside the connection's window (spoofed or stale). */
  rstIgnored: number;
  clientBy: { syn: number; port: number; first: number };
  reassembly: ReassemblyStats;
}

// Timeout classes; each has its own LRU list so that the head is always the next to expire.
const L_TCP = 0;
const L_CLOSING = 1;
const L_CLOSED = 2;
const L_UDP = 3;
const L_OTHER = 4;
const N_LISTS = 5;

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;
const EXPIRY_STEP = 1_000_000; // µs: idle expiry runs at most once per second of packet time
/** A RST further than this from the expected sequence number is ignored (RFC 5961 §3 asks for in-window). */
const RST_WINDOW = 1 << 20;

const TRANSPORT_TCP = 6;
const TRANSPORT_UDP = 17;

class Flow implements FlowInfo {
  id = '';
  transport: FlowRecord['transport'] = 'other';
  vlan = -1;
  clientIp = '';
  serverIp = '';
  clientPort = 0;
  serverPort = 0;
  clientMac = -1;
  serverMac = -1;
  startTs = 0;
  app: string | null = null;

  // Key, canonical order: side A is the lower (address, port).
  hash = 0;
  proto = 0;
  isV6 = false;
  a4 = 0;
  b4 = 0;
  aAddr: Uint8Array = EMPTY;
  bAddr: Uint8Array = EMPTY;
  aPort = 0;
  bPort = 0;
  clientIsA = true;
  clientBy: FlowRecord['client_by'] = 'first';
  /** The client's SYN sequence number, -1 when the flow began without one. */
  synSeq = -1;

  lastSeen = 0;
  pkts0 = 0;
  pkts1 = 0;
  bytes0 = 0;
  bytes1 = 0;
  fin0 = false;
  fin1 = false;
  consumer: StreamConsumer | null = null;
  s0: TcpStream | null = null;
  s1: TcpStream | null = null;
  budget: HoldBudget | null = null;

  // Hash chain and LRU links.
  hnext: Flow | null = null;
  prev: Flow | null = null;
  next: Flow | null = null;
  list = -1;
}

const EMPTY = new Uint8Array(0);

export class FlowTable {
  readonly stats: FlowTableStats;
  private readonly limits: FlowLimits;
  private readonly byHash = new Map<number, Flow>();
  private readonly heads: (Flow | null)[] = new Array<Flow | null>(N_LISTS).fill(null);
  private readonly tails: (Flow | null)[] = new Array<Flow | null>(N_LISTS).fill(null);
  private readonly timeouts: number[];
  private readonly serverPortSet: Set<number>;
  private readonly globalBudget: HoldBudget;
  private count = 0;
  private nextExpiry = -Infinity;

  constructor(
    private readonly handlers: FlowHandlers,
    limits: Partial<FlowLimits> = {},
  ) {
    this.limits = { ...DEFAULT_FLOW_LIMITS, ...limits };
    const l = this.limits;
    if (!(l.maxFlows >= 1)) throw new Error('FlowTable: maxFlows must be at least 1');
    this.timeouts = [l.tcpTimeout, l.tcpClosingTimeout, l.tcpClosedLinger, l.udpTimeout, l.otherTimeout];
    this.serverPortSet = new Set([...WELL_KNOWN_SERVER_PORTS, ...l.serverPorts]);
    this.globalBudget = { held: 0, cap: l.globalReassemblyCap };
    this.stats = {
      packets: 0,
      nonIp: 0,
      active: 0,
      started: 0,
      ended: { fin: 0, rst: 0, timeout: 0, evicted: 0, eof: 0 },
      evicted: 0,
      afterClose: 0,
      portReuse: 0,
      rstIgnored: 0,
      clientBy: { syn: 0, port: 0, first: 0 },
      reassembly: createReassemblyStats(),
    };
  }

  /** Flows in the table, closed ones still lingering included. */
  get size(): number {
    return this.count;
  }

  /** Out-of-order bytes currently charged to the global budget (payload plus per-segment overhead). */
  get heldBytes(): number {
    return this.globalBudget.held;
  }

  /** One decoded packet. Non-IP packets are counted and ignored. */
  onPacket(pkt: Packet): void {
    this.stats.packets++;
    const ts = pkt.ts;
    if (ts >= this.nextExpiry) {
      this.expire(ts);
      this.nextExpiry = ts + EXPIRY_STEP;
    }
    if (pkt.ipVersion === 0) {
      this.stats.nonIp++;
      return;
    }
    const proto = pkt.proto;
    const ported = proto === TRANSPORT_TCP || proto === TRANSPORT_UDP;
    const sp = ported ? pkt.srcPort : 0;
    const dp = ported ? pkt.dstPort : 0;
    const v6 = pkt.ipVersion === 6;
    let srcIsA: boolean;
    let hash: number;
    if (!v6) {
      const s4 = pkt.src4 >>> 0;
      const d4 = pkt.dst4 >>> 0;
      srcIsA = s4 < d4 || (s4 === d4 && sp <= dp);
      hash = srcIsA ? hashV4(s4, d4, sp, dp, pkt.vlan, proto) : hashV4(d4, s4, dp, sp, pkt.vlan, proto);
    } else {
      const c = compareBytes(pkt.src, pkt.dst);
      srcIsA = c < 0 || (c === 0 && sp <= dp);
      hash = srcIsA
        ? hashV6(pkt.src, pkt.dst, sp, dp, pkt.vlan, proto)
        : hashV6(pkt.dst, pkt.src, dp, sp, pkt.vlan, proto);
    }

    let flow = this.find(hash, pkt, srcIsA, sp, dp, v6);
    if (flow !== null) {
      const fresh = this.checkStale(flow, pkt, srcIsA, ts);
      if (fresh) flow = null;
    }
    if (flow === null) flow = this.create(hash, pkt, srcIsA, sp, dp, v6);

    const dir: 0 | 1 = srcIsA === flow.clientIsA ? 0 : 1;
    if (flow.list === L_CLOSED) {
      // Not touched: a closed flow lingers a fixed time, so traffic after a forged RST is seen again soon.
      this.stats.afterClose++;
      return;
    }
    if (dir === 0) {
      flow.pkts0++;
      flow.bytes0 += pkt.frameLen;
    } else {
      flow.pkts1++;
      flow.bytes1 += pkt.frameLen;
    }
    if (pkt.srcMac >= 0) {
      if (dir === 0) flow.clientMac = pkt.srcMac;
      else flow.serverMac = pkt.srcMac;
    }
    this.touch(flow, ts);

    if (proto === TRANSPORT_TCP) this.onTcp(flow, pkt, dir, ts);
    else if (proto === TRANSPORT_UDP) {
      const c = flow.consumer;
      if (c !== null && pkt.payload.length > 0) c.onData(dir, pkt.payload, ts);
    }
  }

  /** Ends every flow idle past its timeout at packet time `now` (µs). Cheap: looks at list heads only. */
  advance(now: number): void {
    this.expire(now);
    this.nextExpiry = now + EXPIRY_STEP;
  }

  /** End of input: every flow ends with reason 'eof'. */
  flush(now: number): void {
    for (let l = 0; l < N_LISTS; l++) {
      let f = this.heads[l] ?? null;
      while (f !== null) {
        const next = f.next;
        if (l !== L_CLOSED) this.endFlow(f, 'eof', now);
        this.remove(f);
        f = next;
      }
    }
  }

  private onTcp(flow: Flow, pkt: Packet, dir: 0 | 1, ts: number): void {
    const flags = pkt.tcpFlags;
    const s = dir === 0 ? flow.s0 : flow.s1;
    // A RST's payload (a diagnostic text at most) is not stream data.
    if (s !== null && (flags & RST) === 0 && (pkt.payload.length > 0 || (flags & (SYN | FIN)) !== 0)) {
      s.onSegment(pkt.seq, flags, pkt.payload, ts);
    }
    if ((flags & RST) !== 0) {
      if (s !== null && !s.isNear(pkt.seq, RST_WINDOW)) {
        this.stats.rstIgnored++;
        return;
      }
      this.close(flow, 'rst', ts);
      return;
    }
    if ((flags & FIN) !== 0) {
      if (dir === 0) flow.fin0 = true;
      else flow.fin1 = true;
      if (flow.fin0 && flow.fin1) {
        // Closed once both streams are complete; holes left wait for the closing timeout.
        const done = (flow.s0 === null || flow.s0.isComplete) && (flow.s1 === null || flow.s1.isComplete);
        if (done) {
          this.close(flow, 'fin', ts);
          return;
        }
      }
      if (flow.list === L_TCP) this.moveTo(flow, L_CLOSING);
    } else if (flow.fin0 && flow.fin1 && pkt.payload.length > 0) {
      // Late data filled the last hole after both FINs.
      const done = (flow.s0 === null || flow.s0.isComplete) && (flow.s1 === null || flow.s1.isComplete);
      if (done) this.close(flow, 'fin', ts);
    }
  }

  /** FIN both ways or RST: the flow ends now and lingers to absorb stray packets. */
  private close(flow: Flow, reason: FlowEndReason, ts: number): void {
    this.endFlow(flow, reason, ts);
    this.moveTo(flow, L_CLOSED);
  }

  /**
   * Decides whether the flow found for a packet is over: idle past its timeout, or a closed or
   * live flow receiving a new connection's SYN. Returns true when a new flow must be created.
   */
  private checkStale(flow: Flow, pkt: Packet, srcIsA: boolean, ts: number): boolean {
    const timeout = this.timeouts[flow.list] ?? 0;
    if (ts - flow.lastSeen > timeout) {
      if (flow.list !== L_CLOSED) this.endFlow(flow, 'timeout', flow.lastSeen + timeout);
      this.remove(flow);
      return true;
    }
    if (flow.proto !== TRANSPORT_TCP || (pkt.tcpFlags & (SYN | ACK | RST)) !== SYN) return false;
    if (flow.list === L_CLOSED) {
      this.remove(flow);
      return true;
    }
    // A SYN with another ISN on a live flow: a new connection on the same tuple, the old one was abandoned.
    const fromClient = srcIsA === flow.clientIsA;
    if ((fromClient || flow.clientBy !== 'syn') && pkt.seq >>> 0 !== flow.synSeq) {
      this.stats.portReuse++;
      this.endFlow(flow, 'timeout', ts);
      this.remove(flow);
      return true;
    }
    return false;
  }

  private find(hash: number, pkt: Packet, srcIsA: boolean, sp: number, dp: number, v6: boolean): Flow | null {
    let f = this.byHash.get(hash) ?? null;
    const aPort = srcIsA ? sp : dp;
    const bPort = srcIsA ? dp : sp;
    while (f !== null) {
      if (
        f.aPort === aPort &&
        f.bPort === bPort &&
        f.proto === pkt.proto &&
        f.vlan === pkt.vlan &&
        f.isV6 === v6
      ) {
        if (!v6) {
          const a4 = (srcIsA ? pkt.src4 : pkt.dst4) >>> 0;
          const b4 = (srcIsA ? pkt.dst4 : pkt.src4) >>> 0;
          if (f.a4 === a4 && f.b4 === b4) return f;
        } else if (
          equalBytes(f.aAddr, srcIsA ? pkt.src : pkt.dst) &&
          equalBytes(f.bAddr, srcIsA ? pkt.dst : pkt.src)
        ) {
          return f;
        }
      }
      f = f.hnext;
    }
    return null;
  }

  private create(hash: number, pkt: Packet, srcIsA: boolean, sp: number, dp: number, v6: boolean): Flow {
    if (this.count >= this.limits.maxFlows) this.evictOne(pkt.ts);
    const f = new Flow();
    f.hash = hash;
    f.proto = pkt.proto;
    f.isV6 = v6;
    f.vlan = pkt.vlan;
    f.aPort = srcIsA ? sp : dp;
    f.bPort = srcIsA ? dp : sp;
    f.aAddr = (srcIsA ? pkt.src : pkt.dst).slice();
    f.bAddr = (srcIsA ? pkt.dst : pkt.src).slice();
    if (!v6) {
      f.a4 = (srcIsA ? pkt.src4 : pkt.dst4) >>> 0;
      f.b4 = (srcIsA ? pkt.dst4 : pkt.src4) >>> 0;
    }
    f.transport =
      pkt.proto === TRANSPORT_TCP
        ? 'tcp'
        : pkt.proto === TRANSPORT_UDP
          ? 'udp'
          : pkt.proto === 1 || pkt.proto === 58
            ? 'icmp'
            : 'other';

    // Which side is the client: the SYN sender, else a port heuristic, else the first sender.
    let srcIsClient = true;
    const flags = pkt.tcpFlags;
    if (pkt.proto === TRANSPORT_TCP && (flags & (SYN | RST)) === SYN) {
      srcIsClient = (flags & ACK) === 0;
      f.clientBy = 'syn';
      // From a SYN-ACK the client's ISN is the acknowledged number minus one.
      f.synSeq = srcIsClient ? pkt.seq >>> 0 : (pkt.ack - 1) >>> 0;
    } else {
      const byPort = this.serverSideByPort(sp, dp);
      if (byPort !== 0) {
        srcIsClient = byPort === 2; // the destination port is the server's
        f.clientBy = 'port';
      } else f.clientBy = 'first';
    }
    this.stats.clientBy[f.clientBy]++;
    f.clientIsA = srcIsClient === srcIsA;
    const cAddr = f.clientIsA ? f.aAddr : f.bAddr;
    const sAddr = f.clientIsA ? f.bAddr : f.aAddr;
    f.clientIp = ipToString(cAddr);
    f.serverIp = ipToString(sAddr);
    f.clientPort = f.clientIsA ? f.aPort : f.bPort;
    f.serverPort = f.clientIsA ? f.bPort : f.aPort;
    // Only the sender's MAC: a destination MAC may be a router's, the server's own comes with its first packet.
    if (srcIsClient) f.clientMac = pkt.srcMac;
    else f.serverMac = pkt.srcMac;
    f.startTs = pkt.ts;
    f.lastSeen = pkt.ts;
    f.id = makeFlowId(f.vlan, f.proto, cAddr, f.clientPort, sAddr, f.serverPort, f.startTs);

    // Chain in front: the newest flow of a reused tuple is found first.
    f.hnext = this.byHash.get(hash) ?? null;
    this.byHash.set(hash, f);
    this.count++;
    this.stats.active++;
    this.stats.started++;
    this.append(f, f.proto === TRANSPORT_TCP ? L_TCP : f.proto === TRANSPORT_UDP ? L_UDP : L_OTHER);

    const consumer = this.handlers.onFlowStart(f);
    f.consumer = consumer;
    if (consumer !== null && f.proto === TRANSPORT_TCP) {
      const budget: HoldBudget = { held: 0, cap: this.limits.flowReassemblyCap };
      f.budget = budget;
      const rs = this.stats.reassembly;
      f.s0 = new TcpStream(0, consumer, budget, this.globalBudget, rs);
      f.s1 = new TcpStream(1, consumer, budget, this.globalBudget, rs);
    }
    return f;
  }

  /** 1 when the source port is the server's, 2 when the destination port is, 0 when undecided. */
  private serverSideByPort(sp: number, dp: number): 0 | 1 | 2 {
    const sKnown = this.serverPortSet.has(sp) || (sp > 0 && sp < 1024);
    const dKnown = this.serverPortSet.has(dp) || (dp > 0 && dp < 1024);
    if (sKnown && !dKnown) return 1;
    if (dKnown && !sKnown) return 2;
    if (sKnown && dKnown && sp !== dp) return sp < dp ? 1 : 2;
    return 0;
  }

  private endFlow(f: Flow, reason: FlowEndReason, ts: number): void {
    const c = f.consumer;
    if (c !== null) {
      if (f.s0 !== null && f.s1 !== null) {
        f.s0.finish(ts);
        f.s1.finish(ts);
      } else {
        c.onEnd(0, ts);
        c.onEnd(1, ts);
      }
    }
    const gaps = (f.s0?.gaps ?? 0) + (f.s1?.gaps ?? 0);
    const gapBytes = (f.s0?.gapBytes ?? 0) + (f.s1?.gapBytes ?? 0);
    const record: FlowRecord = {
      kind: 'flow',
      flow: f.id,
      transport: f.transport,
      app: f.app,
      vlan: f.vlan < 0 ? null : f.vlan,
      client: endpoint(f.clientIp, f.clientPort, f.clientMac),
      server: endpoint(f.serverIp, f.serverPort, f.serverMac),
      client_by: f.clientBy,
      start: formatTs(f.startTs),
      end: formatTs(f.lastSeen),
      // Bytes are frame bytes as captured on the wire (Packet.frameLen), link header included.
      packets: [f.pkts0, f.pkts1],
      bytes: [f.bytes0, f.bytes1],
      gaps,
      gap_bytes: gapBytes,
      end_reason: reason,
      startMicros: f.startTs,
      endMicros: f.lastSeen,
    };
    this.stats.ended[reason]++;
    if (reason === 'evicted') this.stats.evicted++;
    this.stats.active--;
    // Drop references so a lingering closed flow holds no buffers or analyzer state.
    f.consumer = null;
    f.s0 = null;
    f.s1 = null;
    f.budget = null;
    this.handlers.onFlowEnd(f, record);
  }

  private expire(now: number): void {
    for (let l = 0; l < N_LISTS; l++) {
      const timeout = this.timeouts[l] ?? 0;
      let f = this.heads[l] ?? null;
      while (f !== null && now - f.lastSeen > timeout) {
        const next = f.next;
        if (l !== L_CLOSED) this.endFlow(f, 'timeout', f.lastSeen + timeout);
        this.remove(f);
        f = next;
      }
    }
  }

  /** Frees one slot: a lingering closed flow first, else the live flow idle the longest. */
  private evictOne(ts: number): void {
    let victim = this.heads[L_CLOSED] ?? null;
    if (victim === null) {
      for (let l = 0; l < N_LISTS; l++) {
        const h = this.heads[l] ?? null;
        if (h !== null && (victim === null || h.lastSeen < victim.lastSeen)) victim = h;
      }
    }
    if (victim === null) return;
    if (victim.list !== L_CLOSED) {
      // A forced end: held out-of-order data is reported as gaps like any other end.
      this.endFlow(victim, 'evicted', ts);
    }
    this.remove(victim);
  }

  private touch(f: Flow, ts: number): void {
    if (ts > f.lastSeen) f.lastSeen = ts;
    const l = f.list;
    if (this.tails[l] !== f) {
      this.unlink(f);
      this.append(f, l);
    }
  }

  private moveTo(f: Flow, list: number): void {
    this.unlink(f);
    this.append(f, list);
  }

  private append(f: Flow, list: number): void {
    f.list = list;
    f.next = null;
    const tail = this.tails[list] ?? null;
    f.prev = tail;
    if (tail !== null) tail.next = f;
    else this.heads[list] = f;
    this.tails[list] = f;
  }

  private unlink(f: Flow): void {
    const l = f.list;
    if (f.prev !== null) f.prev.next = f.next;
    else this.heads[l] = f.next;
    if (f.next !== null) f.next.prev = f.prev;
    else this.tails[l] = f.prev;
    f.prev = null;
    f.next = null;
  }

  /** Takes a flow out of the table (its record, if any, was already emitted). */
  private remove(f: Flow): void {
    this.unlink(f);
    f.list = -1;
    const head = this.byHash.get(f.hash) ?? null;
    if (head === f) {
      if (f.hnext === null) this.byHash.delete(f.hash);
      else this.byHash.set(f.hash, f.hnext);
    } else {
      let p = head;
      while (p !== null && p.hnext !== f) p = p.hnext;
      if (p !== null) p.hnext = f.hnext;
    }
    f.hnext = null;
    this.count--;
  }
}

function endpoint(ip: string, port: number, mac: number): FlowRecord['client'] {
  return mac >= 0 ? { ip, port, mac: macToString(mac) } : { ip, port };
}

// 32-bit mixing (murmur3 finaliser style); the result stays a small integer so Map keys are cheap.
function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finalise(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h & 0x3fffffff;
}

function hashV4(a: number, b: number, ap: number, bp: number, vlan: number, proto: number): number {
  let h = mix(0x9747b28c, a);
  h = mix(h, b);
  h = mix(h, (ap << 16) | bp);
  h = mix(h, ((vlan + 1) << 8) | proto);
  return finalise(h);
}

function hashV6(a: Uint8Array, b: Uint8Array, ap: number, bp: number, vlan: number, proto: number): number {
  let h = 0x5bd1e995;
  for (let i = 0; i + 3 < a.length; i += 4) h = mix(h, readU32(a, i));
  for (let i = 0; i + 3 < b.length; i += 4) h = mix(h, readU32(b, i));
  h = mix(h, (ap << 16) | bp);
  h = mix(h, ((vlan + 1) << 8) | proto);
  return finalise(h);
}

function readU32(b: Uint8Array, i: number): number {
  return ((b[i] ?? 0) << 24) | ((b[i + 1] ?? 0) << 16) | ((b[i + 2] ?? 0) << 8) | (b[i + 3] ?? 0);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A flow id stable across replays: a 64-bit hash (two 32-bit lanes) of VLAN, protocol, client and
 * server endpoints and start time, in 16 hex digits.
 */
export function makeFlowId(
  vlan: number,
  proto: number,
  clientAddr: Uint8Array,
  clientPort: number,
  serverAddr: Uint8Array,
  serverPort: number,
  startMicros: number,
): string {
  const hi = Math.floor(startMicros / 4294967296);
  const lo = startMicros >>> 0;
  let h1 = 0x243f6a88;
  let h2 = 0x85a308d3;
  const head = [vlan + 1, proto, clientPort, serverPort, lo, hi, clientAddr.length];
  for (const w of head) {
    h1 = mix(h1, w);
    h2 = mix(h2, w ^ 0x13198a2e);
  }
  for (const addr of [clientAddr, serverAddr]) {
    for (let i = 0; i + 3 < addr.length; i += 4) {
      const w = readU32(addr, i);
      h1 = mix(h1, w);
      h2 = mix(h2, w ^ 0x13198a2e);
    }
  }
  const a = (finaliseFull(h1) >>> 0).toString(16).padStart(8, '0');
  const b = (finaliseFull(h2 ^ h1) >>> 0).toString(16).padStart(8, '0');
  return a + b;
}

function finaliseFull(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
