// Hostile HTTP requests: a body over 1 MiB is a 413 (not a reset), deep JSON and malformed %-encoding are 400s
// with one log line and no stack, never a 500.
import http from 'node:http';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningCollector } from '../../collector/main.js';
import { startTestCollector } from '../helpers/collector.js';
import { TOKENS } from './helpers.js';

const logLines: string[] = [];
let col: RunningCollector;

beforeAll(async () => {
  const logger = pino({ level: 'info' }, { write: (s: string) => void logLines.push(s) });
  col = await startTestCollector({ logger });
});

afterAll(async () => {
  await col.close();
});

function put(p: string, body: string | Buffer, token = TOKENS.admin): Promise<Response> {
  return fetch(`${col.url}${p}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
}

/** A raw request (fetch would refuse or normalise a malformed target). */
function rawRequest(target: string, method = 'GET', body?: string): Promise<number> {
  const u = new URL(col.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        method,
        path: target,
        headers: { authorization: `Bearer ${TOKENS.admin}` },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function newLogLines(from: number): Array<Record<string, unknown>> {
  return logLines.slice(from).map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('hostile HTTP requests', () => {
  it('answers a body over 1 MiB with 413, with and without a content-length', async () => {
    const from = logLines.length;
    const big = Buffer.alloc(2 * 1024 * 1024, 0x20);
    const r = await put('/api/baselines/dev-1', big);
    expect(r.status).toBe(413);
    // Chunked (no content-length): the size is only known while reading.
    const chunked = await fetch(`${col.url}/api/baselines/dev-1`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKENS.admin}` },
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < 3; i++) c.enqueue(new Uint8Array(512 * 1024));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    // A body just under the limit is read and judged on its content (not a baseline document: 400).
    const under = await put('/api/baselines/dev-1', `{"a":"${'x'.repeat(1024 * 1024 - 16)}"}`);
    expect(under.status).toBe(400);
    expect(((await under.json()) as { error: string }).error).toMatch(/not a valid baseline/);
    const logs = newLogLines(from).filter((l) => l.status === 413);
    expect(logs.length).toBe(2);
    expect(logs.every((l) => l.err === undefined && l.stack === undefined)).toBe(true);
  });

  it('answers a JSON body 20,000 deep with 400, not a 500', async () => {
    const from = logLines.length;
    const deepBody = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    expect((await put('/api/baselines/dev-2', deepBody)).status).toBe(400);
    expect((await put('/api/baselines/dev-2/learned', `{"a":${deepBody}}`)).status).toBe(400);
    const logs = newLogLines(from);
    expect(logs.length).toBe(2);
    expect(
      logs.every((l) => l.status === 400 && l.err === undefined && !JSON.stringify(l).includes('at ')),
    ).toBe(true);
    // Nothing was stored, so reading the baselines still works.
    const list = await fetch(`${col.url}/api/baselines`, {
      headers: { authorization: `Bearer ${TOKENS.read}` },
    });
    expect(list.status).toBe(200);
  });

  it('answers malformed %-encoding with 400 and one log line', async () => {
    const from = logLines.length;
    expect(await rawRequest('/api/baselines/%E0%A4%A')).toBe(400);
    expect(await rawRequest('/api/baselines/%zz%')).toBe(400);
    expect(await rawRequest('/api/baselines/%E0%A4%A', 'PUT', '{}')).toBe(400);
    expect(await rawRequest('/api/findings?device=%zz&rule=%E0')).toBe(200);
    const logs = newLogLines(from);
    expect(logs.length).toBe(3);
    for (const l of logs) {
      expect(l.status).toBe(400);
      expect(l.err).toBeUndefined();
      expect(String(l.msg)).toMatch(/^http: malformed %-encoding/);
    }
    expect(logLines.some((l) => l.includes('"level":50'))).toBe(false);
  });

  it('counts each refusal by status', async () => {
    const m = await (await fetch(`${col.url}/metrics`)).text();
    // Two 413s; the body under the limit that is no baseline, deep JSON twice and malformed %-encoding three times.
    expect(m).toMatch(/^wardwatch_http_refused_total\{status="413"\} 2$/m);
    expect(m).toMatch(/^wardwatch_http_refused_total\{status="400"\} 6$/m);
    expect(m).toMatch(/^wardwatch_http_refused_total\{status="401"\} 0$/m);
    expect(m).not.toContain('status="500"');
  });
});
