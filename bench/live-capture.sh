#!/usr/bin/env bash
# Live-capture figures: tcpreplay pushes the bench capture through the loopback interface at rising rates while
# `wardwatch agent --interface lo --workers N [--fanout hash|bpf]` captures it; packets seen and drops are read from
# the collector's /metrics. Needs root, tcpreplay, a built dist/ and bench/out/bench-1m.pcap (npm run bench makes it).
# Usage: sudo bash bench/live-capture.sh [PACKETS] [RATES...]   e.g. bash bench/live-capture.sh 300000 50000 150000 300000
# CONFIGS (environment) lists the agents to compare as WORKERS:SHARE, default "1:bpf 2:bpf 2:hash"; the configurations
# alternate at each rate, so that a busy neighbour on a shared machine hurts each alike.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKETS=${1:-300000}; shift || true
RATES=("${@:-50000 150000 300000 topspeed}")
read -r -a RATES <<< "${RATES[*]}"
SRC=bench/out/bench-1m.pcap
[ -f "$SRC" ] || { echo "bench: $SRC missing: run npm run bench first" >&2; exit 2; }
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
editcap -r "$SRC" "$WORK/in.pcap" "1-$PACKETS" >/dev/null
TOKENS="$WORK/tokens"; : > "$TOKENS"
read -r -a CONFIGS <<< "${CONFIGS:-1:bpf 2:bpf 2:hash}"
for c in "${CONFIGS[@]}"; do for r in "${RATES[@]}"; do
  echo "agent w${c/:/-}r${r} token-w${c/:/-}r${r}-xxxx" >> "$TOKENS"
done; done
node dist/bin/wardwatch.js collector --listen 127.0.0.1:7499 --db "$WORK/db" --tokens "$TOKENS" --log-level warn &
sleep 2
# metric NAME AGENT [LABEL=VALUE]: the sum of the samples that match.
metric() {
  curl -s http://127.0.0.1:7499/metrics |
    awk -v m="$1" -v a="$2" -v l="${3:-}" '$0 ~ "^"m"\\{" && index($0, "agent=\""a"\"") && (l == "" || index($0, l)) {s+=$NF} END {print s+0}'
}
printf '%-8s %-6s %-10s %10s %10s %10s %10s %s\n' workers share rate sent seen kernel_drop queue_drop "tcpreplay"
for r in "${RATES[@]}"; do
  for c in "${CONFIGS[@]}"; do
    w=${c%%:*}; share=${c##*:}
    id="w${c/:/-}r${r}"
    node dist/bin/wardwatch.js agent --interface lo --bpf 'not tcp port 7499' --workers "$w" --fanout "$share" \
      --collector ws://127.0.0.1:7499 --token "token-$id-xxxx" --agent-id "$id" --spool "$WORK/spool-$id" --log-level warn &
    apid=$!
    sleep 3
    if [ "$r" = topspeed ]; then rate=(--topspeed); else rate=(--pps "$r"); fi
    out=$(tcpreplay -i lo "${rate[@]}" "$WORK/in.pcap" 2>&1 | grep -E 'Actual:|Rated:' | tr -s ' ' | tr '\n' ' ')
    sleep 2
    kill -INT $apid; wait $apid || true
    sleep 1
    printf '%-8s %-6s %-10s %10s %10s %10s %10s %s\n' "$w" "$share" "$r" "$PACKETS" "$(metric wardwatch_packets_total "$id")" \
      "$(metric wardwatch_drops_total "$id" 'where="kernel"')" "$(metric wardwatch_drops_total "$id" 'where="queue"')" "$out"
  done
done
