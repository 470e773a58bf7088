// Agent side of the agent ⇄ collector WebSocket (DESIGN.md "Agent ⇄ collector"): hello/welcome, spooled
// finding batches with per-agent sequence numbers, cumulative acks, jittered reconnect, stats heartbeats.
// Every message is capped in bytes (findings batches and device chunks alike), every outgoing message is checked
// against the wire schema first, and a batch the collector keeps refusing is quarantined so it blocks nothing.
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { deviceProblem, type ArmedChecks, type Baseline, type DeviceBaseline } from '../wire/baseline.js';
import type { Finding } from '../wire/finding.js';
import {
  WIRE_LIMITS,
  WIRE_PROTOCOL,
  parseCollectorMessage,
  validateFinding,
  validateMessage,
  type BaselineMessage,
  type DeviceRecord,
  type RuleInfo,
  type StatsMessage,
} from '../wire/messages.js';
import { Spool, type QuarantineReason, type SpoolFullPolicy } from './spool.js';

/** Default cap on one agent → collector message: far below the collector's 16 MiB frame limit. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
/** Room in a message for everything around its items (`{"type":"findings","seq":…,"findings":[…]}`). */
const ENVELOPE_BYTES = 128;

/** What the pipeline reports in each heartbeat (cumulative since start); the transport adds its spool. */
export type AgentStats = Omit<StatsMessage, 'type' | 'spool'>;

/**
 * TLS errors that no retry can fix: the collector's certificate does not verify against the CA we trust, names
 * another host or has expired, or the collector refused our client certificate (TLS alerts).
 */
const PERMANENT_TLS = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/** Why a connection attempt failed, and whether retrying can help. */
export interface ConnectFailure {
  /** One line naming the cause, e.g. "TLS: certificate verify failed (UNABLE_TO_VERIFY_LEAF_SIGNATURE)". */
  reason: string;
  permanent: boolean;
}

/** Classifies a socket or TLS error of a connection attempt. */
export function classifySocketError(err: Error & { code?: string }): ConnectFailure {
  const code = err.code ?? '';
  if (PERMANENT_TLS.has(code) || /^ERR_SSL_.*ALERT/.test(code))
    return { reason: `TLS: ${err.message} (${code})`, permanent: true };
  return { reason: code ? `${err.message} (${code})` : err.message, permanent: false };
}

/** Classifies an HTTP answer to the WebSocket upgrade: 4xx is a refusal of us (401, 403, 400), 5xx is transient. */
export function classifyHttpRefusal(status: number, body: string): ConnectFailure {
  const text = body.replace(/\s+/g, ' ').trim().slice(0, 200);
  const reason = `HTTP ${status}${text ? `: ${text}` : ''}`;
  return { reason, permanent: status >= 400 && status < 500 && status !== 408 && status !== 429 };
}

/**
 * Classifies the collector's `error` reply before a welcome: the reason codes of refusals no retry can fix (a bad
 * token or role, an agent id already connected, a certificate for another agent). Null: not a refusal of the hello.
 */
export function classifyHelloRefusal(reason: string): ConnectFailure | null {
  const m = /^(auth|id_in_use): (.*)$/s.exec(reason);
  if (!m) return null;
  const detail = (m[2] ?? '').slice(0, 300);
  return { reason: m[1] === 'auth' ? `the collector refused the agent: ${detail}` : detail, permanent: true };
}

export interface TransportOptions {
  /** ws:// or wss:// URL of the collector. */
  url: string;
  token: string;
  agent: string;
  version: string;
  spoolDir: string;
  logger: Logger;
  spoolMaxBytes?: number;
  /** When the spool is full: drop its oldest batches, or keep findings in memory and hold back the source. */
  spoolFull?: SpoolFullPolicy;
  segmentBytes?: number;
  /** Largest message sent to the collector, bytes; batches and device tables are split below it. */
  maxMessageBytes?: number;
  /** Refusals of the same batch, sent alone, before it is quarantined. */
  refusalsBeforeQuarantine?: number;
  /** Wait before retrying a spool that was full or failing. */
  spoolRetryMs?: number;
  /** Findings per batch (one spool line, one wire message). */
  batchMax?: number;
  /** How long a partial batch waits for company. */
  batchDelayMs?: number;
  /** Findings held in memory before they reach the spool; beyond it the oldest are dropped and counted. */
  maxPendingInMemory?: number;
  /** The same cap in bytes of serialised findings. */
  maxPendingBytes?: number;
  /** Stop writing to the socket while its buffer holds more than this. */
  highWaterBytes?: number;
  /** Batches sent and not yet acked. */
  windowBatches?: number;
  backoffMinMs?: number;
  backoffMaxMs?: number;
  helloTimeoutMs?: number;
  statsIntervalMs?: number;
  getStats?: () => AgentStats;
  /** Metadata of the rules the agent runs, announced in every hello (the collector describes findings with it). */
  rules?: RuleInfo[];
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; rejectUnauthorized?: boolean };
  /**
   * Called once when the collector refuses the agent for a reason no retry can fix (bad token or role, agent id in
   * use, TLS verification); the transport then stops connecting. Without it such refusals are retried like others.
   */
  onPermanentFailure?: (reason: string) => void;
  /** Called with the collector's approved baselines once every part of a version arrived (issue 10). */
  onBaseline?: (version: number, baseline: Baseline) => void;
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
  /** Findings over the message cap whose evidence was replaced by a note of its size. */
  trimmed: number;
  /** Findings over the message cap even without evidence: dropped. */
  oversizeDropped: number;
  /** Device records cut (strings, protocols, attributes) to fit the schema and the message cap; dropped. */
  devicesTrimmed: number;
  devicesDropped: number;
  /** Messages the collector refused (error reply or policy close after welcome). */
  refused: number;
  spoolBytes: number;
  spoolPending: number;
  spoolDropped: number;
  spoolQuarantined: number;
  spoolRepaired: number;
  /** The spool's current write error (EROFS, EACCES...), or null. */
  spoolFailing: string | null;
  /** Findings not delivered at close because the spool could not take them. */
  undelivered: number;
  /** Findings dropped because a full disk could not take even one of them alone (drop-oldest). */
  unfit: number;
  lastSeq: number;
  ackedSeq: number;
}

/** A finding serialised once: its size decides which batch it goes in. */
interface Queued {
  json: string;
  bytes: number;
}

type Options = Required<Omit<TransportOptions, 'getStats' | 'tls' | 'onPermanentFailure' | 'onBaseline'>> &
  Pick<TransportOptions, 'getStats' | 'tls' | 'onPermanentFailure' | 'onBaseline'>;

/** The parts of one approved-set version received so far. */
interface BaselineParts {
  version: number;
  parts: number;
  got: Map<number, DeviceBaseline[]>;
  armed?: ArmedChecks;
}

export class AgentTransport {
  private readonly o: Options;
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
  private pending: Queued[] = [];
  private pendingBytes = 0;
  private flushing: Promise<void> | null = null;
  private pumping = false;
  private pumpAgain = false;
  private sentUpTo = 0;
  private queued = 0;
  private invalid = 0;
  private memoryDropped = 0;
  private trimmed = 0;
  private oversizeDropped = 0;
  private devicesTrimmed = 0;
  private devicesDropped = 0;
  private refused = 0;
  private undelivered = 0;
  private unfit = 0;
  /** Byte budget of the next batch: the message cap, halved while a full disk refuses batches that large. */
  private batchBytes = Number.MAX_SAFE_INTEGER;
  private devices: DeviceRecord[] | null = null;
  private learned: Baseline | null = null;
  private learnedDropped = 0;
  private baselineParts: BaselineParts | null = null;
  private baselineHeard: (() => void) | null = null;
  /** Resolves once the collector's approved set (or its word that it has none, version 0) came in whole. */
  readonly baselineSeen: Promise<void> = new Promise((resolve) => {
    this.baselineHeard = resolve;
  });
  private drainWaiters: Array<() => void> = [];
  /** The spool said full (stop-reading) or failed: findings wait in memory and the source is held back. */
  private spoolState: 'ok' | 'full' | 'failing' = 'ok';
  private spoolRetries = 0;
  private roomWaiters: Array<() => void> = [];
  /** The collector's last error reply on this connection (it precedes the policy close). */
  private refusal: string | null = null;
  /** After a refusal, batches go one at a time until everything in flight then is acked or quarantined. */
  private carefulUntil = 0;
  private readonly strikes = new Map<number, number>();
  /** Why the current connection attempt failed (TLS, HTTP or the collector's refusal), for the close log. */
  private failure: ConnectFailure | null = null;
  /** A permanent refusal was reported: no more connection attempts. */
  private gaveUp: string | null = null;

  private constructor(
    opts: TransportOptions,
    private readonly spool: Spool,
  ) {
    const o: Options = {
      spoolMaxBytes: 64 * 1024 * 1024,
      spoolFull: 'drop-oldest',
      segmentBytes: 4 * 1024 * 1024,
      maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
      refusalsBeforeQuarantine: 2,
      spoolRetryMs: 1000,
      batchMax: 500,
      batchDelayMs: 200,
      maxPendingInMemory: 100_000,
      maxPendingBytes: 64 * 1024 * 1024,
      highWaterBytes: 1024 * 1024,
      windowBatches: 32,
      backoffMinMs: 500,
      backoffMaxMs: 30_000,
      helloTimeoutMs: 10_000,
      statsIntervalMs: 10_000,
      rules: [],
      ...opts,
    };
    // A batch must fit in the spool with room to spare, or a full spool could never take it.
    o.maxMessageBytes = Math.max(4096, Math.min(o.maxMessageBytes, Math.floor(o.spoolMaxBytes / 4)));
    o.batchMax = Math.max(1, Math.min(o.batchMax, WIRE_LIMITS.maxFindingsPerBatch));
    this.o = o;
    this.batchBytes = o.maxMessageBytes;
    this.log = opts.logger;
  }

  /**
   * Opens the spool (resending what a previous run left unacked) and starts connecting. Rejects with
   * SpoolUnusableError when the spool directory cannot be written.
   */
  static async open(opts: TransportOptions): Promise<AgentTransport> {
    const spool = await Spool.open({
      dir: opts.spoolDir,
      maxBytes: opts.spoolMaxBytes ?? 64 * 1024 * 1024,
      whenFull: opts.spoolFull ?? 'drop-oldest',
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
    const q = this.fitFinding(f);
    if (!q) return;
    this.queued++;
    this.pending.push(q);
    this.pendingBytes += q.bytes;
    this.capPending();
    if (this.pending.length >= this.o.batchMax) this.scheduleFlush(0);
    else this.scheduleFlush(this.o.batchDelayMs);
  }

  /**
   * A finding that alone would not fit in a message loses its evidence (replaced by its size); one that still does
   * not fit (only possible with strings full of escapes) is dropped. Both counted.
   */
  private fitFinding(f: Finding): Queued | null {
    const limit = this.o.maxMessageBytes - ENVELOPE_BYTES;
    let json = JSON.stringify(f);
    let bytes = Buffer.byteLength(json);
    if (bytes <= limit) return { json, bytes };
    json = JSON.stringify({ ...f, evidence: { trimmed: true, evidence_bytes: bytes } });
    bytes = Buffer.byteLength(json);
    if (bytes <= limit) {
      this.trimmed++;
      if (this.trimmed === 1 || this.trimmed % 1000 === 0)
        this.log.warn(
          { rule: f.rule, limit, trimmed: this.trimmed },
          'transport: finding over the message cap, evidence trimmed',
        );
      return { json, bytes };
    }
    this.oversizeDropped++;
    this.log.warn(
      { rule: f.rule, bytes, limit, dropped: this.oversizeDropped },
      'transport: finding over the message cap even without evidence, dropped',
    );
    return null;
  }

  /** The in-memory queue's caps (count and bytes): the oldest go first, counted. */
  private capPending(): void {
    let n = 0;
    while (
      n < this.pending.length &&
      (this.pending.length - n > this.o.maxPendingInMemory || this.pendingBytes > this.o.maxPendingBytes)
    ) {
      this.pendingBytes -= this.pending[n]?.bytes ?? 0;
      n++;
    }
    if (n === 0) return;
    this.pending.splice(0, n);
    this.memoryDropped += n;
    if (this.memoryDropped === n || this.memoryDropped % 10_000 < n) {
      this.log.warn(
        { dropped: this.memoryDropped },
        'transport: in-memory queue full, oldest findings dropped',
      );
    }
  }

  /** Latest device inventory; sent now if connected, and again after every reconnect, in chunks under the cap. */
  sendDevices(devices: DeviceRecord[]): void {
    this.devices = devices;
    if (this.ready) this.writeDevices();
  }

  /**
   * What the agent learned, one document per device: sent now if connected and again after every reconnect, in
   * `baselines` messages under the cap (the collector makes a version only of what changed).
   */
  sendLearned(b: Baseline): void {
    this.learned = b;
    if (this.ready) this.writeLearned();
  }

  private writeLearned(): void {
    for (const text of this.learnedChunks(this.learned)) this.write(text);
  }

  /** `baselines` messages of at most maxMessageBytes; a device that breaks the schema or the cap alone is dropped. */
  learnedChunks(b: Baseline | null): string[] {
    if (!b) return [];
    const limit = this.o.maxMessageBytes - 512;
    const head = `{"type":"baselines"${b.learned_from ? `,"learned_from":${JSON.stringify(b.learned_from)}` : ''}${
      b.learned_to ? `,"learned_to":${JSON.stringify(b.learned_to)}` : ''
    }${b.armed ? `,"armed":${JSON.stringify(b.armed)}` : ''},"devices":[`;
    const out: string[] = [];
    let parts: string[] = [];
    let bytes = 0;
    const emit = (): void => {
      if (parts.length > 0) out.push(`${head}${parts.join(',')}]}`);
      parts = [];
      bytes = 0;
    };
    for (const d of b.devices) {
      const json = JSON.stringify(d);
      const n = Buffer.byteLength(json) + 1;
      const problem = n > limit ? 'over the message cap' : deviceProblem(d);
      if (problem) {
        this.learnedDropped++;
        if (this.learnedDropped === 1 || this.learnedDropped % 1000 === 0)
          this.log.warn(
            { detail: problem, dropped: this.learnedDropped },
            'transport: learned baseline not sent',
          );
        continue;
      }
      if (parts.length > 0 && (bytes + n > limit || parts.length >= WIRE_LIMITS.maxBaselineDevicesPerMessage))
        emit();
      parts.push(json);
      bytes += n;
    }
    emit();
    return out;
  }

  /** Collects the parts of an approved-set version; a newer version replaces an unfinished older one. */
  private onBaselinePart(m: BaselineMessage): void {
    let cur = this.baselineParts;
    if (!cur || cur.version !== m.version || cur.parts !== m.parts) {
      cur = { version: m.version, parts: m.parts, got: new Map(), ...(m.armed ? { armed: m.armed } : {}) };
      this.baselineParts = cur;
    }
    cur.got.set(m.part, m.devices);
    if (cur.got.size < cur.parts) return;
    this.baselineParts = null;
    this.baselineHeard?.();
    // Version 0: the collector has approved nothing yet, which is not "approve nothing" (every device would be new).
    if (cur.version === 0) return;
    const devices: DeviceBaseline[] = [];
    for (let i = 0; i < cur.parts; i++) devices.push(...(cur.got.get(i) ?? []));
    const baseline: Baseline = {
      version: 1,
      learned_from: '',
      learned_to: '',
      ...(cur.armed ? { armed: cur.armed } : {}),
      devices,
    };
    try {
      this.o.onBaseline?.(cur.version, baseline);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'transport: applying the approved baselines failed');
    }
  }

  /**
   * Resolves when the source may go on: at once unless the spool is full under `stop-reading` and findings pile
   * up in memory. A failing spool does not hold the source back (it might never recover): memory caps apply.
   */
  room(): Promise<void> | null {
    if (this.spoolState !== 'full' || this.closing) return null;
    if (this.pending.length < this.o.batchMax * 4) return null;
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Writes queued findings to the spool now; resolves once they are fsynced (safe against a crash, not yet acked). */
  async flush(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    await this.flushPending();
  }

  /**
   * Resolves once every finding passed to send() so far is acked by the collector, or once nothing more can be
   * done because the spool cannot be written (stats().spoolFailing then names why).
   */
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
    this.wakeRoom();
    await this.flushPending();
    // What the spool would not take is lost with this process: counted, so the last heartbeat reports it.
    if (this.pending.length > 0) {
      this.undelivered += this.pending.length;
      this.log.error(
        { findings: this.pending.length, spool: this.spool.dir, why: this.spool.stats().failing ?? 'full' },
        'transport: findings the spool could not take are lost',
      );
      this.pending = [];
      this.pendingBytes = 0;
    }
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
      trimmed: this.trimmed,
      oversizeDropped: this.oversizeDropped,
      devicesTrimmed: this.devicesTrimmed,
      devicesDropped: this.devicesDropped,
      refused: this.refused,
      spoolBytes: s.bytes,
      spoolPending: s.pending + this.pending.length,
      spoolDropped: s.dropped,
      spoolQuarantined: s.quarantined,
      spoolRepaired: s.repaired,
      spoolFailing: s.failing,
      undelivered: this.undelivered,
      unfit: this.unfit,
      lastSeq: s.lastSeq,
      ackedSeq: s.ackedSeq,
    };
  }

  /**
   * Findings that will never reach the collector, for `wardwatch_drops_total{where="spool"}`: dropped from the
   * spool or the memory queue, quarantined, too large, or left over when the spool failed.
   */
  private lostFindings(): number {
    const s = this.spool.stats();
    return (
      s.dropped + s.quarantined + this.memoryDropped + this.oversizeDropped + this.undelivered + this.unfit
    );
  }

  private scheduleFlush(delay: number): void {
    // While the spool is full or failing, its retry timer (or an ack) decides when to try again, not each send().
    if (this.spoolState !== 'ok' && this.flushTimer) return;
    if (this.flushTimer) {
      if (delay > 0) return;
      clearTimeout(this.flushTimer);
    }
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      void this.flushPending();
    }, delay);
  }

  /** Next batch from the head of the queue: at most batchMax findings and `batchBytes` of text. */
  private takeBatch(): Queued[] {
    const limit = Math.min(this.batchBytes, this.o.maxMessageBytes - ENVELOPE_BYTES);
    let n = 0;
    let bytes = 0;
    while (n < this.pending.length && n < this.o.batchMax) {
      const q = this.pending[n] as Queued;
      if (n > 0 && bytes + q.bytes + 1 > limit) break;
      bytes += q.bytes + 1;
      n++;
    }
    const batch = this.pending.splice(0, n);
    for (const q of batch) this.pendingBytes -= q.bytes;
    return batch;
  }

  private flushPending(): Promise<void> {
    if (this.flushing)
      return this.flushing.then(() =>
        this.pending.length > 0 && this.spoolState === 'ok' ? this.flushPending() : undefined,
      );
    if (this.pending.length === 0) return Promise.resolve();
    this.flushing = (async () => {
      try {
        while (this.pending.length > 0) {
          const batch = this.takeBatch();
          const r = await this.spool.appendJson(batch.map((q) => q.json));
          if (r.ok) {
            this.setSpoolState('ok');
            this.batchBytes = Math.min(this.batchBytes * 2, this.o.maxMessageBytes);
            this.pump();
            continue;
          }
          if (r.why === 'full' && this.spool.stats().pendingBatches === 0) {
            // Full with nothing of ours left to drop or to wait for (no ack will come): the disk is too small for
            // this batch. Smaller batches first; a single finding that still does not fit is dropped under
            // drop-oldest (counted), and waits under stop-reading, as that policy promises.
            if (batch.length > 1) {
              this.batchBytes = Math.max(1, Math.floor(batch.reduce((a, q) => a + q.bytes, 0) / 2));
              this.requeue(batch);
              continue;
            }
            if (this.o.spoolFull === 'drop-oldest') {
              this.unfit++;
              this.log.warn(
                { spool: this.spool.dir, bytes: batch[0]?.bytes, dropped: this.unfit },
                'transport: spool disk too full for even one finding, dropped',
              );
              continue;
            }
          }
          // Not stored: back at the head of the queue (whose caps may now drop the oldest), retried later.
          this.requeue(batch);
          this.setSpoolState(r.why === 'full' ? 'full' : 'failing');
          this.retryFlushLater();
          break;
        }
      } catch (e) {
        // The spool reports failures as values; this is a bug, but it must not take the agent down.
        this.log.error({ err: e }, 'transport: spool write failed');
      } finally {
        this.flushing = null;
        this.wakeRoom();
        this.checkDrained();
      }
    })();
    return this.flushing;
  }

  /** A batch the spool did not take goes back to the head of the queue, whose caps may now drop the oldest. */
  private requeue(batch: Queued[]): void {
    this.pending.unshift(...batch);
    for (const q of batch) this.pendingBytes += q.bytes;
    this.capPending();
  }

  private setSpoolState(s: 'ok' | 'full' | 'failing'): void {
    if (s === this.spoolState) return;
    if (s === 'ok') {
      this.spoolRetries = 0;
      this.log.info({ was: this.spoolState }, 'transport: spool takes findings again');
    } else if (s === 'full') {
      this.log.warn(
        { spool: this.spool.dir, pending: this.pending.length },
        'transport: spool full (stop-reading): findings wait in memory until the collector acks',
      );
    }
    this.spoolState = s;
  }

  /** A full spool frees up on acks (pump calls flush then); a failing one is retried with a growing delay. */
  private retryFlushLater(): void {
    if (this.closing) return;
    const delay = Math.min(30_000, this.o.spoolRetryMs * 2 ** Math.min(this.spoolRetries++, 5));
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      void this.flushPending();
    }, delay);
    this.flushTimer.unref();
  }

  private wakeRoom(): void {
    if (this.roomWaiters.length === 0) return;
    if (!this.closing && this.spoolState === 'full' && this.pending.length >= this.o.batchMax * 4) return;
    const w = this.roomWaiters;
    this.roomWaiters = [];
    for (const r of w) r();
  }

  private checkDrained(): void {
    if (this.drainWaiters.length === 0) return;
    if (this.flushing) return;
    const spooledDone = this.spool.ackedSeq >= this.spool.lastSeq;
    // Findings the spool cannot take do not keep a finite run waiting forever; close() counts them.
    const stuck = this.pending.length > 0 && this.spoolState === 'failing';
    if (!spooledDone || (this.pending.length > 0 && !stuck)) return;
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const r of w) r();
  }

  private connect(): void {
    if (this.closing || this.gaveUp !== null) return;
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
    this.refusal = null;
    this.failure = null;
    ws.on('unexpected-response', (req, res: IncomingMessage) => {
      // The upgrade was answered in HTTP (401/403 from a certificate check, 400 from the wrong scheme, 5xx...):
      // keep its status and the first bytes of its body as the reason, then end the attempt.
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < 500) body += d;
      });
      const done = (): void => {
        if (ws !== this.ws) return;
        this.failure = classifyHttpRefusal(res.statusCode ?? 0, body);
        req.destroy();
        ws.terminate();
      };
      res.on('end', done);
      res.on('error', done);
    });
    ws.on('open', () => {
      const hello = {
        type: 'hello',
        agent: this.o.agent,
        version: this.o.version,
        token: this.o.token,
        proto: WIRE_PROTOCOL,
        ...(this.o.rules.length > 0 ? { rules: this.o.rules } : {}),
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
        if (this.devices) this.writeDevices();
        if (this.learned) this.writeLearned();
        this.pump();
      } else if (m.type === 'ack') {
        // An ack means the collector took what came before: an earlier "refused, connection kept" reason no
        // longer explains a later close.
        this.refusal = null;
        void this.spool.ack(m.seq).then(() => {
          this.strikes.delete(m.seq);
          this.checkDrained();
          this.pump();
          // Acks free spool space: findings waiting in memory for it can go now.
          if (this.spoolState === 'full') void this.flushPending();
        }, this.spoolBug);
      } else if (m.type === 'baseline') {
        this.onBaselinePart(m);
      } else {
        this.refusal = m.reason;
        const hello = this.ready ? null : classifyHelloRefusal(m.reason);
        if (hello) this.failure = hello;
        else this.log.warn({ reason: m.reason.slice(0, 200) }, 'transport: collector reported an error');
      }
    });
    ws.on('error', (err: Error & { code?: string }) => {
      // The first error of an attempt names its cause (ws reports a later "closed before established" too).
      if (ws === this.ws && this.failure === null && !this.ready) this.failure = classifySocketError(err);
      this.log.debug({ err: err.message, code: err.code }, 'transport: socket error');
    });
    ws.on('close', (code, reason) => {
      if (ws !== this.ws) return;
      if (this.helloTimer) clearTimeout(this.helloTimer);
      const wasReady = this.ready;
      this.ready = false;
      this.ws = null;
      if (this.closing) return;
      const failure = this.failure;
      if (failure?.permanent && this.o.onPermanentFailure) {
        this.gaveUp = failure.reason;
        this.log.debug({ url: this.o.url, reason: failure.reason }, 'transport: refused for good');
        this.o.onPermanentFailure(failure.reason);
        return;
      }
      // 1008 policy (the collector refused a message) or 1009 too big, after welcome: maybe one of our batches.
      if (wasReady && (code === 1008 || code === 1009)) this.onRefused(code);
      // One warning per outage (and every refusal); the retries in between go to debug.
      const firstFailure = this.attempt === 0;
      const delay = this.backoff();
      const msg = wasReady
        ? 'transport: disconnected, reconnecting'
        : 'transport: cannot reach the collector, retrying';
      const info = {
        url: this.o.url,
        code,
        reason: failure?.reason ?? (reason.toString() || this.refusal || 'connection closed'),
        retryMs: Math.round(delay),
      };
      if (wasReady || firstFailure || code === 1008) this.log.warn(info, msg);
      else this.log.debug(info, msg);
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = null;
        this.connect();
      }, delay);
    });
  }

  /**
   * The collector closed on a message it refused. With several batches in flight it cannot be told which, so the
   * next connections send one batch at a time; a batch refused while alone in flight, `refusalsBeforeQuarantine`
   * times, is quarantined. A refusal naming a field outside a findings batch is not held against any batch.
   */
  private onRefused(code: number): void {
    this.refused++;
    const reason = this.refusal ?? (code === 1009 ? 'oversize' : 'policy');
    const acked = this.spool.ackedSeq;
    const inFlight = this.sentUpTo - acked;
    const elsewhere =
      /\$\.(?!findings|seq\b)/.test(reason) || /^(auth|no_hello|hello_timeout)\b/.test(reason);
    if (!elsewhere && inFlight === 1 && this.carefulUntil > acked) {
      const seq = acked + 1;
      const n = (this.strikes.get(seq) ?? 0) + 1;
      this.strikes.set(seq, n);
      if (n >= this.o.refusalsBeforeQuarantine) {
        this.strikes.delete(seq);
        void this.spool.quarantine(seq, 'refused').then(() => this.checkDrained(), this.spoolBug);
      }
    }
    if (!elsewhere && inFlight > 0) this.carefulUntil = Math.max(this.carefulUntil, this.sentUpTo);
  }

  /** The spool reports disk trouble as values; anything thrown is a bug, logged rather than left unhandled. */
  private readonly spoolBug = (e: unknown): void => {
    this.log.error({ err: e }, 'transport: spool operation failed');
  };

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

  /** The device table in `devices` messages under the cap; the collector merges each record by its id. */
  private writeDevices(): void {
    for (const text of this.deviceChunks(this.devices ?? [])) this.write(text);
  }

  /** Splits device records into messages of at most maxMessageBytes, fitting each record to schema and cap. */
  deviceChunks(devices: readonly DeviceRecord[]): string[] {
    const limit = this.o.maxMessageBytes - ENVELOPE_BYTES;
    const out: string[] = [];
    let parts: string[] = [];
    let bytes = 0;
    const emit = (): void => {
      if (parts.length > 0) out.push(`{"type":"devices","devices":[${parts.join(',')}]}`);
      parts = [];
      bytes = 0;
    };
    for (const d of devices) {
      const json = this.fitDevice(d, limit);
      if (json === null) continue;
      const n = Buffer.byteLength(json) + 1;
      if (parts.length > 0 && (bytes + n > limit || parts.length >= WIRE_LIMITS.maxDevicesPerMessage)) emit();
      parts.push(json);
      bytes += n;
    }
    emit();
    return out;
  }

  /**
   * One device record as JSON that the collector accepts and that fits in a message: long strings cut, protocols
   * and attributes capped (newest attributes kept), then attributes halved until it fits. Counted when cut;
   * dropped (and counted) when even that cannot make it valid, e.g. an id over the wire's length.
   */
  private fitDevice(d: DeviceRecord, limit: number): string | null {
    const max = WIRE_LIMITS.maxString;
    let cut = false;
    const clip = (s: string, n: number): string => {
      if (s.length <= n) return s;
      cut = true;
      return s.slice(0, n);
    };
    const rec: DeviceRecord = { ...d };
    for (const k of ['ip', 'mac', 'vendor', 'name'] as const) {
      const v = rec[k];
      if (v !== undefined) rec[k] = clip(v, max);
    }
    if (rec.protocols && rec.protocols.length > 64) {
      rec.protocols = rec.protocols.slice(0, 64);
      cut = true;
    }
    if (rec.attributes) {
      let attrs = rec.attributes;
      if (attrs.length > 1024) {
        attrs = [...attrs].sort((a, b) => (a.seen < b.seen ? 1 : a.seen > b.seen ? -1 : 0)).slice(0, 1024);
        cut = true;
      }
      rec.attributes = attrs.map((a) => ({
        name: clip(a.name, 128),
        value: clip(a.value, max),
        source: clip(a.source, 128),
        seen: a.seen,
      }));
    }
    let json = JSON.stringify(rec);
    while (Buffer.byteLength(json) > limit && rec.attributes && rec.attributes.length > 0) {
      rec.attributes = rec.attributes.slice(0, Math.floor(rec.attributes.length / 2));
      json = JSON.stringify(rec);
      cut = true;
    }
    const v = validateMessage({ type: 'devices', devices: [rec] });
    if (!v.ok || Buffer.byteLength(json) > limit) {
      this.devicesDropped++;
      if (this.devicesDropped === 1 || this.devicesDropped % 1000 === 0)
        this.log.warn(
          { detail: v.ok ? 'over the message cap' : v.detail, dropped: this.devicesDropped },
          'transport: device record cannot be sent, dropped',
        );
      return null;
    }
    if (cut) {
      this.devicesTrimmed++;
      if (this.devicesTrimmed === 1 || this.devicesTrimmed % 1000 === 0)
        this.log.warn({ trimmed: this.devicesTrimmed }, 'transport: device record cut to the wire limits');
    }
    return json;
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
    const msg = {
      ...s,
      type: 'stats',
      spool: {
        bytes: sp.bytes,
        pending: sp.pending + this.pending.length,
        dropped: this.lostFindings(),
      },
    };
    // A heartbeat the collector would refuse would close the connection with batches in flight: never sent.
    const v = validateMessage(msg);
    if (!v.ok) {
      this.log.warn({ detail: v.detail }, 'transport: stats do not match the wire schema, not sent');
      return;
    }
    this.write(JSON.stringify(msg));
  }

  /**
   * Sends unacked batches from the spool while the socket buffer and the ack window allow. Each batch is checked
   * first (its CRC, the wire schema, the message cap): one that fails is quarantined here, never sent.
   */
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
          const acked = this.spool.ackedSeq;
          if (this.sentUpTo < acked) this.sentUpTo = acked;
          if (this.sentUpTo >= this.spool.lastSeq) break;
          const window = this.carefulUntil > acked ? 1 : this.o.windowBatches;
          if (this.sentUpTo - acked >= window) break;
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
          const room = window - (this.sentUpTo - acked);
          const batches = await this.spool.readAfter(
            this.sentUpTo,
            Math.max(this.o.highWaterBytes, 64 * 1024),
          );
          if (batches.length === 0) break;
          let sent = 0;
          for (const b of batches) {
            if (sent >= room || ws !== this.ws || ws.readyState !== WebSocket.OPEN) break;
            const bad = this.checkBatch(b);
            if (bad) {
              await this.spool.quarantine(b.seq, bad);
              this.sentUpTo = Math.max(this.sentUpTo, b.seq);
              continue;
            }
            ws.send(b.text);
            this.sentUpTo = b.seq;
            sent++;
          }
        }
      } catch (e) {
        this.log.error({ err: e }, 'transport: reading the spool failed');
      } finally {
        this.pumping = false;
        this.checkDrained();
        if (this.pumpAgain) {
          this.pumpAgain = false;
          this.pump();
        }
      }
    })();
  }

  /**
   * Why a stored batch must not be sent, or null. Its findings were checked against the schema before they were
   * stored and the CRC proves the bytes unchanged, so a full parse here would only repeat the collector's work; what
   * is left to check is the record's identity. A batch the collector still refuses is caught by onRefused.
   */
  private checkBatch(b: { seq: number; text: string; intact: boolean }): QuarantineReason | null {
    if (!b.intact) return 'corrupt';
    // The collector's limit is far above ours: batches written under an older, larger cap still go.
    if (Buffer.byteLength(b.text) > 16 * 1024 * 1024 - 1024) return 'oversize';
    if (!b.text.startsWith(`{"type":"findings","seq":${b.seq},`)) return 'invalid';
    return null;
  }
}
