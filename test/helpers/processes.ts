// Child processes in tests: `wardwatch collector` on a free loopback port, waiting for stderr lines and ports, and a
// registry that kills, by its own handle, every process a test started.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { REPO_ROOT } from './paths.js';

/** The built CLI (tests that run it skip when dist/ is not built). */
export const BIN = path.join(REPO_ROOT, 'dist/bin/wardwatch.js');

const DEFAULT_WAIT_MS = 30_000;

/** The processes one test file started; `killAll()` SIGKILLs those still running (call it from afterEach/afterAll). */
export interface Tracked {
  /** Registers a process started elsewhere and returns it. */
  add<T extends ChildProcess>(proc: T): T;
  /** Spawns with stderr piped (stdin and stdout ignored unless `opts.stdio` says otherwise) and registers it. */
  spawn(cmd: string, args: readonly string[], opts?: SpawnOptions): ChildProcess;
  killAll(): void;
}

export function tracked(): Tracked {
  const procs: ChildProcess[] = [];
  const add = <T extends ChildProcess>(proc: T): T => {
    procs.push(proc);
    return proc;
  };
  return {
    add,
    spawn: (cmd, args, opts = {}) => add(spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts })),
    killAll() {
      for (const p of procs.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    },
  };
}

/** Everything a process writes to stderr from now on, and waits for a pattern anywhere in it. */
export interface StderrLog {
  text(): string;
  /** Resolves with the first match of `re` in all stderr seen so far or later; rejects after `ms`. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpExecArray>;
}

export function stderrLog(proc: ChildProcess): StderrLog {
  let buf = '';
  const waiters: Array<() => void> = [];
  proc.stderr?.on('data', (d: Buffer) => {
    buf += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  const waitFor = (re: RegExp, ms = DEFAULT_WAIT_MS): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timeout waiting for ${re}: ${buf.slice(-2000)}`)), ms);
      const check = (): void => {
        const m = re.exec(buf);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        } else waiters.push(check);
      };
      check();
    });
  return { text: () => buf, waitFor };
}

/** Resolves with the first match of `re` in what `proc` writes to stderr from now on. */
export function waitForStderr(
  proc: ChildProcess,
  re: RegExp,
  ms = DEFAULT_WAIT_MS,
): Promise<RegExpExecArray> {
  return stderrLog(proc).waitFor(re, ms);
}

export interface CollectorProcess {
  /** http://127.0.0.1:PORT */
  url: string;
  /** ws://127.0.0.1:PORT */
  ws: string;
  port: number;
  proc: ChildProcess;
}

/**
 * Starts `wardwatch collector` on a free loopback port with `<dir>/<db>` (or `db` itself when a postgres:// URL) and the tokens file `<dir>/tokens`, and
 * resolves its URLs from its startup log line; rejects if it exits first or does not start within 30 s.
 */
export function startCollectorProcess(
  dir: string,
  opts: { tracker: Tracked; db?: string; args?: readonly string[] },
): Promise<CollectorProcess> {
  const proc = opts.tracker.spawn(process.execPath, [
    BIN,
    'collector',
    '--listen',
    '127.0.0.1:0',
    '--db',
    // A postgres:// URL (issue 14.4) is passed as it is; anything else is a file in `dir`.
    /^postgres(?:ql)?:\/\//.test(opts.db ?? '') ? (opts.db ?? '') : path.join(dir, opts.db ?? 'db.sqlite'),
    '--tokens',
    path.join(dir, 'tokens'),
    ...(opts.args ?? []),
  ]);
  const log = stderrLog(proc);
  return new Promise((resolve, reject) => {
    proc.on('exit', (code) => reject(new Error(`collector exited ${code}: ${log.text()}`)));
    log.waitFor(/"url":"(http:\/\/127\.0\.0\.1:(\d+))","ws":"(ws:\/\/127\.0\.0\.1:\d+)"/).then(
      ([, url = '', port, ws = '']) => resolve({ url, ws, port: Number(port), proc }),
      (err: Error) => reject(new Error(`collector did not start: ${err.message}`)),
    );
  });
}

/** A loopback TCP port free at the time of the call. */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Resolves once something accepts connections on 127.0.0.1:`port`; throws after `ms`. */
export async function waitForPort(port: number, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${port} never opened`);
}
