// An in-process collector and agent transport with the settings collector, transport and deploy tests share.
import path from 'node:path';
import { AgentTransport, type TransportOptions } from '../../agent/transport/client.js';
import { startCollector, type CollectorOptions, type RunningCollector } from '../../collector/main.js';
import { TOKENS, quietLogger, tempDir, writeTokens } from '../collector/helpers.js';

/**
 * A collector on a free loopback port with the store `<dir>/ww.db` and the test tokens file written to `dir`
 * (a fresh temporary directory unless given); `over` replaces any of these.
 */
export function startTestCollector(
  over: Partial<CollectorOptions> & { dir?: string } = {},
): Promise<RunningCollector> {
  const { dir = tempDir(), ...opts } = over;
  return startCollector({
    listen: '127.0.0.1:0',
    db: path.join(dir, 'ww.db'),
    logger: quietLogger,
    ...opts,
    tokensFile: opts.tokensFile ?? writeTokens(dir),
  });
}

/** Agent "agent-a" with its own token and a fresh spool, sending batches after 5 ms; `over` replaces any of these. */
export function openTestAgent(url: string, over: Partial<TransportOptions> = {}): Promise<AgentTransport> {
  return AgentTransport.open({
    url,
    token: TOKENS.agentA,
    agent: 'agent-a',
    version: 't',
    logger: quietLogger,
    batchDelayMs: 5,
    ...over,
    spoolDir: over.spoolDir ?? tempDir(),
  });
}
