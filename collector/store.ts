// Collector storage in SQLite (better-sqlite3, WAL): findings exactly once by id, agents with their last stats,
// devices merged across agents, baselines, retention by age and count (DESIGN.md "Agent ⇄ collector").
import Database from 'better-sqlite3';
import { severityRank, type Finding, type Severity } from '../agent/wire/finding.js';
import type { DeviceAttribute, DeviceRecord, StatsMessage } from '../agent/wire/messages.js';
import { parseTs } from '../agent/wire/time.js';

export interface RetentionOptions {
  /** Findings received longer ago than this are deleted. */
  maxAgeSeconds?: number;
  /** At most this many findings are kept (newest by arrival). */
  maxCount?: number;
}

export interface FindingQuery {
  limit?: number;
  cursor?: string;
  since?: string;
  until?: string;
  /** Minimum severity. */
  severity?: Severity;
  rule?: string;
  /** Matches device IP, MAC or name. */
  device?: string;
  agent?: string;
}

export interface AgentRow {
  name: string;
  version: string | null;
  first_seen: string;
  last_seen: string;
  last_seq: number;
  connected: boolean;
  stats: Omit<StatsMessage, 'type'> | null;
}

export interface StoredDevice extends DeviceRecord {
  agents: string[];
}

export interface BaselineRow {
  device: string;
  learned: unknown;
  approved: unknown;
  approved_by: string | null;
  approved_at: string | null;
  updated_at: string;
}

const MAX_LIMIT = 1000;
/** Attributes kept per device: beyond it the oldest-seen are evicted. */
const MAX_ATTRIBUTES = 256;

function nowIso(): string {
  return new Date().toISOString();
}

function encodeCursor(tsUs: number, seq: number): string {
  return Buffer.from(`${tsUs}:${seq}`).toString('base64url');
}

function decodeCursor(c: string): { tsUs: number; seq: number } | null {
  const m = /^(-?\d+):(\d+)$/.exec(Buffer.from(c, 'base64url').toString('utf8'));
  if (!m) return null;
  return { tsUs: Number(m[1]), seq: Number(m[2]) };
}

export class BadQueryError extends Error {}

export class Store {
  readonly db: Database.Database;
  private readonly insertFinding: Database.Statement;
  private readonly upsertAgentSeq: Database.Statement;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // FULL: an ack promises the batch survives a power cut, not only a process kill.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS findings (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        ts_us INTEGER NOT NULL,
        received_us INTEGER NOT NULL,
        rule TEXT NOT NULL,
        severity INTEGER NOT NULL,
        agent TEXT NOT NULL,
        device_ip TEXT,
        device_mac TEXT,
        device_name TEXT,
        json TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS findings_ts ON findings (ts_us, seq);
      CREATE INDEX IF NOT EXISTS findings_received ON findings (received_us);
      CREATE TABLE IF NOT EXISTS agents (
        name TEXT PRIMARY KEY,
        version TEXT,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        last_seq INTEGER NOT NULL DEFAULT 0,
        stats TEXT
      );
      CREATE TABLE IF NOT EXISTS devices (
        id TEXT PRIMARY KEY,
        json TEXT NOT NULL,
        agents TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS baselines (
        device TEXT PRIMARY KEY,
        learned TEXT,
        approved TEXT,
        approved_by TEXT,
        approved_at TEXT,
        updated_at TEXT NOT NULL
      );
    `);
    this.insertFinding = this.db.prepare(
      `INSERT OR IGNORE INTO findings (id, ts_us, received_us, rule, severity, agent, device_ip, device_mac, device_name, json)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.upsertAgentSeq = this.db.prepare(
      `INSERT INTO agents (name, first_seen, last_seen, last_seq) VALUES (?, ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET last_seen = excluded.last_seen, last_seq = excluded.last_seq`,
    );
  }

  /**
   * Stores a batch in one transaction and returns the findings that were new (duplicates by id are skipped).
   * When this returns, the transaction is committed: the caller may ack.
   */
  storeBatch(agent: string, seq: number, findings: readonly Finding[]): Finding[] {
    return this.storeBatches([{ agent, seq, findings }])[0] ?? [];
  }

  /** Several agents' batches in one transaction (group commit: one fsync for all); new findings per batch. */
  storeBatches(
    batches: ReadonlyArray<{ agent: string; seq: number; findings: readonly Finding[] }>,
  ): Finding[][] {
    const out: Finding[][] = [];
    const now = Date.now() * 1000;
    const iso = nowIso();
    const tx = this.db.transaction(() => {
      for (const b of batches) {
        const fresh: Finding[] = [];
        for (const f of b.findings) {
          const tsUs = parseTs(f.ts);
          const r = this.insertFinding.run(
            f.id,
            Number.isFinite(tsUs) ? tsUs : now,
            now,
            f.rule,
            severityRank(f.severity),
            b.agent,
            f.device.ip,
            f.device.mac ?? null,
            f.device.name ?? null,
            JSON.stringify(f),
          );
          if (r.changes > 0) fresh.push(f);
        }
        this.upsertAgentSeq.run(b.agent, iso, iso, b.seq);
        out.push(fresh);
      }
    });
    tx();
    return out;
  }

  queryFindings(q: FindingQuery): { findings: Finding[]; next: string | null } {
    const limit = Math.max(1, Math.min(MAX_LIMIT, Math.floor(q.limit ?? 100)));
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (q.cursor !== undefined) {
      const c = decodeCursor(q.cursor);
      if (!c) throw new BadQueryError('bad cursor');
      where.push('(ts_us < ? OR (ts_us = ? AND seq < ?))');
      args.push(c.tsUs, c.tsUs, c.seq);
    }
    for (const [key, op] of [
      ['since', '>='],
      ['until', '<'],
    ] as const) {
      const v = q[key];
      if (v === undefined) continue;
      const us = parseTs(v);
      if (Number.isNaN(us)) throw new BadQueryError(`bad ${key}: expected an RFC 3339 UTC time`);
      where.push(`ts_us ${op} ?`);
      args.push(us);
    }
    if (q.severity !== undefined) {
      where.push('severity >= ?');
      args.push(severityRank(q.severity));
    }
    if (q.rule !== undefined) {
      where.push('rule = ?');
      args.push(q.rule);
    }
    if (q.agent !== undefined) {
      where.push('agent = ?');
      args.push(q.agent);
    }
    if (q.device !== undefined) {
      where.push('(device_ip = ? OR device_mac = ? OR device_name = ?)');
      args.push(q.device, q.device, q.device);
    }
    const sql = `SELECT seq, ts_us, json FROM findings ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY ts_us DESC, seq DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, limit + 1) as Array<{
      seq: number;
      ts_us: number;
      json: string;
    }>;
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      findings: page.map((r) => JSON.parse(r.json) as Finding),
      next: rows.length > limit && last ? encodeCursor(last.ts_us, last.seq) : null,
    };
  }

  countFindings(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM findings').get() as { n: number }).n;
  }

  /** Every stored finding id in arrival order (tests and tooling). */
  findingIds(): string[] {
    return (this.db.prepare('SELECT id FROM findings ORDER BY seq').all() as Array<{ id: string }>).map(
      (r) => r.id,
    );
  }

  recordHello(agent: string, version: string): void {
    const iso = nowIso();
    this.db
      .prepare(
        `INSERT INTO agents (name, version, first_seen, last_seen) VALUES (?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET version = excluded.version, last_seen = excluded.last_seen`,
      )
      .run(agent, version, iso, iso);
  }

  recordStats(agent: string, stats: Omit<StatsMessage, 'type'>): void {
    const iso = nowIso();
    this.db
      .prepare(
        `INSERT INTO agents (name, first_seen, last_seen, stats) VALUES (?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET last_seen = excluded.last_seen, stats = excluded.stats`,
      )
      .run(agent, iso, iso, JSON.stringify(stats));
  }

  listAgents(connected: ReadonlySet<string>): AgentRow[] {
    const rows = this.db.prepare('SELECT * FROM agents ORDER BY name').all() as Array<{
      name: string;
      version: string | null;
      first_seen: string;
      last_seen: string;
      last_seq: number;
      stats: string | null;
    }>;
    return rows.map((r) => ({
      ...r,
      connected: connected.has(r.name),
      stats: r.stats ? (JSON.parse(r.stats) as Omit<StatsMessage, 'type'>) : null,
    }));
  }

  /** Merges an agent's device records into the inventory: union of attributes and protocols, widest seen range. */
  mergeDevices(agent: string, devices: readonly DeviceRecord[]): void {
    const get = this.db.prepare('SELECT json, agents FROM devices WHERE id = ?');
    const put = this.db.prepare('INSERT OR REPLACE INTO devices (id, json, agents) VALUES (?, ?, ?)');
    const tx = this.db.transaction(() => {
      for (const d of devices) {
        const row = get.get(d.id) as { json: string; agents: string } | undefined;
        const old = row ? (JSON.parse(row.json) as DeviceRecord) : null;
        const merged = old ? mergeDevice(old, d) : normaliseDevice(d);
        const agents = new Set<string>(row ? (JSON.parse(row.agents) as string[]) : []);
        agents.add(agent);
        put.run(d.id, JSON.stringify(merged), JSON.stringify([...agents].sort()));
      }
    });
    tx();
  }

  listDevices(limit = 10_000): StoredDevice[] {
    const rows = this.db.prepare('SELECT json, agents FROM devices ORDER BY id LIMIT ?').all(limit) as Array<{
      json: string;
      agents: string;
    }>;
    return rows.map((r) => ({
      ...(JSON.parse(r.json) as DeviceRecord),
      agents: JSON.parse(r.agents) as string[],
    }));
  }

  countDevices(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM devices').get() as { n: number }).n;
  }

  listBaselines(): BaselineRow[] {
    const rows = this.db.prepare('SELECT * FROM baselines ORDER BY device').all() as Array<
      Omit<BaselineRow, 'learned' | 'approved'> & { learned: string | null; approved: string | null }
    >;
    return rows.map((r) => ({
      ...r,
      learned: r.learned ? (JSON.parse(r.learned) as unknown) : null,
      approved: r.approved ? (JSON.parse(r.approved) as unknown) : null,
    }));
  }

  getBaseline(device: string): BaselineRow | null {
    return this.listBaselines().find((b) => b.device === device) ?? null;
  }

  putLearnedBaseline(device: string, learned: unknown): void {
    this.db
      .prepare(
        `INSERT INTO baselines (device, learned, updated_at) VALUES (?, ?, ?)
         ON CONFLICT(device) DO UPDATE SET learned = excluded.learned, updated_at = excluded.updated_at`,
      )
      .run(device, JSON.stringify(learned), nowIso());
  }

  approveBaseline(device: string, approved: unknown, by: string): void {
    const iso = nowIso();
    this.db
      .prepare(
        `INSERT INTO baselines (device, approved, approved_by, approved_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(device) DO UPDATE SET approved = excluded.approved, approved_by = excluded.approved_by,
           approved_at = excluded.approved_at, updated_at = excluded.updated_at`,
      )
      .run(device, JSON.stringify(approved), by, iso, iso);
  }

  /** Applies retention; returns how many findings were deleted. */
  applyRetention(r: RetentionOptions, nowMs = Date.now()): number {
    let n = 0;
    if (r.maxAgeSeconds !== undefined) {
      n += this.db
        .prepare('DELETE FROM findings WHERE received_us < ?')
        .run((nowMs - r.maxAgeSeconds * 1000) * 1000).changes;
    }
    if (r.maxCount !== undefined) {
      n += this.db
        .prepare(
          'DELETE FROM findings WHERE seq <= (SELECT seq FROM findings ORDER BY seq DESC LIMIT 1 OFFSET ?)',
        )
        .run(Math.max(0, Math.floor(r.maxCount))).changes;
    }
    return n;
  }

  close(): void {
    this.db.close();
  }
}

function normaliseDevice(d: DeviceRecord): DeviceRecord {
  const out: DeviceRecord = { ...d };
  if (d.attributes) out.attributes = capAttributes(d.attributes);
  return out;
}

function capAttributes(a: DeviceAttribute[]): DeviceAttribute[] {
  if (a.length <= MAX_ATTRIBUTES) return a;
  return [...a].sort((x, y) => (x.seen < y.seen ? 1 : -1)).slice(0, MAX_ATTRIBUTES);
}

function minTs(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return parseTs(a) <= parseTs(b) ? a : b;
}

function maxTs(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return parseTs(a) >= parseTs(b) ? a : b;
}

/** Newer scalar values win; attributes are keyed by (name, value, source) keeping the latest sighting. */
export function mergeDevice(old: DeviceRecord, d: DeviceRecord): DeviceRecord {
  const newer = (parseTs(d.last_seen ?? '') || 0) >= (parseTs(old.last_seen ?? '') || 0);
  const out: DeviceRecord = { ...(newer ? { ...old, ...d } : { ...d, ...old }), id: old.id };
  const first = minTs(old.first_seen, d.first_seen);
  const last = maxTs(old.last_seen, d.last_seen);
  if (first !== undefined) out.first_seen = first;
  if (last !== undefined) out.last_seen = last;
  if (old.protocols || d.protocols)
    out.protocols = [...new Set([...(old.protocols ?? []), ...(d.protocols ?? [])])].sort();
  if (old.attributes || d.attributes) {
    const m = new Map<string, DeviceAttribute>();
    for (const a of [...(old.attributes ?? []), ...(d.attributes ?? [])]) {
      const k = `${a.name}\u0000${a.value}\u0000${a.source}`;
      const prev = m.get(k);
      if (!prev || parseTs(a.seen) > parseTs(prev.seen)) m.set(k, a);
    }
    out.attributes = capAttributes([...m.values()]);
  }
  return out;
}
