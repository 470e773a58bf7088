// `node dist/bench/identity-analyzers.js`: frames/s of the full pipeline (no rules) over the identity fixture's frames
// (LLDP, CDP, DHCP, DHCPv6, mDNS, SSDP, WS-Discovery) repeated; printed, never asserted. `npm run bench` has no UDP.
import { readCaptureFile } from '../agent/capture/file.js';
import type { RawFrame } from '../agent/capture/types.js';
import { Pipeline } from '../agent/pipeline.js';
import { REPO_ROOT } from './make-capture.js';

const ROUNDS = Number(process.argv[2] ?? 20_000);
const frames: RawFrame[] = [];
await readCaptureFile(`${REPO_ROOT}/fixtures/identity/identity.pcap`, (f) => {
  frames.push({ ...f, data: f.data.slice() });
});
let events = 0;
const p = new Pipeline({}, { onEvent: () => events++ });
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
let ts = frames[0]?.ts ?? 0;
for (let r = 0; r < ROUNDS; r++) {
  for (const f of frames) p.onFrame({ ...f, ts: (ts += 10) });
}
p.finish();
const wall = Number(process.hrtime.bigint() - t0) / 1e9;
const u = process.cpuUsage(cpu0);
const cpu = (u.user + u.system) / 1e6;
const n = ROUNDS * frames.length;
console.log(
  `identity frames: ${n} in ${wall.toFixed(2)} s wall, ${cpu.toFixed(2)} s cpu: ` +
    `${Math.round(n / wall)} frames/s wall, ${Math.round(n / cpu)} frames/s cpu, ${events} events, ` +
    `${Object.values(p.stats().protocols.analyzerErrors).reduce((a, b) => a + b, 0)} analyzer errors`,
);
