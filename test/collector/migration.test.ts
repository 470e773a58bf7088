// A database written by the first release (schema version 0: finding ids unique across agents) opens with this
// collector: rows, order and the AUTOINCREMENT high-water mark are kept, ids become unique per agent.
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, SqliteDb } from '../../collector/store-sqlite.js';
import { makeFinding, tempDir } from './helpers.js';

/** The schema of release 0.1.0 (collector/store.ts at 4355240), verbatim. */
const V0 = `
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
`;

function writeV0(file: string): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(V0);
  const ins = db.prepare(
    `INSERT INTO findings (id, ts_us, received_us, rule, severity, agent, device_ip, device_mac, device_name, json)
     VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?)`,
  );
  for (let i = 0; i < 12; i++) {
    const f = makeFinding(i);
    ins.run(
      f.id,
      1_800_000_000_000_000 + i,
      Date.now() * 1000,
      f.rule,
      2,
      f.agent,
      f.device.ip,
      JSON.stringify(f),
    );
  }
  // The first release stored evidence of any size.
  const huge = makeFinding(5, 'agent-a', { evidence: { blob: 'x'.repeat(2 * 1024 * 1024) } });
  db.prepare('UPDATE findings SET json = ? WHERE id = ?').run(JSON.stringify(huge), huge.id);
  // Retention had deleted the newest two: the next seq must still be above 12.
  db.exec('DELETE FROM findings WHERE seq > 10');
  db.prepare('INSERT INTO devices (id, json, agents) VALUES (?, ?, ?)').run(
    'dev-1',
    JSON.stringify({ id: 'dev-1', ip: '10.0.0.1' }),
    JSON.stringify(['agent-a', 'agent-b']),
  );
  db.prepare(
    "INSERT INTO agents (name, first_seen, last_seen, last_seq) VALUES ('agent-a', 'x', 'x', 7)",
  ).run();
  db.close();
}

describe('store migration', () => {
  it('upgrades a version 0 database in place and keeps every row', () => {
    const file = path.join(tempDir(), 'old.db');
    writeV0(file);
    const s = new SqliteDb(file);
    expect(s.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(s.findingIds()).toEqual(Array.from({ length: 10 }, (_, i) => `agent-a-f${i}`));
    expect(s.queryFindings({ limit: 100 }).findings.length).toBe(10);
    expect(s.listAgents(new Set())[0]).toMatchObject({ name: 'agent-a', last_seq: 7 });
    expect(s.agentDeviceCount('agent-a')).toBe(1);
    const f5 = s.queryFindings({ limit: 100 }).findings.find((f) => f.id === 'agent-a-f5');
    expect(f5?.evidence).toMatchObject({ _truncated: true, reason: 'size' });
    expect(s.agentDeviceCount('agent-b')).toBe(1);
    // Ids are unique per agent now: agent-b may store agent-a's ids, agent-a's own resend is a duplicate.
    expect(s.storeBatch('agent-b', 1, [makeFinding(0, 'agent-b', { id: 'agent-a-f0' })]).length).toBe(1);
    expect(s.storeBatch('agent-a', 8, [makeFinding(0)]).length).toBe(0);
    const seq = s.db.prepare("SELECT max(seq) AS n FROM findings WHERE agent = 'agent-b'").get() as {
      n: number;
    };
    expect(seq.n).toBe(13);
    s.close();
    // Opening again is a no-op.
    const again = new SqliteDb(file);
    expect(again.countFindings()).toBe(11);
    again.close();
  });

  it('upgrades a version 2 database: valid baselines become version 1, free-form ones stay behind', () => {
    const file = path.join(tempDir(), 'v2.db');
    new SqliteDb(file).close();
    // What a version 2 collector left: no version tables, the old free-form rows.
    const db = new Database(file);
    db.exec('DROP TABLE baseline_versions; DROP TABLE baseline_rejected');
    const device = { ip: '10.20.40.21', macs: [], peers: [], volume: { hours: 1 } };
    const put = db.prepare(
      'INSERT INTO baselines (device, learned, approved, approved_by, approved_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    put.run(
      '00:1a:2b:3c:4d:5e',
      JSON.stringify({ anything: true }),
      JSON.stringify(device),
      'biomed',
      'T1',
      'T1',
    );
    put.run('dev-x', JSON.stringify({ peers: 'not a list' }), null, null, null, 'T2');
    db.pragma('user_version = 2');
    db.close();
    const s = new SqliteDb(file);
    expect(s.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(s.listBaselines()).toEqual([
      expect.objectContaining({
        device: '10.20.40.21',
        approved: device,
        approved_version: 1,
        approved_by: 'biomed',
        learned: null,
      }),
    ]);
    s.close();
  });

  it('refuses a database from a newer collector', () => {
    const file = path.join(tempDir(), 'new.db');
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => new SqliteDb(file)).toThrow(/newer than this collector/);
  });
});
