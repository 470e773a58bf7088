// TLS ingest: wss with a private CA, and client-certificate verification when the collector asks for it.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningCollector } from '../../collector/main.js';
import pino from 'pino';
import { makeFinding, tempDir } from './helpers.js';
import { openTestAgent, startTestCollector } from '../helpers/collector.js';

let dir: string;
const f = (n: string): string => path.join(dir, n);

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

beforeAll(() => {
  dir = tempDir('ww-tls-');
  openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=wardwatch test CA',
  ]);
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1\n');
  for (const [name, ext] of [
    ['server', ['-extfile', 'server.ext']],
    ['client', []],
  ] as const) {
    openssl([
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      // The collector binds a client certificate to the agent id of the hello (CN = agent id).
      `/CN=${name === 'client' ? 'agent-a' : name}`,
    ]);
    openssl([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      ...ext,
    ]);
  }
});

describe('tls', () => {
  let col: RunningCollector;
  afterAll(async () => {
    await col.close();
  });

  it('requires a client certificate signed by the CA when asked, then still the token', async () => {
    col = await startTestCollector({
      dir,
      db: ':memory:',
      tls: { cert: f('server.crt'), key: f('server.key'), ca: f('ca.crt'), requestCert: true },
    });
    expect(col.wsUrl).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
    const ca = readFileSync(f('ca.crt'));

    const withoutCert = await new Promise<string>((resolve) => {
      const ws = new WebSocket(col.wsUrl, { ca });
      ws.on('open', () => resolve('open'));
      ws.on('error', () => resolve('refused'));
    });
    expect(withoutCert).toBe('refused');

    const t = await openTestAgent(col.wsUrl, {
      tls: { ca, cert: readFileSync(f('client.crt')), key: readFileSync(f('client.key')) },
    });
    for (let i = 0; i < 5; i++) t.send(makeFinding(i));
    await t.drain();
    await t.close();
    expect(await col.store.countFindings()).toBe(5);

    // The API is served over the same TLS listener.
    const h = await new Promise<number>((resolve, reject) => {
      https
        .get(
          `${col.url}/healthz`,
          { ca, cert: readFileSync(f('client.crt')), key: readFileSync(f('client.key')) },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        )
        .on('error', reject);
    });
    expect(h).toBe(200);
  });

  it('says why a connection in the wrong protocol is refused: plain HTTP on the TLS port, TLS on the plain port', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (x: string) => void lines.push(x) });
    const tlsCol = await startTestCollector({
      dir,
      db: ':memory:',
      logger,
      tls: { cert: f('server.crt'), key: f('server.key') },
    });
    const port = Number(new URL(tlsCol.url).port);
    const plainAnswer = await new Promise<[number, string]>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/healthz' }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve([res.statusCode ?? 0, body]));
        })
        .on('error', reject);
    });
    expect(plainAnswer[0]).toBe(400);
    expect(plainAnswer[1]).toMatch(/speaks TLS: use wss:\/\//);
    await tlsCol.close();

    const plainCol = await startTestCollector({ dir, db: ':memory:', logger });
    const tlsToPlain = await new Promise<string>((resolve) => {
      const ws = new WebSocket(plainCol.wsUrl.replace(/^ws:/, 'wss:'), { rejectUnauthorized: false });
      ws.on('open', () => resolve('open'));
      ws.on('error', () => resolve('refused'));
    });
    expect(tlsToPlain).toBe('refused');
    await plainCol.close();
    const msgs = lines.map((l) => String((JSON.parse(l) as { msg: string }).msg));
    expect(msgs).toContain('collector: plain HTTP on the TLS port (the agent should use wss://)');
    expect(msgs.some((m) => m.startsWith('collector: TLS handshake on the plain port'))).toBe(true);
  });
});
