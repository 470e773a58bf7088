// WebSocket ingest of agent messages (DESIGN.md "Agent ⇄ collector"): hello with a per-agent token, every message
// validated against the wire schema; a message that breaks the schema is refused, counted and its connection closed,
// the collector lives on. Past the schema (issue 11): every finding, stats and devices message is bound to the
// authenticated agent; implausible times and counters are refused one by one (counted, an `error` message to the
// agent, the connection kept); evidence is capped; stats and devices are coalesced and written in one periodic
// transaction under a per-agent token bucket, so one flooding agent cannot stall the others' acks or /healthz.
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Finding } from '../agent/wire/finding.js';
import { armedFor, type DeviceBaseline } from '../agent/wire/baseline.js';
import {
  WIRE_LIMITS,
  WIRE_PROTOCOL,
  parseAgentMessage,
  type BaselinesMessage,
  type DeviceRecord,
  type FindingsMessage,
  type StatsMessage,
} from '../agent/wire/messages.js';
import {
  DEFAULT_LIMITS,
  TokenBucket,
  capFinding,
  cleanDevice,
  cleanStats,
  saneDevice,
  saneStats,
  saneTs,
  type IngestLimits,
} from './limits.js';
import type { CollectorMetrics, RejectMetricReason } from './metrics.js';
import { mergeDevice, type Store } from './store.js';
import type { Tokens } from './tokens.js';

export interface IngestOptions {
  server: HttpServer;
  store: Store;
  metrics: CollectorMetrics;
  tokens: Tokens;
  logger: Logger;
  version: string;
  maxPayload: number;
  helloTimeoutMs?: number;
  /** Caps, rate limit and flush interval; defaults in DEFAULT_LIMITS. */
  limits?: Partial<IngestLimits>;
  /** Called with the findings a batch stored for the first time (after commit). */
  onFresh?: (findings: Finding[]) => void;
  /**
   * Agents must present a client certificate that chains to the collector's CA (--tls-client-cert), and its
   * common name must be the agent id of their hello. A refused certificate gets HTTP 403 naming the TLS reason.
   */
  clientCert?: boolean;
  /** A connection not heard from for this long no longer holds its agent id against a new one (default 60 s). */
  staleAfterMs?: number;
}

/** The live connection of an agent id: where from, and when it last sent anything. */
interface Live {
  ws: WebSocket;
  peer: string;
  lastSeen: number;
}

interface PendingBatch {
  agent: string;
  ws: WebSocket;
  seq: number;
  findings: Finding[];
}

type Cumulative = Omit<StatsMessage, 'type'>;

/** A reason to refuse one finding or message without closing the connection. */
type SoftReason = Extract<RejectMetricReason, 'agent_mismatch' | 'timestamp' | 'counter' | 'unstorable'>;

/** The same soft refusal is logged and reported to the agent at most once per this many ms per connection. */
const NOTE_INTERVAL_MS = 10_000;

/** Largest `baseline` message sent to an agent: agents read at most 1 MiB a message. */
const MAX_BASELINE_MESSAGE = 1024 * 1024 - 4096;

/** The approved set as `baseline` messages under the agents' message cap, with the checks it arms (armedFor). */
export function baselineMessages(set: { version: number; devices: DeviceBaseline[] }): string[] {
  const armed = armedFor(set.devices);
  const chunks: string[][] = [];
  let cur: string[] = [];
  let bytes = 0;
  for (const d of set.devices) {
    const json = JSON.stringify(d);
    // One device over the cap cannot be sent; the schema's bounds make this all but impossible.
    if (json.length > MAX_BASELINE_MESSAGE) continue;
    if (
      cur.length > 0 &&
      (bytes + json.length + 1 > MAX_BASELINE_MESSAGE ||
        cur.length >= WIRE_LIMITS.maxBaselineDevicesPerMessage)
    ) {
      chunks.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(json);
    bytes += json.length + 1;
  }
  chunks.push(cur);
  return chunks.map(
    (c, i) =>
      `{"type":"baseline","version":${set.version},"part":${i},"parts":${chunks.length},"armed":${JSON.stringify(armed)},"devices":[${c.join(',')}]}`,
  );
}

/** RFC 6455 close codes used. */
const CLOSE_POLICY = 1008;
const CLOSE_ERROR = 1011;
/** The agent id is already connected (a second agent with the same id, or a copy of the first). */
const CLOSE_ID_IN_USE = 4001;
const CLOSE_REPLACED = 4000;

export class Ingest {
  private readonly wss: WebSocketServer;
  private readonly agents = new Map<string, Live>();
  private pending: PendingBatch[] = [];
  private closing = false;
  private readonly limits: IngestLimits;
  private readonly buckets = new Map<string, TokenBucket>();
  /** Latest stats per agent since the last flush: they are cumulative, so the latest carries everything. */
  private pendingStats = new Map<string, Cumulative>();
  /** Device records per agent waiting for a flush, merged in memory by id (a resent chunk adds nothing). */
  private pendingDevices = new Map<string, Map<string, DeviceRecord>>();
  private readonly flushTimer: NodeJS.Timeout;
  private flushSoon: NodeJS.Timeout | null = null;
  /** The flush under way (resolved when none). */
  private flushing: Promise<void> = Promise.resolve();
  /** The group commit under way, if any: the next one starts when it has acked. */
  private committing: Promise<void> | null = null;

  constructor(private readonly o: IngestOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...o.limits };
    // Every approval reaches every connected agent at once (issue 10); a reconnecting agent gets the set on welcome.
    // With PostgreSQL the approval may come from another collector sharing the database (LISTEN/NOTIFY).
    o.store.onApproved(() => void this.pushBaselines());
    this.flushTimer = setInterval(() => void this.flush(), this.limits.flushIntervalMs);
    this.flushTimer.unref();
    this.wss = new WebSocketServer({
      server: o.server,
      maxPayload: o.maxPayload,
      ...(o.clientCert ? { verifyClient: (info, cb) => this.verifyCertificate(info.req, cb) } : {}),
    });
    this.wss.on('connection', (ws, req) =>
      this.accept(ws, req.socket.remoteAddress ?? '?', o.clientCert ? certificateName(req) : null),
    );
    this.wss.on('error', (err: NodeJS.ErrnoException) => {
      // A listen failure is the caller's to report (startCollector rejects with it).
      if (err.syscall !== 'listen') o.logger.error({ err }, 'ingest: server error');
    });
  }

  /** Sends the approved baselines to one agent, or to every connected agent. */
  async pushBaselines(ws?: WebSocket): Promise<void> {
    if (this.closing) return;
    let texts: string[];
    try {
      const set = await this.o.store.approvedSet();
      texts = baselineMessages(set);
      if (!ws)
        this.o.logger.info(
          { version: set.version, devices: set.devices.length },
          'ingest: approved baselines pushed',
        );
    } catch (err) {
      this.o.logger.error({ err: (err as Error).message }, 'ingest: reading the approved baselines failed');
      return;
    }
    // On connect even an empty set (version 0) is sent: the agent then knows there is nothing to wait for.
    const targets = ws ? [ws] : [...this.agents.values()].map((l) => l.ws);
    for (const t of targets) if (t.readyState === t.OPEN) for (const text of texts) t.send(text);
  }

  /** What an agent learned: a new version per device that changed (identical uploads make none). */
  private storeLearned(agent: string, m: BaselinesMessage): Promise<number> {
    return this.o.store.putLearnedBaselines(agent, m.devices);
  }

  /** Names of the agents connected right now. */
  connected(): Set<string> {
    return new Set(this.agents.keys());
  }

  /**
   * With --tls-client-cert the TLS layer asks for a certificate but lets the handshake finish (the API and /healthz
   * stay reachable with tokens); an agent's upgrade is refused here, with the TLS reason in the log and in the 403.
   */
  private verifyCertificate(
    req: IncomingMessage,
    cb: (ok: boolean, code?: number, message?: string) => void,
  ): void {
    const sock = req.socket as TLSSocket;
    if (sock.authorized) return cb(true);
    const why = String(sock.authorizationError ?? 'unknown');
    // Without a certificate OpenSSL still reports a verification code; the empty peer certificate says what happened.
    const none = Object.keys(sock.getPeerCertificate()).length === 0;
    const reason = none
      ? 'no client certificate (the agent needs --tls-cert and --tls-key)'
      : `client certificate refused: ${why}`;
    this.o.metrics.reject('auth');
    this.o.logger.warn(
      { peer: sock.remoteAddress, code: why, subject: certificateName(req) },
      `ingest: ${reason}`,
    );
    cb(false, 403, reason);
  }

  private accept(ws: WebSocket, peer: string, certName: string | null): void {
    const { store, metrics, tokens, logger } = this.o;
    let agent: string | null = null;
    let refused = false;
    const helloTimer = setTimeout(
      () => refuse('hello_timeout', 'no hello in time'),
      this.o.helloTimeoutMs ?? 10_000,
    );

    // The peer address goes to the log only (it names a host, never a patient); metrics get the reason.
    const refuse = (reason: RejectMetricReason, detail: string): void => {
      if (refused) return;
      refused = true;
      metrics.reject(reason);
      logger.warn({ peer, agent, reason, detail }, 'ingest: message refused, closing connection');
      if (ws.readyState === ws.OPEN) {
        ws.send(JSON.stringify({ type: 'error', reason: `${reason}: ${detail}`.slice(0, 500) }));
        ws.close(CLOSE_POLICY, `${reason}: ${detail}`.slice(0, 120));
      }
    };

    // Soft refusals: counted every time; logged and reported to the agent (an `error` message, the connection
    // stays open) at most once per reason every NOTE_INTERVAL_MS, so a flood of bad records cannot flood the log.
    const noted = new Map<SoftReason, number>();
    const note = (reason: SoftReason, detail: string, n = 1): void => {
      metrics.reject(reason, n);
      const now = Date.now();
      if ((noted.get(reason) ?? -Infinity) + NOTE_INTERVAL_MS > now) return;
      noted.set(reason, now);
      logger.warn({ peer, agent, reason, detail, count: n }, 'ingest: refused, connection kept');
      if (ws.readyState === ws.OPEN)
        ws.send(JSON.stringify({ type: 'error', reason: `${reason}: ${detail}`.slice(0, 500) }));
    };

    // The store writes a message needs (hello, learned baselines) run one after another per connection, in arrival
    // order, while the socket goes on being read (findings keep their own ordered group commit).
    let turn: Promise<void> = Promise.resolve();
    const serial = (job: () => Promise<void>): void => {
      turn = turn.then(job).catch((err: unknown) => {
        logger.error({ peer, agent, err: (err as Error).message }, 'ingest: message handling failed');
      });
    };

    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        refused = true;
        metrics.reject('oversize');
        logger.warn({ peer, agent, limit: this.o.maxPayload }, 'ingest: message over maxPayload refused');
      } else {
        logger.warn({ peer, agent, err: err.message }, 'ingest: socket error');
      }
    });

    ws.on('close', () => {
      clearTimeout(helloTimer);
      if (agent && this.agents.get(agent)?.ws === ws) {
        this.agents.delete(agent);
        metrics.disconnected(agent);
        logger.info({ agent }, 'ingest: agent disconnected');
      }
    });

    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (refused) return;
      if (agent !== null) {
        const live = this.agents.get(agent);
        if (live?.ws === ws) live.lastSeen = Date.now();
      }
      if (isBinary) return refuse('binary', 'binary frames are not part of the protocol');
      // Over its rate, an agent's messages other than findings are dropped before parsing (parsing is most of their
      // cost). A findings message necessarily holds the key "findings"; anything else here is stats or devices
      // (told apart for the label by the agents' compact JSON; a stats message also has a "devices" count).
      if (agent !== null && !this.bucket(agent).peek()) {
        const buf = rawToBuffer(data);
        if (buf.indexOf('"findings"') === -1) {
          // Learned baselines are counted with devices: both are inventory uploads an agent repeats every 5 minutes.
          const inventory =
            buf.indexOf('"type":"devices"') !== -1 || buf.indexOf('"type":"baselines"') !== -1;
          metrics.rateLimit(agent, inventory ? 'devices' : 'stats');
          // And its socket is not read until a token is due: the flood meets TCP back-pressure instead of our CPU.
          if (!ws.isPaused) {
            ws.pause();
            setTimeout(() => ws.resume(), Math.max(10, 1000 / this.limits.messagesPerSecond)).unref();
          }
          return;
        }
      }
      const r = parseAgentMessage(rawToString(data));
      if (!r.ok) return refuse(r.reason, r.detail);
      const m = r.value;
      if (agent === null) {
        if (m.type !== 'hello') return refuse('no_hello', `first message was ${m.type}`);
        const name = m.agent.slice(0, 64);
        if (!tokens.checkAgent(m.agent, m.token)) {
          const c = tokens.lookup(m.token);
          const why =
            c === null
              ? `bad token for agent ${name} (not in the tokens file)`
              : c.role !== 'agent'
                ? `the token of agent ${name} has role ${c.role}, not agent`
                : `the token given by agent ${name} belongs to another agent id`;
          return refuse('auth', why);
        }
        if (certName !== null && certName !== m.agent)
          return refuse('auth', `client certificate CN ${certName.slice(0, 64)} is not agent id ${name}`);
        const now = Date.now();
        const prev = this.agents.get(m.agent);
        if (
          prev &&
          prev.ws.readyState === prev.ws.OPEN &&
          now - prev.lastSeen < (this.o.staleAfterMs ?? 60_000)
        ) {
          // Two agents with one id would overwrite each other's devices and sequence numbers: the first one stays.
          // Refused without a note in 'refuse' style: the reason says who holds the id.
          if (refused) return;
          refused = true;
          metrics.reject('id_in_use');
          const detail = `agent id ${name} is already connected from ${prev.peer}`;
          logger.warn(
            { peer, agent: name, holder: prev.peer },
            `ingest: ${detail}, second connection refused`,
          );
          ws.send(JSON.stringify({ type: 'error', reason: `id_in_use: ${detail}` }));
          ws.close(CLOSE_ID_IN_USE, 'agent id in use');
          return;
        }
        clearTimeout(helloTimer);
        agent = m.agent;
        // A connection silent for longer than staleAfterMs (a half-open socket after a network cut) gives way.
        if (prev) {
          logger.warn({ agent, peer, was: prev.peer }, 'ingest: stale connection of this agent replaced');
          prev.ws.close(CLOSE_REPLACED, 'replaced by a newer connection');
        }
        this.agents.set(agent, { ws, peer, lastSeen: now });
        const id = agent;
        const hello = m;
        serial(async () => {
          try {
            await store.recordHello(id, hello.version);
          } catch (err) {
            // The agent is told to come back later, as when a batch cannot be stored.
            logger.error({ agent: id, err: (err as Error).message }, 'ingest: recording the hello failed');
            if (ws.readyState === ws.OPEN) {
              ws.send(
                JSON.stringify({
                  type: 'error',
                  reason: 'store_failure: the collector could not write; resend',
                }),
              );
              ws.close(CLOSE_ERROR, 'store failure');
            }
            return;
          }
          // Rules announced (issue 10): their metadata describes findings in the console, and their counter series
          // exist at 0 before the first finding. A failure here must not refuse the agent.
          if (hello.rules !== undefined && hello.rules.length > 0) {
            try {
              await store.putRules(id, hello.rules);
            } catch (err) {
              logger.error(
                { agent: id, err: (err as Error).message },
                'ingest: storing announced rules failed',
              );
            }
            metrics.declareRules(id, hello.rules);
          }
          const row = (await store.listAgents(new Set()).catch(() => [])).find((a) => a.name === id);
          if (ws.readyState !== ws.OPEN) return;
          metrics.connected(id, row?.stats ?? undefined);
          ws.send(JSON.stringify({ type: 'welcome', version: this.o.version, proto: WIRE_PROTOCOL }));
          logger.info({ agent: id, version: hello.version, peer }, 'ingest: agent connected');
          await this.pushBaselines(ws);
        });
        return;
      }
      // Stats and devices carry no agent field today; one that does must name the authenticated agent.
      const claimed = (m as { agent?: unknown }).agent;
      if (m.type !== 'hello' && claimed !== undefined && claimed !== agent)
        return note('agent_mismatch', `${m.type} message names another agent`);
      switch (m.type) {
        case 'hello':
          return refuse('schema', 'hello after welcome');
        case 'findings':
          this.enqueue(this.checkFindings(agent, ws, m, note));
          return;
        case 'stats': {
          if (!this.bucket(agent).take()) {
            metrics.rateLimit(agent, 'stats');
            return;
          }
          const s = cleanStats(m);
          if (!saneStats(s)) return note('counter', 'a stats counter is not finite or above 2^53');
          if (s.ts !== undefined && !saneTs(s.ts, Date.now()))
            return note('timestamp', 'stats ts before 2000 or more than a day ahead of the collector');
          this.pendingStats.set(agent, s);
          metrics.seen(agent);
          return;
        }
        case 'baselines': {
          if (!this.bucket(agent).take()) {
            metrics.rateLimit(agent, 'devices');
            return;
          }
          const id = agent;
          serial(async () => {
            try {
              const created = await this.storeLearned(id, m);
              logger.info(
                { agent: id, devices: m.devices.length, versions: created },
                'ingest: learned baselines stored',
              );
            } catch (err) {
              logger.error(
                { agent: id, err: (err as Error).message },
                'ingest: storing learned baselines failed',
              );
            }
          });
          metrics.seen(agent);
          return;
        }
        case 'devices': {
          if (!this.bucket(agent).take()) {
            metrics.rateLimit(agent, 'devices');
            return;
          }
          let pending = this.pendingDevices.get(agent);
          if (!pending) {
            pending = new Map();
            this.pendingDevices.set(agent, pending);
          }
          const now = Date.now();
          let bad = 0;
          let full = false;
          let cut = 0;
          for (const raw of m.devices) {
            if (!saneDevice(raw, now)) {
              bad++;
              continue;
            }
            const c = cleanDevice(raw);
            if (c.cut) cut++;
            const d = c.device;
            const prev = pending.get(d.id);
            if (prev) pending.set(d.id, mergeDevice(prev, d));
            else if (pending.size < Math.max(this.limits.maxPendingDevices, this.limits.maxDevicesPerAgent))
              pending.set(d.id, d);
            else full = true;
          }
          if (full) metrics.rateLimit(agent, 'devices');
          for (let i = 0; i < cut; i++) metrics.truncate('device');
          if (bad > 0)
            note('timestamp', `${bad} device records with times before 2000 or more than a day ahead`, bad);
          metrics.seen(agent);
          return;
        }
      }
    });
  }

  private bucket(agent: string): TokenBucket {
    let b = this.buckets.get(agent);
    if (!b) {
      b = new TokenBucket(this.limits.messagesPerSecond, this.limits.messageBurst);
      this.buckets.set(agent, b);
    }
    return b;
  }

  /**
   * Keeps the findings of a batch that belong to the agent and have a sane time, evidence capped; the batch is
   * acked whatever was refused (a refused finding would be refused again: resending it would wedge the agent).
   */
  private checkFindings(
    agent: string,
    ws: WebSocket,
    m: FindingsMessage,
    note: (reason: SoftReason, detail: string, n?: number) => void,
  ): PendingBatch {
    const { metrics } = this.o;
    const now = Date.now();
    const kept: Finding[] = [];
    let forged = 0;
    let badTs = 0;
    let unstorable = 0;
    for (const f of m.findings) {
      if (f.agent !== agent) {
        forged++;
        continue;
      }
      if (!saneTs(f.ts, now)) {
        badTs++;
        continue;
      }
      try {
        const c = capFinding(f, this.limits);
        for (const what of c.cut) metrics.truncate(what);
        kept.push(c.finding);
      } catch {
        unstorable++;
      }
    }
    if (forged > 0) note('agent_mismatch', `${forged} findings name another agent`, forged);
    if (badTs > 0)
      note(
        'timestamp',
        `${badTs} findings with ts before 2000 or more than a day ahead of the collector`,
        badTs,
      );
    if (unstorable > 0) note('unstorable', `${unstorable} findings could not be stored`, unstorable);
    return { agent, ws, seq: m.seq, findings: kept };
  }

  /**
   * Brings the metrics up to the latest stats not yet flushed, so a scrape never lags the last heartbeat (the
   * database write waits for the flush). Applying the same cumulative stats twice adds nothing.
   */
  applyPendingStats(): void {
    for (const [agent, s] of this.pendingStats) this.o.metrics.stats(agent, s);
  }

  /**
   * Writes the coalesced stats and up to maxDevicesPerFlush pending device records in one transaction, then updates
   * their metrics; device records left over are written by another flush 50 ms later.
   */
  private flush(): Promise<void> {
    // One flush at a time: the next waits for the one under way (the store may be a remote database).
    this.flushing = this.flushing
      .then(() => this.flushOnce())
      .catch((err: unknown) => {
        this.o.logger.error({ err: (err as Error).message }, 'ingest: flushing stats and devices failed');
      });
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    if (this.flushSoon) {
      clearTimeout(this.flushSoon);
      this.flushSoon = null;
    }
    if (this.pendingStats.size === 0 && this.pendingDevices.size === 0) return;
    const { store, metrics, logger } = this.o;
    const stats = this.pendingStats;
    this.pendingStats = new Map();
    const devices = new Map<string, DeviceRecord[]>();
    let budget = this.limits.maxDevicesPerFlush;
    for (const [agent, pending] of this.pendingDevices) {
      const take: DeviceRecord[] = [];
      for (const [id, d] of pending) {
        if (budget <= 0) break;
        take.push(d);
        pending.delete(id);
        budget--;
      }
      if (take.length > 0) devices.set(agent, take);
      if (pending.size === 0) this.pendingDevices.delete(agent);
    }
    try {
      const merged = await store.flushPending(stats, devices, this.limits.maxDevicesPerAgent);
      for (const [agent, r] of merged) {
        if (r.refused === 0) continue;
        metrics.devicesRefusedBy(agent, r.refused);
        logger.warn(
          { agent, refused: r.refused, cap: this.limits.maxDevicesPerAgent },
          'ingest: agent at its device cap, new devices refused',
        );
      }
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'ingest: writing stats and devices failed');
    }
    for (const [agent, s] of stats) metrics.stats(agent, s);
    if (this.pendingDevices.size > 0 && !this.closing) {
      this.flushSoon = setTimeout(() => void this.flush(), 50);
      this.flushSoon.unref();
    }
  }

  /** Batches arriving in the same turn of the event loop share one transaction; acks go out after its commit. */
  private enqueue(b: PendingBatch): void {
    // Shutting down: no ack, the agent resends to the next collector run.
    if (this.closing) return;
    this.pending.push(b);
    if (this.pending.length === 1 && this.committing === null) setImmediate(() => void this.commit());
  }

  /**
   * Commits what is pending, one group at a time: batches arriving while a commit is under way wait for it and go
   * together in the next, so each agent's batches are stored and acked in the order they came.
   */
  private async commit(): Promise<void> {
    while (this.committing) await this.committing;
    if (this.pending.length === 0) return;
    const batches = this.pending;
    this.pending = [];
    this.committing = this.commitGroup(batches)
      .catch((err: unknown) => {
        // After the store's answer (acks, metrics, export): the batches are stored, only their follow-up failed.
        this.o.logger.error({ err: (err as Error).message }, 'ingest: after storing batches');
      })
      .finally(() => {
        this.committing = null;
        if (this.pending.length > 0) setImmediate(() => void this.commit());
      });
    await this.committing;
  }

  private async commitGroup(batches: PendingBatch[]): Promise<void> {
    const { store, metrics, logger } = this.o;
    let fresh: Finding[][];
    try {
      fresh = await store.storeBatches(batches);
    } catch (err) {
      // No ack: the agents keep their batches and resend after reconnecting.
      logger.error(
        { err: (err as Error).message, batches: batches.length },
        'ingest: storing batches failed',
      );
      for (const b of batches) {
        if (b.ws.readyState !== b.ws.OPEN) continue;
        b.ws.send(
          JSON.stringify({ type: 'error', reason: 'store_failure: the collector could not write; resend' }),
        );
        b.ws.close(CLOSE_ERROR, 'store failure');
      }
      return;
    }
    for (const [i, b] of batches.entries()) {
      const f = fresh[i] ?? [];
      if (b.ws.readyState === b.ws.OPEN) b.ws.send(JSON.stringify({ type: 'ack', seq: b.seq }));
      metrics.stored(b.agent, f, b.findings.length);
      metrics.seen(b.agent);
      if (f.length > 0) this.o.onFresh?.(f);
    }
  }

  async close(): Promise<void> {
    // From here no batch is taken (the agents resend to the next collector run); those already taken are committed.
    this.closing = true;
    await this.commit();
    clearInterval(this.flushTimer);
    // Everything pending is written before the store closes, however many flushes that takes.
    await this.flushing;
    while (this.pendingStats.size > 0 || this.pendingDevices.size > 0) await this.flush();
    if (this.flushSoon) clearTimeout(this.flushSoon);
    for (const ws of this.wss.clients) ws.close(1001, 'collector shutting down');
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        for (const ws of this.wss.clients) ws.terminate();
      }, 1000);
      this.wss.close(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

/** The common name of a TLS client's certificate, or null (no TLS, no certificate, no CN). */
function certificateName(req: IncomingMessage): string | null {
  const sock = req.socket as Partial<TLSSocket>;
  if (typeof sock.getPeerCertificate !== 'function') return null;
  const cn = sock.getPeerCertificate().subject?.CN;
  return typeof cn === 'string' && cn !== '' ? cn : null;
}

function rawToBuffer(d: RawData): Buffer {
  if (Buffer.isBuffer(d)) return d;
  if (Array.isArray(d)) return Buffer.concat(d);
  return Buffer.from(d);
}

function rawToString(d: RawData): string {
  if (Buffer.isBuffer(d)) return d.toString('utf8');
  if (Array.isArray(d)) return Buffer.concat(d).toString('utf8');
  return Buffer.from(d).toString('utf8');
}
