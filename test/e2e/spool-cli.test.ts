// `wardwatch agent --pcap` on a spool it cannot write: one line on stderr naming the directory and the reason, exit 2,
// before a packet is read (it used to lose every finding uncounted and never exit).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mountTmpfs, type Tmpfs } from '../transport/tmpfs.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { BIN, freePort, tracked } from '../helpers/processes.js';

const DEMO = path.join(REPO_ROOT, 'fixtures/demo/demo.pcap');
const built = existsSync(BIN) && existsSync(DEMO);
const mounted = built ? mountTmpfs('64k') : 'dist/ not built';
const skipWhy = typeof mounted === 'string' ? mounted : null;
if (skipWhy) console.warn(`spool-cli: skipped: ${skipWhy}`);
const tmpfs = typeof mounted === 'string' ? null : mounted;
const children = tracked();

afterAll(() => {
  children.killAll();
  tmpfs?.unmount();
});

function agent(
  args: string[],
  as: { uid?: number; gid?: number } = {},
): Promise<{ code: number | null; stderr: string }> {
  const proc = children.add(
    spawn(process.execPath, [BIN, 'agent', '--pcap', DEMO, '--token', 'agent-token-123', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...as,
    }),
  );
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => proc.on('exit', (code) => resolve({ code, stderr })));
}

describe.skipIf(skipWhy !== null)('agent on an unusable spool', () => {
  const fs = tmpfs as Tmpfs;

  it('exits 2 with one line when the spool is on a read-only filesystem', async () => {
    const dir = path.join(fs.dir, 'spool');
    mkdirSync(dir);
    fs.readOnly();
    try {
      const port = await freePort();
      const r = await agent(['--collector', `ws://127.0.0.1:${port}`, '--spool', dir, '--log-level', 'warn']);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `wardwatch: --spool ${dir}: spool directory not writable (EROFS: read-only file system)\n`,
      );
    } finally {
      fs.readWrite();
    }
  });

  it.skipIf(process.getuid?.() !== 0)(
    'exits 2 with one line when the spool directory is not writable by its user',
    async () => {
      const dir = path.join(fs.dir, 'root-only');
      mkdirSync(dir, { mode: 0o755 });
      const port = await freePort();
      // As "nobody": the directory belongs to root, so writing in it is EACCES (root itself would bypass the mode).
      const r = await agent(['--collector', `ws://127.0.0.1:${port}`, '--spool', dir], {
        uid: 65534,
        gid: 65534,
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `wardwatch: --spool ${dir}: spool directory not writable (EACCES: permission denied)\n`,
      );
    },
  );

  it('exits 2 with one line on a spool cap below 1 MiB or an unknown full policy', async () => {
    const port = await freePort();
    const common = ['--collector', `ws://127.0.0.1:${port}`, '--spool', path.join(fs.dir, 'other')];
    const small = await agent([...common, '--spool-size', '0.5']);
    expect(small.code).toBe(2);
    expect(small.stderr).toBe('wardwatch: --spool-size 0.5: expected at least 1 (MiB)\n');
    const policy = await agent([...common, '--spool-full', 'block']);
    expect(policy.code).toBe(2);
    expect(policy.stderr).toBe('wardwatch: --spool-full block: expected drop-oldest or stop-reading\n');
  });
});
