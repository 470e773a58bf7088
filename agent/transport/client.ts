// Agent side of the agent ⇄ collector WebSocket (DESIGN.md "Agent ⇄ collector"): hello/welcome, spooled
// finding batches with per-agent sequence numbers, cumulative acks, jittered reconnect, stats heartbeats.
import type { Logger } from 'pino';
import WebSocket from 'ws';
import type { Finding } from '../wire/finding.js';
import {
  WIRE_PROTOCOL,
  parseCollectorMessage,
  validateFinding,
  type DeviceRecord,
  type StatsMessage,
} from '../wire/messages.js';
import { Spool } from './spool.js';

/** What the pipeline reports in each heartbeat (cumulative since start); the transport adds its spool. */
export type AgentStats = Omit<StatsMessage, 'type' | 'spool'>;

export interface TransportOptions {
  /** ws:// or wss:// URL of the collector. */
  url: string;
  token: string;
  agent: string;
  version: string;
  spoolDir: string;
  logger: Logger;
  spoolMaxBytes?: number;
  segmentBytes?: number;
  /** Findings per batch (one spool line, one wire message). */
  batchMax?: number;
  /** How long a partial batch waits for company. */
  batchDelayMs?: number;
  /** Findings held in memory before they reach the spool; beyond it the oldest are dropped and counted. */
  maxPendingInMemory?: number;
  /** Stop writing to the socket while its buffer holds more than this. */
  highWaterBytes?: number;
  /** Batches sent and not yet acked. */
  windowBatches?: number;
  backoffMinMs?: number;
  backoffMaxMs?: number;
  helloTimeoutMs?: number;
  statsIntervalMs?: number;
  getStats?: () => AgentStats;
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; rejectUnauthorized?: boolean };
}

export interface TransportStats {
  connected: boolean;
  connects: number;
  /** Findings accepted by send(). */
  queued: number;
  /** Findings refused by send() because they do not match the wire schema. */
  invalid: number;
  /** Findings dropped before reaching the spool because the in-memory queue was full. */
  memoryDropped: number;
  spoolBytes: number;
  spoolPending: number;
  spoolDropped: number;
  lastSeq: number;
  ackedSeq: number;
}

export class AgentTransport {
  private readonly o: Required<Omit<TransportOptions, 'getStats' | 'tls'>> &
    Pick<TransportOptions, 'getStats' | 'tls'>;
  private readonly log: Logger;
  private ws: WebSocket | null = null;
  private ready = false;
  private closing = false;
  private attempt = 0;
  private connects = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private helloTimer: NodeJS.Timeout | null = null;
  private statsTimer: NodeJS.Timeout | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private pumpTimer: NodeJS.Timeout | null = null;
  private pending: Finding[] = [];
  private flushing: Promise<void> | null = null;
  private pumping = false;
  private pumpAgain = false;
  private sentUpTo = 0;
  private queued = 0;
  private invalid = 0;
  private memoryDropped = 0;
  private devices: DeviceRecord[] | null = null;
  private drainWaiters: Array<() => void> = [];

  private constructor(
    opts: TransportOptions,
    private readonly spool: Spool,
  ) {
    this.o = {
      spoolMaxBytes: 64 * 1024 * 1024,
      segmentBytes: 4 * 1024 * 1024,
      batchMax: 500,
      batchDelayMs: 200,
      maxPendingInMemory: 100_000,
      highWaterBytes: 1024 * 1024,
      windowBatches: 32,
      backoffMinMs: 500,
      backoffMaxMs: 30_000,
      helloTimeoutMs: 10_000,
      statsIntervalMs: 10_000,
      ...opts,
    };
    this.log = opts.logger;
  }

  /** Opens the spool (resending what a previous run left unacked) and starts connecting. */
  static async open(opts: TransportOptions): Promise<AgentTransport> {
    const spool = await Spool.open({
      dir: opts.spoolDir,
      maxBytes: opts.spoolMaxBytes ?? 64 * 1024 * 1024,
      segmentBytes: opts.segmentBytes ?? 4 * 1024 * 1024,
      logger: opts.logger,
    });
    const t = new AgentTransport(opts, spool);
    const st = spool.stats();
    if (st.pending > 0)
      t.log.info(
        { findings: st.pending, batches: st.pendingBatches },
        'transport: unacked findings in spool will be resent',
      );
    t.connect();
    if (opts.getStats) {
      t.statsTimer = setInterval(() => t.sendStats(), t.o.statsIntervalMs);
      t.statsTimer.unref();
    }
    return t;
  }

  /** Queues a finding; never blocks and never throws on a bad finding (it is counted instead). */
  send(f: Finding): void {
    if (this.closing) return;
    const v = validateFinding(f);
    if (!v.ok) {
      this.invalid++;
      if (this.invalid === 1 || this.invalid % 1000 === 0) {
        this.log.warn(
          { detail: v.detail, invalid: this.invalid },
          'transport: finding does not match the wire schema, dropped',
        );
      }
      return;
    }
    this.queued++;
    this.pending.push(f);
    if (this.pending.length > this.o.maxPendingInMemory) {
      const n = this.pending.length - this.o.maxPendingInMemory;
      this.pending.splice(0, n);
      this.memoryDropped += n;
      if (this.memoryDropped === n || this.memoryDropped % 10_000 < n) {
        this.log.warn(
          { dropped: this.memoryDropped },
          'transport: in-memory queue full, oldest findings dropped',
        );
      }
    }
    if (this.pending.length >= this.o.batchMax) this.scheduleFlush(0);
    else this.scheduleFlush(this.o.batchDelayMs);
  }

  /** Latest device inventory; sent now if connected, and again after every reconnect. */
  sendDevices(devices: DeviceRecord[]): void {
    this.devices = devices;
    if (this.ready) this.write(JSON.stringify({ type: 'devices', devices }));
  }

  /** Writes queued findings to the spool now; resolves once they are fsynced (safe against a crash, not yet acked). */
  async flush(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    await this.flushPending();
  }

  /** Resolves once every finding passed to send() so far is acked by the collector. */
  drain(): Promise<void> {
    this.scheduleFlush(0);
    return new Promise((resolve) => {
      this.drainWaiters.push(resolve);
      this.checkDrained();
    });
  }

  /** Flushes queued findings to the spool and closes the connection; unacked batches wait on disk. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const t of [
      this.reconnectTimer,
      this.helloTimer,
      this.statsTimer,
      this.flushTimer,
      this.pumpTimer,
    ]) {
      if (t) clearTimeout(t);
    }
    await this.flushPending();
    // A last heartbeat so the collector's counters include everything this run processed.
    this.sendStats();
    const ws = this.ws;
    this.ready = false;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 2000);
        ws.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
        else ws.close(1000, 'agent shutting down');
      });
    }
    await this.spool.close();
    const st = this.spool.stats();
    this.log.info({ unacked: st.pending, lastSeq: st.lastSeq, ackedSeq: st.ackedSeq }, 'transport: closed');
  }

  stats(): TransportStats {
    const s = this.spool.stats();
    return {
      connected: this.ready,
      connects: this.connects,
      queued: this.queued,
      invalid: this.invalid,
      memoryDropped: this.memoryDropped,
      spoolBytes: s.bytes,
      spoolPending: s.pending + this.pending.length,
      spoolDropped: s.dropped,
      lastSeq: s.lastSeq,
      ackedSeq: s.ackedSeq,
    };
  }

  private scheduleFlush(delay: number): void {
    if (this.flushTimer) {
      if (delay > 0) return;
      clearTimeout(this.flushTimer);
    }
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      void this.flushPending();
    }, delay);
  }

  private flushPending(): Promise<void> {
    if (this.flushing)
      return this.flushing.then(() => (this.pending.length > 0 ? this.flushPending() : undefined));
    if (this.pending.length === 0) return Promise.resolve();
    this.flushing = (async () => {
      try {
        while (this.pending.length > 0) {
          const batch = this.pending.splice(0, this.o.batchMax);
          await this.spool.append(batch);
          this.pump();
        }
      } catch (e) {
        this.log.error({ err: e }, 'transport: spool write failed');
      } finally {
        this.flushing = null;
        this.checkDrained();
      }
    })();
    return this.flushing;
  }

  private checkDrained(): void {
    if (this.drainWaiters.length === 0) return;
    if (this.pending.length > 0 || this.flushing) return;
    if (this.spool.ackedSeq < this.spool.lastSeq) return;
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const r of w) r();
  }

  private connect(): void {
    if (this.closing) return;
    const tls = this.o.tls ?? {};
    const ws = new WebSocket(this.o.url, {
      handshakeTimeout: this.o.helloTimeoutMs,
      maxPayload: 1024 * 1024,
      ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
      ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
      ...(tls.key !== undefined ? { key: tls.key } : {}),
      ...(tls.rejectUnauthorized !== undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
    });
    this.ws = ws;
    ws.on('open', () => {
      const hello = {
        type: 'hello',
        agent: this.o.agent,
        version: this.o.version,
        token: this.o.token,
        proto: WIRE_PROTOCOL,
      };
      ws.send(JSON.stringify(hello));
      this.helloTimer = setTimeout(() => {
        this.log.warn('transport: no welcome from collector, reconnecting');
        ws.terminate();
      }, this.o.helloTimeoutMs);
    });
    ws.on('message', (data, isBinary) => {
      if (ws !== this.ws) return;
      const text = isBinary ? '' : data.toString();
      const r = parseCollectorMessage(text);
      if (!r.ok) {
        this.log.warn(
          { reason: r.reason, detail: r.detail },
          'transport: bad message from collector, reconnecting',
        );
        ws.terminate();
        return;
      }
      const m = r.value;
      if (m.type === 'welcome') {
        if (this.helloTimer) clearTimeout(this.helloTimer);
        this.ready = true;
        this.attempt = 0;
        this.connects++;
        this.sentUpTo = this.spool.ackedSeq;
        this.log.info(
          { url: this.o.url, collector: m.version, resendFrom: this.sentUpTo + 1 },
          'transport: connected',
        );
        this.sendStats();
        if (this.devices) this.write(JSON.stringify({ type: 'devices', devices: this.devices }));
        this.pump();
      } else if (m.type === 'ack') {
        void this.spool.ack(m.seq).then(() => {
          this.checkDrained();
          this.pump();
        });
      } else {
        this.log.warn({ reason: m.reason }, 'transport: collector reported an error');
      }
    });
    ws.on('error', (err) => {
      this.log.debug({ err: err.message }, 'transport: socket error');
    });
    ws.on('close', (code, reason) => {
      if (ws !== this.ws) return;
      if (this.helloTimer) clearTimeout(this.helloTimer);
      const wasReady = this.ready;
      this.ready = false;
      this.ws = null;
      if (this.closing) return;
      // One warning per outage (and every refusal); the retries in between go to debug.
      const firstFailure = this.attempt === 0;
      const delay = this.backoff();
      const msg = wasReady
        ? 'transport: disconnected, reconnecting'
        : 'transport: cannot reach the collector, retrying';
      const info = { url: this.o.url, code, reason: reason.toString(), retryMs: Math.round(delay) };
      if (wasReady || firstFailure || code === 1008) this.log.warn(info, msg);
      else this.log.debug(info, msg);
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = null;
        this.connect();
      }, delay);
    });
  }

  /** Full-jitter-on-top-of-half exponential backoff: spreads agents out after a collector restart. */
  private backoff(): number {
    const base = Math.min(this.o.backoffMaxMs, this.o.backoffMinMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return base / 2 + (Math.random() * base) / 2;
  }

  private write(text: string): void {
    const ws = this.ws;
    if (ws && this.ready && ws.readyState === WebSocket.OPEN) ws.send(text);
  }

  private sendStats(): void {
    if (!this.ready || !this.o.getStats) return;
    let s: AgentStats;
    try {
      s = this.o.getStats();
    } catch (e) {
      this.log.error({ err: e }, 'transport: stats callback failed');
      return;
    }
    const sp = this.spool.stats();
    this.write(
      JSON.stringify({
        ...s,
        type: 'stats',
        spool: {
          bytes: sp.bytes,
          pending: sp.pending + this.pending.length,
          dropped: sp.dropped + this.memoryDropped,
        },
      }),
    );
  }

  /** Sends unacked batches from the spool while the socket buffer and the ack window allow. */
  private pump(): void {
    if (this.pumping) {
      // A loop is mid-await (maybe for a connection that just died): it runs us again when it ends.
      this.pumpAgain = true;
      return;
    }
    if (!this.ready) return;
    this.pumping = true;
    void (async () => {
      try {
        const ws = this.ws;
        while (ws && ws === this.ws && this.ready && ws.readyState === WebSocket.OPEN) {
          if (this.sentUpTo < this.spool.ackedSeq) this.sentUpTo = this.spool.ackedSeq;
          if (this.sentUpTo >= this.spool.lastSeq) break;
          if (this.sentUpTo - this.spool.ackedSeq >= this.o.windowBatches) break;
          if (ws.bufferedAmount >= this.o.highWaterBytes) {
            // ws has no client-side drain event: look again shortly.
            if (!this.pumpTimer) {
              this.pumpTimer = setTimeout(() => {
                this.pumpTimer = null;
                this.pump();
              }, 20);
            }
            break;
          }
          const room = this.o.windowBatches - (this.sentUpTo - this.spool.ackedSeq);
          const batches = await this.spool.readAfter(
            this.sentUpTo,
            Math.max(this.o.highWaterBytes, 64 * 1024),
          );
          if (batches.length === 0) break;
          for (const b of batches.slice(0, room)) {
            if (ws !== this.ws || ws.readyState !== WebSocket.OPEN) break;
            ws.send(b.text);
            this.sentUpTo = b.seq;
          }
        }
      } catch (e) {
        this.log.error({ err: e }, 'transport: reading the spool failed');
      } finally {
        this.pumping = false;
        if (this.pumpAgain) {
          this.pumpAgain = false;
          this.pump();
        }
      }
    })();
  }
}
