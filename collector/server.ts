// WebSocket ingest of agent messages (DESIGN.md "Agent ⇄ collector"): hello with a per-agent token, every message
// validated against the wire schema; a bad message is refused, counted and its connection closed, the collector lives on.
import type { Server as HttpServer } from 'node:http';
import type { Logger } from 'pino';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Finding } from '../agent/wire/finding.js';
import { WIRE_PROTOCOL, parseAgentMessage } from '../agent/wire/messages.js';
import type { CollectorMetrics, RejectMetricReason } from './metrics.js';
import type { Store } from './store.js';
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
  /** Called with the findings a batch stored for the first time (after commit). */
  onFresh?: (findings: Finding[]) => void;
}

interface PendingBatch {
  agent: string;
  ws: WebSocket;
  seq: number;
  findings: Finding[];
}

/** RFC 6455 close codes used. */
const CLOSE_POLICY = 1008;
const CLOSE_ERROR = 1011;
const CLOSE_REPLACED = 4000;

export class Ingest {
  private readonly wss: WebSocketServer;
  private readonly agents = new Map<string, WebSocket>();
  private pending: PendingBatch[] = [];
  private closing = false;

  constructor(private readonly o: IngestOptions) {
    this.wss = new WebSocketServer({ server: o.server, maxPayload: o.maxPayload });
    this.wss.on('connection', (ws, req) => this.accept(ws, req.socket.remoteAddress ?? '?'));
    this.wss.on('error', (err: NodeJS.ErrnoException) => {
      // A listen failure is the caller's to report (startCollector rejects with it).
      if (err.syscall !== 'listen') o.logger.error({ err }, 'ingest: server error');
    });
  }

  /** Names of the agents connected right now. */
  connected(): Set<string> {
    return new Set(this.agents.keys());
  }

  private accept(ws: WebSocket, peer: string): void {
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
      if (agent && this.agents.get(agent) === ws) {
        this.agents.delete(agent);
        metrics.disconnected(agent);
        logger.info({ agent }, 'ingest: agent disconnected');
      }
    });

    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (refused) return;
      if (isBinary) return refuse('binary', 'binary frames are not part of the protocol');
      const r = parseAgentMessage(rawToString(data));
      if (!r.ok) return refuse(r.reason, r.detail);
      const m = r.value;
      if (agent === null) {
        if (m.type !== 'hello') return refuse('no_hello', `first message was ${m.type}`);
        if (!tokens.checkAgent(m.agent, m.token))
          return refuse('auth', `bad token for agent ${m.agent.slice(0, 64)}`);
        clearTimeout(helloTimer);
        agent = m.agent;
        const prev = this.agents.get(agent);
        if (prev) prev.close(CLOSE_REPLACED, 'replaced by a newer connection');
        this.agents.set(agent, ws);
        store.recordHello(agent, m.version);
        const row = store.listAgents(new Set()).find((a) => a.name === agent);
        metrics.connected(agent, row?.stats ?? undefined);
        ws.send(JSON.stringify({ type: 'welcome', version: this.o.version, proto: WIRE_PROTOCOL }));
        logger.info({ agent, version: m.version, peer }, 'ingest: agent connected');
        return;
      }
      switch (m.type) {
        case 'hello':
          return refuse('schema', 'hello after welcome');
        case 'findings':
          this.enqueue({ agent, ws, seq: m.seq, findings: m.findings });
          return;
        case 'stats': {
          const { type: _t, ...s } = m;
          store.recordStats(agent, s);
          metrics.stats(agent, s);
          return;
        }
        case 'devices':
          store.mergeDevices(agent, m.devices);
          metrics.seen(agent);
          return;
      }
    });
  }

  /** Batches arriving in the same turn of the event loop share one transaction; acks go out after its commit. */
  private enqueue(b: PendingBatch): void {
    // Shutting down: no ack, the agent resends to the next collector run.
    if (this.closing) return;
    this.pending.push(b);
    if (this.pending.length === 1) setImmediate(() => this.commit());
  }

  private commit(): void {
    const batches = this.pending;
    this.pending = [];
    if (batches.length === 0) return;
    const { store, metrics, logger } = this.o;
    let fresh: Finding[][];
    try {
      fresh = store.storeBatches(batches);
    } catch (err) {
      // No ack: the agents keep their batches and resend after reconnecting.
      logger.error({ err, batches: batches.length }, 'ingest: storing batches failed');
      for (const b of batches) b.ws.close(CLOSE_ERROR, 'store failure');
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

  close(): Promise<void> {
    this.commit();
    this.closing = true;
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

function rawToString(d: RawData): string {
  if (Buffer.isBuffer(d)) return d.toString('utf8');
  if (Array.isArray(d)) return Buffer.concat(d).toString('utf8');
  return Buffer.from(d).toString('utf8');
}
