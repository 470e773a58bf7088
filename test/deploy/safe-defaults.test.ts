// Safe by default (issue 13 item 6): a port alone listens on loopback, and a tokens file other users can read is
// named in a warning (the collector still starts: the fix is the operator's chmod).
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { parseListen, startCollector } from '../../collector/main.js';

describe('safe defaults', () => {
  it('--listen PORT binds 127.0.0.1; other addresses only when named', () => {
    expect(parseListen('7411')).toEqual({ host: '127.0.0.1', port: 7411 });
    expect(parseListen('0.0.0.0:7411')).toEqual({ host: '0.0.0.0', port: 7411 });
    expect(parseListen('[::]:7411')).toEqual({ host: '::', port: 7411 });
  });

  for (const [mode, who] of [
    [0o640, 'its group'],
    [0o644, 'other users'],
  ] as const) {
    it(`a tokens file of mode ${mode.toString(8)} gets a warning naming ${who} and the fix`, async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'ww-tok-'));
      const file = path.join(dir, 'tokens');
      writeFileSync(file, 'agent a1 token-token-1\n');
      chmodSync(file, mode);
      const lines: string[] = [];
      const logger = pino({ level: 'warn' }, { write: (x: string) => void lines.push(x) });
      const c = await startCollector({ listen: '127.0.0.1:0', db: ':memory:', tokensFile: file, logger });
      await c.close();
      const msgs = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
      expect(msgs).toContain(
        `collector: tokens file ${file} is readable by ${who} (mode 0${mode.toString(8)}): chmod 600 ${file}`,
      );
    });
  }

  it('a tokens file of mode 600 draws no warning', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ww-tok-'));
    const file = path.join(dir, 'tokens');
    writeFileSync(file, 'agent a1 token-token-1\n', { mode: 0o600 });
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (x: string) => void lines.push(x) });
    const c = await startCollector({ listen: '127.0.0.1:0', db: ':memory:', tokensFile: file, logger });
    await c.close();
    expect(lines.filter((l) => l.includes('tokens file'))).toEqual([]);
  });
});
