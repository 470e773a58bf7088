// `node dist/bench/archive.js [N]`: stores N findings (default 200,000) received on one day in a fresh SQLite
// store, archives that day with collector/archive.ts, and prints findings/s, the file size and the RSS growth.
// Printed, never asserted.
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { Archiver, DAY_MS, utcDay } from '../collector/archive.js';
import { SqliteStore } from '../collector/store.js';
import type { Finding } from '../agent/wire/finding.js';

const n = Number(process.argv[2] ?? 200_000);
const dir = mkdtempSync(path.join(tmpdir(), 'ww-bench-archive-'));
const out = path.join(dir, 'archive');
const store = new SqliteStore(path.join(dir, 'wardwatch.db'));
const day = utcDay(Date.now()) - DAY_MS;
const realNow = Date.now;
const BATCH = 1000;
for (let b = 0; b * BATCH < n; b++) {
  // The store stamps arrival with Date.now(): every batch lands on yesterday.
  Date.now = (): number => day + b * 100;
  const batch: Finding[] = Array.from({ length: Math.min(BATCH, n - b * BATCH) }, (_, i) => ({
    kind: 'finding',
    id: `f${b}-${i}`,
    ts: new Date(day + b * 100).toISOString().replace('Z', '000Z'),
    rule: 'dicom.unknown-calling-ae',
    severity: 'high',
    title: 'Unknown DICOM AE title associates to the PACS',
    attack: ['T0864', 'T0848'],
    proto: 'dicom',
    device: { ip: '10.20.40.10', name: 'pacs' },
    peer: { ip: `10.20.30.${i % 250}`, port: 40000 + i },
    initiator: 'peer',
    direction: 'internal',
    flow: 'abcdef0123456789',
    evidence: { calling_ae: 'LAPTOP_X', 'dst.asset_role': 'dicom-scp' },
    count: 1,
    agent: 'ward3',
    class: 'alert',
  }));
  await store.storeBatch('ward3', b, batch);
}
Date.now = realNow;
mkdirSync(out);
const rss0 = process.memoryUsage().rss;
const t0 = process.hrtime.bigint();
const done = await new Archiver(out, store).run();
const s = Number(process.hrtime.bigint() - t0) / 1e9;
const d = done[0];
const size = d ? statSync(d.file).size : 0;
console.log(
  `archive: ${d?.findings ?? 0} findings in ${s.toFixed(2)} s (${Math.round((d?.findings ?? 0) / s)} findings/s), ` +
    `${(size / 1e6).toFixed(2)} MB gzip, RSS +${((process.memoryUsage().rss - rss0) / 1e6).toFixed(0)} MB, ` +
    `load average ${loadavg()[0]?.toFixed(1) ?? '?'}`,
);
await store.close();
rmSync(dir, { recursive: true, force: true });
