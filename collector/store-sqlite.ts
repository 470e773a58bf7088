// Collector storage in SQLite (better-sqlite3, WAL): findings exactly once by (agent, id), exposures aggregated per
// (agent, device, rule, peer), agents with their last stats, devices merged across agents (capped per agent),
// baselines, retention by age and count (DESIGN.md "Agent ⇄ collector"). Schema version in PRAGMA user_version.
// Synchronous inside (one file, one process: better-sqlite3 is fastest that way); SqliteStore gives it the async
// Store interface the PostgreSQL store shares.
import Database from 'better-sqlite3';
import {
  SEVERITIES,
  findingClass,
  severityRank,
  type Finding,
  type Severity,
} from '../agent/wire/finding.js';
import { deviceProblem, type DeviceBaseline } from '../agent/wire/baseline.js';
import { ruleInfoOf, type DeviceRecord, type RuleInfo, type StatsMessage } from '../agent/wire/messages.js';
import { formatTs, parseTs } from '../agent/wire/time.js';
import { DEFAULT_LIMITS, MAX_FUTURE_US, MIN_TS_US, capFinding } from './limits.js';
import {
  BASELINE_KINDS,
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

/** Schema version this code writes (PRAGMA user_version); 0 is the first release (findings unique by id). */
export const SCHEMA_VERSION = 3;

const FINDINGS_TABLE = (name: string): string => `
  CREATE TABLE ${name} (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    ts_us INTEGER NOT NULL,
    received_us INTEGER NOT NULL,
    rule TEXT NOT NULL,
    severity INTEGER NOT NULL,
    agent TEXT NOT NULL,
    device_ip TEXT,
    device_mac TEXT,
    device_name TEXT,
    class TEXT NOT NULL DEFAULT 'alert',
    json TEXT NOT NULL,
    UNIQUE (agent, id)
  )`;

/** Version 2 (issue 10): triage status per incident, its audit trail, and the rules agents announce. */
const SCHEMA_V2 = `
  CREATE INDEX IF NOT EXISTS findings_incident ON findings (agent, incident);
  CREATE TABLE IF NOT EXISTS triage (
    agent TEXT NOT NULL,
    incident TEXT NOT NULL,
    status TEXT NOT NULL,
    by TEXT NOT NULL,
    at TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (agent, incident)
  );
  CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    by TEXT NOT NULL,
    agent TEXT NOT NULL,
    incident TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT ''
  );
  CREATE TABLE IF NOT EXISTS rules (
    id TEXT PRIMARY KEY,
    json TEXT NOT NULL,
    agents TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
`;

/**
 * Version 3 (issue 10 "Baseline review"): every version of every device's learned and approved baseline, and the
 * items reviewers rejected (kept out of approvals and not proposed again as new).
 */
const SCHEMA_V3 = `
  CREATE TABLE IF NOT EXISTS baseline_versions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    device TEXT NOT NULL,
    version INTEGER NOT NULL,
    kind TEXT NOT NULL,
    document TEXT NOT NULL,
    by TEXT NOT NULL,
    at TEXT NOT NULL,
    agent TEXT,
    UNIQUE (device, kind, version)
  );
  CREATE TABLE IF NOT EXISTS baseline_rejected (
    device TEXT NOT NULL,
    item TEXT NOT NULL,
    by TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (device, item)
  ) WITHOUT ROWID;
`;

const SCHEMA_V1 = `
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
  CREATE TABLE IF NOT EXISTS agent_devices (
    agent TEXT NOT NULL,
    device TEXT NOT NULL,
    PRIMARY KEY (agent, device)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS baselines (
    device TEXT PRIMARY KEY,
    learned TEXT,
    approved TEXT,
    approved_by TEXT,
    approved_at TEXT,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS exposures (
    agent TEXT NOT NULL,
    rule TEXT NOT NULL,
    device_ip TEXT NOT NULL,
    device_mac TEXT NOT NULL,
    peer_ip TEXT NOT NULL,
    device_name TEXT,
    severity INTEGER NOT NULL,
    first_us INTEGER NOT NULL,
    last_us INTEGER NOT NULL,
    count INTEGER NOT NULL,
    updated_us INTEGER NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (agent, rule, device_ip, device_mac, peer_ip)
  );
  CREATE INDEX IF NOT EXISTS exposures_last ON exposures (last_us);
  CREATE INDEX IF NOT EXISTS exposures_ip ON exposures (device_ip);
  CREATE INDEX IF NOT EXISTS exposures_mac ON exposures (device_mac);
`;

/** The SQLite store, synchronous: SqliteStore below is what the collector uses. */
export class SqliteDb {
  readonly db: Database.Database;
  private readonly insertFinding: Database.Statement;
  private readonly upsertAgentSeq: Database.Statement;
  private readonly upsertExposure: Database.Statement;
  private readonly putStats: Database.Statement;
  private readonly findingJson: Database.Statement;
  private readonly approvedListeners: Array<() => void> = [];
  /** Devices each agent added, cached from agent_devices. */
  private readonly deviceCounts = new Map<string, number>();

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // FULL: an ack promises the batch survives a power cut, not only a process kill.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    try {
      this.migrate();
    } catch (e) {
      this.db.close();
      throw e;
    }
    this.insertFinding = this.db.prepare(
      `INSERT OR IGNORE INTO findings (id, ts_us, received_us, rule, severity, agent, device_ip, device_mac, device_name, class, json, incident)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.upsertAgentSeq = this.db.prepare(
      `INSERT INTO agents (name, first_seen, last_seen, last_seq) VALUES (?, ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET last_seen = excluded.last_seen, last_seq = excluded.last_seq`,
    );
    // Times widen, counts add up; severity, name and the last report follow the latest sighting.
    this.upsertExposure = this.db.prepare(
      `INSERT INTO exposures (agent, rule, device_ip, device_mac, peer_ip, device_name, severity, first_us, last_us, count, updated_us, json)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (agent, rule, device_ip, device_mac, peer_ip) DO UPDATE SET
         severity = CASE WHEN excluded.last_us >= exposures.last_us THEN excluded.severity ELSE exposures.severity END,
         device_name = CASE WHEN excluded.last_us >= exposures.last_us THEN excluded.device_name ELSE exposures.device_name END,
         json = CASE WHEN excluded.last_us >= exposures.last_us THEN excluded.json ELSE exposures.json END,
         first_us = min(exposures.first_us, excluded.first_us),
         last_us = max(exposures.last_us, excluded.last_us),
         count = min(exposures.count + excluded.count, 9007199254740991),
         updated_us = excluded.updated_us`,
    );
    this.findingJson = this.db.prepare('SELECT json FROM findings WHERE agent = ? AND id = ?');
    this.putStats = this.db.prepare(
      `INSERT INTO agents (name, first_seen, last_seen, stats) VALUES (?, ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET last_seen = excluded.last_seen, stats = excluded.stats`,
    );
  }

  /**
   * Creates the schema, or brings a database of an older version up to SCHEMA_VERSION in one transaction.
   */
  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(
        `database schema version ${version} is newer than this collector understands (${SCHEMA_VERSION})`,
      );
    }
    if (version === SCHEMA_VERSION) {
      this.db.exec(SCHEMA_V1);
      this.db.exec(SCHEMA_V2);
      this.db.exec(SCHEMA_V3);
      return;
    }
    const hasFindings =
      this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'findings'").get() !==
      undefined;
    this.db.transaction(() => {
      if (version < 1) this.migrateToV1(hasFindings);
      if (version < 2) {
        // Version 2: the incident id gets a column, so incidents group and filter in SQL (their triage status is
        // kept per incident); earlier rows take it from their JSON.
        this.db.exec('ALTER TABLE findings ADD COLUMN incident TEXT');
        this.db.exec(
          `UPDATE findings SET incident = json_extract(json, '$.incident')
           WHERE class = 'alert' AND json_extract(json, '$.incident') IS NOT NULL`,
        );
        this.db.exec(SCHEMA_V2);
      }
      this.migrateToV3();
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
  }

  /**
   * Version 3: the free-form `baselines` rows become version 1 of their device, each only if it is a valid device
   * document (the old PUT took any JSON); the rest is left in the old table, which nothing reads any more.
   */
  private migrateToV3(): void {
    this.db.exec(SCHEMA_V3);
    const rows = this.db.prepare('SELECT * FROM baselines').all() as Array<{
      device: string;
      learned: string | null;
      approved: string | null;
      approved_by: string | null;
      approved_at: string | null;
      updated_at: string;
    }>;
    const put = this.db.prepare(
      'INSERT INTO baseline_versions (device, version, kind, document, by, at, agent) VALUES (?, 1, ?, ?, ?, ?, NULL)',
    );
    for (const r of rows)
      for (const kind of BASELINE_KINDS) {
        const text = r[kind];
        if (text === null) continue;
        let doc: unknown;
        try {
          doc = JSON.parse(text);
        } catch {
          continue;
        }
        if (deviceProblem(doc) !== null) continue;
        const ip = (doc as DeviceBaseline).ip;
        put.run(ip, kind, JSON.stringify(doc), r.approved_by ?? 'migration', r.approved_at ?? r.updated_at);
      }
  }

  /**
   * Version 0 (the first release) kept finding ids unique across agents: the findings table is rebuilt with
   * UNIQUE (agent, id), every row and the AUTOINCREMENT high-water mark kept; agent_devices is filled from devices.
   */
  private migrateToV1(hasFindings: boolean): void {
    if (hasFindings) {
      this.db.exec(FINDINGS_TABLE('findings_v1'));
      this.db.exec(
        `INSERT INTO findings_v1 (seq, id, ts_us, received_us, rule, severity, agent, device_ip, device_mac, device_name, class, json)
         SELECT seq, id, ts_us, received_us, rule, severity, agent, device_ip, device_mac, device_name, 'alert', json
         FROM findings`,
      );
      const hw = this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'findings'").get() as
        { seq: number } | undefined;
      this.db.exec('DROP TABLE findings; ALTER TABLE findings_v1 RENAME TO findings;');
      // Version 0 stored evidence of any size (issue 11: 15 MiB rows made /api/findings fail): cap them now.
      const big = this.db
        .prepare('SELECT seq, json FROM findings WHERE length(json) > ?')
        .all(DEFAULT_LIMITS.maxEvidenceBytes) as Array<{ seq: number; json: string }>;
      const put = this.db.prepare('UPDATE findings SET json = ? WHERE seq = ?');
      for (const r of big) {
        const c = capFinding(JSON.parse(r.json) as Finding, DEFAULT_LIMITS);
        if (c.cut.length > 0) put.run(JSON.stringify(c.finding), r.seq);
      }
      if (hw)
        this.db.prepare("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'findings'").run(hw.seq);
    } else {
      this.db.exec(FINDINGS_TABLE('findings'));
    }
    this.db.exec(SCHEMA_V1);
    this.db.exec(
      `INSERT OR IGNORE INTO agent_devices (agent, device)
       SELECT j.value, d.id FROM devices d, json_each(d.agents) j`,
    );
  }

  /**
   * Stores a batch in one transaction and returns the findings that were new (duplicates by (agent, id) are
   * skipped). When this returns, the transaction is committed: the caller may ack.
   */
  storeBatch(agent: string, seq: number, findings: readonly Finding[]): Finding[] {
    return this.storeBatches([{ agent, seq, findings }])[0] ?? [];
  }

  /**
   * Several agents' batches in one transaction (group commit: one fsync for all); new findings per batch.
   * Findings are keyed by (agent, id) with `agent` the batch's (authenticated) agent, so no agent can shadow
   * another's ids. The caller has checked and capped each finding; serializing happens before the transaction.
   */
  storeBatches(
    batches: ReadonlyArray<{ agent: string; seq: number; findings: readonly Finding[] }>,
  ): Finding[][] {
    const out: Finding[][] = [];
    const now = Date.now() * 1000;
    const iso = nowIso();
    const rows = batches.map((b) => b.findings.map((f) => JSON.stringify(f)));
    const tx = this.db.transaction(() => {
      for (const [bi, b] of batches.entries()) {
        const fresh: Finding[] = [];
        for (const [fi, f] of b.findings.entries()) {
          const tsUs = parseTs(f.ts);
          const cls = findingClass(f);
          const json = rows[bi]?.[fi] ?? JSON.stringify(f);
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
            cls,
            json,
            cls === 'alert' ? (f.incident ?? null) : null,
          );
          if (r.changes === 0) continue;
          fresh.push(f);
          if (cls === 'alert') this.reopenIfResolved(b.agent, f, iso);
          if (cls === 'exposure') this.addExposure(b.agent, f, Number.isFinite(tsUs) ? tsUs : now, now, json);
        }
        this.upsertAgentSeq.run(b.agent, iso, iso, b.seq);
        out.push(fresh);
      }
    });
    tx();
    return out;
  }

  /**
   * A new alert in an incident someone resolved means the activity went on: the incident is open again, audited as
   * done by "wardwatch". A closing summary restates the incident (not new activity) and a false-positive verdict
   * stands: neither reopens.
   */
  private reopenIfResolved(agent: string, f: Finding, iso: string): void {
    if (f.evidence.incident_rules !== undefined) return;
    const incident = f.incident ?? f.id;
    const t = this.db
      .prepare('SELECT status FROM triage WHERE agent = ? AND incident = ?')
      .get(agent, incident) as { status: TriageStatus } | undefined;
    if (t?.status !== 'resolved') return;
    const comment = `new alert ${f.id} (${f.rule}) after it was resolved`;
    this.db
      .prepare('UPDATE triage SET status = ?, by = ?, at = ?, comment = ? WHERE agent = ? AND incident = ?')
      .run('open', 'wardwatch', iso, comment, agent, incident);
    this.db
      .prepare(
        'INSERT INTO audit (at, by, agent, incident, from_status, to_status, comment) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(iso, 'wardwatch', agent, incident, 'resolved', 'open', comment);
  }

  /** Folds one newly stored exposure finding into its exposure. */
  private addExposure(agent: string, f: Finding, tsUs: number, nowUs: number, json: string): void {
    // Evidence times outside the plausible range fall back to the finding's own time.
    const at = (k: string): number => {
      const v = f.evidence[k];
      const us = typeof v === 'string' ? parseTs(v) : Number.NaN;
      return Number.isFinite(us) && us >= MIN_TS_US && us <= nowUs + MAX_FUTURE_US ? us : tsUs;
    };
    const first = at('first_seen');
    const last = Math.max(first, at('last_seen'));
    // The engine's summary of a window (evidence.repeat_of = the window's first report) counts the whole window,
    // the first report included: only what came after that report is added.
    let count = f.count ?? 1;
    const of = f.evidence.repeat_of;
    if (typeof of === 'string') {
      const row = this.findingJson.get(agent, of) as { json: string } | undefined;
      if (row) count = Math.max(0, count - ((JSON.parse(row.json) as Finding).count ?? 1));
    }
    this.upsertExposure.run(
      agent,
      f.rule,
      f.device.ip,
      f.device.mac ?? '',
      // An exposure is the device's (the engine keys it by device and rule): whichever peer showed it in a given
      // hour must not split it into several rows.
      '',
      f.device.name ?? null,
      severityRank(f.severity),
      first,
      last,
      count,
      nowUs,
      json,
    );
  }

  queryFindings(q: FindingQuery): { findings: Finding[]; next: string | null } {
    const limit = pageLimit(q.limit);
    const where: string[] = [];
    const args: Array<string | number> = [];
    addCursor(q.cursor, 'ts_us', 'seq', where, args);
    addFindingFilters(q, '', where, args);
    if (q.host !== undefined) {
      where.push(
        "(device_ip = ? OR device_mac = ? OR device_name = ? OR json_extract(json, '$.peer.ip') = ?)",
      );
      args.push(q.host, q.host, q.host, q.host);
    }
    const cls = q.class ?? 'all';
    if (cls !== 'all') {
      where.push('class = ?');
      args.push(cls);
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

  /** Exposures newest sighting first, filtered and paged like findings. */
  queryExposures(q: ExposureQuery): { exposures: Exposure[]; next: string | null } {
    const limit = pageLimit(q.limit);
    const where: string[] = [];
    const args: Array<string | number> = [];
    addCursor(q.cursor, 'last_us', 'rowid', where, args);
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
    const sql = `SELECT rowid, * FROM exposures ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY last_us DESC, rowid DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, limit + 1) as ExposureRow[];
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      exposures: page.map(toExposure),
      next: rows.length > limit && last ? encodeCursor(last.last_us, last.rowid) : null,
    };
  }

  /** Exposures stored, by severity (every severity present, 0 when none). */
  exposureCounts(): Record<Severity, number> {
    const out = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
    const rows = this.db
      .prepare('SELECT severity, COUNT(*) AS n FROM exposures GROUP BY severity')
      .all() as Array<{
      severity: number;
      n: number;
    }>;
    for (const r of rows) {
      const sev = SEVERITIES[r.severity];
      if (sev !== undefined) out[sev] = r.n;
    }
    return out;
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
    this.flushPending(new Map([[agent, stats]]), new Map(), Number.POSITIVE_INFINITY);
  }

  /**
   * Writes the latest stats of each agent and merges pending device records, all in one transaction (one fsync
   * for everything that arrived since the last flush). Returns the device merge outcome per agent.
   */
  flushPending(
    stats: ReadonlyMap<string, Omit<StatsMessage, 'type'>>,
    devices: ReadonlyMap<string, readonly DeviceRecord[]>,
    maxDevicesPerAgent: number,
  ): Map<string, DeviceMergeResult> {
    const out = new Map<string, DeviceMergeResult>();
    const iso = nowIso();
    try {
      this.db.transaction(() => {
        for (const [agent, s] of stats) this.putStats.run(agent, iso, iso, JSON.stringify(s));
        for (const [agent, d] of devices) out.set(agent, this.mergeDevicesIn(agent, d, maxDevicesPerAgent));
      })();
    } catch (e) {
      this.deviceCounts.clear();
      throw e;
    }
    return out;
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

  /**
   * Merges an agent's device records into the inventory: union of attributes and protocols, widest seen range.
   * Records accumulate across messages (a device absent from a later message is kept), so an agent may send its
   * inventory in several chunks. An agent adds at most `maxPerAgent` devices; further new ones are refused.
   */
  mergeDevices(
    agent: string,
    devices: readonly DeviceRecord[],
    maxPerAgent = Number.POSITIVE_INFINITY,
  ): DeviceMergeResult {
    return this.db.transaction(() => this.mergeDevicesIn(agent, devices, maxPerAgent))();
  }

  /** Devices an agent has added to the inventory. */
  agentDeviceCount(agent: string): number {
    let n = this.deviceCounts.get(agent);
    if (n === undefined) {
      n = (
        this.db.prepare('SELECT COUNT(*) AS n FROM agent_devices WHERE agent = ?').get(agent) as { n: number }
      ).n;
      this.deviceCounts.set(agent, n);
    }
    return n;
  }

  private mergeDevicesIn(
    agent: string,
    devices: readonly DeviceRecord[],
    maxPerAgent: number,
  ): DeviceMergeResult {
    const get = this.db.prepare('SELECT json, agents FROM devices WHERE id = ?');
    const put = this.db.prepare('INSERT OR REPLACE INTO devices (id, json, agents) VALUES (?, ?, ?)');
    const known = this.db.prepare('SELECT 1 FROM agent_devices WHERE agent = ? AND device = ?');
    const link = this.db.prepare('INSERT INTO agent_devices (agent, device) VALUES (?, ?)');
    let count = this.agentDeviceCount(agent);
    const r: DeviceMergeResult = { merged: 0, refused: 0 };
    try {
      for (const d of devices) {
        if (known.get(agent, d.id) === undefined) {
          if (count >= maxPerAgent) {
            r.refused++;
            continue;
          }
          link.run(agent, d.id);
          count++;
        }
        const row = get.get(d.id) as { json: string; agents: string } | undefined;
        const old = row ? (JSON.parse(row.json) as DeviceRecord) : null;
        const merged = old ? mergeDevice(old, d) : normaliseDevice(d);
        const agents = new Set<string>(row ? (JSON.parse(row.agents) as string[]) : []);
        agents.add(agent);
        put.run(d.id, JSON.stringify(merged), JSON.stringify([...agents].sort()));
        r.merged++;
      }
    } finally {
      // A rolled-back transaction leaves the cache wrong: read the count again next time.
      this.deviceCounts.delete(agent);
    }
    this.deviceCounts.set(agent, count);
    return r;
  }

  /** Devices by id, each with its exposures (matched by IP or MAC, newest first, at most MAX_DEVICE_EXPOSURES). */
  listDevices(limit = 10_000): StoredDevice[] {
    return this.devicesWhere('', [], limit);
  }

  private devicesWhere(where: string, args: string[], limit: number): StoredDevice[] {
    const rows = this.db
      .prepare(`SELECT json, agents FROM devices ${where} ORDER BY id LIMIT ?`)
      .all(...args, limit) as Array<{
      json: string;
      agents: string;
    }>;
    const byDevice = this.db.prepare(
      `SELECT rowid, * FROM exposures WHERE device_ip = ? OR (device_mac = ? AND device_mac != '')
       ORDER BY last_us DESC, rowid DESC LIMIT ?`,
    );
    const anyExposure = this.db.prepare('SELECT 1 FROM exposures LIMIT 1').get() !== undefined;
    return rows.map((r) => {
      const d: StoredDevice = {
        ...(JSON.parse(r.json) as DeviceRecord),
        agents: JSON.parse(r.agents) as string[],
      };
      if (anyExposure) {
        const ex = byDevice.all(d.ip ?? d.id, d.mac ?? d.id, MAX_DEVICE_EXPOSURES + 1) as ExposureRow[];
        d.exposures = ex.slice(0, MAX_DEVICE_EXPOSURES).map(toExposure);
        if (ex.length > MAX_DEVICE_EXPOSURES) d.exposures_truncated = true;
      } else {
        d.exposures = [];
      }
      return d;
    });
  }

  /** Rules an agent announced in its hello: the latest announcement of a rule id wins, its agents accumulate. */
  putRules(agent: string, rules: readonly RuleInfo[]): void {
    const get = this.db.prepare('SELECT agents FROM rules WHERE id = ?');
    const put = this.db.prepare(
      'INSERT OR REPLACE INTO rules (id, json, agents, updated_at) VALUES (?, ?, ?, ?)',
    );
    const iso = nowIso();
    this.db.transaction(() => {
      for (const r of rules) {
        const row = get.get(r.id) as { agents: string } | undefined;
        const agents = new Set<string>(row ? (JSON.parse(row.agents) as string[]) : []);
        agents.add(agent);
        const info: RuleInfo = ruleInfoOf(r);
        put.run(r.id, JSON.stringify(info), JSON.stringify([...agents].sort()), iso);
      }
    })();
  }

  listRules(): StoredRule[] {
    const rows = this.db.prepare('SELECT * FROM rules ORDER BY id').all() as Array<{
      json: string;
      agents: string;
      updated_at: string;
    }>;
    return rows.map((r) => ({
      ...(JSON.parse(r.json) as RuleInfo),
      agents: JSON.parse(r.agents) as string[],
      updated_at: r.updated_at,
    }));
  }

  getRule(id: string): StoredRule | null {
    return this.listRules().find((r) => r.id === id) ?? null;
  }

  /**
   * The (rule, severity, agent) series the alert counters must show from the start: every rule an agent announced
   * (with its severity) and every combination of the alerts stored, so a restarted collector exposes them at 0.
   */
  alertSeries(): Array<{ rule: string; severity: Severity; agent: string }> {
    const out = new Map<string, { rule: string; severity: Severity; agent: string }>();
    const add = (rule: string, severity: Severity, agent: string): void => {
      out.set(`${rule}\u0000${severity}\u0000${agent}`, { rule, severity, agent });
    };
    for (const r of this.listRules())
      if ((r.class ?? 'alert') === 'alert') for (const a of r.agents) add(r.id, r.severity, a);
    const rows = this.db
      .prepare("SELECT DISTINCT rule, severity, agent FROM findings WHERE class = 'alert'")
      .all() as Array<{ rule: string; severity: number; agent: string }>;
    for (const r of rows) {
      const sev = SEVERITIES[r.severity];
      if (sev !== undefined) add(r.rule, sev, r.agent);
    }
    return [...out.values()];
  }

  /** Findings with this id (one per agent that produced it), or only the given agent's. */
  getFindings(id: string, agent?: string): Finding[] {
    const rows = (
      agent === undefined
        ? this.db.prepare('SELECT json FROM findings WHERE id = ? ORDER BY agent').all(id)
        : this.db.prepare('SELECT json FROM findings WHERE id = ? AND agent = ?').all(id, agent)
    ) as Array<{ json: string }>;
    return rows.map((r) => JSON.parse(r.json) as Finding);
  }

  /** Every alert of an incident, oldest first: the opener, its updates and a closing summary. */
  incidentFindings(agent: string, incident: string): Finding[] {
    const rows = this.db
      .prepare(
        `SELECT json FROM findings WHERE agent = ? AND class = 'alert' AND coalesce(incident, id) = ?
         ORDER BY ts_us, seq LIMIT ?`,
      )
      .all(agent, incident, MAX_LIMIT) as Array<{ json: string }>;
    return rows.map((r) => JSON.parse(r.json) as Finding);
  }

  triageOf(agent: string, incident: string): TriageState {
    const t = this.db
      .prepare('SELECT * FROM triage WHERE agent = ? AND incident = ?')
      .get(agent, incident) as { status: TriageStatus; by: string; at: string; comment: string } | undefined;
    return t
      ? { status: t.status, by: t.by, at: t.at, comment: t.comment }
      : { status: 'open', by: null, at: null, comment: '' };
  }

  /** The incident key of an alert (its own id when it opened one or belongs to none); null for unknown or exposures. */
  incidentOf(agent: string, id: string): string | null {
    const r = this.db
      .prepare(
        "SELECT coalesce(incident, id) AS k FROM findings WHERE agent = ? AND id = ? AND class = 'alert'",
      )
      .get(agent, id) as { k: string } | undefined;
    return r?.k ?? null;
  }

  /**
   * Moves the incidents of the given alerts to `to`, in one transaction: all or nothing. Each change is audited
   * (who, when, from, to, comment); an incident already in `to` is left alone. Throws TransitionError naming the
   * first move the workflow does not allow, BadQueryError for an alert that is not stored.
   */
  setStatus(
    items: ReadonlyArray<{ agent: string; id: string }>,
    to: TriageStatus,
    by: string,
    comment: string,
  ): { changed: Array<{ agent: string; incident: string; from: TriageStatus }>; unchanged: number } {
    const put = this.db.prepare(
      `INSERT INTO triage (agent, incident, status, by, at, comment) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (agent, incident) DO UPDATE SET status = excluded.status, by = excluded.by, at = excluded.at,
         comment = excluded.comment`,
    );
    const audit = this.db.prepare(
      'INSERT INTO audit (at, by, agent, incident, from_status, to_status, comment) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    return this.db.transaction(() => {
      const iso = nowIso();
      const seen = new Set<string>();
      const changed: Array<{ agent: string; incident: string; from: TriageStatus }> = [];
      let unchanged = 0;
      for (const it of items) {
        const incident = this.incidentOf(it.agent, it.id);
        if (incident === null) throw new BadQueryError(`no alert ${it.id} of agent ${it.agent}`);
        const key = `${it.agent}\u0000${incident}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const from = this.triageOf(it.agent, incident).status;
        if (from === to) {
          unchanged++;
          continue;
        }
        if (!TRANSITIONS[from].includes(to))
          throw new TransitionError(
            `incident ${incident} of agent ${it.agent} is ${from}: cannot move to ${to}`,
          );
        put.run(it.agent, incident, to, by, iso, comment);
        audit.run(iso, by, it.agent, incident, from, to, comment);
        changed.push({ agent: it.agent, incident, from });
      }
      return { changed, unchanged };
    })();
  }

  /** Status changes, newest first; `before` pages (the seq of the last entry seen). */
  listAudit(q: { limit?: number; before?: number; agent?: string; incident?: string }): {
    audit: AuditEntry[];
    next: number | null;
  } {
    const limit = pageLimit(q.limit);
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (q.before !== undefined) {
      where.push('seq < ?');
      args.push(q.before);
    }
    if (q.agent !== undefined) {
      where.push('agent = ?');
      args.push(q.agent);
    }
    if (q.incident !== undefined) {
      where.push('incident = ?');
      args.push(q.incident);
    }
    const rows = this.db
      .prepare(
        `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`,
      )
      .all(...args, limit + 1) as Array<{
      seq: number;
      at: string;
      by: string;
      agent: string;
      incident: string;
      from_status: TriageStatus;
      to_status: TriageStatus;
      comment: string;
    }>;
    const page = rows.slice(0, limit);
    return {
      audit: page.map((r) => ({
        seq: r.seq,
        at: r.at,
        by: r.by,
        agent: r.agent,
        incident: r.incident,
        from: r.from_status,
        to: r.to_status,
        comment: r.comment,
      })),
      next: rows.length > limit ? (page[page.length - 1]?.seq ?? null) : null,
    };
  }

  /** Incidents (alerts grouped by their incident; a lone alert is its own), filtered, sorted and paged by offset. */
  queryIncidents(q: IncidentQuery): { incidents: IncidentRow[]; total: number } {
    const limit = pageLimit(q.limit, 50);
    const offset = Math.max(0, Math.floor(q.offset ?? 0));
    const where: string[] = ["f.class = 'alert'"];
    const args: Array<string | number> = [];
    addFindingFilters(q, 'f.', where, args);
    if (q.zone !== undefined) {
      where.push(
        `(json_extract(f.json, '$.evidence."src.zone"') = ? OR json_extract(f.json, '$.evidence."dst.zone"') = ?
          OR json_extract(f.json, '$.evidence.zone') = ?)`,
      );
      args.push(q.zone, q.zone, q.zone);
    }
    if (q.q !== undefined && q.q !== '') {
      const like = `%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      where.push("(f.rule LIKE ? ESCAPE '\\' OR json_extract(f.json, '$.title') LIKE ? ESCAPE '\\')");
      args.push(like, like);
    }
    if (q.status !== undefined && q.status.length > 0) {
      where.push(`coalesce(t.status, 'open') IN (${q.status.map(() => '?').join(', ')})`);
      args.push(...q.status);
    }
    const grouped = `
      SELECT f.agent AS agent, coalesce(f.incident, f.id) AS inc, max(f.severity) AS sev, count(*) AS n,
        sum(CASE WHEN json_extract(f.json, '$.evidence.incident_rules') IS NULL THEN coalesce(json_extract(f.json, '$.count'), 1) ELSE 0 END) AS occ, min(f.ts_us) AS first_us, max(f.ts_us) AS last_us,
        group_concat(DISTINCT f.rule) AS rules, max(f.seq) AS last_seq
      FROM findings f LEFT JOIN triage t ON t.agent = f.agent AND t.incident = coalesce(f.incident, f.id)
      WHERE ${where.join(' AND ')}
      GROUP BY f.agent, inc`;
    const dir = q.order === 'asc' ? 'ASC' : 'DESC';
    const order = {
      time: `last_us ${dir}, last_seq ${dir}`,
      severity: `sev ${dir}, last_us DESC, last_seq DESC`,
      rule: `rules ${dir}, last_us DESC, last_seq DESC`,
      findings: `n ${dir}, last_us DESC, last_seq DESC`,
    }[q.sort ?? 'time'];
    const total = (this.db.prepare(`SELECT count(*) AS n FROM (${grouped})`).get(...args) as { n: number }).n;
    const rows = this.db
      .prepare(`${grouped} ORDER BY ${order} LIMIT ? OFFSET ?`)
      .all(...args, limit, offset) as Array<{
      agent: string;
      inc: string;
      sev: number;
      n: number;
      occ: number;
      first_us: number;
      last_us: number;
      rules: string;
      last_seq: number;
    }>;
    const opener = this.db.prepare(
      "SELECT json FROM findings WHERE agent = ? AND id = ? AND class = 'alert'",
    );
    const bySeq = this.db.prepare('SELECT json FROM findings WHERE seq = ?');
    const incidents = rows.map((r): IncidentRow => {
      const o = (opener.get(r.agent, r.inc) ?? bySeq.get(r.last_seq)) as { json: string };
      const t = this.triageOf(r.agent, r.inc);
      return {
        agent: r.agent,
        incident: r.inc,
        opener: JSON.parse(o.json) as Finding,
        severity: SEVERITIES[r.sev] ?? 'info',
        findings: r.n,
        occurrences: r.occ,
        first_seen: formatTs(r.first_us),
        last_seen: formatTs(r.last_us),
        rules: r.rules.split(',').sort(),
        status: t.status,
        status_by: t.by,
        status_at: t.at,
        comment: t.comment,
      };
    });
    return { incidents, total };
  }

  /**
   * Incidents not resolved and not false-positive (`open`), and of those the ones nobody acknowledged
   * (`unacknowledged`), by the incident's highest severity; every severity present.
   */
  alertCounts(): { open: Record<Severity, number>; unacknowledged: Record<Severity, number> } {
    const zero = (): Record<Severity, number> =>
      Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
    const open = zero();
    const unack = zero();
    const rows = this.db
      .prepare(
        `SELECT sev, status, count(*) AS n FROM (
           SELECT max(f.severity) AS sev, coalesce(t.status, 'open') AS status
           FROM findings f LEFT JOIN triage t ON t.agent = f.agent AND t.incident = coalesce(f.incident, f.id)
           WHERE f.class = 'alert' GROUP BY f.agent, coalesce(f.incident, f.id))
         WHERE status IN ('open', 'acknowledged') GROUP BY sev, status`,
      )
      .all() as Array<{ sev: number; status: TriageStatus; n: number }>;
    for (const r of rows) {
      const sev = SEVERITIES[r.sev];
      if (sev === undefined) continue;
      open[sev] += r.n;
      if (r.status === 'open') unack[sev] += r.n;
    }
    return { open, unacknowledged: unack };
  }

  /** One device by its id, IP or MAC, with its exposures; null when unknown. */
  getDevice(key: string): StoredDevice | null {
    const row = this.db
      .prepare(
        `SELECT id FROM devices WHERE id = ? OR json_extract(json, '$.ip') = ? OR json_extract(json, '$.mac') = ?
         ORDER BY (id = ?) DESC LIMIT 1`,
      )
      .get(key, key, key, key) as { id: string } | undefined;
    if (!row) return null;
    return this.devicesWhere('WHERE id = ?', [row.id], 1)[0] ?? null;
  }

  countDevices(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM devices').get() as { n: number }).n;
  }

  /** Every device with a baseline version, learned or approved, by address. */
  listBaselines(): BaselineRow[] {
    const devices = this.db
      .prepare('SELECT DISTINCT device FROM baseline_versions ORDER BY device')
      .all() as Array<{ device: string }>;
    return devices.map((d) => this.getBaseline(d.device)).filter((r): r is BaselineRow => r !== null);
  }

  getBaseline(device: string): BaselineRow | null {
    const learned = this.latestBaseline(device, 'learned');
    const approved = this.latestBaseline(device, 'approved');
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
  ): (BaselineVersion & { document: DeviceBaseline; text: string }) | null {
    const r = this.db
      .prepare('SELECT * FROM baseline_versions WHERE device = ? AND kind = ? ORDER BY version DESC LIMIT 1')
      .get(device, kind) as
      | {
          device: string;
          version: number;
          kind: BaselineKind;
          document: string;
          by: string;
          at: string;
          agent: string | null;
        }
      | undefined;
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

  /** Versions of a device's baselines, newest first (without their documents). */
  baselineVersions(device: string, limit = 100): BaselineVersion[] {
    return this.db
      .prepare(
        'SELECT device, version, kind, by, at, agent FROM baseline_versions WHERE device = ? ORDER BY seq DESC LIMIT ?',
      )
      .all(device, limit) as BaselineVersion[];
  }

  /**
   * Stores `doc` as the next version of the device's `kind` baseline, unless it is the same as the latest one (an
   * agent uploads what it learned every 5 minutes: an unchanged device makes no version). Returns the version and
   * whether it is new.
   */
  putBaselineVersion(
    device: string,
    kind: BaselineKind,
    doc: DeviceBaseline,
    by: string,
    agent: string | null,
  ): { version: number; created: boolean } {
    const text = JSON.stringify(doc);
    return this.db.transaction(() => {
      const last = this.latestBaseline(device, kind);
      if (last && last.text === text) return { version: last.version, created: false };
      const version = (last?.version ?? 0) + 1;
      this.db
        .prepare(
          'INSERT INTO baseline_versions (device, version, kind, document, by, at, agent) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(device, version, kind, text, by, nowIso(), agent);
      if (kind === 'approved') for (const l of this.approvedListeners) queueMicrotask(l);
      return { version, created: true };
    })();
  }

  /** An agent's learned upload in one transaction: how many devices got a new version. */
  putLearnedBaselines(agent: string, devices: readonly DeviceBaseline[]): number {
    let created = 0;
    this.db.transaction(() => {
      for (const d of devices)
        if (this.putBaselineVersion(d.ip, 'learned', d, agent, agent).created) created++;
    })();
    return created;
  }

  /** Called after each new approved version (the ingest pushes the approved set to every agent). */
  onApproved(listener: () => void): void {
    this.approvedListeners.push(listener);
  }

  /** Ids of the review items reviewers rejected for the device. */
  rejectedItems(device: string): Set<string> {
    const rows = this.db.prepare('SELECT item FROM baseline_rejected WHERE device = ?').all(device) as Array<{
      item: string;
    }>;
    return new Set(rows.map((r) => r.item));
  }

  /** Remembers rejected items; an approval of one of them later takes it back out of this list. */
  setRejected(device: string, items: readonly string[], rejected: boolean, by: string): void {
    const add = this.db.prepare(
      'INSERT OR REPLACE INTO baseline_rejected (device, item, by, at) VALUES (?, ?, ?, ?)',
    );
    const del = this.db.prepare('DELETE FROM baseline_rejected WHERE device = ? AND item = ?');
    const iso = nowIso();
    this.db.transaction(() => {
      for (const it of items) {
        if (rejected) add.run(device, it, by, iso);
        else del.run(device, it);
      }
    })();
  }

  /** One audit entry per reviewed item (incident `baseline:DEVICE`, comment: the item and the reviewer's note). */
  auditBaseline(
    device: string,
    by: string,
    to: BaselineAction,
    items: readonly string[],
    comment: string,
  ): void {
    const put = this.db.prepare(
      'INSERT INTO audit (at, by, agent, incident, from_status, to_status, comment) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const iso = nowIso();
    this.db.transaction(() => {
      for (const it of items)
        put.run(iso, by, '', `baseline:${device}`, 'learned', to, comment ? `${it}: ${comment}` : it);
    })();
  }

  /**
   * Every device's latest approved baseline, and the version of the whole set (the highest version row): what
   * agents enforce. The version grows with every approval, so an agent can tell a newer set from the one it holds.
   */
  approvedSet(): { version: number; devices: DeviceBaseline[] } {
    const rows = this.db
      .prepare(
        `SELECT v.seq, v.document FROM baseline_versions v
         JOIN (SELECT device, max(version) AS version FROM baseline_versions WHERE kind = 'approved' GROUP BY device) m
           ON v.device = m.device AND v.version = m.version AND v.kind = 'approved'
         ORDER BY v.device`,
      )
      .all() as Array<{ seq: number; document: string }>;
    return {
      version: rows.reduce((m, r) => Math.max(m, r.seq), 0),
      devices: rows.map((r) => JSON.parse(r.document) as DeviceBaseline),
    };
  }

  /** Applies retention; returns how many findings were deleted. */
  applyRetention(r: RetentionOptions, nowMs = Date.now()): number {
    let n = 0;
    if (r.maxAgeSeconds !== undefined) {
      n += this.db
        .prepare('DELETE FROM findings WHERE received_us < ?')
        .run((nowMs - r.maxAgeSeconds * 1000) * 1000).changes;
      // An exposure not reported again within the retention period is closed: it goes too.
      this.db
        .prepare('DELETE FROM exposures WHERE updated_us < ?')
        .run((nowMs - r.maxAgeSeconds * 1000) * 1000);
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

  /**
   * The daily archive (collector/archive.ts): findings received in [fromUs, toUs) by arrival, a page after
   * `after` (the last row of the previous page), so the archive never holds the connection busy between pages.
   */
  findingsReceived(
    fromUs: number,
    toUs: number,
    after: { receivedUs: number; seq: number } | null,
    limit: number,
  ): { receivedUs: number; seq: number; json: string }[] {
    const a = after ?? { receivedUs: fromUs, seq: -1 };
    return this.db
      .prepare(
        `SELECT received_us AS receivedUs, seq, json FROM findings
         WHERE received_us >= ? AND received_us < ? AND (received_us, seq) > (?, ?)
         ORDER BY received_us, seq LIMIT ?`,
      )
      .all(fromUs, toUs, a.receivedUs, a.seq, limit) as { receivedUs: number; seq: number; json: string }[];
  }

  /** The daily archive: the earliest arrival stored (µs, null when empty) and how many arrived at or after `sinceUs`. */
  receivedSpan(sinceUs: number): { oldestUs: number | null; since: number } {
    const r = this.db
      .prepare(
        'SELECT (SELECT MIN(received_us) FROM findings) AS oldestUs, (SELECT COUNT(*) FROM findings WHERE received_us >= ?) AS since',
      )
      .get(sinceUs) as { oldestUs: number | null; since: number };
    return r;
  }
}

/**
 * The SQLite store behind the async Store interface: each call runs synchronously and returns a settled promise
 * (a throw becomes a rejection), so the ingest keeps SQLite's speed and its callers one code path for both stores.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly sync: SqliteDb;

  constructor(file: string) {
    this.sync = new SqliteDb(file);
  }

  /** The better-sqlite3 handle (SQLite-only tests and tooling). */
  get db(): Database.Database {
    return this.sync.db;
  }

  async storeBatch(agent: string, seq: number, findings: readonly Finding[]): Promise<Finding[]> {
    return this.sync.storeBatch(agent, seq, findings);
  }
  async storeBatches(batches: readonly StoreBatch[]): Promise<Finding[][]> {
    return this.sync.storeBatches(batches);
  }
  async queryFindings(q: FindingQuery): Promise<{ findings: Finding[]; next: string | null }> {
    return this.sync.queryFindings(q);
  }
  async queryExposures(q: ExposureQuery): Promise<{ exposures: Exposure[]; next: string | null }> {
    return this.sync.queryExposures(q);
  }
  async exposureCounts(): Promise<Record<Severity, number>> {
    return this.sync.exposureCounts();
  }
  async countFindings(): Promise<number> {
    return this.sync.countFindings();
  }
  async findingIds(): Promise<string[]> {
    return this.sync.findingIds();
  }
  async recordHello(agent: string, version: string): Promise<void> {
    this.sync.recordHello(agent, version);
  }
  async recordStats(agent: string, stats: Omit<StatsMessage, 'type'>): Promise<void> {
    this.sync.recordStats(agent, stats);
  }
  async flushPending(
    stats: ReadonlyMap<string, Omit<StatsMessage, 'type'>>,
    devices: ReadonlyMap<string, readonly DeviceRecord[]>,
    maxDevicesPerAgent: number,
  ): Promise<Map<string, DeviceMergeResult>> {
    return this.sync.flushPending(stats, devices, maxDevicesPerAgent);
  }
  async listAgents(connected: ReadonlySet<string>): Promise<AgentRow[]> {
    return this.sync.listAgents(connected);
  }
  async mergeDevices(
    agent: string,
    devices: readonly DeviceRecord[],
    maxPerAgent?: number,
  ): Promise<DeviceMergeResult> {
    return this.sync.mergeDevices(agent, devices, maxPerAgent);
  }
  async agentDeviceCount(agent: string): Promise<number> {
    return this.sync.agentDeviceCount(agent);
  }
  async listDevices(limit?: number): Promise<StoredDevice[]> {
    return this.sync.listDevices(limit);
  }
  async getDevice(key: string): Promise<StoredDevice | null> {
    return this.sync.getDevice(key);
  }
  async countDevices(): Promise<number> {
    return this.sync.countDevices();
  }
  async putRules(agent: string, rules: readonly RuleInfo[]): Promise<void> {
    this.sync.putRules(agent, rules);
  }
  async listRules(): Promise<StoredRule[]> {
    return this.sync.listRules();
  }
  async getRule(id: string): Promise<StoredRule | null> {
    return this.sync.getRule(id);
  }
  async alertSeries(): Promise<Array<{ rule: string; severity: Severity; agent: string }>> {
    return this.sync.alertSeries();
  }
  async getFindings(id: string, agent?: string): Promise<Finding[]> {
    return this.sync.getFindings(id, agent);
  }
  async incidentFindings(agent: string, incident: string): Promise<Finding[]> {
    return this.sync.incidentFindings(agent, incident);
  }
  async triageOf(agent: string, incident: string): Promise<TriageState> {
    return this.sync.triageOf(agent, incident);
  }
  async incidentOf(agent: string, id: string): Promise<string | null> {
    return this.sync.incidentOf(agent, id);
  }
  async setStatus(
    items: ReadonlyArray<{ agent: string; id: string }>,
    to: TriageStatus,
    by: string,
    comment: string,
  ): Promise<{ changed: Array<{ agent: string; incident: string; from: TriageStatus }>; unchanged: number }> {
    return this.sync.setStatus(items, to, by, comment);
  }
  async listAudit(q: {
    limit?: number;
    before?: number;
    agent?: string;
    incident?: string;
  }): Promise<{ audit: AuditEntry[]; next: number | null }> {
    return this.sync.listAudit(q);
  }
  async queryIncidents(q: IncidentQuery): Promise<{ incidents: IncidentRow[]; total: number }> {
    return this.sync.queryIncidents(q);
  }
  async alertCounts(): Promise<{ open: Record<Severity, number>; unacknowledged: Record<Severity, number> }> {
    return this.sync.alertCounts();
  }
  async listBaselines(): Promise<BaselineRow[]> {
    return this.sync.listBaselines();
  }
  async getBaseline(device: string): Promise<BaselineRow | null> {
    return this.sync.getBaseline(device);
  }
  async latestBaseline(
    device: string,
    kind: BaselineKind,
  ): Promise<(BaselineVersion & { document: DeviceBaseline; text: string }) | null> {
    return this.sync.latestBaseline(device, kind);
  }
  async baselineVersions(device: string, limit?: number): Promise<BaselineVersion[]> {
    return this.sync.baselineVersions(device, limit);
  }
  async putBaselineVersion(
    device: string,
    kind: BaselineKind,
    doc: DeviceBaseline,
    by: string,
    agent: string | null,
  ): Promise<{ version: number; created: boolean }> {
    return this.sync.putBaselineVersion(device, kind, doc, by, agent);
  }
  async putLearnedBaselines(agent: string, devices: readonly DeviceBaseline[]): Promise<number> {
    return this.sync.putLearnedBaselines(agent, devices);
  }
  onApproved(listener: () => void): void {
    this.sync.onApproved(listener);
  }
  async rejectedItems(device: string): Promise<Set<string>> {
    return this.sync.rejectedItems(device);
  }
  async setRejected(device: string, items: readonly string[], rejected: boolean, by: string): Promise<void> {
    this.sync.setRejected(device, items, rejected, by);
  }
  async auditBaseline(
    device: string,
    by: string,
    to: BaselineAction,
    items: readonly string[],
    comment: string,
  ): Promise<void> {
    this.sync.auditBaseline(device, by, to, items, comment);
  }
  async approvedSet(): Promise<{ version: number; devices: DeviceBaseline[] }> {
    return this.sync.approvedSet();
  }
  async applyRetention(r: RetentionOptions, nowMs?: number): Promise<number> {
    return this.sync.applyRetention(r, nowMs);
  }
  async findingsReceived(
    fromUs: number,
    toUs: number,
    after: { receivedUs: number; seq: number } | null,
    limit: number,
  ): Promise<{ receivedUs: number; seq: number; json: string }[]> {
    return this.sync.findingsReceived(fromUs, toUs, after, limit);
  }
  async receivedSpan(sinceUs: number): Promise<{ oldestUs: number | null; since: number }> {
    return this.sync.receivedSpan(sinceUs);
  }
  async ping(): Promise<void> {
    this.sync.db.prepare('SELECT 1').get();
  }
  async close(): Promise<void> {
    this.sync.close();
  }
}
