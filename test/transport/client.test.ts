// Agent transport without a collector: send() never blocks, findings wait on disk, bad findings and overflow are
// counted, and a collector that appears later gets everything once.
import { describe, expect, it } from 'vitest';
import { AgentTransport } from '../../agent/transport/client.js';
import type { Finding } from '../../agent/wire/finding.js';
import { TOKENS, makeFinding, quietLogger, tempDir, waitFor } from '../collector/helpers.js';
import { startTestCollector } from '../helpers/collector.js';
import { freePort } from '../helpers/processes.js';

describe('agent transport', () => {
  it('queues to disk while the collector is absent and delivers once it appears', async () => {
    const port = await freePort();
    const spoolDir = tempDir('ww-spool-');
    const dir = tempDir();
    const opts = {
      url: `ws://127.0.0.1:${port}`,
      token: TOKENS.agentA,
      agent: 'agent-a',
      version: 't',
      spoolDir,
      logger: quietLogger,
      batchMax: 100,
      batchDelayMs: 5,
      backoffMinMs: 20,
      backoffMaxMs: 100,
    };
    const t = await AgentTransport.open(opts);
    for (let i = 0; i < 1000; i++) t.send(makeFinding(i));
    // Schema-invalid findings never reach the spool (they would be refused by the collector forever).
    t.send({ ...makeFinding(5000), severity: 'urgent' } as unknown as Finding);
    t.send({ ...makeFinding(5001), id: '' });
    await t.flush();
    expect(t.stats()).toMatchObject({
      connected: false,
      queued: 1000,
      invalid: 2,
      spoolPending: 1000,
      lastSeq: 10,
      ackedSeq: 0,
    });
    await t.close();

    // Restart the agent side with the collector now up: the spool alone carries the findings.
    const col = await startTestCollector({ dir, listen: `127.0.0.1:${port}` });
    const again = await AgentTransport.open(opts);
    await again.drain();
    expect(again.stats()).toMatchObject({ connected: true, spoolPending: 0, ackedSeq: 10 });
    await again.close();
    expect(await col.store.countFindings()).toBe(1000);
    await col.close();
  });

  it('drops the oldest findings held in memory beyond its cap, and counts them', async () => {
    const t = await AgentTransport.open({
      url: `ws://127.0.0.1:${await freePort()}`,
      token: 'x'.repeat(16),
      agent: 'agent-a',
      version: 't',
      spoolDir: tempDir('ww-spool-'),
      logger: quietLogger,
      maxPendingInMemory: 100,
      batchMax: 1000,
      batchDelayMs: 10_000,
    });
    // All in one synchronous burst: nothing can reach the spool in between.
    for (let i = 0; i < 250; i++) t.send(makeFinding(i));
    expect(t.stats().memoryDropped).toBe(150);
    await t.flush();
    expect(t.stats().spoolPending).toBe(100);
    await t.close();
  });

  it('under --spool-full stop-reading holds the source back instead of dropping, and loses nothing', async () => {
    const port = await freePort();
    const t = await AgentTransport.open({
      url: `ws://127.0.0.1:${port}`,
      token: TOKENS.agentA,
      agent: 'agent-a',
      version: 't',
      spoolDir: tempDir('ww-spool-'),
      logger: quietLogger,
      spoolMaxBytes: 64 * 1024,
      spoolFull: 'stop-reading',
      batchMax: 10,
      batchDelayMs: 1,
      spoolRetryMs: 20,
      backoffMinMs: 20,
      backoffMaxMs: 100,
    });
    // A source that asks for room after each chunk, as FileSource does through readCaptureFile's gate.
    let n = 0;
    while (t.room() === null && n < 5000) {
      for (let k = 0; k < 10; k++) t.send(makeFinding(n++));
      await t.flush();
    }
    const held = t.room();
    expect(held).not.toBeNull();
    expect(n).toBeLessThan(5000);
    expect(t.stats()).toMatchObject({ spoolDropped: 0, memoryDropped: 0, queued: n });
    const col = await startTestCollector({ listen: `127.0.0.1:${port}` });
    try {
      await held;
      for (let k = 0; k < 10; k++) t.send(makeFinding(n++));
      await t.drain();
      expect(t.stats()).toMatchObject({ spoolDropped: 0, memoryDropped: 0, spoolPending: 0 });
      expect(await col.store.countFindings()).toBe(n);
      await t.close();
    } finally {
      await col.close();
    }
  });

  it('keeps reconnecting with backoff after a refused token and reports not connected', async () => {
    const col = await startTestCollector({ db: ':memory:' });
    const t = await AgentTransport.open({
      url: col.wsUrl,
      token: 'wrong-token-123',
      agent: 'agent-a',
      version: 't',
      spoolDir: tempDir('ww-spool-'),
      logger: quietLogger,
      backoffMinMs: 20,
      backoffMaxMs: 40,
    });
    t.send(makeFinding(1));
    await waitFor(
      async () =>
        /rejected_messages_total\{reason="auth"\} [3-9]/.test(
          await (await fetch(`${col.url}/metrics`)).text(),
        ),
      'three refused attempts',
    );
    expect(t.stats()).toMatchObject({ connected: false, connects: 0 });
    await t.close();
    await col.close();
  });
});
