#!/usr/bin/env bash
# Live SYN flood: a network namespace made for the run (a veth pair inside it, no address on it; the collector
# listens on the namespace's own loopback), tcpreplay of a SYN-only capture at a bounded rate into
# `wardwatch agent --interface` on the veth, and the agent's peak RSS (VmHWM) against the shipped unit's
# MemoryMax. Flow evictions, packets and drops are read from the collector's /metrics.
# Needs root, tcpreplay, curl and a built dist/ (npm run build).
# Usage: sudo bash bench/syn-flood-live.sh [RATE] [FLOWS] [AGENT_OPTIONS...]
#   e.g. sudo bash bench/syn-flood-live.sh 10000 200000 --flow-memory 64
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${1:-10000}
FLOWS=${2:-200000}
shift $(($# < 2 ? $# : 2))
MEMORY_MAX_MIB=512 # deploy/systemd/wardwatch-agent@.service
NS="wwsyn$$"
CAP="bench/out/synflood-$FLOWS-$RATE.pcap"
mkdir -p bench/out
if [ ! -f "$CAP" ]; then
  node --input-type=module -e "const m = await import('./dist/bench/flow-captures.js'); m.writeSynFlood('$CAP', { flows: $FLOWS, rate: $RATE });"
fi
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 4 # the agent gives the collector 3 s to acknowledge before it exits
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
in_ns() { ip netns exec "$NS" "$@"; }
# Starts a command in the namespace in the background and prints its own pid (`ip netns exec` may fork).
start_in_ns() {
  local pidfile="$WORK/pid.$RANDOM"
  # Its output goes to a log: a process holding this function's stdout would keep $(...) waiting.
  ip netns exec "$NS" sh -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@" > "$pidfile.log" 2>&1 &
  for _ in $(seq 50); do [ -s "$pidfile" ] && break; sleep 0.1; done
  cat "$pidfile"
}

ip netns add "$NS"
in_ns ip link set lo up
in_ns ip link add wwsend type veth peer name wwcap
in_ns ip link set wwsend up
in_ns ip link set wwcap up

TOKEN="token-synflood-$$-xxxxxxxx"
echo "agent synflood $TOKEN" > "$WORK/tokens"
PIDS+=("$(start_in_ns node dist/bin/wardwatch.js collector --listen 127.0.0.1:7498 --db "$WORK/db" \
  --tokens "$WORK/tokens" --log-level warn)")
sleep 2
APID=$(start_in_ns node dist/bin/wardwatch.js agent --interface wwcap --collector ws://127.0.0.1:7498 \
  --token "$TOKEN" --agent-id synflood --spool "$WORK/spool" --log-level warn "$@")
PIDS+=("$APID")
sleep 4
idle_kib=$(awk '/^VmRSS/ {print $2}' "/proc/$APID/status")
replay=$(in_ns tcpreplay -i wwsend --pps "$RATE" "$CAP" 2>&1 | grep -E 'Actual:|Rated:' | tr -s ' ' | tr '\n' ' ')
sleep 3 # the agent's stats reach the collector every 2 s
peak_kib=$(awk '/^VmHWM/ {print $2}' "/proc/$APID/status")
metric() {
  in_ns curl -s http://127.0.0.1:7498/metrics |
    awk -v m="$1" -v l="${2:-}" '$0 ~ "^"m"[{ ]" && index($0, "agent=\"synflood\"") && (l == "" || index($0, l)) {s+=$NF} END {print s+0}'
}
echo "live SYN flood: $FLOWS SYNs at $RATE/s into the agent on a veth (namespace $NS); tcpreplay: $replay"
echo "packets seen $(metric wardwatch_packets_total), drops kernel $(metric wardwatch_drops_total 'where="kernel"') queue $(metric wardwatch_drops_total 'where="queue"')"
echo "flow evictions: cap $(metric wardwatch_evictions_total 'what="flow_cap"'), budget $(metric wardwatch_evictions_total 'what="flow_budget"'), embryonic timeout $(metric wardwatch_evictions_total 'what="flow_embryonic_timeout"'), device $(metric wardwatch_evictions_total 'what="device"'); flows now $(metric wardwatch_flows)"
echo "agent RSS: $((idle_kib / 1024)) MiB idle, peak $((peak_kib / 1024)) MiB of the unit's MemoryMax ${MEMORY_MAX_MIB} MiB"
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
