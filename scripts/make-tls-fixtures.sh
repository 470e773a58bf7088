#!/bin/sh
# Regenerates fixtures/tls/*.pcap: openssl s_server and s_client on 127.0.0.1, captured with tcpdump on lo, the
# server side moved to its well-known port with tcprewrite. Certificates are made fresh each run (a throw-away CA
# and leaves; nothing here is a secret), so fingerprints and times change; the tests compare with tshark and
# openssl reading the same capture, never with stored values.
# Needs: openssl tcpdump tcpreplay(tcprewrite), and root (or capture rights) for tcpdump.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE/../fixtures/tls}
WORK=$(mktemp -d)
PORT=${PORT:-$((20000 + $$ % 20000))}
SERVER=""; DUMP=""
trap 'kill $SERVER $DUMP 2>/dev/null || true; rm -rf "$WORK"' EXIT INT TERM
mkdir -p "$OUT"
cd "$WORK"

# A CA (EC P-256) and three leaves: an RSA 2048 server with two DNS SANs, an EC P-384 server, an RSA client.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 3650 \
  -subj '/CN=Wardwatch Test CA/O=Wardwatch Fixtures' 2>/dev/null
leaf() { # $1 = name, $2 = subject, $3 = key options, $4 = extensions
  openssl req -new -newkey $3 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
  printf '%s\n' "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 -sha256 \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
leaf pacs '/CN=pacs.ward3.example/O=St Example Radiology' 'rsa:2048' \
  'subjectAltName=DNS:pacs.ward3.example,DNS:pacs-backup.ward3.example,IP:127.0.0.1'
leaf broker '/CN=broker.icu.example/O=St Example ICU' 'ec -pkeyopt ec_paramgen_curve:P-384' \
  'subjectAltName=DNS:broker.icu.example'
leaf pump '/CN=infusion-pump-12/O=St Example Biomed' 'rsa:2048' 'extendedKeyUsage=clientAuth'

session() { # $1 = fixture name, $2 = well-known port, $3 = s_server options, $4 = s_client options
  tcpdump -i lo -U -s 0 -w "$WORK/$1.raw.pcap" "tcp port $PORT and host 127.0.0.1" 2>/dev/null &
  DUMP=$!
  # shellcheck disable=SC2086
  openssl s_server -accept "127.0.0.1:$PORT" -naccept 1 -quiet $3 >/dev/null 2>&1 &
  SERVER=$!
  sleep 1
  # shellcheck disable=SC2086
  echo 'hello' | openssl s_client -connect "127.0.0.1:$PORT" -quiet $4 >/dev/null 2>&1 || true
  sleep 0.5
  kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true
  sleep 0.5
  kill "$DUMP"; wait "$DUMP" 2>/dev/null || true
  tcprewrite --portmap="$PORT:$2" --fixcsum -i "$WORK/$1.raw.pcap" -o "$OUT/$1.pcap"
}

# 1. TLS 1.2 on DICOM-TLS 2762: RSA leaf + CA chain in clear, SNI, ALPN offered and chosen.
session tls12-dicom 2762 \
  "-tls1_2 -cert pacs.pem -key pacs.key -cert_chain ca.pem -alpn dicom" \
  "-tls1_2 -servername pacs.ward3.example -alpn dicom,http/1.1 -CAfile ca.pem"
# 2. TLS 1.3 on 443: everything after the ServerHello is encrypted (no certificate event).
session tls13-https 443 \
  "-tls1_3 -cert broker.pem -key broker.key -alpn h2" \
  "-tls1_3 -servername broker.icu.example -alpn h2,http/1.1 -CAfile ca.pem"
# 3. TLS 1.2 with a client certificate on MQTT-TLS 8883 (the client's chain is in clear too).
session tls12-mutual-mqtt 8883 \
  "-tls1_2 -cert broker.pem -key broker.key -Verify 1 -CAfile ca.pem" \
  "-tls1_2 -servername broker.icu.example -cert pump.pem -key pump.key -CAfile ca.pem"
# 4. TLS 1.0 on syslog-TLS 6514 (a legacy device): security level 0 lets OpenSSL 3 speak it.
session tls10-legacy 6514 \
  "-tls1 -cipher DEFAULT@SECLEVEL=0 -cert pacs.pem -key pacs.key" \
  "-tls1 -cipher DEFAULT@SECLEVEL=0 -servername pacs.ward3.example -CAfile ca.pem"
ls -l "$OUT"
