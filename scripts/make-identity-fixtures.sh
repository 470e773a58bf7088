#!/bin/sh
# Writes fixtures/identity/identity.pcap (LLDP, CDP, DHCP, DHCPv6, mDNS, SSDP, WS-Discovery frames) from the TypeScript
# builders in test/protocols/identity/frames.ts, then shows tshark's reading of it.
set -eu
cd "$(dirname "$0")/.."
UPDATE_GENERATED=1 npx vitest run test/protocols/identity/fixture.test.ts
tshark -n -r fixtures/identity/identity.pcap
