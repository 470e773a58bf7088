#!/usr/bin/env bash
# Regenerates fixtures/scenarios/*.pcap and fixtures/demo/demo.pcap: real dcmtk, mosquitto and MLLP traffic on loopback,
# recorded with tcpdump on lo, then rewritten to the hospital plan of fixtures/site.yaml by make-scenarios-rewrite.mjs
# following make-scenarios-plan.mjs. Needs root (tcpdump on lo), dcmtk, mosquitto, mosquitto-clients, openssl, node.
# Usage: scripts/make-scenarios.sh [--keep] [--only normal-day2]
#   --keep leaves the work directory with the raw recordings; --only normal-day2 records and writes only
#   fixtures/scenarios/normal-day2.pcap (every other capture is left as it is).
# Everything listens on 127.0.0.1 ports 27xxx; nothing leaves the machine. All patient data is fake.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
S="$ROOT/scripts"
W=$(mktemp -d /tmp/wardwatch-scenarios.XXXXXX)
REC="$W/rec"
mkdir -p "$REC" "$W/img" "$W/db" "$W/viewer" "$W/foreign" "$ROOT/fixtures/scenarios" "$ROOT/fixtures/demo"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ "${1:-}" != "--keep" ]]; then rm -rf "$W"; else echo "recordings kept in $W"; fi
}
ONLY=
while (($#)); do
  case $1 in
    --keep) KEEP=--keep ;;
    --only)
      ONLY=${2:-}
      shift
      [[ "$ONLY" == normal-day2 ]] || { echo "make-scenarios.sh: --only knows normal-day2 only" >&2; exit 2; }
      ;;
    *) echo "usage: make-scenarios.sh [--keep] [--only normal-day2]" >&2; exit 2 ;;
  esac
  shift
done
trap 'cleanup "${KEEP:-}"' EXIT
TOOLS="node $S/make-scenarios-tools.mjs"
H=127.0.0.1
PACS_PORT=27104 VIEWER_PORT=27113 FOREIGN_PORT=27114 PLAIN_SCP=27105
MLLP=27661 MLLP_NAK=27662 MLLP_EXT=27663 MLLP_DAY2=27664
MQTT=27883 MQTT_AUTH=27884
TLS=27762

bg() { "$@" >/dev/null 2>&1 & PIDS+=($!); }

# ---- fake DICOM images: 32x32 16-bit CT slices, fake names only ----
head -c 2048 /dev/zero > "$W/img/px.raw"
mkimg() { # mkimg FILE PATIENT_NO STUDY SERIES INSTANCE [STUDY_DATE STUDY_TIME]
  cat > "$W/img/t.dump" <<EOF
(0008,0016) UI =CTImageStorage
(0008,0018) UI [1.2.826.0.1.3680043.10.999.$3.$4.$5]
(0008,0020) DA [${6:-20261128}]
(0008,0030) TM [${7:-100000}]
(0008,0050) SH [ACC$3]
(0008,0060) CS [CT]
(0010,0010) PN [TEST^PATIENT$2]
(0010,0020) LO [FAKE$((1000 + $2))]
(0010,0030) DA [19700101]
(0010,0040) CS [F]
(0020,000d) UI [1.2.826.0.1.3680043.10.999.$3]
(0020,000e) UI [1.2.826.0.1.3680043.10.999.$3.$4]
(0020,0010) SH [$3]
(0020,0011) IS [$4]
(0020,0013) IS [$5]
(0028,0002) US 1
(0028,0004) CS [MONOCHROME2]
(0028,0010) US 32
(0028,0011) US 32
(0028,0100) US 16
(0028,0101) US 12
(0028,0102) US 11
(0028,0103) US 0
(7fe0,0010) OW =$W/img/px.raw
EOF
  dump2dcm -q "$W/img/t.dump" "$1"
}
# archive content: patients 1-8 one image each, patient 9 a 36-image study (the bulk retrieve)
for p in 1 2 3 4 5 6 7 8; do mkimg "$W/img/arch$p.dcm" "$p" "$((100 + p))" 1 1; done
mkdir -p "$W/img/bulk"
for i in $(seq 1 36); do mkimg "$W/img/bulk/b$i.dcm" 9 109 1 "$i"; done
# new acquisitions from the CT (normal traffic and incidents)
for i in $(seq 1 12); do mkimg "$W/img/new$i.dcm" "$((20 + i))" "$((200 + i))" 1 1; done
# the second normal day (2026-12-01 14:00Z): patients 41-45, CT studies 401-405 of 3, 2, 3, 2, 2 images, and
# priors from October (studies 341, 343) for patients 41 and 43, loaded into the archive unrecorded
mkdir -p "$W/img/day2"
day2_images=(3 2 3 2 2) day2_times=(140010 140410 140800 141200 141600)
for p in 1 2 3 4 5; do
  for i in $(seq 1 "${day2_images[$((p - 1))]}"); do
    mkimg "$W/img/day2/ct$p-$i.dcm" "$((40 + p))" "$((400 + p))" 1 "$i" 20261201 "${day2_times[$((p - 1))]}"
  done
done
mkimg "$W/img/day2/prior1.dcm" 41 341 1 1 20261015 093000
mkimg "$W/img/day2/prior3.dcm" 43 343 1 1 20261020 111500

# ---- servers ----
cat > "$W/dcmqrscp.cfg" <<EOF
NetworkTCPPort  = $PACS_PORT
MaxPDUSize      = 16384
MaxAssociations = 16
HostTable BEGIN
viewer  = (VIEWER1, localhost, $VIEWER_PORT)
foreign = (EXT_ARCHIVE, localhost, $FOREIGN_PORT)
HostTable END
VendorTable BEGIN
VendorTable END
AETable BEGIN
PACS_MAIN  $W/db  RW  (200, 1024mb)  ANY
AETable END
EOF
bg dcmqrscp -c "$W/dcmqrscp.cfg" "$PACS_PORT"
bg storescp -aet VIEWER1 -od "$W/viewer" "$VIEWER_PORT"
bg storescp -aet EXT_ARCHIVE -od "$W/foreign" "$FOREIGN_PORT"
bg storescp -aet ANY_SCP -od "$W/foreign" "$PLAIN_SCP"
bg $TOOLS mllp-serve "$MLLP" AA
bg $TOOLS mllp-serve "$MLLP_NAK" AE
bg $TOOLS mllp-serve "$MLLP_EXT" AA
bg $TOOLS mllp-serve "$MLLP_DAY2" AA 20261201140001
printf 'user root\nlistener %s 127.0.0.1\nallow_anonymous true\n' "$MQTT" > "$W/mq.conf"
mosquitto_passwd -b -c "$W/pw" pump-0031 fake-pump-secret >/dev/null 2>&1
printf 'user root\nlistener %s 127.0.0.1\nallow_anonymous false\npassword_file %s\n' "$MQTT_AUTH" "$W/pw" > "$W/mq-auth.conf"
chmod 0700 "$W/pw" 2>/dev/null || true
bg mosquitto -c "$W/mq.conf"
bg mosquitto -c "$W/mq-auth.conf"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=pacs.example -keyout "$W/tls.key" -out "$W/tls.crt" -days 3650 >/dev/null 2>&1
bg openssl s_server -accept "$TLS" -cert "$W/tls.crt" -key "$W/tls.key" -quiet
bg $TOOLS listen 27022 'SSH-2.0-OpenSSH_8.4p1\r\n'
bg $TOOLS listen 27445 ''
sleep 2
# fill the archive (not recorded)
storescu -aet LOADER -aec PACS_MAIN $H $PACS_PORT "$W"/img/arch*.dcm "$W"/img/bulk/*.dcm

# ---- recording: tcpdump on lo, one file per session ----
rec() { # rec NAME FUNCTION...   records tcp on the 27xxx ports while FUNCTION runs
  local name=$1
  shift
  : > "$W/tcpdump.err"
  tcpdump -i lo --immediate-mode -U -s 0 -w "$REC/$name.pcap" 'tcp and portrange 27000-27999' 2>"$W/tcpdump.err" &
  local tp=$!
  # on a busy machine tcpdump takes a while to attach: wait until it says it listens
  for _ in $(seq 1 100); do grep -q 'listening on' "$W/tcpdump.err" && break; sleep 0.1; done
  sleep 0.3
  "$@" >/dev/null 2>&1 || true
  sleep 1
  kill -INT "$tp"
  wait "$tp" 2>/dev/null || true
  echo "recorded $name"
}

ct_store() { storescu -aet CT_ROOM1 -aec PACS_MAIN $H $PACS_PORT "$@"; }
viewer_find_move() {
  findscu -S -aet VIEWER1 -aec PACS_MAIN -k QueryRetrieveLevel=STUDY -k PatientID=FAKE1001 -k StudyInstanceUID $H $PACS_PORT
  movescu -S -aet VIEWER1 -aec PACS_MAIN -aem VIEWER1 -k QueryRetrieveLevel=STUDY -k StudyInstanceUID=1.2.826.0.1.3680043.10.999.101 $H $PACS_PORT
}
us_tls() { echo 'association over TLS' | timeout 3 openssl s_client -connect $H:$TLS -quiet; }
mllp() { $TOOLS mllp-send "$@"; }
pump_feed() { # pump_feed ID N [RATE]
  for i in $(seq 1 "$2"); do echo "{\"rate_ml_h\":${3:-5.0},\"vtbi_ml\":$((200 - i)),\"state\":\"running\"}"; sleep 0.1; done |
    mosquitto_pub -h $H -p $MQTT -V mqttv311 -i "pump-$1" -u "pump-$1" -q 1 -t "ward3/pump/$1/telemetry" -l
}
normal_mqtt() { # normal_mqtt [TELEMETRY_PER_PUMP ROUNDS RATE_31 RATE_32]   (defaults: normal.pcap's 50, 4, 5.0/5.0 fed, 5.0/4.0 set)
  local n=${1:-50} rounds=${2:-4} feed31=${3:-5.0} feed32=${4:-5.0} set31=${3:-5.0} set32=${4:-4.0}
  # keep-alive 5 s: once stretched to ten minutes the idle subscriptions still ping every few minutes
  mosquitto_sub -h $H -p $MQTT -V mqttv311 -k 5 -i nurse-dashboard -u dashboard -t 'ward3/pump/+/telemetry' & local a=$!
  sleep 0.2
  mosquitto_sub -h $H -p $MQTT -V mqttv311 -k 5 -i pump-0031-cmd -u pump-0031 -q 1 -t ward3/pump/0031/cmd & local b=$!
  sleep 0.2
  mosquitto_sub -h $H -p $MQTT -V mqttv311 -k 5 -i pump-0032-cmd -u pump-0032 -q 1 -t ward3/pump/0032/cmd & local c=$!
  sleep 0.2
  pump_feed 0031 "$n" "$feed31" & local d=$!
  sleep 0.05
  pump_feed 0032 "$n" "$feed32" & local e=$!
  # the pump manager confirms each pump's rate every few seconds (minutes once stretched): the command
  # subscriptions are never idle long enough for a flow table to expire them
  for _ in $(seq 1 "$rounds"); do
    sleep 1.2
    mosquitto_pub -h $H -p $MQTT -V mqttv311 -i pump-manager -u manager -q 1 -t ward3/pump/0031/cmd -m "{\"cmd\":\"set_rate\",\"ml_h\":$set31}"
    mosquitto_pub -h $H -p $MQTT -V mqttv311 -i pump-manager -u manager -q 1 -t ward3/pump/0032/cmd -m "{\"cmd\":\"set_rate\",\"ml_h\":$set32}"
  done
  wait $d $e
  sleep 0.2
  kill $a $b $c
}

# the second normal day (normal-day2.pcap): the same hosts and kinds of sessions as normal.pcap, twice as long,
# other patients. Recorded last in a full run, so that its stores do not change what the other captures' queries find.
viewer_find_move_day2() { # viewer_find_move_day2 PATIENT_ID STUDY_NO
  findscu -S -aet VIEWER1 -aec PACS_MAIN -k QueryRetrieveLevel=STUDY -k PatientID="$1" -k StudyInstanceUID $H $PACS_PORT
  movescu -S -aet VIEWER1 -aec PACS_MAIN -aem VIEWER1 -k QueryRetrieveLevel=STUDY -k StudyInstanceUID="1.2.826.0.1.3680043.10.999.$2" $H $PACS_PORT
}
record_day2() {
  storescu -aet LOADER -aec PACS_MAIN $H $PACS_PORT "$W"/img/day2/prior*.dcm
  rec n2-mqtt normal_mqtt 100 8 3.5 6.0
  for p in 1 2 3 4 5; do rec "n2-ct-$p" ct_store "$W"/img/day2/ct$p-*.dcm; done
  rec n2-viewer-1 viewer_find_move_day2 FAKE1041 401
  rec n2-viewer-2 viewer_find_move_day2 FAKE1042 402
  rec n2-viewer-3 viewer_find_move_day2 FAKE1043 343
  rec n2-viewer-4 viewer_find_move_day2 FAKE1044 404
  rec n2-viewer-5 viewer_find_move_day2 FAKE1045 405
  for i in 1 2 3 4; do rec "n2-us-tls-$i" us_tls; done
  rec n2-mon1 mllp $MLLP_DAY2 app=MONITOR_GW fac=ICU type=ORU^R01 count=20 gap=100 per_conn=1 control=PM start=5001 patients=40 ts=20261201140005
  rec n2-adt-1 mllp $MLLP_DAY2 app=HIS fac=HOSP type=ADT^A01 count=3 gap=1000 control=ADT start=301 patients=40 version=2.5 ts=20261201140030
  rec n2-adt-2 mllp $MLLP_DAY2 app=HIS fac=HOSP type=ADT^A03 count=2 gap=1000 control=ADTD start=311 patients=40 version=2.5 ts=20261201140410
  rec n2-adt-3 mllp $MLLP_DAY2 app=HIS fac=HOSP type=ADT^A01 count=3 gap=1000 control=ADT start=304 patients=40 version=2.5 ts=20261201141020
  rec n2-adt-4 mllp $MLLP_DAY2 app=HIS fac=HOSP type=ADT^A03 count=3 gap=1000 control=ADTD start=313 patients=40 version=2.5 ts=20261201141420
  rec n2-lis-1 mllp $MLLP_DAY2 app=LIS fac=LAB type=ORU^R01 count=4 gap=1000 control=LIS start=501 patients=40 version=2.5 ts=20261201140040
  rec n2-lis-2 mllp $MLLP_DAY2 app=LIS fac=LAB type=ORU^R01 count=5 gap=1000 control=LIS start=505 patients=40 version=2.5 ts=20261201141040
}
if [[ "$ONLY" == normal-day2 ]]; then
  record_day2
  node "$S/make-scenarios-rewrite.mjs" "$S/make-scenarios-plan.mjs" "$REC" "$ROOT/fixtures" scenarios/normal-day2.pcap
  exit 0
fi

# normal traffic
rec n-mqtt normal_mqtt
rec n-ct-1 ct_store "$W/img/new1.dcm" "$W/img/new2.dcm"
rec n-ct-2 ct_store "$W/img/new3.dcm" "$W/img/new4.dcm"
rec n-viewer-1 viewer_find_move
rec n-viewer-2 viewer_find_move
rec n-us-tls-1 us_tls
rec n-us-tls-2 us_tls
rec n-mon1 mllp $MLLP app=MONITOR_GW fac=ICU type=ORU^R01 count=10 gap=100 per_conn=1 control=PM
rec n-adt-1 mllp $MLLP app=HIS fac=HOSP type=ADT^A01 count=3 gap=1000 control=ADT version=2.5
rec n-adt-2 mllp $MLLP app=HIS fac=HOSP type=ADT^A03 count=2 gap=1000 control=ADTD version=2.5
rec n-lis mllp $MLLP app=LIS fac=LAB type=ORU^R01 count=4 gap=1000 control=LIS version=2.5

# DICOM incidents
rec d1-unknown-scu bash -c "echoscu -aet LAPTOP_X -aec PACS_MAIN $H $PACS_PORT; storescu -aet LAPTOP_X -aec PACS_MAIN $H $PACS_PORT $W/img/new7.dcm"
d2_enum() {
  for ae in PACS ARCHIVE ORTHANC DCM4CHEE CONQUESTSRV1 ANY-SCP STORESCP SERVER PACS1 PACS01 MAIN ARCHIVE1 QRSCP DICOM; do
    echoscu -aet SCANNER -aec "$ae" $H $PACS_PORT || true
  done
}
d13_abort() { for i in $(seq 1 14); do echoscu --abort -aet SCANNER -aec PACS_MAIN $H $PACS_PORT || true; done; }
rec d2-ae-enum d2_enum
rec d13-abort-storm d13_abort
rec d3-echo-sweep bash -c "for i in \$(seq 1 12); do echoscu -aet SCANNER -aec ANY_SCP $H $PLAIN_SCP; done"
rec d4-cfind-harvest findscu -P -aet VIEWER1 -aec PACS_MAIN -k QueryRetrieveLevel=PATIENT -k 'PatientName=*' -k PatientID -k PatientBirthDate -k PatientSex $H $PACS_PORT
rec d5-cmove-foreign movescu -S -aet VIEWER1 -aec PACS_MAIN -aem EXT_ARCHIVE -k QueryRetrieveLevel=STUDY -k StudyInstanceUID=1.2.826.0.1.3680043.10.999.102 $H $PACS_PORT
rec d6-bulk-retrieve movescu -S -aet VIEWER1 -aec PACS_MAIN -aem VIEWER1 -k QueryRetrieveLevel=STUDY -k StudyInstanceUID=1.2.826.0.1.3680043.10.999.109 $H $PACS_PORT
rec d7-store-from-viewer storescu -aet VIEWER1 -aec PACS_MAIN $H $PACS_PORT "$W/img/new8.dcm"
rec d8-inbound-internet bash -c "echoscu -aet SCAN_ME -aec PACS_MAIN $H $PACS_PORT; findscu -S -aet SCAN_ME -aec PACS_MAIN -k QueryRetrieveLevel=STUDY -k StudyInstanceUID -k PatientID=FAKE1001 $H $PACS_PORT"
rec d9-tls-downgrade storescu -aet US_ROOM2 -aec PACS_MAIN $H $PACS_PORT "$W/img/new9.dcm"
rec d10-cleartext-credentials storescu -aet CT_ROOM1 -aec PACS_MAIN --user ct-tech --password fake-password-1 $H $PACS_PORT "$W/img/new10.dcm"
rec d11-firmware-change ct_store "$W/img/new11.dcm"
rec d12-new-sop-class bash -c "findscu -S -aet CT_ROOM1 -aec PACS_MAIN -k QueryRetrieveLevel=STUDY -k PatientID=FAKE1002 -k StudyInstanceUID $H $PACS_PORT"

# HL7 incidents
rec h1-new-sender mllp $MLLP app=ROGUE_APP fac=NOWHERE type=ORU^R01 count=3 gap=200 control=RG
rec h2-sender-mismatch bash -c "$TOOLS mllp-send $MLLP app=LIS fac=LAB type=ORU^R01 count=2 gap=200 control=LX version=2.5"
rec h3-spoofed-results mllp $MLLP app=HIS fac=HOSP type=ORU^R01 count=3 gap=200 control=AX version=2.5
rec h4-orders bash -c "$TOOLS mllp-send $MLLP app=WS_APP fac=RAD type=RGV^O15 count=2 gap=200 control=RGV; $TOOLS mllp-send $MLLP app=WS_APP fac=RAD type=RDE^O11 count=2 gap=200 control=RDE"
rec h5-query-harvest bash -c "$TOOLS mllp-send $MLLP app=LIS fac=LAB type=QRY^A19 count=30 gap=20 control=Q version=2.5; $TOOLS mllp-send $MLLP app=LIS fac=LAB type=QBP^Q22 count=10 gap=20 control=QB version=2.5"
rec h6-external-ip mllp $MLLP_EXT app=MONITOR_GW fac=ICU type=ORU^R01 count=3 gap=200 control=EX
rec h7-phi-cross-zone mllp $MLLP_EXT app=MONITOR_GW fac=ICU type=ORU^R01 count=3 gap=200 control=CZ
rec h8-nak-spike mllp $MLLP_NAK app=LIS fac=LAB type=ORU^R01 count=25 gap=20 control=NK version=2.5
rec h9-merge mllp $MLLP app=LIS fac=LAB type=ADT^A40 count=2 gap=200 control=MRG version=2.5
rec h10-replay-a mllp $MLLP app=HIS fac=HOSP type=ADT^A01 count=1 control=REPLAY0001 repeat_control=1 version=2.5
rec h10-replay-b mllp $MLLP app=HIS fac=HOSP type=ADT^A01 count=1 control=REPLAY0001 repeat_control=1 version=2.5
rec h11-feed-a mllp $MLLP app=LIS fac=LAB version=2.5 type=ORU^R01 count=20 gap=100 per_conn=1 control=PF
rec h11-feed-b mllp $MLLP app=MONITOR_GW fac=ICU type=ORU^R01 count=5 gap=100 per_conn=1 control=DF
rec h12-config-drift mllp $MLLP app=HIS fac=HOSP type=ADT^A01 count=2 gap=200 control=DRIFT version=2.3 pid=T

# MQTT incidents
rec m1-wildcard bash -c "timeout 1.5 mosquitto_sub -h $H -p $MQTT -V mqttv311 -i nurse-dashboard -u dashboard -t '#' -W 1; timeout 1.5 mosquitto_sub -h $H -p $MQTT -V mqttv311 -i nurse-dashboard -u dashboard -t '\$SYS/#' -W 1"
rec m3-anonymous bash -c "mosquitto_pub -h $H -p $MQTT -V mqttv311 -i probe-1 -t test -m hello; mosquitto_pub -h $H -p $MQTT -V mqttv5 -i probe-2 -t test -m hello"
m4_guess() {
  for pw in admin password 123456 mosquitto pump hospital letmein changeme; do
    mosquitto_pub -h $H -p $MQTT_AUTH -V mqttv311 -i pump-0031 -u pump-0031 -P "$pw" -t x -m y || true
  done
  for pw in admin password 123456 root; do
    mosquitto_pub -h $H -p $MQTT_AUTH -V mqttv5 -i pump-0031 -u pump-0031 -P "$pw" -t x -m y || true
  done
  mosquitto_pub -h $H -p $MQTT_AUTH -V mqttv311 -i pump-0031 -u pump-0031 -P fake-pump-secret -t ward3/pump/0031/telemetry -m '{"state":"running"}'
}
rec m4-password-guessing m4_guess
rec m6-cmd-publish bash -c "mosquitto_pub -h $H -p $MQTT -V mqttv311 -i nurse-dashboard -u dashboard -q 1 -t ward3/pump/0031/cmd -m '{\"cmd\":\"set_rate\",\"ml_h\":50}'"
rec m7-retained-cmd bash -c "mosquitto_pub -h $H -p $MQTT -V mqttv311 -i pump-manager -u manager -q 1 -r -t ward3/pump/0032/cmd -m '{\"cmd\":\"set_rate\",\"ml_h\":99}'; mosquitto_pub -h $H -p $MQTT -V mqttv311 -i pump-manager -u manager -q 1 -r -n -t ward3/pump/0032/cmd"
m8_takeover() {
  mosquitto_sub -h $H -p $MQTT -V mqttv5 -i pump-0031 -u pump-0031 -t ward3/pump/0031/cmd & local a=$!
  sleep 0.5
  mosquitto_pub -h $H -p $MQTT -V mqttv5 -i pump-0031 -u pump-0031 -t ward3/pump/0031/telemetry -m '{"state":"stopped"}'
  sleep 0.3
  kill $a 2>/dev/null || true
}
rec m8-client-takeover m8_takeover
m9_exfil() {
  head -c 60000 /dev/zero | tr '\0' 'x' > "$W/blob"
  mosquitto_pub -h $H -p $MQTT -V mqttv311 -i pump-0031 -u pump-0031 -t ward3/pump/0031/telemetry -f "$W/blob"
  for i in $(seq 1 450); do echo "{\"seq\":$i,\"rate_ml_h\":5.0}"; done |
    mosquitto_pub -h $H -p $MQTT -V mqttv311 -i pump-0031 -u pump-0031 -t ward3/export/0031/dump -l
}
rec m9-exfil m9_exfil
rec m10-external-broker mosquitto_pub -h $H -p $MQTT -V mqttv311 -i pump-0032 -u pump-0032 -t ward3/pump/0032/telemetry -m '{"state":"running"}'

# any-protocol incidents
rec g2-new-service bash -c "$TOOLS scan 27022 27445 27389; $TOOLS scan 27022"
rec g3-scan $TOOLS scan $(seq 27001 27060)
rec g4-mac-change mllp $MLLP app=MONITOR_GW fac=ICU type=ORU^R01 count=2 gap=200 control=MC

record_day2

node "$S/make-scenarios-rewrite.mjs" "$S/make-scenarios-plan.mjs" "$REC" "$ROOT/fixtures"
ls -l "$ROOT"/fixtures/scenarios/*.pcap "$ROOT"/fixtures/demo/*.pcap | awk '{s+=$5; print $5, $9} END {print s, "bytes in total"}'
