#!/usr/bin/env bash
# Regenerates fixtures/hl7/*.pcap: builds the MLLP tool, records each scenario with tcpdump on lo,
# then writes the tshark reference (*.tshark.jsonl) with the shared extract-reference.sh logic.
# Needs root (tcpdump), tshark, and ../shared/captures/extract-reference.sh beside the clone.
set -eu
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
OUT="$ROOT/fixtures/hl7"
BUILD=$(mktemp -d /tmp/mllp-build.XXXXXX)
cd "$ROOT"
npx tsc --ignoreConfig --outDir "$BUILD" --rootDir . --module NodeNext --moduleResolution NodeNext --target ES2022 --lib ES2023 \
  --strict --skipLibCheck --types node test/tools/mllp/make-fixture.ts
echo '{"type":"module"}' > "$BUILD/package.json"
mkdir -p "$OUT"
for sc in pcd-back-to-back:2575 coalesced-and-split:2575 batch-and-separators:6661 unregistered-port:7575; do
  name=${sc%%:*}; port=${sc##*:}
  pcap="$OUT/hl7-$name-$port.pcap"
  tcpdump -i lo -U -s 0 -w "$pcap" "tcp port $port" 2>/dev/null & tcpd=$!
  sleep 1
  node "$BUILD/test/tools/mllp/make-fixture.js" "$name"
  sleep 1
  kill "$tcpd"; wait "$tcpd" || true
done
# Reference values: the shared script's awk, run on a scratch copy (it writes next to each capture).
REF=$(mktemp -d /tmp/hl7-ref.XXXXXX)
cp "$ROOT/../shared/captures/extract-reference.sh" "$REF/"
# force our MLLP ports for our files (the shared script knows 6661 only for tapirx-* files)
sed -i 's|    hl7/\*)         echo "-d tcp.port==2575,hl7" ;;|    hl7/*)         echo "-d tcp.port==2575,hl7 -d tcp.port==6661,hl7 -d tcp.port==7575,hl7" ;;|' "$REF/extract-reference.sh"
mkdir -p "$REF/hl7"
cp "$OUT"/*.pcap "$REF/hl7/"
(cd "$REF" && bash ./extract-reference.sh hl7/*.pcap)
cp "$REF"/hl7/*.tshark.jsonl "$OUT/"
# Fuzz seeds: each direction's bytes of each recording (test/protocols/hl7/corpus/rec-*.bin)
CORPUS="$ROOT/test/protocols/hl7/corpus"
for pcap in "$OUT"/*.pcap; do
  base=$(basename "$pcap" .pcap); port=${base##*-}; short=${base#hl7-}; short=${short%-*}
  for side in client:tcp.dstport server:tcp.srcport; do
    tshark -n -r "$pcap" -T fields -e "${side#*:}" -e tcp.payload 2>/dev/null \
      | awk -F'\t' -v p="$port" '$2 != "" && $1 == p { print $2 }' | tr -d '\n' | xxd -r -p \
      > "$CORPUS/rec-$short-${side%%:*}.bin"
  done
done
rm -rf "$BUILD" "$REF"
ls -la "$OUT"
