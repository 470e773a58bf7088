// One temporary directory per test run, removed at the end: every test that calls os.tmpdir() (and every process it
// starts) gets it through TMPDIR, so a run leaves nothing behind in /tmp, whatever a test forgot to remove.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const root = mkdtempSync(path.join(os.tmpdir(), 'ww-run-'));
  // The PostgreSQL helper runs the server as the `postgres` user when we are root: it must reach its directory.
  chmodSync(root, 0o755);
  process.env.TMPDIR = root;
  return () => {
    try {
      rmSync(root, { recursive: true, force: true, maxRetries: 3 });
    } catch (err) {
      // A tmpfs a failed test left mounted keeps its mount point: say so instead of failing the run.
      process.stderr.write(`test run: could not remove ${root}: ${(err as Error).message}\n`);
    }
  };
}
