#!/bin/sh
# Makes the certificates for TLS between agents and the collector (wss://, optionally mutual TLS):
#   a private CA (kept: run again to add agents), a collector certificate whose subjectAltName lists every host name
#   and IP address agents use to reach it, and one client certificate per agent whose CN is the agent id.
#
# Usage: deploy/make-certs.sh [-d DAYS] DIR COLLECTOR_NAMES [AGENT_ID...]
#   DIR              where to write (created, mode 0700): ca.crt ca.key collector.crt collector.key
#                    and agent-ID.crt agent-ID.key for each agent
#   COLLECTOR_NAMES  comma-separated host names and IPs of the collector, e.g. collector.ward.example,10.20.0.5
#   AGENT_ID         agent ids as in the tokens file (default HOST-INTERFACE, e.g. sensor1-eth1)
#
# Then: collector --tls-cert DIR/collector.crt --tls-key DIR/collector.key --tls-ca DIR/ca.crt --tls-client-cert
#       agent --collector wss://NAME:7411 --tls-ca DIR/ca.crt --tls-cert DIR/agent-ID.crt --tls-key DIR/agent-ID.key
# Keep ca.key off the sensors (only ca.crt and their own pair go there). Needs openssl 1.1.1 or later.
set -eu

days=825
while getopts d: opt; do
  case "$opt" in
    d) days="$OPTARG" ;;
    *) echo "usage: $0 [-d DAYS] DIR COLLECTOR_NAMES [AGENT_ID...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ "$#" -lt 2 ]; then
  echo "usage: $0 [-d DAYS] DIR COLLECTOR_NAMES [AGENT_ID...]" >&2
  exit 2
fi
dir="$1"
names="$2"
shift 2
command -v openssl >/dev/null 2>&1 || { echo "make-certs.sh: openssl not found" >&2; exit 2; }

umask 077
mkdir -p "$dir"
cd "$dir"
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"

# The CA: made once, reused by later runs (so new agents join the same trust).
if [ ! -f ca.key ] || [ ! -f ca.crt ]; then
  # shellcheck disable=SC2086
  openssl req -x509 $ec -keyout ca.key -out ca.crt -days "$days" -subj "/CN=wardwatch CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  echo "make-certs.sh: CA $dir/ca.crt"
fi

san=""
old_ifs="$IFS"
IFS=','
for n in $names; do
  [ -n "$n" ] || continue
  case "$n" in
    *[!0-9.]* ) case "$n" in *:*) entry="IP:$n" ;; *) entry="DNS:$n" ;; esac ;;
    *) entry="IP:$n" ;;
  esac
  san="${san:+$san,}$entry"
done
IFS="$old_ifs"
[ -n "$san" ] || { echo "make-certs.sh: COLLECTOR_NAMES is empty" >&2; exit 2; }
first="${names%%,*}"

# sign NAME CN EXTENSIONS: NAME.key and NAME.crt signed by the CA.
sign() {
  # shellcheck disable=SC2086
  openssl req $ec -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days "$days" \
    -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

sign collector "$first" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$san"
echo "make-certs.sh: collector $dir/collector.crt ($san)"

for id in "$@"; do
  case "$id" in
    *[!A-Za-z0-9_.:-]*|'') echo "make-certs.sh: agent id \"$id\": letters, digits, _ . : - only" >&2; exit 2 ;;
  esac
  sign "agent-$id" "$id" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
  echo "make-certs.sh: agent $id $dir/agent-$id.crt"
done
chmod 600 ./*.key
chmod 644 ./*.crt
