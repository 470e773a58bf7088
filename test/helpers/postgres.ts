// A throwaway PostgreSQL cluster for the store tests (issue 14.4): Debian's server binaries, initdb + pg_ctl in a
// temporary directory, listening on 127.0.0.1 on a free port with its unix socket in that directory, stopped and
// removed by stop() (and at process exit, should a test file die first). As root, initdb refuses to run: the
// cluster then belongs to the `postgres` user. Absent binaries skip the PostgreSQL half locally and fail in CI.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openStore, type Store } from '../../collector/store.js';

/** The newest /usr/lib/postgresql/N/bin holding initdb and pg_ctl, or null. */
function findBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const bin = path.join(root, v, 'bin');
    if (existsSync(path.join(bin, 'initdb')) && existsSync(path.join(bin, 'pg_ctl'))) return bin;
  }
  return null;
}

export const PG_BIN = findBin();
export const HAVE_POSTGRES = PG_BIN !== null;
/** In CI a missing PostgreSQL fails the suites (they run and cannot start it) instead of skipping them. */
export const RUN_POSTGRES = HAVE_POSTGRES || process.env.WARDWATCH_CI !== undefined;
export const POSTGRES_ABSENT =
  'PostgreSQL server binaries not found (/usr/lib/postgresql/N/bin: apt-get install postgresql); PostgreSQL store tests skipped';
if (!RUN_POSTGRES) console.warn(POSTGRES_ABSENT);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface PgCluster {
  port: number;
  /** URL of a database of this cluster (default `postgres`). */
  url(db?: string): string;
  /** A new empty database; returns its URL. */
  createDatabase(): Promise<string>;
  /** Stops the server as a crash would (immediate shutdown), keeping its data; `resume()` starts it again. */
  pause(): void;
  resume(): void;
  stop(): void;
}

let databases = 0;

/** Starts a cluster in a fresh temporary directory. */
export async function startPostgres(): Promise<PgCluster> {
  if (PG_BIN === null) throw new Error(POSTGRES_ABSENT);
  const bin = PG_BIN;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ww-pg-'));
  const data = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const run = (tool: string, args: string[]): void => {
    const cmd = path.join(bin, tool);
    if (asRoot) execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe', cwd: dir });
    else execFileSync(cmd, args, { stdio: 'pipe', cwd: dir });
  };
  const port = await freePort();
  let running = false;
  const stop = (): void => {
    if (running) {
      running = false;
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  // Loopback only, the socket in our directory; fsync off and small buffers: these clusters hold test data for
  // seconds, and several test files run one each at once.
  const opts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c full_page_writes=off -c shared_buffers=16MB`;
  const start = (): void => {
    run('pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-o', opts, '-w', '-t', '60', 'start']);
    running = true;
  };
  try {
    run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    start();
  } catch (e) {
    const log = path.join(dir, 'server.log');
    const why = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '';
    stop();
    throw new Error(`could not start PostgreSQL: ${(e as Error).message}\n${why}`, { cause: e });
  }
  const url = (db = 'postgres'): string => `postgres://postgres@127.0.0.1:${port}/${db}`;
  return {
    port,
    url,
    async createDatabase() {
      const name = `ww_${process.pid}_${++databases}`;
      const c = new pg.Client({ connectionString: url() });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return url(name);
    },
    pause() {
      running = false;
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    },
    resume: start,
    stop,
  };
}

/** One store backend the store tests run against: `fresh()` gives the --db value of a new, empty store. */
export interface StoreBackend {
  name: 'sqlite' | 'postgres';
  fresh(dir: string): Promise<string>;
  open(db: string): Promise<Store>;
}

/**
 * The backends for `describe.each`: SQLite always, PostgreSQL when its binaries are here (or in CI, where their
 * absence fails). Call `setup()` in beforeAll and `teardown()` in afterAll of the file.
 */
export function storeBackends(): {
  backends: StoreBackend[];
  setup(): Promise<void>;
  teardown(): void;
} {
  let cluster: PgCluster | null = null;
  const backends: StoreBackend[] = [
    { name: 'sqlite', fresh: async (dir) => path.join(dir, 'ww.db'), open: openStore },
  ];
  if (RUN_POSTGRES)
    backends.push({
      name: 'postgres',
      fresh: async () => {
        if (!cluster) throw new Error('PostgreSQL cluster not started (storeBackends().setup in beforeAll)');
        return cluster.createDatabase();
      },
      open: openStore,
    });
  return {
    backends,
    async setup() {
      if (RUN_POSTGRES) cluster = await startPostgres();
    },
    teardown() {
      cluster?.stop();
      cluster = null;
    },
  };
}
