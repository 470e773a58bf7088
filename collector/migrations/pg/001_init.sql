-- wardwatch collector schema on PostgreSQL, version 1: the same tables and keys as SQLite schema v3
-- (collector/store-sqlite.ts). Applied once by collector/store-pg.ts inside a transaction holding
-- pg_advisory_xact_lock, then recorded in schema_migrations. Times are µs since the epoch (bigint) where the
-- store sorts or filters on them, RFC 3339 text where they are only shown. Finding, device and baseline documents
-- are kept as the exact JSON text the agent's record became (text, not jsonb: jsonb would reorder keys).

CREATE TABLE findings (
  seq bigserial PRIMARY KEY,
  id text NOT NULL,
  ts_us bigint NOT NULL,
  received_us bigint NOT NULL,
  rule text NOT NULL,
  severity integer NOT NULL,
  agent text NOT NULL,
  device_ip text,
  device_mac text,
  device_name text,
  class text NOT NULL DEFAULT 'alert',
  json text NOT NULL,
  incident text,
  -- Exactly once: a resent batch, on this collector or another, inserts nothing (ON CONFLICT DO NOTHING).
  UNIQUE (agent, id)
);
CREATE INDEX findings_ts ON findings (ts_us, seq);
CREATE INDEX findings_received ON findings (received_us, seq);
CREATE INDEX findings_incident ON findings (agent, incident);
CREATE INDEX findings_id ON findings (id);

CREATE TABLE agents (
  name text PRIMARY KEY,
  version text,
  first_seen text NOT NULL,
  last_seen text NOT NULL,
  last_seq bigint NOT NULL DEFAULT 0,
  stats text
);

CREATE TABLE devices (
  id text PRIMARY KEY,
  json text NOT NULL,
  agents text NOT NULL
);

CREATE TABLE agent_devices (
  agent text NOT NULL,
  device text NOT NULL,
  PRIMARY KEY (agent, device)
);

CREATE TABLE exposures (
  -- SQLite's rowid: the tie-breaker of the exposure cursor.
  rid bigserial UNIQUE,
  agent text NOT NULL,
  rule text NOT NULL,
  device_ip text NOT NULL,
  device_mac text NOT NULL,
  peer_ip text NOT NULL,
  device_name text,
  severity integer NOT NULL,
  first_us bigint NOT NULL,
  last_us bigint NOT NULL,
  count bigint NOT NULL,
  updated_us bigint NOT NULL,
  json text NOT NULL,
  PRIMARY KEY (agent, rule, device_ip, device_mac, peer_ip)
);
CREATE INDEX exposures_last ON exposures (last_us);
CREATE INDEX exposures_ip ON exposures (device_ip);
CREATE INDEX exposures_mac ON exposures (device_mac);

CREATE TABLE triage (
  agent text NOT NULL,
  incident text NOT NULL,
  status text NOT NULL,
  "by" text NOT NULL,
  "at" text NOT NULL,
  comment text NOT NULL DEFAULT '',
  PRIMARY KEY (agent, incident)
);

CREATE TABLE audit (
  seq bigserial PRIMARY KEY,
  "at" text NOT NULL,
  "by" text NOT NULL,
  agent text NOT NULL,
  incident text NOT NULL,
  from_status text NOT NULL,
  to_status text NOT NULL,
  comment text NOT NULL DEFAULT ''
);
CREATE INDEX audit_incident ON audit (agent, incident);

CREATE TABLE rules (
  id text PRIMARY KEY,
  json text NOT NULL,
  agents text NOT NULL,
  updated_at text NOT NULL
);

CREATE TABLE baseline_versions (
  seq bigserial PRIMARY KEY,
  device text NOT NULL,
  version integer NOT NULL,
  kind text NOT NULL,
  document text NOT NULL,
  "by" text NOT NULL,
  "at" text NOT NULL,
  agent text,
  UNIQUE (device, kind, version)
);

CREATE TABLE baseline_rejected (
  device text NOT NULL,
  item text NOT NULL,
  "by" text NOT NULL,
  "at" text NOT NULL,
  PRIMARY KEY (device, item)
);
