// Live capture on the loopback interface through our libpcap binding: frames, timestamps, BPF, drop counters, errors.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';
import { describe, expect, it } from 'vitest';
import { LiveCapture, LiveCaptureError, listInterfaces, loadPcapBinding } from '../../agent/capture/live.js';
import { Decoder } from '../../agent/decode/decoder.js';
import { createPacket } from '../../agent/decode/packet.js';

const binding = loadPcapBinding();
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!binding) console.warn('live capture tests skipped: native binding wardwatch-pcap not built');
else if (!isRoot) console.warn('live capture tests skipped: capturing needs root or cap_net_raw');

describe.skipIf(!binding || !isRoot)('live capture on lo', () => {
  it('lists the loopback interface', () => {
    const lo = listInterfaces().find((d) => d.name === 'lo');
    expect(lo?.loopback).toBe(true);
    expect(lo?.addresses).toContain('127.0.0.1');
  });

  it('delivers the TCP frames a BPF filter selects, with packet time, and counts no drops', async () => {
    const server = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const cap = LiveCapture.open({ device: 'lo', filter: `tcp port ${port}`, immediate: true });
    const decoder = new Decoder();
    const pkt = createPacket();
    const ports = new Set<number>();
    let frames = 0;
    let payload = 0;
    let firstTs = 0;
    cap.start(
      (f) => {
        frames++;
        if (firstTs === 0) firstTs = f.ts;
        if (decoder.decode(f, pkt) === 'ok') {
          ports.add(pkt.srcPort).add(pkt.dstPort);
          payload += pkt.payload.length;
        }
      },
      (err) => {
        throw err;
      },
    );
    const before = Date.now() * 1000;
    const client = net.connect(port, '127.0.0.1');
    await new Promise<void>((r) => client.once('connect', () => r()));
    let echoed = 0;
    client.on('data', (d) => {
      echoed += d.length;
    });
    for (let i = 0; i < 50; i++) client.write(Buffer.alloc(100, i));
    await new Promise<void>((r) => {
      const t = setInterval(() => {
        if (echoed >= 5000) {
          clearInterval(t);
          r();
        }
      }, 10);
    });
    client.end();
    await new Promise((r) => setTimeout(r, 300));
    const stats = cap.stats();
    cap.stop();
    server.close();
    expect(frames).toBeGreaterThan(4);
    expect(ports.has(port)).toBe(true);
    // Both directions: 5000 bytes each way.
    expect(payload).toBe(10_000);
    expect(Math.abs(firstTs - before)).toBeLessThan(60_000_000);
    expect(stats.dropped).toBe(0);
    expect(stats.queueDropped).toBe(0);
  });

  it('a missing interface and a bad filter are clear errors', () => {
    expect(() => LiveCapture.open({ device: 'nosuch0' })).toThrow(LiveCaptureError);
    expect(() => LiveCapture.open({ device: 'nosuch0' })).toThrow(/no such capture device/);
    expect(() => LiveCapture.open({ device: 'lo', filter: 'tcp port' })).toThrow(/^--bpf: /);
  });
});

const BIN = path.join(REPO_ROOT, 'dist/bin/wardwatch.js');
const HAVE_SETPRIV = existsSync('/usr/bin/setpriv');

describe.skipIf(!binding || !isRoot || !HAVE_SETPRIV || !existsSync(BIN))(
  'live capture without privilege',
  () => {
    it('names the missing capability and exits 2', () => {
      const r = spawnSync(
        '/usr/bin/setpriv',
        [
          '--reuid',
          '65534',
          '--regid',
          '65534',
          '--clear-groups',
          process.execPath,
          BIN,
          'agent',
          '--interface',
          'lo',
          '--collector',
          'ws://127.0.0.1:9',
          '--token',
          'unused-token-1',
        ],
        { encoding: 'utf8' },
      );
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^wardwatch: --interface lo: permission denied: .*cap_net_raw/);
    });
  },
);
