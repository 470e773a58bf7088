// Collector composition root: HTTP(S) server with ws ingest, store, metrics, API and export (DESIGN.md "CLI" collector).
import { WARDWATCH_VERSION } from '../agent/wire/version.js';
import { readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { Archiver } from './archive.js';
import { Exporter, type ExportOptions } from './export.js';
import { createHttpHandler } from './http.js';
import type { IngestLimits } from './limits.js';
import { parseListen } from './listen.js';
import { CollectorMetrics } from './metrics.js';
import { Ingest } from './server.js';
import { openStore, redactDb, type RetentionOptions, type Store } from './store.js';
import { Tokens } from './tokens.js';

export const COLLECTOR_VERSION = WARDWATCH_VERSION;

export interface CollectorOptions {
  /** HOST:PORT, [V6]:PORT or PORT; port 0 picks a free one. */
  listen: string;
  /** SQLite file (":memory:" for a throwaway store), or a postgres:// URL: several collectors may share it. */
  db: string;
  /** Tokens file; without it every agent and API call is refused. */
  tokensFile?: string;
  tls?: { cert: string; key: string; ca?: string; requestCert?: boolean };
  /** Largest WebSocket message accepted, bytes (default 16 MiB). */
  maxPayload?: number;
  retention?: RetentionOptions & { intervalSeconds?: number };
  /**
   * Daily archive directory (collector/archive.ts): ended days are archived at start and checked every
   * `intervalSeconds` (600); retention never deletes a day not yet archived there.
   */
  archive?: { dir: string; intervalSeconds?: number };
  export?: ExportOptions;
  logger: Logger;
  helloTimeoutMs?: number;
  /** A connection silent this long no longer holds its agent id against a new connection (default 60 s). */
  staleAfterMs?: number;
  /** Ingest caps, per-agent rate limit and flush interval (collector/limits.ts DEFAULT_LIMITS). */
  limits?: Partial<IngestLimits>;
}

export interface RunningCollector {
  /** http(s)://host:port — API, /metrics, the page. */
  url: string;
  /** ws(s)://host:port — what agents pass as --collector. */
  wsUrl: string;
  port: number;
  store: Store;
  metrics: CollectorMetrics;
  close(): Promise<void>;
}

export { parseListen } from './listen.js';

/** Tokens are secrets: a file other users can read gets a warning naming the fix (it still works). */
function warnIfShared(file: string, logger: Logger): void {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch {
    return; // Tokens.load names the problem.
  }
  if ((mode & 0o077) === 0) return;
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  logger.warn(
    { file, mode: octal },
    `collector: tokens file ${file} is readable by ${mode & 0o007 ? 'other users' : 'its group'} (mode ${octal}): chmod 600 ${file}`,
  );
}

/** Log lines about refused connections: at most one per code every 10 s (a port scan must not flood the log). */
const EXPLAIN_INTERVAL_MS = 10_000;

/**
 * Connections refused before HTTP (issue 11: an agent saw only "code 1006"): a plain HTTP request on the TLS port
 * gets a plain-text 400 naming the fix; a TLS handshake on the plain port, a failed handshake or a malformed
 * request is logged in one line with its reason (the client cannot read a reply in another protocol).
 */
function explainRefusedConnections(server: http.Server | https.Server, tls: boolean, logger: Logger): void {
  const last = new Map<string, number>();
  const log = (code: string, peer: string | undefined, msg: string): void => {
    const now = Date.now();
    if ((last.get(code) ?? -Infinity) + EXPLAIN_INTERVAL_MS > now) return;
    last.set(code, now);
    logger.warn({ peer, code }, msg);
  };
  if (tls) {
    server.on('tlsClientError', (err: Error & { code?: string }, sock: Socket) => {
      const code = err.code ?? 'unknown';
      if (code === 'ERR_SSL_HTTP_REQUEST') {
        log(code, sock.remoteAddress, 'collector: plain HTTP on the TLS port (the agent should use wss://)');
        // The TLS socket's underlying TCP socket (undocumented; when absent the client only sees the close).
        const raw = (sock as Socket & { _parent?: Socket })._parent;
        if (raw?.writable)
          raw.end(
            'HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: text/plain\r\n\r\n' +
              'this collector speaks TLS: use wss:// (agents) or https:// (API)\n',
          );
        return;
      }
      log(code, sock.remoteAddress, `collector: TLS handshake failed: ${err.message.slice(0, 200)}`);
    });
  }
  server.on('clientError', (err: Error & { code?: string; rawPacket?: Buffer }, sock: Socket) => {
    const code = err.code ?? 'unknown';
    if (code === 'ECONNRESET' || !sock.writable) return;
    if (!tls && err.rawPacket?.[0] === 0x16) {
      log(
        'tls_on_plain',
        sock.remoteAddress,
        'collector: TLS handshake on the plain port (the agent uses wss://, the collector has no --tls-cert)',
      );
      sock.destroy();
      return;
    }
    log(code, sock.remoteAddress, `collector: malformed HTTP request (${code})`);
    const status = code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    sock.end(`HTTP/1.1 ${status}\r\nconnection: close\r\n\r\n`);
  });
}

export async function startCollector(opts: CollectorOptions): Promise<RunningCollector> {
  const { host, port } = parseListen(opts.listen);
  const logger = opts.logger;
  const tokens = opts.tokensFile ? Tokens.load(opts.tokensFile) : Tokens.parse('', '(none)');
  if (!opts.tokensFile) logger.warn('collector: no tokens file, every agent and API call will be refused');
  else warnIfShared(opts.tokensFile, logger);
  const store = await openStore(opts.db);
  const metrics = new CollectorMetrics(
    () => store.countDevices(),
    () => store.exposureCounts(),
    () => store.alertCounts(),
  );
  for (const a of tokens.agentNames()) metrics.declareAgent(a);
  // A restarted collector shows every alert series it knew at 0 from its first scrape (counters restart at 0, which
  // Prometheus reads as a reset, never as an increase), so the next finding of any of them is an increase.
  for (const s of await store.alertSeries()) metrics.declareSeries(s.rule, s.severity, s.agent);
  const exporter = opts.export ? new Exporter(opts.export, logger, metrics, COLLECTOR_VERSION) : null;

  let ingest: Ingest | null = null;
  const handler = createHttpHandler({
    store,
    metrics,
    tokens,
    logger,
    connected: () => ingest?.connected() ?? new Set(),
    beforeScrape: () => ingest?.applyPendingStats(),
    secure: Boolean(opts.tls),
  });
  const tls = opts.tls;
  const server = tls
    ? https.createServer(
        {
          cert: readFileSync(tls.cert),
          key: readFileSync(tls.key),
          ...(tls.ca ? { ca: readFileSync(tls.ca) } : {}),
          // Client certificates are asked for and verified, but refused by the agents' WebSocket upgrade (with the
          // TLS reason logged and answered as a 403), not by the handshake: the API and /healthz stay reachable with
          // tokens only, and a refused agent learns why instead of seeing a reset. The token is required on top.
          requestCert: tls.requestCert ?? false,
          rejectUnauthorized: false,
        },
        handler,
      )
    : http.createServer(handler);
  explainRefusedConnections(server, Boolean(tls), logger);
  ingest = new Ingest({
    server,
    store,
    metrics,
    tokens,
    logger,
    version: COLLECTOR_VERSION,
    maxPayload: opts.maxPayload ?? 16 * 1024 * 1024,
    ...(opts.helloTimeoutMs !== undefined ? { helloTimeoutMs: opts.helloTimeoutMs } : {}),
    ...(opts.staleAfterMs !== undefined ? { staleAfterMs: opts.staleAfterMs } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(exporter ? { onFresh: (f) => exporter.write(f) } : {}),
    ...(tls?.requestCert ? { clientCert: true } : {}),
  });

  let archiveTimer: NodeJS.Timeout | null = null;
  const archiver = opts.archive
    ? new Archiver(opts.archive.dir, store, {
        onArchived: (d) => {
          metrics.archived(d.findings);
          logger.info({ day: d.day, file: d.file, findings: d.findings }, 'collector: day archived');
        },
        onError: (day, err) => {
          metrics.archiveError();
          logger.error({ err, day }, 'collector: archive failed (retention keeps the day; retried)');
        },
      })
    : null;
  if (archiver) {
    const runArchive = (): void => {
      // Errors of a day are reported through onError; anything else (the directory gone) the same way.
      archiver.run().catch((err: unknown) => {
        metrics.archiveError();
        logger.error({ err }, 'collector: archive failed');
      });
    };
    runArchive();
    archiveTimer = setInterval(runArchive, (opts.archive?.intervalSeconds ?? 600) * 1000);
    archiveTimer.unref();
  }

  let retentionTimer: NodeJS.Timeout | null = null;
  const retention = opts.retention;
  if (retention && (retention.maxAgeSeconds !== undefined || retention.maxCount !== undefined)) {
    // One run at a time: a slow delete (a large PostgreSQL table) must not pile up runs behind it.
    let running: Promise<void> | null = null;
    const run = (): void => {
      running ??= (async () => {
        try {
          const n = await store.applyRetention(archiver ? await archiver.guard(retention) : retention);
          metrics.retention(n);
          if (n > 0) logger.info({ deleted: n }, 'collector: retention applied');
        } catch (err) {
          logger.error({ err }, 'collector: retention failed');
        }
      })().finally(() => {
        running = null;
      });
    };
    run();
    retentionTimer = setInterval(run, (retention.intervalSeconds ?? 60) * 1000);
    retentionTimer.unref();
  }

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    if (retentionTimer) clearInterval(retentionTimer);
    if (archiveTimer) clearInterval(archiveTimer);
    await ingest.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw e;
  }
  const addr = server.address() as AddressInfo;
  const h = addr.family === 'IPv6' || addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  const url = `${tls ? 'https' : 'http'}://${h}:${addr.port}`;
  const wsUrl = `${tls ? 'wss' : 'ws'}://${h}:${addr.port}`;
  logger.info({ url, ws: wsUrl, db: redactDb(opts.db), store: store.kind }, 'collector: listening');

  let closed = false;
  return {
    url,
    wsUrl,
    port: addr.port,
    store,
    metrics,
    async close() {
      if (closed) return;
      closed = true;
      if (retentionTimer) clearInterval(retentionTimer);
      if (archiveTimer) clearInterval(archiveTimer);
      await ingest.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await exporter?.close();
      await archiver?.idle();
      await store.close();
      logger.info('collector: stopped');
    },
  };
}
