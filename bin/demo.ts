// `wardwatch demo`: a collector and an agent on localhost replaying the bundled capture, findings printed as the collector stores them.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { UserError } from '../agent/wire/errors.js';
import { adviceFrom, formatPretty } from '../agent/cli/output.js';
import { runAgent } from '../agent/run-agent.js';
import { startCollector } from '../collector/main.js';
import type { Finding } from '../agent/wire/finding.js';

export const DEMO_CAPTURE = fileURLToPath(new URL('../../fixtures/demo/demo.pcap', import.meta.url));
export const DEMO_SITE = fileURLToPath(new URL('../../fixtures/site.yaml', import.meta.url));

export interface DemoArgs {
  listen: string;
  speed?: number | undefined;
  /** Exit once every finding is stored instead of serving until Ctrl-C. */
  exit: boolean;
  logger: Logger;
  out: NodeJS.WritableStream;
}

export async function runDemo(args: DemoArgs): Promise<number> {
  if (!existsSync(DEMO_CAPTURE))
    throw new UserError(`${DEMO_CAPTURE}: demo capture missing from this installation`);
  const dir = mkdtempSync(path.join(tmpdir(), 'wardwatch-demo-'));
  const agentToken = randomBytes(16).toString('hex');
  const readToken = randomBytes(16).toString('hex');
  // The console's demo sign-in: an admin token made for this run only, so triage (acknowledge, resolve) works too.
  const adminToken = randomBytes(16).toString('hex');
  const tokensFile = path.join(dir, 'tokens');
  writeFileSync(
    tokensFile,
    `agent demo-agent ${agentToken}\nread demo-reader ${readToken}\nadmin demo-admin ${adminToken}\n`,
    { mode: 0o600 },
  );
  const collector = await startCollector({
    listen: args.listen,
    db: path.join(dir, 'wardwatch.db'),
    tokensFile,
    logger: args.logger,
  });
  const say = (line: string): void => {
    args.out.write(`${line}\n`);
  };
  say(`wardwatch demo: collector at ${collector.url}`);
  say(`  console:  ${collector.url}/`);
  say(`            sign in with the demo token ${adminToken} (admin of this run only)`);
  say(`  metrics:  ${collector.url}/metrics`);
  say(`  findings: curl -H 'Authorization: Bearer ${readToken}' ${collector.url}/api/findings`);
  say(`  devices:  curl -H 'Authorization: Bearer ${readToken}' ${collector.url}/api/devices`);
  say(
    `agent demo-agent replaying ${path.relative(process.cwd(), DEMO_CAPTURE)}${args.speed ? ` at ${args.speed}x` : ''}`,
  );

  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // Print what the collector has stored, so the demo shows the whole path, not only the agent.
  let printed = 0;
  const seen = new Set<string>();
  // One poll at a time (the store answers asynchronously); the last one waits for any under way.
  let polling: Promise<void> = Promise.resolve();
  const pollOnce = async (): Promise<void> => {
    const res = await collector.store.queryFindings({ limit: 1000 });
    const fresh = res.findings.filter((f: Finding) => !seen.has(f.id));
    fresh.sort((a: Finding, b: Finding) => a.ts.localeCompare(b.ts));
    if (fresh.length === 0) return;
    // The rules the agent announced carry the advice the pretty form ends with.
    const advice = adviceFrom(await collector.store.listRules());
    for (const f of fresh) {
      seen.add(f.id);
      printed++;
      say(formatPretty(f, advice));
    }
  };
  const poll = (): Promise<void> => (polling = polling.catch(() => undefined).then(pollOnce));
  const timer = setInterval(() => void poll().catch(() => undefined), 250);
  let code: number;
  try {
    code = await runAgent({
      pcap: [DEMO_CAPTURE],
      collector: collector.wsUrl,
      token: agentToken,
      agentId: 'demo-agent',
      spool: path.join(dir, 'spool'),
      site: existsSync(DEMO_SITE) ? DEMO_SITE : undefined,
      speed: args.speed,
      logger: args.logger,
      signal: stop.signal,
    });
    await poll();
    say(`demo: ${printed} findings stored by the collector.`);
    if (!args.exit && !stop.signal.aborted) {
      say('Collector still serving; press Ctrl-C to stop.');
      await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve()));
    }
  } finally {
    clearInterval(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await collector.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return code;
}
