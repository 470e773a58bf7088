#!/usr/bin/env bash
# Collector throughput on each store, same run, same machine (issue 14.4): bench/collector.ts on a fresh SQLite file,
# then on a throwaway PostgreSQL cluster with its default durability (fsync on, synchronous_commit on) listening on
# 127.0.0.1 only. Needs a built dist/ and Debian's postgresql (binaries in /usr/lib/postgresql/N/bin). As root the
# cluster belongs to the postgres user (initdb refuses root). Extra arguments go to both runs.
# Usage: bash bench/collector-stores.sh [--agents 100 --findings 500 ...]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$BIN/initdb" ] || { echo "bench: PostgreSQL binaries not found (apt-get install postgresql)" >&2; exit 2; }
WORK=$(mktemp -d)
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres: "$WORK"
trap 'as_pg "$BIN/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
as_pg "$BIN/initdb" -D "$WORK/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
as_pg "$BIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $WORK" start >/dev/null
as_pg "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -qc 'CREATE DATABASE bench' >/dev/null
echo "== SQLite (fresh file, WAL, synchronous=FULL)"
node dist/bench/collector.js --flood 0 "$@"
echo "== PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') (fresh database, fsync on, synchronous_commit on, loopback TCP)"
node dist/bench/collector.js --flood 0 --db "postgres://postgres@127.0.0.1:$PORT/bench" "$@"
