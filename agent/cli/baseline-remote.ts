// `wardwatch baseline approve|export` (issue 10): the collector's baseline review from the command line, over its
// HTTP API with an admin (approve) or read (export) token. Export writes the approved set in the `--baseline` format.
import type { Baseline } from '../engine/baselines/baseline-model.js';
import { formatBaselineYaml } from '../engine/baselines/baseline-yaml.js';
import { EXIT_OK, UsageError, writeFileAtomic } from '../engine-inputs.js';
import { armedFor, type DeviceBaseline, type ReviewItem } from '../wire/baseline.js';

/** Where the commands write (tests pass their own). */
export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const processIo: Io = { stdout: process.stdout, stderr: process.stderr };

export interface RemoteArgs {
  collector: string;
  token: string;
}

/** The collector's HTTP base: an agent's ws:// or wss:// URL works too (same port). */
export function apiBase(collector: string): string {
  const m = /^(https?|wss?):\/\/([^/?#]+)\/?$/.exec(collector);
  if (!m || m[1] === undefined || m[2] === undefined)
    throw new UsageError(
      `--collector ${collector}: expected http(s)://HOST:PORT (or the agents' ws(s):// URL)`,
    );
  const scheme = m[1] === 'wss' ? 'https' : m[1] === 'ws' ? 'http' : m[1];
  return `${scheme}://${m[2]}`;
}

async function call<T>(a: RemoteArgs, method: string, p: string, body?: unknown): Promise<T> {
  const url = `${apiBase(a.collector)}${p}`;
  let r: Response;
  try {
    r = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new UsageError(
      `--collector ${a.collector}: cannot reach it (${cause?.code ?? cause?.message ?? String(err)})`,
    );
  }
  const text = await r.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text) as unknown;
  } catch {
    // reported below with the status
  }
  if (!r.ok) {
    const why = (json as { error?: unknown } | null)?.error;
    throw new UsageError(
      `${method} ${p}: HTTP ${r.status}: ${typeof why === 'string' ? why : text.slice(0, 200)}`,
    );
  }
  return json as T;
}

interface Review {
  device: string;
  approved_version: number | null;
  items: ReviewItem[];
  approved: DeviceBaseline | null;
}

/**
 * `baseline approve`: items (`--item ID`, as `--list` prints them) or every learned item not rejected (`--all`) of a
 * device into its approved baseline; `--list` only prints the review. Prints one line per item still to review.
 */
export async function runBaselineApprove(
  a: RemoteArgs & { device: string; all?: boolean; item?: string[]; list?: boolean; comment?: string },
  io: Io = processIo,
): Promise<number> {
  const path = `/api/baselines/${encodeURIComponent(a.device)}`;
  const items = a.item ?? [];
  const list = a.list === true;
  if (!list && (a.all === true) === items.length > 0)
    throw new UsageError('baseline approve: give --all or --item ID... (see the ids with --list)');
  const r = list
    ? await call<Review>(a, 'GET', path)
    : await call<Review>(a, 'POST', `${path}/approve`, {
        ...(a.all ? { all: true } : { items }),
        ...(a.comment ? { comment: a.comment } : {}),
      });
  for (const it of r.items) io.stdout.write(`${it.status}\t${it.id}\t${it.label}\n`);
  const pending = r.items.filter((i) => i.status === 'new' || i.status === 'changed').length;
  io.stderr.write(
    `baseline ${list ? 'review' : 'approve'}: ${r.device} approved version ${r.approved_version ?? 'none'}, ${pending} item(s) to review\n`,
  );
  return EXIT_OK;
}

/** `baseline export`: the approved baselines (all, or one device) as a `--baseline` YAML file. */
export async function runBaselineExport(
  a: RemoteArgs & { device?: string; out?: string },
  io: Io = processIo,
): Promise<number> {
  let devices: DeviceBaseline[];
  let version = 0;
  if (a.device !== undefined) {
    const r = await call<Review>(a, 'GET', `/api/baselines/${encodeURIComponent(a.device)}`);
    if (!r.approved) throw new UsageError(`baseline export: ${r.device} has no approved baseline yet`);
    devices = [r.approved];
    version = r.approved_version ?? 0;
  } else {
    const r = await call<{
      baselines: Array<{ approved: DeviceBaseline | null; approved_version: number | null }>;
    }>(a, 'GET', '/api/baselines');
    devices = r.baselines.flatMap((b) => (b.approved ? [b.approved] : []));
  }
  const b: Baseline = {
    version: 1,
    learned_from: '',
    learned_to: '',
    armed: armedFor(devices),
    devices,
    ...(a.device !== undefined ? { approved_version: version } : {}),
  };
  const text = formatBaselineYaml(b);
  if (a.out !== undefined) writeFileAtomic(a.out, text);
  else io.stdout.write(text);
  io.stderr.write(
    `baseline export: ${devices.length} approved device baseline(s)${a.out ? ` to ${a.out}` : ''}\n`,
  );
  return EXIT_OK;
}
