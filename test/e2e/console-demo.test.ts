// `wardwatch demo` prints the console's URL and a demo sign-in token that opens it (issue 10).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BIN } from '../helpers/processes.js';

describe.skipIf(!existsSync(BIN))('wardwatch demo and the console', () => {
  it('prints the console URL and a token that signs in to it, with the replayed incidents', async () => {
    const proc = spawn(process.execPath, [BIN, 'demo', '--listen', '127.0.0.1:0', '--speed', '1000'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    const serving = new Promise<void>((resolve, reject) => {
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('press Ctrl-C')) resolve();
      });
      proc.on('exit', (code) => reject(new Error(`demo exited (${code}) before serving: ${out}`)));
    });
    try {
      await serving;
      const url = /^ {2}console: +(http:\/\/127\.0\.0\.1:\d+)\/$/m.exec(out)?.[1];
      const token = /sign in with the demo token ([0-9a-f]{32})/.exec(out)?.[1];
      expect(url).toBeDefined();
      expect(token).toBeDefined();
      const page = await fetch(`${url}/`);
      expect(await page.text()).toContain('/console/main.js');
      const signIn = await fetch(`${url}/api/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token }),
      });
      expect(signIn.status).toBe(200);
      expect(await signIn.json()).toMatchObject({ name: 'demo-admin', role: 'admin' });
      const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      const incidents = (await (await fetch(`${url}/api/incidents`, { headers: { cookie } })).json()) as {
        total: number;
      };
      expect(incidents.total).toBeGreaterThan(0);
      const rules = (await (await fetch(`${url}/api/rules`, { headers: { cookie } })).json()) as {
        rules: Array<{ id: string; description: string }>;
      };
      // The demo agent announced the shipped rules: the console can describe every finding.
      expect(rules.rules.find((r) => r.id === 'mqtt.wildcard-subscribe')?.description).toMatch(/\w/);
    } finally {
      const exited = new Promise((resolve) => proc.on('exit', resolve));
      proc.kill('SIGINT');
      await exited;
    }
  });
});
