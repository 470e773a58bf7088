// Child-process entry for tests: an agent transport sending synthetic findings; prints progress as JSON lines.
import pino from 'pino';
import { AgentTransport } from '../../agent/transport/client.js';
import { makeFinding } from '../collector/helpers.js';

interface Args {
  url: string;
  token: string;
  agent: string;
  spoolDir: string;
  /** Findings to generate this run, ids start..start+count-1 (0: only resend what the spool holds). */
  count: number;
  start?: number;
  batchMax?: number;
  windowBatches?: number;
}

const a = JSON.parse(process.argv[2] ?? '{}') as Args;
const logger = pino({ level: process.env.WW_TEST_LOG ?? 'silent' }, pino.destination(2));
const t = await AgentTransport.open({
  url: a.url,
  token: a.token,
  agent: a.agent,
  version: 'test',
  spoolDir: a.spoolDir,
  logger,
  batchMax: a.batchMax ?? 10,
  windowBatches: a.windowBatches ?? 2,
  batchDelayMs: 5,
  backoffMinMs: 20,
  backoffMaxMs: 200,
});
const say = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
say({ started: true, pending: t.stats().spoolPending });
for (let i = a.start ?? 0; i < (a.start ?? 0) + a.count; i++) t.send(makeFinding(i, a.agent));
await t.flush();
say({ spooled: t.stats().spoolPending });
await t.drain();
say({ drained: true, ...t.stats() });
await t.close();
process.exit(0);
