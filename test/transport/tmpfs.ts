// A tiny tmpfs the test mounts itself (as root), to make a disk fill up or turn read-only for real. Where mounting
// is not permitted the tests skip with the reason, except in CI (env CI or WARDWATCH_CI), where they must run.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Tmpfs {
  dir: string;
  /** The whole tmpfs read-only (the kernel refuses while a file on it is open for writing). */
  readOnly(): void;
  readWrite(): void;
  unmount(): void;
}

/**
 * Hides `dir` under an empty read-only tmpfs, as a disk remounted read-only under a running agent looks to every new
 * open (files already open keep working, as they would); returns the undo.
 */
export function overmountReadOnly(dir: string): () => void {
  mount(['-t', 'tmpfs', '-o', 'ro,size=4k', 'tmpfs', dir]);
  return () => execFileSync('umount', [dir]);
}

const IN_CI = Boolean(process.env.CI) || Boolean(process.env.WARDWATCH_CI);

function mount(args: string[]): void {
  execFileSync('mount', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Mounts a tmpfs of `size` (e.g. "256k") on a fresh directory. Returns the reason as a string when it cannot, so
 * the caller can skip; in CI that is an error instead (a fault test that silently skips proves nothing).
 */
export function mountTmpfs(size: string): Tmpfs | string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ww-tmpfs-'));
  try {
    mount(['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  } catch (e) {
    rmdirSync(dir);
    const why = `cannot mount a tmpfs (needs root and mount permission): ${
      e instanceof Error ? e.message.split('\n')[0] : String(e)
    }`;
    if (IN_CI) throw new Error(`${why}; in CI this test must run`, { cause: e });
    return why;
  }
  let mounted = true;
  return {
    dir,
    readOnly: () => mount(['-o', 'remount,ro', dir]),
    readWrite: () => mount(['-o', 'remount,rw', dir]),
    unmount: () => {
      if (!mounted) return;
      mounted = false;
      execFileSync('umount', ['-l', dir]);
      rmdirSync(dir);
    },
  };
}
