// Collector storage in PostgreSQL (issue 14.4): the SQLite store's semantics on a database several collectors share
// behind a load balancer. Findings exactly once by (agent, id) through the unique key (INSERT ... ON CONFLICT DO
// NOTHING), so an agent that reconnects to another collector and resends its spool adds nothing; read-modify-write
// rows (triage, devices, rules, baseline versions) are serialised across collectors by transaction-scoped advisory
// locks or row locks; approvals reach every collector's agents through LISTEN/NOTIFY. The schema is the plain SQL
// under migrations/pg/, applied in order under one advisory lock (two collectors starting together do not race).
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import {
  SEVERITIES,
  findingClass,
  severityRank,
  type Finding,
  type Severity,
} from '../agent/wire/finding.js';
import type { DeviceBaseline } from '../agent/wire/baseline.js';
import { ruleInfoOf, type DeviceRecord, type RuleInfo, type StatsMessage } from '../agent/wire/messages.js';
import { formatTs, parseTs } from '../agent/wire/time.js';
import { MAX_FUTURE_US, MIN_TS_US } from './limits.js';
import {
  BadQueryError,
  MAX_DEVICE_EXPOSURES,
  pageLimit,
  MAX_LIMIT,
  TRANSITIONS,
  TransitionError,
  addFindingFilters,
  addCursor,
  encodeCursor,
  mergeDevice,
  normaliseDevice,
  nowIso,
  toExposure,
  type AgentRow,
  type AuditEntry,
  type BaselineAction,
  type BaselineKind,
  type BaselineRow,
  type BaselineVersion,
  type DeviceMergeResult,
  type Exposure,
  type ExposureQuery,
  type ExposureRow,
  type FindingQuery,
  type IncidentQuery,
  type IncidentRow,
  type RetentionOptions,
  type Store,
  type StoreBatch,
  type StoredDevice,
  type StoredRule,
  type TriageState,
  type TriageStatus,
} from './store-types.js';

/** The migrations, read beside this module (the build copies collector/migrations/ into dist/collector/). */
export const PG_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/pg/', import.meta.url));
/** Key of the advisory lock migrations run under ("ward" in ASCII). */
const MIGRATION_LOCK = 0x77617264;
/** The NOTIFY channel of new approved baseline versions. */
const APPROVED_CHANNEL = 'wardwatch_approved';
const LISTEN_RETRY_MS = 1000;
/** Tries of a transaction that lost a deadlock to another collector's. */
const TX_ATTEMPTS = 3;

// int8 (counts, µs times, serials) as numbers: every value the store writes stays below 2^53.
const TYPES = new pg.TypeOverrides();
TYPES.setTypeParser(20, (v: string) => Number(v));

type Queryable = pg.Pool | pg.PoolClient;
type Param = string | number | boolean | null | readonly (string | number | null)[];

/** `?` placeholders (the SQL the SQLite store shares, e.g. addFindingFilters) to PostgreSQL's `$n`. */
function numbered(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

async function rows<T>(db: Queryable, sql: string, args: readonly Param[] = []): Promise<T[]> {
  const r = await db.query(numbered(sql), args as unknown[]);
  return r.rows as T[];
}

async function one<T>(db: Queryable, sql: string, args: readonly Param[] = []): Promise<T | undefined> {
  return (await rows<T>(db, sql, args))[0];
}

/** PostgreSQL text cannot hold NUL: a hostile record must not turn into a store failure the agent resends forever. */
function text(s: string): string;
function text(s: string | undefined | null): string | null;
function text(s: string | undefined | null): string | null {
  if (s === undefined || s === null) return null;
  return s.replaceAll('\u0000', '\uFFFD');
}

/**
 * JSON text PostgreSQL's jsonb accepts: jsonb refuses the escape `\u0000`, and one such finding would make every query
 * that reads the documents as jsonb (incidents, zones, the host filter) fail. NUL becomes U+FFFD, as in text().
 */
export function jsonText(v: unknown): string {
  const s = JSON.stringify(v);
  return s.includes('\\u0000') ? s.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd') : s;
}

/** Transaction-scoped locks on string keys, taken in sorted order so two collectors cannot deadlock on them. */
async function lockKeys(c: pg.PoolClient, keys: Iterable<string>): Promise<void> {
  const sorted = [...new Set(keys)].map((k) => text(k)).sort();
  if (sorted.length === 0) return;
  await c.query(
    'SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM (SELECT unnest($1::text[]) AS k ORDER BY 1) s',
    [sorted],
  );
}

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The migration files `NNN_name.sql`, in order. */
export function readMigrations(dir = PG_MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .map((f) => /^(\d{3})_[a-z0-9_]+\.sql$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ version: Number(m[1]), name: m[0], sql: readFileSync(`${dir}/${m[0]}`, 'utf8') }))
    .sort((a, b) => a.version - b.version);
}

/**
 * Applies the migrations not yet recorded in schema_migrations, all in one transaction under an advisory lock: a
 * second collector starting at the same time waits, then finds them applied. A database migrated by a newer
 * collector is refused, as the SQLite store refuses a newer user_version.
 */
export async function migrate(pool: pg.Pool, migrations = readMigrations()): Promise<number[]> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await c.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done = new Set(
      (await rows<{ version: number }>(c, 'SELECT version FROM schema_migrations')).map((r) => r.version),
    );
    const known = migrations.reduce((m, x) => Math.max(m, x.version), 0);
    const newest = [...done].reduce((m, v) => Math.max(m, v), 0);
    if (newest > known)
      throw new Error(
        `database schema version ${newest} is newer than this collector understands (${known})`,
      );
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await c.query(m.sql);
      await c.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    await c.query('COMMIT');
    return applied;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    c.release();
  }
}

interface BaselineVersionRow {
  device: string;
  version: number;
  kind: BaselineKind;
  document: string;
  by: string;
  at: string;
  agent: string | null;
}

interface PgExposureRow extends Omit<ExposureRow, 'rowid'> {
  rid: number;
}

const exposureOf = (r: PgExposureRow): Exposure => toExposure({ ...r, rowid: r.rid });

export class PgStore implements Store {
  readonly kind = 'postgres' as const;
  private readonly approvedListeners: Array<() => void> = [];
  private listener: pg.Client | null = null;
  private listenTimer: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
  ) {}

  /** Connects, migrates and starts listening for approvals made on any collector sharing the database. */
  static async open(url: string, opts: { max?: number } = {}): Promise<PgStore> {
    const pool = new pg.Pool({ connectionString: url, types: TYPES, max: opts.max ?? 10 });
    // An idle connection the server drops (restart, failover) must not crash the collector: the next query
    // reconnects, and a failing one rejects to its caller.
    pool.on('error', () => undefined);
    const s = new PgStore(pool, url);
    try {
      await migrate(pool);
      await s.listen();
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  private async listen(): Promise<void> {
    const c = new pg.Client({ connectionString: this.url, types: TYPES });
    const retry = (): void => {
      if (this.closed || this.listenTimer) return;
      if (this.listener === c) this.listener = null;
      c.end().catch(() => undefined);
      this.listenTimer = setTimeout(() => {
        this.listenTimer = null;
        // Approvals made while we were deaf: the listeners re-read the whole approved set anyway.
        this.listen().then(
          () => this.fireApproved(),
          () => retry(),
        );
      }, LISTEN_RETRY_MS);
      this.listenTimer.unref();
    };
    c.on('error', retry);
    c.on('end', retry);
    c.on('notification', (n) => {
      if (n.channel === APPROVED_CHANNEL) this.fireApproved();
    });
    await c.connect();
    await c.query(`LISTEN ${APPROVED_CHANNEL}`);
    if (this.closed) {
      // Closed while this (re)connection was under way: it must not outlive the store.
      c.removeAllListeners('end');
      c.removeAllListeners('error');
      c.on('error', () => undefined);
      await c.end().catch(() => undefined);
      return;
    }
    this.listener = c;
  }

  private fireApproved(): void {
    for (const l of this.approvedListeners) queueMicrotask(l);
  }

  /**
   * One transaction. A deadlock or serialization failure (two collectors taking the same rows in another order) is
   * retried: everything the transaction did was rolled back, and `fn` does it again from the start.
   */
  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.txOnce(fn);
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (attempt >= TX_ATTEMPTS || (code !== '40P01' && code !== '40001')) throw e;
      }
    }
  }

  private async txOnce<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await c.query('BEGIN');
      const r = await fn(c);
      await c.query('COMMIT');
      return r;
    } catch (e) {
      await c.query('ROLLBACK').catch((err: Error) => {
        broken = err;
      });
      throw e;
    } finally {
      c.release(broken);
    }
  }

  storeBatch(agent: string, seq: number, findings: readonly Finding[]): Promise<Finding[]> {
    return this.storeBatches([{ agent, seq, findings }]).then((r) => r[0] ?? []);
  }

  /**
   * All batches in one transaction (one commit for the group); each batch's findings in one INSERT from arrays.
   * A (agent, id) stored before, by this collector or another, inserts nothing and is not returned as new.
   */
  async storeBatches(batches: readonly StoreBatch[]): Promise<Finding[][]> {
    const now = Date.now() * 1000;
    const iso = nowIso();
    // By agent (stable: each agent's batches keep their order), so two collectors' group commits holding the same
    // agents take their keys in one order; the agents' rows last, in that order too.
    const order = [...batches.keys()].sort((x, y) => {
      const ax = batches[x]?.agent ?? '';
      const ay = batches[y]?.agent ?? '';
      return ax < ay ? -1 : ax > ay ? 1 : x - y;
    });
    return this.tx(async (c) => {
      const out: Finding[][] = batches.map(() => []);
      const lastSeq = new Map<string, number>();
      for (const bi of order) {
        const b = batches[bi] as StoreBatch;
        const agent = text(b.agent);
        const fs = b.findings;
        const cls = fs.map((f) => findingClass(f));
        const tsUs = fs.map((f) => {
          const t = parseTs(f.ts);
          return Number.isFinite(t) ? t : now;
        });
        const json = fs.map((f) => jsonText(f));
        const ids = fs.map((f) => text(f.id));
        const inserted =
          fs.length === 0
            ? []
            : await rows<{ id: string }>(
                c,
                `INSERT INTO findings (id, ts_us, received_us, rule, severity, agent, device_ip, device_mac,
                   device_name, class, json, incident)
                 SELECT u.id, u.ts, ?, u.rule, u.sev, ?, u.ip, u.mac, u.name, u.cls, u.json, u.inc
                 FROM unnest(?::text[], ?::bigint[], ?::text[], ?::int[], ?::text[], ?::text[], ?::text[], ?::text[],
                   ?::text[], ?::text[]) WITH ORDINALITY AS u(id, ts, rule, sev, ip, mac, name, cls, json, inc, ord)
                 ORDER BY u.ord
                 ON CONFLICT (agent, id) DO NOTHING RETURNING id`,
                [
                  now,
                  agent,
                  ids,
                  tsUs,
                  fs.map((f) => text(f.rule)),
                  fs.map((f) => severityRank(f.severity)),
                  fs.map((f) => text(f.device.ip)),
                  fs.map((f) => text(f.device.mac)),
                  fs.map((f) => text(f.device.name)),
                  cls,
                  json,
                  fs.map((f, i) => (cls[i] === 'alert' ? text(f.incident) : null)),
                ],
              );
        const fresh = new Set(inserted.map((r) => r.id));
        const kept: Finding[] = [];
        const alerts: Finding[] = [];
        for (const [i, f] of fs.entries()) {
          // A batch holding one id twice stores it once: only its first copy is new.
          if (!fresh.delete(ids[i] ?? '')) continue;
          kept.push(f);
          if (cls[i] === 'alert') alerts.push(f);
          if (cls[i] === 'exposure') await this.addExposure(c, agent, f, tsUs[i] ?? now, now, json[i] ?? '');
        }
        await this.reopenIfResolved(c, agent, alerts, iso);
        lastSeq.set(agent, b.seq);
        out[bi] = kept;
      }
      const names = [...lastSeq.keys()];
      await c.query(
        `INSERT INTO agents (name, first_seen, last_seen, last_seq)
         SELECT u.name, $1, $1, u.seq FROM unnest($2::text[], $3::bigint[]) WITH ORDINALITY AS u(name, seq, ord)
         ORDER BY u.ord
         ON CONFLICT (name) DO UPDATE SET last_seen = excluded.last_seen, last_seq = excluded.last_seq`,
        [iso, names, names.map((n) => lastSeq.get(n) ?? 0)],
      );
      return out;
    });
  }

  /**
   * As in SQLite: a new alert (not a closing summary) in an incident someone resolved opens it again, audited as
   * by "wardwatch". The triage rows are locked, so a person's change on another collector waits or is seen.
   */
  private async reopenIfResolved(
    c: pg.PoolClient,
    agent: string,
    alerts: readonly Finding[],
    iso: string,
  ): Promise<void> {
    const live = alerts.filter((f) => f.evidence.incident_rules === undefined);
    if (live.length === 0) return;
    const resolved = new Set(
      (
        await rows<{ incident: string }>(
          c,
          `SELECT incident FROM triage WHERE agent = ? AND status = 'resolved' AND incident = ANY(?::text[])
           FOR UPDATE`,
          [agent, [...new Set(live.map((f) => text(f.incident ?? f.id)))]],
        )
      ).map((r) => r.incident),
    );
    for (const f of live) {
      const incident = text(f.incident ?? f.id);
      if (!resolved.delete(incident)) continue;
      const comment = `new alert ${f.id} (${f.rule}) after it was resolved`;
      await c.query(
        `UPDATE triage SET status = 'open', "by" = 'wardwatch', "at" = $1, comment = $2
         WHERE agent = $3 AND incident = $4`,
        [iso, text(comment), agent, incident],
      );
      await c.query(
        `INSERT INTO audit ("at", "by", agent, incident, from_status, to_status, comment)
         VALUES ($1, 'wardwatch', $2, $3, 'resolved', 'open', $4)`,
        [iso, agent, incident, text(comment)],
      );
    }
  }

  /** Folds one newly stored exposure finding into its exposure (the rules of store-sqlite.ts addExposure). */
  private async addExposure(
    c: pg.PoolClient,
    agent: string,
    f: Finding,
    tsUs: number,
    nowUs: number,
    json: string,
  ): Promise<void> {
    const at = (k: string): number => {
      const v = f.evidence[k];
      const us = typeof v === 'string' ? parseTs(v) : Number.NaN;
      return Number.isFinite(us) && us >= MIN_TS_US && us <= nowUs + MAX_FUTURE_US ? us : tsUs;
    };
    const first = at('first_seen');
    const last = Math.max(first, at('last_seen'));
    let count = f.count ?? 1;
    const of = f.evidence.repeat_of;
    if (typeof of === 'string') {
      const row = await one<{ json: string }>(c, 'SELECT json FROM findings WHERE agent = ? AND id = ?', [
        agent,
        text(of),
      ]);
      if (row) count = Math.max(0, count - ((JSON.parse(row.json) as Finding).count ?? 1));
    }
    await c.query(
      `INSERT INTO exposures (agent, rule, device_ip, device_mac, peer_ip, device_name, severity, first_us, last_us,
         count, updated_us, json)
       VALUES ($1, $2, $3, $4, '', $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (agent, rule, device_ip, device_mac, peer_ip) DO UPDATE SET
         severity = CASE WHEN excluded.last_us >= exposures.last_us THEN excluded.severity ELSE exposures.severity END,
         device_name = CASE WHEN excluded.last_us >= exposures.last_us THEN excluded.device_name
           ELSE exposures.device_name END,
         json = CASE WHEN excluded.last_us >= exposures.last_us THEN excluded.json ELSE exposures.json END,
         first_us = LEAST(exposures.first_us, excluded.first_us),
         last_us = GREATEST(exposures.last_us, excluded.last_us),
         count = LEAST(exposures.count + excluded.count, 9007199254740991),
         updated_us = excluded.updated_us`,
      [
        agent,
        text(f.rule),
        text(f.device.ip),
        text(f.device.mac ?? ''),
        text(f.device.name),
        severityRank(f.severity),
        first,
        last,
        count,
        nowUs,
        json,
      ],
    );
  }

  async queryFindings(q: FindingQuery): Promise<{ findings: Finding[]; next: string | null }> {
    const limit = pageLimit(q.limit);
    const where: string[] = [];
    const args: Array<string | number> = [];
    addCursor(q.cursor, 'ts_us', 'seq', where, args);
    addFindingFilters(q, '', where, args);
    if (q.host !== undefined) {
      where.push("(device_ip = ? OR device_mac = ? OR device_name = ? OR (json::jsonb #>> '{peer,ip}') = ?)");
      args.push(q.host, q.host, q.host, q.host);
    }
    const cls = q.class ?? 'all';
    if (cls !== 'all') {
      where.push('class = ?');
      args.push(cls);
    }
    const r = await rows<{ seq: number; ts_us: number; json: string }>(
      this.pool,
      `SELECT seq, ts_us, json FROM findings ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY ts_us DESC, seq DESC LIMIT ?`,
      [...args.map((a) => (typeof a === 'string' ? text(a) : a)), limit + 1],
    );
    const page = r.slice(0, limit);
    const last = page[page.length - 1];
    return {
      findings: page.map((x) => JSON.parse(x.json) as Finding),
      next: r.length > limit && last ? encodeCursor(last.ts_us, last.seq) : null,
    };
  }

  async queryExposures(q: ExposureQuery): Promise<{ exposures: Exposure[]; next: string | null }> {
    const limit = pageLimit(q.limit);
    const where: string[] = [];
    const args: Array<string | number> = [];
    addCursor(q.cursor, 'last_us', 'rid', where, args);
    if (q.severity !== undefined) {
      where.push('severity >= ?');
      args.push(severityRank(q.severity));
    }
    for (const key of ['rule', 'agent'] as const) {
      const v = q[key];
      if (v === undefined) continue;
      where.push(`${key} = ?`);
      args.push(text(v));
    }
    if (q.device !== undefined) {
      where.push('(device_ip = ? OR device_mac = ? OR device_name = ?)');
      args.push(text(q.device), text(q.device), text(q.device));
    }
    const r = await rows<PgExposureRow>(
      this.pool,
      `SELECT * FROM exposures ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY last_us DESC, rid DESC LIMIT ?`,
      [...args, limit + 1],
    );
    const page = r.slice(0, limit);
    const last = page[page.length - 1];
    return {
      exposures: page.map(exposureOf),
      next: r.length > limit && last ? encodeCursor(last.last_us, last.rid) : null,
    };
  }

  async exposureCounts(): Promise<Record<Severity, number>> {
    const out = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
    for (const r of await rows<{ severity: number; n: number }>(
      this.pool,
      'SELECT severity, count(*) AS n FROM exposures GROUP BY severity',
    )) {
      const sev = SEVERITIES[r.severity];
      if (sev !== undefined) out[sev] = r.n;
    }
    return out;
  }

  async countFindings(): Promise<number> {
    return (await one<{ n: number }>(this.pool, 'SELECT count(*) AS n FROM findings'))?.n ?? 0;
  }

  async findingIds(): Promise<string[]> {
    return (await rows<{ id: string }>(this.pool, 'SELECT id FROM findings ORDER BY seq')).map((r) => r.id);
  }

  async recordHello(agent: string, version: string): Promise<void> {
    const iso = nowIso();
    await this.pool.query(
      `INSERT INTO agents (name, version, first_seen, last_seen) VALUES ($1, $2, $3, $3)
       ON CONFLICT (name) DO UPDATE SET version = excluded.version, last_seen = excluded.last_seen`,
      [text(agent), text(version), iso],
    );
  }

  async recordStats(agent: string, stats: Omit<StatsMessage, 'type'>): Promise<void> {
    await this.flushPending(new Map([[agent, stats]]), new Map(), Number.POSITIVE_INFINITY);
  }

  async flushPending(
    stats: ReadonlyMap<string, Omit<StatsMessage, 'type'>>,
    devices: ReadonlyMap<string, readonly DeviceRecord[]>,
    maxDevicesPerAgent: number,
  ): Promise<Map<string, DeviceMergeResult>> {
    const iso = nowIso();
    return this.tx(async (c) => {
      const out = new Map<string, DeviceMergeResult>();
      if (stats.size > 0) {
        const names = [...stats.keys()].sort();
        await c.query(
          `INSERT INTO agents (name, first_seen, last_seen, stats)
           SELECT u.name, $1, $1, u.stats FROM unnest($2::text[], $3::text[]) AS u(name, stats)
           ON CONFLICT (name) DO UPDATE SET last_seen = excluded.last_seen, stats = excluded.stats`,
          [iso, names.map((n) => text(n)), names.map((n) => jsonText(stats.get(n)))],
        );
      }
      // Every device of this flush locked at once, in one sorted order (a lock held twice is taken again at no cost):
      // two collectors flushing different agents' records of the same devices cannot deadlock.
      await lockKeys(
        c,
        [...devices.values()].flatMap((ds) => ds.map((d) => `device\n${text(d.id)}`)),
      );
      for (const [agent, d] of devices)
        out.set(agent, await this.mergeDevicesIn(c, agent, d, maxDevicesPerAgent));
      return out;
    });
  }

  async listAgents(connected: ReadonlySet<string>): Promise<AgentRow[]> {
    const r = await rows<{
      name: string;
      version: string | null;
      first_seen: string;
      last_seen: string;
      last_seq: number;
      stats: string | null;
    }>(this.pool, 'SELECT * FROM agents ORDER BY name COLLATE "C"');
    return r.map((x) => ({
      ...x,
      connected: connected.has(x.name),
      stats: x.stats ? (JSON.parse(x.stats) as Omit<StatsMessage, 'type'>) : null,
    }));
  }

  mergeDevices(
    agent: string,
    devices: readonly DeviceRecord[],
    maxPerAgent = Number.POSITIVE_INFINITY,
  ): Promise<DeviceMergeResult> {
    return this.tx((c) => this.mergeDevicesIn(c, agent, devices, maxPerAgent));
  }

  async agentDeviceCount(agent: string): Promise<number> {
    return (
      (
        await one<{ n: number }>(this.pool, 'SELECT count(*) AS n FROM agent_devices WHERE agent = ?', [
          text(agent),
        ])
      )?.n ?? 0
    );
  }

  /**
   * The SQLite merge, set-wise: the devices' advisory locks (sorted: two collectors merging the same devices cannot
   * deadlock), their rows and this agent's links read at once, merged here, written back with one upsert each.
   */
  private async mergeDevicesIn(
    c: pg.PoolClient,
    agentName: string,
    devices: readonly DeviceRecord[],
    maxPerAgent: number,
  ): Promise<DeviceMergeResult> {
    const agent = text(agentName);
    const r: DeviceMergeResult = { merged: 0, refused: 0 };
    if (devices.length === 0) return r;
    const ids = [...new Set(devices.map((d) => text(d.id)))];
    await lockKeys(
      c,
      ids.map((id) => `device\n${id}`),
    );
    let count =
      (await one<{ n: number }>(c, 'SELECT count(*) AS n FROM agent_devices WHERE agent = ?', [agent]))?.n ??
      0;
    const linked = new Set(
      (
        await rows<{ device: string }>(
          c,
          'SELECT device FROM agent_devices WHERE agent = ? AND device = ANY(?::text[])',
          [agent, ids],
        )
      ).map((x) => x.device),
    );
    const current = new Map(
      (
        await rows<{ id: string; json: string; agents: string }>(
          c,
          'SELECT id, json, agents FROM devices WHERE id = ANY(?::text[])',
          [ids],
        )
      ).map((x) => [
        x.id,
        { record: JSON.parse(x.json) as DeviceRecord, agents: JSON.parse(x.agents) as string[] },
      ]),
    );
    const links: string[] = [];
    for (const d of devices) {
      const id = text(d.id);
      if (!linked.has(id)) {
        if (count >= maxPerAgent) {
          r.refused++;
          continue;
        }
        linked.add(id);
        links.push(id);
        count++;
      }
      const old = current.get(id);
      const agents = new Set(old?.agents ?? []);
      agents.add(agent);
      current.set(id, {
        record: old ? mergeDevice(old.record, d) : normaliseDevice(d),
        agents: [...agents].sort(),
      });
      r.merged++;
    }
    if (links.length > 0)
      await c.query(
        `INSERT INTO agent_devices (agent, device) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`,
        [agent, links],
      );
    const touched = ids.filter((id) => linked.has(id) && current.has(id));
    if (touched.length > 0)
      await c.query(
        `INSERT INTO devices (id, json, agents) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
         ON CONFLICT (id) DO UPDATE SET json = excluded.json, agents = excluded.agents`,
        [
          touched,
          touched.map((id) => jsonText(current.get(id)?.record)),
          touched.map((id) => jsonText(current.get(id)?.agents)),
        ],
      );
    return r;
  }

  listDevices(limit = 10_000): Promise<StoredDevice[]> {
    return this.devicesWhere('', [], limit);
  }

  private async devicesWhere(where: string, args: string[], limit: number): Promise<StoredDevice[]> {
    const r = await rows<{ json: string; agents: string }>(
      this.pool,
      `SELECT json, agents FROM devices ${where} ORDER BY id COLLATE "C" LIMIT ?`,
      [...args, limit],
    );
    const out: StoredDevice[] = r.map((x) => ({
      ...(JSON.parse(x.json) as DeviceRecord),
      agents: JSON.parse(x.agents) as string[],
      exposures: [],
    }));
    if (out.length === 0 || (await one(this.pool, 'SELECT 1 FROM exposures LIMIT 1')) === undefined)
      return out;
    // Every device's newest exposures in one round trip (a query per device would be 10,000 of them).
    const ex = await rows<PgExposureRow & { ord: number }>(
      this.pool,
      `SELECT k.ord, e.* FROM unnest(?::text[], ?::text[]) WITH ORDINALITY AS k(ip, mac, ord)
       CROSS JOIN LATERAL (
         SELECT * FROM exposures WHERE device_ip = k.ip OR (device_mac = k.mac AND device_mac != '')
         ORDER BY last_us DESC, rid DESC LIMIT ?) e
       ORDER BY k.ord, e.last_us DESC, e.rid DESC`,
      [out.map((d) => text(d.ip ?? d.id)), out.map((d) => text(d.mac ?? d.id)), MAX_DEVICE_EXPOSURES + 1],
    );
    const by = new Map<number, PgExposureRow[]>();
    for (const e of ex) {
      const list = by.get(e.ord) ?? [];
      list.push(e);
      by.set(e.ord, list);
    }
    for (const [i, d] of out.entries()) {
      const list = by.get(i + 1) ?? [];
      d.exposures = list.slice(0, MAX_DEVICE_EXPOSURES).map(exposureOf);
      if (list.length > MAX_DEVICE_EXPOSURES) d.exposures_truncated = true;
    }
    return out;
  }

  async getDevice(key: string): Promise<StoredDevice | null> {
    const k = text(key);
    const row = await one<{ id: string }>(
      this.pool,
      `SELECT id FROM devices WHERE id = ? OR (json::jsonb ->> 'ip') = ? OR (json::jsonb ->> 'mac') = ?
       ORDER BY (id = ?) DESC LIMIT 1`,
      [k, k, k, k],
    );
    if (!row) return null;
    return (await this.devicesWhere('WHERE id = ?', [row.id], 1))[0] ?? null;
  }

  async countDevices(): Promise<number> {
    return (await one<{ n: number }>(this.pool, 'SELECT count(*) AS n FROM devices'))?.n ?? 0;
  }

  async putRules(agentName: string, rules: readonly RuleInfo[]): Promise<void> {
    if (rules.length === 0) return;
    const agent = text(agentName);
    const iso = nowIso();
    // The latest announcement of an id wins (as in SQLite, where a later one in the list replaces an earlier).
    const latest = new Map<string, RuleInfo>();
    for (const r of rules) latest.set(text(r.id), r);
    const ids = [...latest.keys()].sort();
    await this.tx(async (c) => {
      await lockKeys(
        c,
        ids.map((id) => `rule\n${id}`),
      );
      const known = new Map(
        (
          await rows<{ id: string; agents: string }>(
            c,
            'SELECT id, agents FROM rules WHERE id = ANY(?::text[])',
            [ids],
          )
        ).map((x) => [x.id, JSON.parse(x.agents) as string[]]),
      );
      const json: string[] = [];
      const agents: string[] = [];
      for (const id of ids) {
        const r = latest.get(id) as RuleInfo;
        const info: RuleInfo = ruleInfoOf(r);
        json.push(jsonText(info));
        agents.push(JSON.stringify([...new Set([...(known.get(id) ?? []), agent])].sort()));
      }
      await c.query(
        `INSERT INTO rules (id, json, agents, updated_at) SELECT u.id, u.json, u.agents, $4
         FROM unnest($1::text[], $2::text[], $3::text[]) AS u(id, json, agents)
         ON CONFLICT (id) DO UPDATE SET json = excluded.json, agents = excluded.agents, updated_at = excluded.updated_at`,
        [ids, json, agents, iso],
      );
    });
  }

  async listRules(): Promise<StoredRule[]> {
    const r = await rows<{ json: string; agents: string; updated_at: string }>(
      this.pool,
      'SELECT * FROM rules ORDER BY id COLLATE "C"',
    );
    return r.map((x) => ({
      ...(JSON.parse(x.json) as RuleInfo),
      agents: JSON.parse(x.agents) as string[],
      updated_at: x.updated_at,
    }));
  }

  async getRule(id: string): Promise<StoredRule | null> {
    const x = await one<{ json: string; agents: string; updated_at: string }>(
      this.pool,
      'SELECT * FROM rules WHERE id = ?',
      [text(id)],
    );
    return x
      ? {
          ...(JSON.parse(x.json) as RuleInfo),
          agents: JSON.parse(x.agents) as string[],
          updated_at: x.updated_at,
        }
      : null;
  }

  async alertSeries(): Promise<Array<{ rule: string; severity: Severity; agent: string }>> {
    const out = new Map<string, { rule: string; severity: Severity; agent: string }>();
    const add = (rule: string, severity: Severity, agent: string): void => {
      out.set(`${rule}\u0000${severity}\u0000${agent}`, { rule, severity, agent });
    };
    for (const r of await this.listRules())
      if ((r.class ?? 'alert') === 'alert') for (const a of r.agents) add(r.id, r.severity, a);
    for (const r of await rows<{ rule: string; severity: number; agent: string }>(
      this.pool,
      "SELECT DISTINCT rule, severity, agent FROM findings WHERE class = 'alert'",
    )) {
      const sev = SEVERITIES[r.severity];
      if (sev !== undefined) add(r.rule, sev, r.agent);
    }
    return [...out.values()];
  }

  async getFindings(id: string, agent?: string): Promise<Finding[]> {
    const r =
      agent === undefined
        ? await rows<{ json: string }>(
            this.pool,
            'SELECT json FROM findings WHERE id = ? ORDER BY agent COLLATE "C"',
            [text(id)],
          )
        : await rows<{ json: string }>(this.pool, 'SELECT json FROM findings WHERE id = ? AND agent = ?', [
            text(id),
            text(agent),
          ]);
    return r.map((x) => JSON.parse(x.json) as Finding);
  }

  async incidentFindings(agent: string, incident: string): Promise<Finding[]> {
    const r = await rows<{ json: string }>(
      this.pool,
      `SELECT json FROM findings WHERE agent = ? AND class = 'alert' AND coalesce(incident, id) = ?
       ORDER BY ts_us, seq LIMIT ?`,
      [text(agent), text(incident), MAX_LIMIT],
    );
    return r.map((x) => JSON.parse(x.json) as Finding);
  }

  triageOf(agent: string, incident: string): Promise<TriageState> {
    return this.triageIn(this.pool, agent, incident, false);
  }

  private async triageIn(
    db: Queryable,
    agent: string,
    incident: string,
    lock: boolean,
  ): Promise<TriageState> {
    const t = await one<{ status: TriageStatus; by: string; at: string; comment: string }>(
      db,
      `SELECT status, "by", "at", comment FROM triage WHERE agent = ? AND incident = ?${lock ? ' FOR UPDATE' : ''}`,
      [text(agent), text(incident)],
    );
    return t
      ? { status: t.status, by: t.by, at: t.at, comment: t.comment }
      : { status: 'open', by: null, at: null, comment: '' };
  }

  incidentOf(agent: string, id: string): Promise<string | null> {
    return this.incidentIn(this.pool, agent, id);
  }

  private async incidentIn(db: Queryable, agent: string, id: string): Promise<string | null> {
    const r = await one<{ k: string }>(
      db,
      "SELECT coalesce(incident, id) AS k FROM findings WHERE agent = ? AND id = ? AND class = 'alert'",
      [text(agent), text(id)],
    );
    return r?.k ?? null;
  }

  /**
   * The SQLite transition rules, with each incident's advisory lock held from reading its status to writing the new
   * one: two reviewers on two collectors cannot both move an incident from the same state.
   */
  setStatus(
    items: ReadonlyArray<{ agent: string; id: string }>,
    to: TriageStatus,
    by: string,
    comment: string,
  ): Promise<{ changed: Array<{ agent: string; incident: string; from: TriageStatus }>; unchanged: number }> {
    return this.tx(async (c) => {
      const iso = nowIso();
      const targets: Array<{ agent: string; incident: string }> = [];
      const seen = new Set<string>();
      for (const it of items) {
        const incident = await this.incidentIn(c, it.agent, it.id);
        if (incident === null) throw new BadQueryError(`no alert ${it.id} of agent ${it.agent}`);
        const key = `${it.agent}\n${incident}`;
        if (seen.has(key)) continue;
        seen.add(key);
        targets.push({ agent: it.agent, incident });
      }
      await lockKeys(
        c,
        targets.map((t) => `triage\n${t.agent}\n${t.incident}`),
      );
      const changed: Array<{ agent: string; incident: string; from: TriageStatus }> = [];
      let unchanged = 0;
      for (const t of targets) {
        const from = (await this.triageIn(c, t.agent, t.incident, true)).status;
        if (from === to) {
          unchanged++;
          continue;
        }
        if (!TRANSITIONS[from].includes(to))
          throw new TransitionError(
            `incident ${t.incident} of agent ${t.agent} is ${from}: cannot move to ${to}`,
          );
        await c.query(
          `INSERT INTO triage (agent, incident, status, "by", "at", comment) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (agent, incident) DO UPDATE SET status = excluded.status, "by" = excluded."by",
             "at" = excluded."at", comment = excluded.comment`,
          [text(t.agent), text(t.incident), to, text(by), iso, text(comment)],
        );
        await c.query(
          `INSERT INTO audit ("at", "by", agent, incident, from_status, to_status, comment)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [iso, text(by), text(t.agent), text(t.incident), from, to, text(comment)],
        );
        changed.push({ agent: t.agent, incident: t.incident, from });
      }
      return { changed, unchanged };
    });
  }

  async listAudit(q: {
    limit?: number;
    before?: number;
    agent?: string;
    incident?: string;
  }): Promise<{ audit: AuditEntry[]; next: number | null }> {
    const limit = pageLimit(q.limit);
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (q.before !== undefined) {
      where.push('seq < ?');
      args.push(q.before);
    }
    for (const key of ['agent', 'incident'] as const) {
      const v = q[key];
      if (v === undefined) continue;
      where.push(`${key} = ?`);
      args.push(text(v));
    }
    const r = await rows<{
      seq: number;
      at: string;
      by: string;
      agent: string;
      incident: string;
      from_status: TriageStatus;
      to_status: TriageStatus;
      comment: string;
    }>(
      this.pool,
      `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`,
      [...args, limit + 1],
    );
    const page = r.slice(0, limit);
    return {
      audit: page.map((x) => ({
        seq: x.seq,
        at: x.at,
        by: x.by,
        agent: x.agent,
        incident: x.incident,
        from: x.from_status,
        to: x.to_status,
        comment: x.comment,
      })),
      next: r.length > limit ? (page[page.length - 1]?.seq ?? null) : null,
    };
  }

  async queryIncidents(q: IncidentQuery): Promise<{ incidents: IncidentRow[]; total: number }> {
    const limit = pageLimit(q.limit, 50);
    const offset = Math.max(0, Math.floor(q.offset ?? 0));
    const where: string[] = ["f.class = 'alert'"];
    const args: Array<string | number> = [];
    addFindingFilters(q, 'f.', where, args);
    if (q.zone !== undefined) {
      where.push(
        `((f.json::jsonb #>> '{evidence,src.zone}') = ? OR (f.json::jsonb #>> '{evidence,dst.zone}') = ?
          OR (f.json::jsonb #>> '{evidence,zone}') = ?)`,
      );
      args.push(q.zone, q.zone, q.zone);
    }
    if (q.q !== undefined && q.q !== '') {
      const like = `%${q.q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
      // ILIKE: SQLite's LIKE ignores ASCII case, and the query is documented as case-insensitive.
      where.push("(f.rule ILIKE ? ESCAPE '\\' OR (f.json::jsonb ->> 'title') ILIKE ? ESCAPE '\\')");
      args.push(like, like);
    }
    if (q.status !== undefined && q.status.length > 0) {
      where.push(`coalesce(t.status, 'open') IN (${q.status.map(() => '?').join(', ')})`);
      args.push(...q.status);
    }
    const params = args.map((a) => (typeof a === 'string' ? text(a) : a));
    const grouped = `
      SELECT f.agent AS agent, coalesce(f.incident, f.id) AS inc, max(f.severity) AS sev, count(*) AS n,
        sum(CASE WHEN (f.json::jsonb #>> '{evidence,incident_rules}') IS NULL
          THEN coalesce((f.json::jsonb ->> 'count')::float8, 1) ELSE 0 END) AS occ,
        min(f.ts_us) AS first_us, max(f.ts_us) AS last_us,
        string_agg(DISTINCT f.rule, ',') AS rules, max(f.seq) AS last_seq
      FROM findings f LEFT JOIN triage t ON t.agent = f.agent AND t.incident = coalesce(f.incident, f.id)
      WHERE ${where.join(' AND ')}
      GROUP BY f.agent, coalesce(f.incident, f.id)`;
    const dir = q.order === 'asc' ? 'ASC' : 'DESC';
    const order = {
      time: `last_us ${dir}, last_seq ${dir}`,
      severity: `sev ${dir}, last_us DESC, last_seq DESC`,
      rule: `rules COLLATE "C" ${dir}, last_us DESC, last_seq DESC`,
      findings: `n ${dir}, last_us DESC, last_seq DESC`,
    }[q.sort ?? 'time'];
    const total =
      (await one<{ n: number }>(this.pool, `SELECT count(*) AS n FROM (${grouped}) g`, params))?.n ?? 0;
    const r = await rows<{
      agent: string;
      inc: string;
      sev: number;
      n: number;
      occ: number;
      first_us: number;
      last_us: number;
      rules: string;
      last_seq: number;
    }>(this.pool, `SELECT * FROM (${grouped}) g ORDER BY ${order} LIMIT ? OFFSET ?`, [
      ...params,
      limit,
      offset,
    ]);
    const incidents: IncidentRow[] = [];
    for (const x of r) {
      const o =
        (await one<{ json: string }>(
          this.pool,
          "SELECT json FROM findings WHERE agent = ? AND id = ? AND class = 'alert'",
          [x.agent, x.inc],
        )) ??
        (await one<{ json: string }>(this.pool, 'SELECT json FROM findings WHERE seq = ?', [x.last_seq]));
      const t = await this.triageOf(x.agent, x.inc);
      incidents.push({
        agent: x.agent,
        incident: x.inc,
        opener: JSON.parse(o?.json ?? 'null') as Finding,
        severity: SEVERITIES[x.sev] ?? 'info',
        findings: x.n,
        occurrences: x.occ,
        first_seen: formatTs(x.first_us),
        last_seen: formatTs(x.last_us),
        rules: x.rules.split(',').sort(),
        status: t.status,
        status_by: t.by,
        status_at: t.at,
        comment: t.comment,
      });
    }
    return { incidents, total };
  }

  async alertCounts(): Promise<{ open: Record<Severity, number>; unacknowledged: Record<Severity, number> }> {
    const zero = (): Record<Severity, number> =>
      Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
    const open = zero();
    const unack = zero();
    const r = await rows<{ sev: number; status: TriageStatus; n: number }>(
      this.pool,
      `SELECT sev, status, count(*) AS n FROM (
         SELECT max(f.severity) AS sev, coalesce(t.status, 'open') AS status
         FROM findings f LEFT JOIN triage t ON t.agent = f.agent AND t.incident = coalesce(f.incident, f.id)
         WHERE f.class = 'alert' GROUP BY f.agent, coalesce(f.incident, f.id), t.status) g
       WHERE status IN ('open', 'acknowledged') GROUP BY sev, status`,
    );
    for (const x of r) {
      const sev = SEVERITIES[x.sev];
      if (sev === undefined) continue;
      open[sev] += x.n;
      if (x.status === 'open') unack[sev] += x.n;
    }
    return { open, unacknowledged: unack };
  }

  async listBaselines(): Promise<BaselineRow[]> {
    const devices = await rows<{ device: string }>(
      this.pool,
      'SELECT device FROM baseline_versions GROUP BY device ORDER BY device COLLATE "C"',
    );
    const out: BaselineRow[] = [];
    for (const d of devices) {
      const b = await this.getBaseline(d.device);
      if (b) out.push(b);
    }
    return out;
  }

  async getBaseline(device: string): Promise<BaselineRow | null> {
    const learned = await this.latestBaseline(device, 'learned');
    const approved = await this.latestBaseline(device, 'approved');
    if (!learned && !approved) return null;
    const at = [learned?.at, approved?.at].filter((x): x is string => x !== undefined).sort();
    return {
      device,
      learned: learned?.document ?? null,
      approved: approved?.document ?? null,
      learned_version: learned?.version ?? null,
      approved_version: approved?.version ?? null,
      learned_by: learned?.agent ?? null,
      approved_by: approved?.by ?? null,
      approved_at: approved?.at ?? null,
      updated_at: at[at.length - 1] ?? '',
    };
  }

  latestBaseline(
    device: string,
    kind: BaselineKind,
  ): Promise<(BaselineVersion & { document: DeviceBaseline; text: string }) | null> {
    return this.latestIn(this.pool, device, kind);
  }

  private async latestIn(
    db: Queryable,
    device: string,
    kind: BaselineKind,
  ): Promise<(BaselineVersion & { document: DeviceBaseline; text: string }) | null> {
    const r = await one<BaselineVersionRow>(
      db,
      'SELECT * FROM baseline_versions WHERE device = ? AND kind = ? ORDER BY version DESC LIMIT 1',
      [text(device), kind],
    );
    if (!r) return null;
    return {
      device: r.device,
      version: r.version,
      kind: r.kind,
      by: r.by,
      at: r.at,
      agent: r.agent,
      text: r.document,
      document: JSON.parse(r.document) as DeviceBaseline,
    };
  }

  async baselineVersions(device: string, limit = 100): Promise<BaselineVersion[]> {
    return rows<BaselineVersion>(
      this.pool,
      `SELECT device, version, kind, "by", "at", agent FROM baseline_versions WHERE device = ?
       ORDER BY seq DESC LIMIT ?`,
      [text(device), limit],
    );
  }

  putBaselineVersion(
    device: string,
    kind: BaselineKind,
    doc: DeviceBaseline,
    by: string,
    agent: string | null,
  ): Promise<{ version: number; created: boolean }> {
    return this.tx((c) => this.putVersionIn(c, device, kind, doc, by, agent));
  }

  /**
   * Next version = latest + 1 under the (device, kind) advisory lock, so two collectors storing at once make two
   * versions instead of one failing on the unique key. A new approved version notifies every collector at commit.
   */
  private async putVersionIn(
    c: pg.PoolClient,
    device: string,
    kind: BaselineKind,
    doc: DeviceBaseline,
    by: string,
    agent: string | null,
  ): Promise<{ version: number; created: boolean }> {
    const body = jsonText(doc);
    await lockKeys(c, [`baseline\n${device}\n${kind}`]);
    const last = await this.latestIn(c, device, kind);
    if (last && last.text === body) return { version: last.version, created: false };
    const version = (last?.version ?? 0) + 1;
    await c.query(
      `INSERT INTO baseline_versions (device, version, kind, document, "by", "at", agent)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [text(device), version, kind, body, text(by), nowIso(), text(agent)],
    );
    if (kind === 'approved') await c.query('SELECT pg_notify($1, $2)', [APPROVED_CHANNEL, String(version)]);
    return { version, created: true };
  }

  putLearnedBaselines(agent: string, devices: readonly DeviceBaseline[]): Promise<number> {
    return this.tx(async (c) => {
      let created = 0;
      // Sorted: the per-device locks are taken in one order by every collector.
      for (const d of [...devices].sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0)))
        if ((await this.putVersionIn(c, d.ip, 'learned', d, agent, agent)).created) created++;
      return created;
    });
  }

  onApproved(listener: () => void): void {
    this.approvedListeners.push(listener);
  }

  async rejectedItems(device: string): Promise<Set<string>> {
    const r = await rows<{ item: string }>(this.pool, 'SELECT item FROM baseline_rejected WHERE device = ?', [
      text(device),
    ]);
    return new Set(r.map((x) => x.item));
  }

  async setRejected(device: string, items: readonly string[], rejected: boolean, by: string): Promise<void> {
    if (items.length === 0) return;
    const list = items.map((it) => text(it));
    await this.pool.query(
      rejected
        ? `INSERT INTO baseline_rejected (device, item, "by", "at") SELECT $1, unnest($2::text[]), $3, $4
           ON CONFLICT (device, item) DO UPDATE SET "by" = excluded."by", "at" = excluded."at"`
        : 'DELETE FROM baseline_rejected WHERE device = $1 AND item = ANY($2::text[])',
      rejected ? [text(device), list, text(by), nowIso()] : [text(device), list],
    );
  }

  async auditBaseline(
    device: string,
    by: string,
    to: BaselineAction,
    items: readonly string[],
    comment: string,
  ): Promise<void> {
    if (items.length === 0) return;
    await this.pool.query(
      `INSERT INTO audit ("at", "by", agent, incident, from_status, to_status, comment)
       SELECT $1, $2, '', $3, 'learned', $4, c FROM unnest($5::text[]) WITH ORDINALITY AS u(c, ord) ORDER BY ord`,
      [
        nowIso(),
        text(by),
        text(`baseline:${device}`),
        to,
        items.map((it) => text(comment ? `${it}: ${comment}` : it)),
      ],
    );
  }

  async approvedSet(): Promise<{ version: number; devices: DeviceBaseline[] }> {
    const r = await rows<{ seq: number; document: string }>(
      this.pool,
      `SELECT v.seq, v.document FROM baseline_versions v
       JOIN (SELECT device, max(version) AS version FROM baseline_versions WHERE kind = 'approved' GROUP BY device) m
         ON v.device = m.device AND v.version = m.version AND v.kind = 'approved'
       ORDER BY v.device COLLATE "C"`,
    );
    return {
      version: r.reduce((m, x) => Math.max(m, x.seq), 0),
      devices: r.map((x) => JSON.parse(x.document) as DeviceBaseline),
    };
  }

  async applyRetention(r: RetentionOptions, nowMs = Date.now()): Promise<number> {
    let n = 0;
    if (r.maxAgeSeconds !== undefined) {
      const before = (nowMs - r.maxAgeSeconds * 1000) * 1000;
      n += (await this.pool.query('DELETE FROM findings WHERE received_us < $1', [before])).rowCount ?? 0;
      await this.pool.query('DELETE FROM exposures WHERE updated_us < $1', [before]);
    }
    if (r.maxCount !== undefined) {
      n +=
        (
          await this.pool.query(
            'DELETE FROM findings WHERE seq <= (SELECT seq FROM findings ORDER BY seq DESC LIMIT 1 OFFSET $1)',
            [Math.max(0, Math.floor(r.maxCount))],
          )
        ).rowCount ?? 0;
    }
    return n;
  }

  async findingsReceived(
    fromUs: number,
    toUs: number,
    after: { receivedUs: number; seq: number } | null,
    limit: number,
  ): Promise<{ receivedUs: number; seq: number; json: string }[]> {
    const a = after ?? { receivedUs: fromUs, seq: -1 };
    return rows<{ receivedUs: number; seq: number; json: string }>(
      this.pool,
      `SELECT received_us AS "receivedUs", seq, json FROM findings
       WHERE received_us >= ? AND received_us < ? AND (received_us, seq) > (?, ?)
       ORDER BY received_us, seq LIMIT ?`,
      [fromUs, toUs, a.receivedUs, a.seq, limit],
    );
  }

  async receivedSpan(sinceUs: number): Promise<{ oldestUs: number | null; since: number }> {
    const r = await one<{ oldestUs: number | null; since: number }>(
      this.pool,
      `SELECT (SELECT min(received_us) FROM findings) AS "oldestUs",
         (SELECT count(*) FROM findings WHERE received_us >= ?) AS since`,
      [sinceUs],
    );
    return r ?? { oldestUs: null, since: 0 };
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.listenTimer) clearTimeout(this.listenTimer);
    const l = this.listener;
    this.listener = null;
    if (l) {
      l.removeAllListeners('end');
      l.removeAllListeners('error');
      l.on('error', () => undefined);
      await l.end().catch(() => undefined);
    }
    await this.pool.end();
  }
}
