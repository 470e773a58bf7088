// Bidirectional flow table keyed by VLAN + 5-tuple: client/server sides, idle timeouts in packet time, FIN/RST, a cap and a byte budget with eviction (RFC 9293 §3.5–3.6 for closing).
import type { Packet } from '../decode/packet.js';
import { ipToString, ipv4ToString, macToString } from '../decode/addr.js';
import { u32 } from '../wire/bytes.js';
import { communityIdOrdered } from '../wire/community-id.js';
import { formatTs } from '../wire/time.js';
import { HashChains } from './hash-chains.js';
import { TcpStream, createReassemblyStats, type HoldBudget, type ReassemblyStats } from './tcp-stream.js';
import type {
  ConsumerFactory,
  FlowEndReason,
  FlowHandlers,
  FlowInfo,
  FlowRecord,
  StreamConsumer,
} from './types.js';

export interface FlowLimits {
  /** Concurrent flows (closed flows lingering for stray packets included); embryonic flows go first, then the longest idle. */
  maxFlows: number;
  /**
   * Bytes the flows may hold by the table's estimate (`flowBytes` each, `activeFlowBytes` more once a flow
   * carries payload, plus what its reassembly and analyzers buffer). Over it, flows are evicted like at
   * `maxFlows`. Infinity turns it off.
   */
  memoryBudget: number;
  /** Estimated bytes of a flow that has carried no payload: the table's own record and the engine's context. */
  flowBytes: number;
  /** Estimated bytes added when payload arrives: reassembly state, protocol dispatch and an analyzer. */
  activeFlowBytes: number;
  /** Idle timeouts in µs of packet time. */
  tcpTimeout: number;
  /**
   * TCP flows that have neither completed a handshake nor carried payload (SYN floods, scans of silent
   * addresses): reaped sooner than established ones, and evicted first.
   */
  tcpEmbryonicTimeout: number;
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
  /**
   * Flow-level bypass (StreamConsumer.skippable): on by default; off, every byte is handed over as before, which
   * the tests use to show that the bypass changes no event, flow or finding.
   */
  bypass: boolean;
}

export const DEFAULT_FLOW_LIMITS: Readonly<FlowLimits> = {
  maxFlows: 100_000,
  // 128 MiB leaves room within the agent unit's MemoryMax=512M for the engine, queues and the runtime.
  memoryBudget: 128 * 1024 * 1024,
  // Measured with bench/flow-memory.ts (heap after GC per flow, shipped rules): see README "Limits and caps".
  flowBytes: 1792,
  activeFlowBytes: 4608,
  tcpTimeout: 300e6,
  // Longer than the last gap of Linux's SYN retransmissions (32 s, tcp_syn_retries=6): one unanswered
  // connection attempt stays one flow.
  tcpEmbryonicTimeout: 40e6,
  tcpClosingTimeout: 30e6,
  tcpClosedLinger: 10e6,
  udpTimeout: 60e6,
  otherTimeout: 60e6,
  flowReassemblyCap: 1 << 20,
  globalReassemblyCap: 64 << 20,
  serverPorts: [],
  bypass: true,
};

/** Server ports of the protocols we watch: DICOM, DICOM-TLS, MLLP, MQTT, MQTT-TLS, HTTPS, syslog over TLS. */
export const WELL_KNOWN_SERVER_PORTS: readonly number[] = [104, 11112, 2575, 1883, 8883, 2762, 443, 6514];

export interface FlowTableStats {
  packets: number;
  /** Frames without IP (ARP, LLDP, ...) are not flows. */
  nonIp: number;
  active: number;
  /** The most flows live at once. */
  peakActive: number;
  /** Live TCP flows that have neither completed a handshake nor carried payload. */
  embryonic: number;
  started: number;
  ended: Record<FlowEndReason, number>;
  /** Flows ended early because the table was full or over its byte budget (also in ended.evicted). */
  evicted: number;
  /** The same by cause: the flow count cap, the byte budget. */
  evictions: { cap: number; budget: number };
  /** Flows ended by their idle timeout (also in ended.timeout): embryonic TCP flows, and all others. */
  timeouts: { embryonic: number; idle: number };
  /** The table's memory estimate now, its peak, and the budget it is kept under. */
  memory: { bytes: number; peak: number; budget: number };
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
const L_EMBRYONIC = 5;
const N_LISTS = 6;

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;
const EXPIRY_STEP = 1_000_000; // µs: idle expiry runs at most once per second of packet time
/** A RST further than this from the expected sequence number is ignored (RFC 5961 §3 asks for in-window). */
const RST_WINDOW = 1 << 20;

const TRANSPORT_TCP = 6;
const TRANSPORT_UDP = 17;

// Flow.bits: booleans and small enums packed into one small integer, so a flow is a few words smaller.
const B_V6 = 1;
const B_CLIENT_IS_A = 2;
const B_FIN0 = 4;
const B_FIN1 = 8;
const B_SEEN0 = 16;
const B_SEEN1 = 32;
const B_ISN0 = 64; // isn0 holds the SYN sequence number of direction 0
const B_ISN1 = 128;
const B_BY_SHIFT = 8; // two bits: index into CLIENT_BY
const B_SYNSEQ = 1024; // synSeq holds the client's ISN (the flow began with a SYN or SYN-ACK)
const B_FIRST_FROM_CLIENT = 2048;
const CLIENT_BY: readonly FlowRecord['client_by'][] = ['first', 'port', 'syn'];

const EMPTY = new Uint8Array(0);
// Scratch addresses for formatting and hashing IPv4 flows, whose addresses are kept as numbers only.
const SCRATCH_C = new Uint8Array(4);
const SCRATCH_S = new Uint8Array(4);

/**
 * One flow. Kept small because a scan creates one per probe: addresses of IPv4 flows are numbers (text is
 * made on demand), flags share one integer, the flow is its own reassembly budget, and the consumer and the
 * reassembly streams exist only once payload arrives (`consumer` holds the factory until then).
 */
class Flow implements FlowInfo, HoldBudget {
  // Fields in the order a packet reads them: V8 lays class fields out in declaration order, and with thousands
  // of flows between two packets of one, every cache line of a flow a packet touches is a miss (issue 12).
  // Key, canonical order: side A is the lower (address, port). IPv4 addresses as int32 (small integers in V8).
  hash = 0;
  hnext: Flow | null = null;
  aPort = 0;
  bPort = 0;
  proto = 0;
  vlan = -1;
  bits = 0;
  a4 = 0;
  b4 = 0;
  list = -1;
  lastSeen = 0;
  // LRU links.
  prev: Flow | null = null;
  next: Flow | null = null;
  pkts0 = 0;
  pkts1 = 0;
  bytes0 = 0;
  bytes1 = 0;
  clientMac = -1;
  serverMac = -1;
  consumer: StreamConsumer | ConsumerFactory | null = null;
  s0: TcpStream | null = null;
  s1: TcpStream | null = null;
  /** The flow's reassembly budget (HoldBudget, both directions): out-of-order bytes held, and its cap. */
  held = 0;
  cap = 0;
  /** Bytes this flow adds to the table's memory estimate. */
  mem = 0;

  /** IPv6 addresses; null for IPv4 flows. */
  a6: Uint8Array | null = null;
  b6: Uint8Array | null = null;
  app: string | null = null;
  clientPort = 0;
  serverPort = 0;
  startTs = 0;
  /** SYN sequence numbers per direction (int32), valid when B_ISN0 / B_ISN1 are set. */
  isn0 = 0;
  isn1 = 0;
  /** The client's ISN (int32) when B_SYNSEQ is set: a SYN with another one is a new connection. */
  synSeq = 0;
  /** Source MAC of the packet that began the flow (-1 unknown). */
  startMac = -1;
  private cachedId: string | null = null;
  /** '' once made for a flow without a Community ID (ICMP). */
  private cachedCommunityId: string | null = null;

  get transport(): FlowRecord['transport'] {
    const p = this.proto;
    return p === TRANSPORT_TCP ? 'tcp' : p === TRANSPORT_UDP ? 'udp' : p === 1 || p === 58 ? 'icmp' : 'other';
  }

  get clientIsA(): boolean {
    return (this.bits & B_CLIENT_IS_A) !== 0;
  }

  get clientBy(): FlowRecord['client_by'] {
    return CLIENT_BY[(this.bits >> B_BY_SHIFT) & 3] ?? 'first';
  }

  macAtStart(side: 0 | 1): number {
    return ((this.bits & B_FIRST_FROM_CLIENT) !== 0) === (side === 0) ? this.startMac : -1;
  }

  get clientIp(): string {
    return this.addrText(this.clientIsA);
  }

  get serverIp(): string {
    return this.addrText(!this.clientIsA);
  }

  /** Made on first use (the engine asks at flow start) and kept: events and the record reuse the string. */
  get id(): string {
    if (this.cachedId === null) {
      const cA = this.clientIsA;
      this.cachedId = makeFlowId(
        this.vlan,
        this.proto,
        this.addrBytes(cA, SCRATCH_C),
        this.clientPort,
        this.addrBytes(!cA, SCRATCH_S),
        this.serverPort,
        this.startTs,
      );
    }
    return this.cachedId;
  }

  /**
   * Community ID v1 (seed 0), made on first use and kept: side A is already the lower (address, port), the
   * specification's order, so no comparison is needed. Only records that are printed and findings ask.
   */
  get communityId(): string | undefined {
    let c = this.cachedCommunityId;
    if (c === null) {
      c =
        communityIdOrdered(
          this.proto,
          this.addrBytes(true, SCRATCH_C),
          this.addrBytes(false, SCRATCH_S),
          this.aPort,
          this.bPort,
        ) ?? '';
      this.cachedCommunityId = c;
    }
    return c === '' ? undefined : c;
  }

  private addrText(sideA: boolean): string {
    if (this.a6 !== null) return ipToString((sideA ? this.a6 : this.b6) ?? EMPTY);
    return ipv4Text(sideA ? this.a4 : this.b4);
  }

  private addrBytes(sideA: boolean, scratch: Uint8Array): Uint8Array {
    if (this.a6 !== null) return (sideA ? this.a6 : this.b6) ?? EMPTY;
    const n = sideA ? this.a4 : this.b4;
    scratch[0] = n >>> 24;
    scratch[1] = (n >>> 16) & 255;
    scratch[2] = (n >>> 8) & 255;
    scratch[3] = n & 255;
    return scratch;
  }
}

export class FlowTable {
  readonly stats: FlowTableStats;
  private readonly limits: FlowLimits;
  private readonly byHash = new HashChains<Flow>();
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
    if (!(l.memoryBudget > 0)) throw new Error('FlowTable: memoryBudget must be positive');
    this.timeouts = [
      l.tcpTimeout,
      l.tcpClosingTimeout,
      l.tcpClosedLinger,
      l.udpTimeout,
      l.otherTimeout,
      l.tcpEmbryonicTimeout,
    ];
    this.serverPortSet = new Set([...WELL_KNOWN_SERVER_PORTS, ...l.serverPorts]);
    this.globalBudget = { held: 0, cap: l.globalReassemblyCap };
    this.stats = {
      packets: 0,
      nonIp: 0,
      active: 0,
      peakActive: 0,
      embryonic: 0,
      started: 0,
      ended: { fin: 0, rst: 0, timeout: 0, evicted: 0, eof: 0 },
      evicted: 0,
      evictions: { cap: 0, budget: 0 },
      timeouts: { embryonic: 0, idle: 0 },
      memory: { bytes: 0, peak: 0, budget: l.memoryBudget },
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
    else if (proto === TRANSPORT_UDP && pkt.payloadLen > 0) {
      const c = this.consumerOf(flow);
      if (c !== null) {
        c.onData(dir, pkt.payload, ts);
        this.account(flow);
      }
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
    const len = pkt.payloadLen;
    if (flow.list === L_EMBRYONIC) {
      // Established once payload flows, or both sides spoke and a packet without SYN acknowledges (the
      // handshake's third packet, or any two-way traffic picked up mid-stream).
      const bits = (flow.bits |= dir === 0 ? B_SEEN0 : B_SEEN1);
      const both = B_SEEN0 | B_SEEN1;
      if (len > 0 || ((bits & both) === both && (flags & (SYN | ACK)) === ACK)) {
        this.stats.embryonic--;
        this.moveTo(flow, L_TCP);
      }
    }
    let s = dir === 0 ? flow.s0 : flow.s1;
    // A RST's payload (a diagnostic text at most) is not stream data.
    if ((flags & RST) === 0) {
      if (s === null && flow.consumer !== null && (len > 0 || (flags & FIN) !== 0)) {
        s = this.openStream(flow, dir, ts);
      }
      if (s !== null) {
        if (len > 0 || (flags & (SYN | FIN)) !== 0) {
          s.onSegmentAt(pkt.seq, flags, pkt.payloadBuf, pkt.payloadOff, len, ts);
        }
        if (len > 0) this.account(flow);
      } else if ((flags & SYN) !== 0) {
        // No stream yet: keep the first SYN's sequence number, replayed to the stream when payload comes.
        const isnBit = dir === 0 ? B_ISN0 : B_ISN1;
        if ((flow.bits & isnBit) === 0) {
          flow.bits |= isnBit;
          if (dir === 0) flow.isn0 = pkt.seq | 0;
          else flow.isn1 = pkt.seq | 0;
        }
      }
    }
    if ((flags & RST) !== 0) {
      if (flow.consumer !== null && !this.rstNear(flow, s, dir, pkt.seq)) {
        this.stats.rstIgnored++;
        return;
      }
      this.close(flow, 'rst', ts);
      return;
    }
    if ((flags & FIN) !== 0) {
      if (dir === 0) flow.bits |= B_FIN0;
      else flow.bits |= B_FIN1;
      if ((flow.bits & (B_FIN0 | B_FIN1)) === (B_FIN0 | B_FIN1)) {
        // Closed once both streams are complete; holes left wait for the closing timeout.
        const done = (flow.s0 === null || flow.s0.isComplete) && (flow.s1 === null || flow.s1.isComplete);
        if (done) {
          this.close(flow, 'fin', ts);
          return;
        }
      }
      if (flow.list === L_TCP) this.moveTo(flow, L_CLOSING);
    } else if ((flow.bits & (B_FIN0 | B_FIN1)) === (B_FIN0 | B_FIN1) && len > 0) {
      // Late data filled the last hole after both FINs.
      const done = (flow.s0 === null || flow.s0.isComplete) && (flow.s1 === null || flow.s1.isComplete);
      if (done) this.close(flow, 'fin', ts);
    }
  }

  /**
   * Whether a RST in direction `dir` is near the sequence number that direction expects: its stream's
   * position, or right after its SYN while no stream exists yet (any RST before the direction started).
   */
  private rstNear(flow: Flow, s: TcpStream | null, dir: 0 | 1, seq: number): boolean {
    if (s !== null) return s.isNear(seq, RST_WINDOW);
    if ((flow.bits & (dir === 0 ? B_ISN0 : B_ISN1)) === 0) return true;
    const next = ((dir === 0 ? flow.isn0 : flow.isn1) + 1) | 0;
    const d = ((seq >>> 0) - (next >>> 0)) | 0;
    return d >= -RST_WINDOW && d <= RST_WINDOW;
  }

  /** The flow's consumer, made by its factory on first need (the first payload or FIN). */
  private consumerOf(f: Flow): StreamConsumer | null {
    const c = f.consumer;
    if (typeof c !== 'function') return c;
    const made = c(f);
    f.consumer = made;
    return made;
  }

  /** This direction's reassembly stream, created on its first payload or FIN; a SYN seen before is replayed. */
  private openStream(f: Flow, dir: 0 | 1, ts: number): TcpStream | null {
    const c = this.consumerOf(f);
    if (c === null) return null;
    const s = new TcpStream(dir, c, f, this.globalBudget, this.stats.reassembly, this.limits.bypass);
    if (dir === 0) f.s0 = s;
    else f.s1 = s;
    if ((f.bits & (dir === 0 ? B_ISN0 : B_ISN1)) !== 0) {
      s.onSegment(dir === 0 ? f.isn0 : f.isn1, SYN, EMPTY, ts);
    }
    return s;
  }

  /**
   * Brings the flow's share of the memory estimate up to date: the base, more once it carries payload, its
   * held out-of-order bytes and what its consumer buffers. Over the budget, other flows are evicted.
   */
  private account(f: Flow): void {
    const l = this.limits;
    let bytes = l.flowBytes;
    const c = f.consumer;
    if (c !== null && typeof c !== 'function') {
      bytes += l.activeFlowBytes + f.held + (c.bufferedBytes?.() ?? 0);
    }
    this.charge(f, bytes);
    if (this.stats.memory.bytes > l.memoryBudget) this.enforceBudget(f);
  }

  private charge(f: Flow, bytes: number): void {
    const m = this.stats.memory;
    m.bytes += bytes - f.mem;
    f.mem = bytes;
    if (m.bytes > m.peak) m.peak = m.bytes;
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
      if (flow.list !== L_CLOSED) this.timeOut(flow, timeout);
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
    if (
      (fromClient || flow.clientBy !== 'syn') &&
      ((flow.bits & B_SYNSEQ) === 0 || (pkt.seq | 0) !== flow.synSeq)
    ) {
      this.stats.portReuse++;
      this.endFlow(flow, 'timeout', ts);
      this.remove(flow);
      return true;
    }
    return false;
  }

  private find(hash: number, pkt: Packet, srcIsA: boolean, sp: number, dp: number, v6: boolean): Flow | null {
    let f = this.byHash.head(hash);
    const aPort = srcIsA ? sp : dp;
    const bPort = srcIsA ? dp : sp;
    while (f !== null) {
      if (
        f.hash === hash &&
        f.aPort === aPort &&
        f.bPort === bPort &&
        f.proto === pkt.proto &&
        f.vlan === pkt.vlan &&
        (f.bits & B_V6) === (v6 ? B_V6 : 0)
      ) {
        if (!v6) {
          const a4 = (srcIsA ? pkt.src4 : pkt.dst4) | 0;
          const b4 = (srcIsA ? pkt.dst4 : pkt.src4) | 0;
          if (f.a4 === a4 && f.b4 === b4) return f;
        } else if (
          equalBytes(f.a6 ?? EMPTY, srcIsA ? pkt.src : pkt.dst) &&
          equalBytes(f.b6 ?? EMPTY, srcIsA ? pkt.dst : pkt.src)
        ) {
          return f;
        }
      }
      f = f.hnext;
    }
    return null;
  }

  private create(hash: number, pkt: Packet, srcIsA: boolean, sp: number, dp: number, v6: boolean): Flow {
    if (this.count >= this.limits.maxFlows) this.evictOne(pkt.ts, 'cap', null);
    const f = new Flow();
    f.hash = hash;
    f.proto = pkt.proto;
    f.vlan = pkt.vlan;
    f.aPort = srcIsA ? sp : dp;
    f.bPort = srcIsA ? dp : sp;
    let bits = 0;
    if (v6) {
      bits |= B_V6;
      f.a6 = (srcIsA ? pkt.src : pkt.dst).slice();
      f.b6 = (srcIsA ? pkt.dst : pkt.src).slice();
    } else {
      f.a4 = (srcIsA ? pkt.src4 : pkt.dst4) | 0;
      f.b4 = (srcIsA ? pkt.dst4 : pkt.src4) | 0;
    }

    // Which side is the client: the SYN sender, else a port heuristic, else the first sender.
    let srcIsClient = true;
    const flags = pkt.tcpFlags;
    let by: FlowRecord['client_by'];
    if (pkt.proto === TRANSPORT_TCP && (flags & (SYN | RST)) === SYN) {
      srcIsClient = (flags & ACK) === 0;
      by = 'syn';
      // From a SYN-ACK the client's ISN is the acknowledged number minus one.
      f.synSeq = srcIsClient ? pkt.seq | 0 : (pkt.ack - 1) | 0;
      bits |= B_SYNSEQ;
    } else {
      const byPort = this.serverSideByPort(sp, dp);
      if (byPort !== 0) {
        srcIsClient = byPort === 2; // the destination port is the server's
        by = 'port';
      } else by = 'first';
    }
    this.stats.clientBy[by]++;
    bits |= CLIENT_BY.indexOf(by) << B_BY_SHIFT;
    const clientIsA = srcIsClient === srcIsA;
    if (clientIsA) bits |= B_CLIENT_IS_A;
    if (srcIsClient) bits |= B_FIRST_FROM_CLIENT;
    f.bits = bits;
    f.clientPort = clientIsA ? f.aPort : f.bPort;
    f.serverPort = clientIsA ? f.bPort : f.aPort;
    // Only the sender's MAC: a destination MAC may be a router's, the server's own comes with its first packet.
    if (srcIsClient) f.clientMac = pkt.srcMac;
    else f.serverMac = pkt.srcMac;
    f.startMac = pkt.srcMac;
    f.startTs = pkt.ts;
    f.lastSeen = pkt.ts;

    // Chain in front: the newest flow of a reused tuple is found first.
    this.byHash.insert(f);
    this.count++;
    if (++this.stats.active > this.stats.peakActive) this.stats.peakActive = this.stats.active;
    this.stats.started++;
    if (f.proto === TRANSPORT_TCP) {
      this.stats.embryonic++;
      this.append(f, L_EMBRYONIC);
    } else this.append(f, f.proto === TRANSPORT_UDP ? L_UDP : L_OTHER);

    f.cap = this.limits.flowReassemblyCap;
    // A factory is kept until payload arrives: most flows of a scan never need their consumer.
    f.consumer = this.handlers.onFlowStart(f);
    this.account(f);
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
    if (c !== null && typeof c !== 'function') {
      // A direction that never carried payload has no stream: its consumer only hears the end.
      if (f.s0 !== null) f.s0.finish(ts);
      else c.onEnd(0, ts);
      if (f.s1 !== null) f.s1.finish(ts);
      else c.onEnd(1, ts);
    }
    const gaps = (f.s0?.gaps ?? 0) + (f.s1?.gaps ?? 0);
    const gapBytes = (f.s0?.gapBytes ?? 0) + (f.s1?.gapBytes ?? 0);
    const record = new FlowEndRecord(f, reason, gaps, gapBytes);
    this.stats.ended[reason]++;
    if (reason === 'evicted') this.stats.evicted++;
    this.stats.active--;
    if (f.list === L_EMBRYONIC) this.stats.embryonic--;
    // Drop references so a lingering closed flow holds no buffers or analyzer state.
    f.consumer = null;
    f.s0 = null;
    f.s1 = null;
    this.charge(f, this.limits.flowBytes);
    this.handlers.onFlowEnd(f, record);
  }

  /** Idle timeout of a live flow, counted by kind. */
  private timeOut(f: Flow, timeout: number): void {
    if (f.list === L_EMBRYONIC) this.stats.timeouts.embryonic++;
    else this.stats.timeouts.idle++;
    this.endFlow(f, 'timeout', f.lastSeen + timeout);
  }

  private expire(now: number): void {
    for (let l = 0; l < N_LISTS; l++) {
      const timeout = this.timeouts[l] ?? 0;
      let f = this.heads[l] ?? null;
      while (f !== null && now - f.lastSeen > timeout) {
        const next = f.next;
        if (l !== L_CLOSED) this.timeOut(f, timeout);
        this.remove(f);
        f = next;
      }
    }
  }

  /** Evicts flows (never `keep`, the flow being processed) until the estimate is within the budget. */
  private enforceBudget(keep: Flow): void {
    const m = this.stats.memory;
    while (m.bytes > this.limits.memoryBudget) {
      if (!this.evictOne(keep.lastSeen, 'budget', keep)) return;
    }
  }

  /**
   * Frees one slot: a lingering closed flow first, then the oldest embryonic flow, else the live flow idle
   * the longest. Returns false when there was nothing to evict but `keep`.
   */
  private evictOne(ts: number, why: 'cap' | 'budget', keep: Flow | null): boolean {
    let victim = this.headOf(L_CLOSED, keep) ?? this.headOf(L_EMBRYONIC, keep);
    if (victim === null) {
      for (let l = 0; l < N_LISTS; l++) {
        const h = this.headOf(l, keep);
        if (h !== null && (victim === null || h.lastSeen < victim.lastSeen)) victim = h;
      }
    }
    if (victim === null) return false;
    if (victim.list !== L_CLOSED) {
      // A forced end: held out-of-order data is reported as gaps like any other end.
      this.stats.evictions[why]++;
      this.endFlow(victim, 'evicted', ts);
    }
    this.remove(victim);
    return true;
  }

  private headOf(list: number, keep: Flow | null): Flow | null {
    const h = this.heads[list] ?? null;
    return h !== null && h === keep ? h.next : h;
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
    this.byHash.remove(f);
    this.count--;
    this.charge(f, 0);
  }
}

// The last two IPv4 addresses formatted: a new flow's client and server text is asked for about ten times in a
// row (the engine at its start, the end record), and a cache here costs a flow nothing.
let textKey0 = 0;
let textVal0 = '0.0.0.0';
let textKey1 = 0;
let textVal1 = '0.0.0.0';

/** `n` (int32) as dotted text. */
function ipv4Text(n: number): string {
  if (n === textKey0) return textVal0;
  if (n === textKey1) return textVal1;
  const t = ipv4ToString(n >>> 0);
  textKey1 = textKey0;
  textVal1 = textVal0;
  textKey0 = n;
  textVal0 = t;
  return t;
}

/**
 * A flow's end record. Its Community ID is a getter on the prototype, made from the flow only when read (a
 * finding names the flow, or the record is printed: `toJSON` puts it after `flow`), so the records nobody prints
 * cost no hash; an accessor on a plain object would instead make every record slower to build and to print.
 */
class FlowEndRecord implements FlowRecord {
  readonly kind = 'flow';
  readonly #source: Flow;
  readonly flow: string;
  readonly transport: FlowRecord['transport'];
  readonly app: string | null;
  readonly vlan: number | null;
  readonly client: FlowRecord['client'];
  readonly server: FlowRecord['server'];
  readonly client_by: FlowRecord['client_by'];
  readonly packets: [number, number];
  readonly bytes: [number, number];
  readonly gaps: number;
  readonly gap_bytes: number;
  readonly end_reason: FlowEndReason;
  readonly startMicros: number;
  readonly endMicros: number;

  constructor(f: Flow, reason: FlowEndReason, gaps: number, gapBytes: number) {
    this.#source = f;
    this.flow = f.id;
    this.transport = f.transport;
    this.app = f.app;
    this.vlan = f.vlan < 0 ? null : f.vlan;
    this.client = endpoint(f.clientIp, f.clientPort, f.clientMac);
    this.server = endpoint(f.serverIp, f.serverPort, f.serverMac);
    this.client_by = f.clientBy;
    // Bytes are frame bytes as captured on the wire (Packet.frameLen), link header included.
    this.packets = [f.pkts0, f.pkts1];
    this.bytes = [f.bytes0, f.bytes1];
    this.gaps = gaps;
    this.gap_bytes = gapBytes;
    this.end_reason = reason;
    this.startMicros = f.startTs;
    this.endMicros = f.lastSeen;
  }

  get community_id(): string | undefined {
    return this.#source.communityId;
  }

  /** Start and end as text are made when read, like the Community ID: inside, the engine reads the µs values. */
  get start(): string {
    return formatTs(this.startMicros);
  }

  get end(): string {
    return formatTs(this.endMicros);
  }

  /** The printed record: DESIGN.md's fields in their order, `community_id` after `flow`. */
  toJSON(): Omit<FlowRecord, 'community_id'> & { community_id: string | undefined } {
    return {
      kind: this.kind,
      flow: this.flow,
      community_id: this.community_id,
      transport: this.transport,
      app: this.app,
      vlan: this.vlan,
      client: this.client,
      server: this.server,
      client_by: this.client_by,
      start: this.start,
      end: this.end,
      packets: this.packets,
      bytes: this.bytes,
      gaps: this.gaps,
      gap_bytes: this.gap_bytes,
      end_reason: this.end_reason,
      startMicros: this.startMicros,
      endMicros: this.endMicros,
    };
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
  for (let i = 0; i + 3 < a.length; i += 4) h = mix(h, u32(a, i));
  for (let i = 0; i + 3 < b.length; i += 4) h = mix(h, u32(b, i));
  h = mix(h, (ap << 16) | bp);
  h = mix(h, ((vlan + 1) << 8) | proto);
  return finalise(h);
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
  // Two lanes over the same words; written out (no arrays, no iterators): one id per flow, 2 µs each before.
  const t = 0x13198a2e;
  let h1 = 0x243f6a88;
  let h2 = 0x85a308d3;
  h1 = mix(h1, vlan + 1);
  h2 = mix(h2, (vlan + 1) ^ t);
  h1 = mix(h1, proto);
  h2 = mix(h2, proto ^ t);
  h1 = mix(h1, clientPort);
  h2 = mix(h2, clientPort ^ t);
  h1 = mix(h1, serverPort);
  h2 = mix(h2, serverPort ^ t);
  h1 = mix(h1, lo);
  h2 = mix(h2, lo ^ t);
  h1 = mix(h1, hi);
  h2 = mix(h2, hi ^ t);
  h1 = mix(h1, clientAddr.length);
  h2 = mix(h2, clientAddr.length ^ t);
  for (let i = 0; i + 3 < clientAddr.length; i += 4) {
    const w = u32(clientAddr, i);
    h1 = mix(h1, w);
    h2 = mix(h2, w ^ t);
  }
  for (let i = 0; i + 3 < serverAddr.length; i += 4) {
    const w = u32(serverAddr, i);
    h1 = mix(h1, w);
    h2 = mix(h2, w ^ t);
  }
  return hex32(finaliseFull(h1)) + hex32(finaliseFull(h2 ^ h1));
}

const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Eight lower-case hex digits of a 32-bit value. */
function hex32(x: number): string {
  const h = HEX_BYTE;
  return `${h[(x >>> 24) & 0xff]}${h[(x >>> 16) & 0xff]}${h[(x >>> 8) & 0xff]}${h[x & 0xff]}`;
}

function finaliseFull(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
