// SIEM export: RFC 5424 syslog (UDP datagram, TCP octet counting) with JSON or CEF body, JSON lines file.
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Exporter, formatCef, formatSyslog } from '../../collector/export.js';
import { CollectorMetrics } from '../../collector/metrics.js';
import { makeFinding, quietLogger, tempDir, waitFor } from './helpers.js';
import { openTestAgent, startTestCollector } from '../helpers/collector.js';

// RFC 5424 §6: PRI VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA [SP MSG]
const RFC5424 =
  /^<(\d{1,3})>1 (\S+) (\S{1,255}) (\S{1,48}) (\S{1,128}) (\S{1,32}) (\[[^\]]*(?:\\\][^\]]*)*\]|-) (.*)$/s;

describe('syslog and CEF formatting', () => {
  it('formats an RFC 5424 message with priority from severity and the finding as JSON', () => {
    const f = makeFinding(4, 'agent-a', { severity: 'critical', rule: 'dicom.c-move-unknown' });
    const m = RFC5424.exec(formatSyslog(f, { hostname: 'col-1' }));
    expect(m).not.toBeNull();
    expect(Number(m?.[1])).toBe(4 * 8 + 2);
    expect(m?.[2]).toBe(f.ts);
    expect(m?.[3]).toBe('col-1');
    expect(m?.[4]).toBe('wardwatch');
    expect(m?.[6]).toBe('dicom.c-move-unknown');
    expect(m?.[7]).toContain(`id="${f.id}"`);
    // The JSON body is the finding with its class spelled out (absent on the wire means alert).
    expect(JSON.parse(m?.[8] ?? '')).toEqual({ ...f, class: 'alert' });
    expect(m?.[7]).toContain('class="alert"');
    expect(Number(RFC5424.exec(formatSyslog({ ...f, severity: 'info' }, { hostname: 'h' }))?.[1])).toBe(
      4 * 8 + 6,
    );
  });

  it('escapes structured-data values and strips spaces from header fields', () => {
    const f = makeFinding(1, 'agent-a', { rule: 'r "x"]\\' });
    const s = formatSyslog(f, { hostname: 'my host' });
    expect(s).toContain('rule="r \\"x\\"\\]\\\\"');
    expect(RFC5424.exec(s)?.[3]).toBe('myhost');
  });

  it('formats CEF with escaped header and extension values', () => {
    const f = makeFinding(2, 'agent-a', {
      severity: 'high',
      title: 'pipe | and back\\slash',
      evidence: {},
      device: { ip: '10.20.30.17', mac: '00:1a:2b:3c:4d:5e' },
      peer: { ip: '10.20.60.2', port: 1883 },
      flow: 'a=b\nc',
    });
    const cef = formatCef(f, '0.1.0');
    const head = cef.split(/(?<!\\)\|/);
    expect(head.slice(0, 7)).toEqual([
      'CEF:0',
      'wardwatch',
      'wardwatch',
      '0.1.0',
      f.rule,
      'pipe \\| and back\\\\slash',
      '8',
    ]);
    expect(cef).toContain('src=10.20.30.17');
    expect(cef).toContain('dst=10.20.60.2 dpt=1883');
    expect(cef).toContain('flexString2Label=flow flexString2=a\\=b\\nc');
    expect(cef).toContain(`externalId=${f.id}`);
    expect(cef).not.toContain('\n');
    expect(cef).toContain('cs4Label=class cs4=alert');
    const sys = formatSyslog(f, { cef: true, hostname: 'h' });
    expect(RFC5424.exec(sys)?.[8]).toBe(cef);
  });

  it('marks exposures in CEF, in the structured data and in the JSON body', () => {
    const f = makeFinding(3, 'agent-a', { class: 'exposure', rule: 'mqtt.cleartext-password' });
    expect(formatCef(f)).toContain('cs4Label=class cs4=exposure');
    const m = RFC5424.exec(formatSyslog(f, { hostname: 'h' }));
    expect(m?.[7]).toContain('class="exposure"');
    expect(JSON.parse(m?.[8] ?? '{}')).toMatchObject({ id: f.id, class: 'exposure' });
  });
});

describe('export targets', () => {
  it('sends each newly stored finding once to a UDP syslog receiver and a JSON lines file', async () => {
    const udp = dgram.createSocket('udp4');
    const got: string[] = [];
    udp.on('message', (m) => got.push(m.toString()));
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    const dir = tempDir();
    const jsonl = path.join(dir, 'findings.jsonl');
    const col = await startTestCollector({
      dir,
      export: { jsonl, syslog: { host: '127.0.0.1', port: udp.address().port, proto: 'udp', cef: true } },
    });
    const t = await openTestAgent(col.wsUrl);
    for (let i = 0; i < 20; i++) t.send(makeFinding(i));
    for (let i = 0; i < 20; i++) t.send(makeFinding(i));
    // Exposure reports go out too, marked.
    t.send(makeFinding(20, 'agent-a', { class: 'exposure' }));
    await t.drain();
    await waitFor(() => got.length >= 21, 'syslog datagrams');
    await t.close();
    await col.close();
    udp.close();
    expect(got.length).toBe(21);
    expect(got.every((m) => RFC5424.test(m) && m.includes('CEF:0|wardwatch|'))).toBe(true);
    expect(got.filter((m) => m.includes('cs4=exposure')).length).toBe(1);
    const lines = readFileSync(jsonl, 'utf8').trim().split('\n');
    const records = lines.map((l) => JSON.parse(l) as { id: string; class: string });
    expect(records.map((r) => r.id).sort()).toEqual(
      Array.from({ length: 21 }, (_, i) => `agent-a-f${i}`).sort(),
    );
    expect(records.filter((r) => r.class === 'exposure').map((r) => r.id)).toEqual(['agent-a-f20']);
    expect(records.filter((r) => r.class === 'alert').length).toBe(20);
  });

  it('frames syslog over TCP with octet counting (RFC 6587)', async () => {
    let data = Buffer.alloc(0);
    const server = net.createServer((s) => s.on('data', (d: Buffer) => (data = Buffer.concat([data, d]))));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const ex = new Exporter(
      { syslog: { host: '127.0.0.1', port, proto: 'tcp' } },
      quietLogger,
      new CollectorMetrics(() => 0),
    );
    const fs = [makeFinding(1, 'agent-a', { title: 'ünïcode title' }), makeFinding(2)];
    ex.write(fs);
    const messages: string[] = [];
    await waitFor(() => {
      messages.length = 0;
      let pos = 0;
      while (pos < data.length) {
        const sp = data.indexOf(0x20, pos);
        if (sp < 0) break;
        const len = Number(data.subarray(pos, sp).toString());
        if (sp + 1 + len > data.length) break;
        messages.push(data.subarray(sp + 1, sp + 1 + len).toString());
        pos = sp + 1 + len;
      }
      return messages.length === 2;
    }, 'two framed messages');
    expect(messages.map((m) => (JSON.parse(RFC5424.exec(m)?.[8] ?? '{}') as { id: string }).id)).toEqual([
      fs[0]?.id,
      fs[1]?.id,
    ]);
    await ex.close();
    await new Promise<void>((r) => server.close(() => r()));
  });
});
