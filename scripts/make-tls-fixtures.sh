#!/bin/sh
# Regenerates fixtures/tls/*.pcap: openssl s_server and s_client on 127.0.0.1, captured with tcpdump on lo, the
# server side moved to its well-known port with tcprewrite. Certificates are made fresh each run (a throw-away CA
# and leaves; nothing here is a secret), so fingerprints and times change; the tests compare with tshark and
# openssl reading the same capture, never with stored values.
# Needs: openssl tcpdump tcpreplay(tcprewrite) mosquitto mosquitto-clients dcmtk, and root (or capture rights).
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

dump_start() { # $1 = fixture name
  tcpdump -i lo -U -s 0 -w "$WORK/$1.raw.pcap" "tcp port $PORT and host 127.0.0.1" 2>/dev/null &
  DUMP=$!
  sleep 1
}
dump_stop() { # $1 = fixture name, $2 = well-known port
  sleep 0.5
  kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true
  sleep 0.5
  kill "$DUMP"; wait "$DUMP" 2>/dev/null || true
  tcprewrite --portmap="$PORT:$2" --fixcsum -i "$WORK/$1.raw.pcap" -o "$OUT/$1.pcap"
}

session() { # $1 = fixture name, $2 = well-known port, $3 = s_server options, $4 = s_client options
  dump_start "$1"
  # shellcheck disable=SC2086
  openssl s_server -accept "127.0.0.1:$PORT" -naccept 1 -quiet $3 >/dev/null 2>&1 &
  SERVER=$!
  sleep 1
  # shellcheck disable=SC2086
  echo 'hello' | openssl s_client -connect "127.0.0.1:$PORT" -quiet $4 >/dev/null 2>&1 || true
  dump_stop "$1" "$2"
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
# 5. A refused handshake: a TLS 1.2-only client against a TLS 1.3-only server; the server's protocol_version alert is
# in clear. Then a client that does not trust the server's CA: its unknown_ca alert is in clear too (TLS 1.2).
session tls-refused 2762 \
  "-tls1_3 -cert pacs.pem -key pacs.key" \
  "-tls1_2 -servername pacs.ward3.example -CAfile ca.pem"
session tls12-untrusted 443 \
  "-tls1_2 -cert pacs.pem -key pacs.key" \
  "-tls1_2 -servername pacs.ward3.example -CAfile pump.pem -verify_return_error"
# 6. Real device software: mosquitto 2 on MQTT-TLS 8883, held to TLS 1.2 by an OpenSSL config (its tls_version is a
# minimum) so that the chain is in clear; mosquitto_pub sends the IP as SNI.
printf 'openssl_conf = c\n[c]\nssl_conf = s\n[s]\nsystem_default = d\n[d]\nMaxProtocol = TLSv1.2\n' > tls12-max.cnf
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\ncafile %s\ncertfile %s\nkeyfile %s\n' \
  "$PORT" "$WORK/ca.pem" "$WORK/broker.pem" "$WORK/broker.key" > mosquitto.conf
dump_start mqtt-mosquitto-tls12
OPENSSL_CONF=$WORK/tls12-max.cnf mosquitto -c mosquitto.conf >/dev/null 2>&1 &
SERVER=$!
sleep 1
mosquitto_pub -h 127.0.0.1 -p "$PORT" --cafile ca.pem --insecure --tls-version tlsv1.2 -i pump-12 \
  -t ward/3/pump/12/rate -m 'rate=5' -q 1 || true
dump_stop mqtt-mosquitto-tls12 8883
# 7. dcmtk: echoscu to storescp over TLS (BCP 195 profile, whatever version it negotiates) on DICOM-TLS 2762.
dump_start dicom-dcmtk-tls
storescp +tls pacs.key pacs.pem +cf ca.pem -od "$WORK" "$PORT" >/dev/null 2>&1 &
SERVER=$!
sleep 1
echoscu +tls pump.key pump.pem +cf ca.pem -aet PUMP12 -aec PACS 127.0.0.1 "$PORT" || true
dump_stop dicom-dcmtk-tls 2762
ls -l "$OUT"
