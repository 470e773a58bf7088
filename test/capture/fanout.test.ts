// Kernel fanout (PACKET_FANOUT, hash mode) through our binding on lo: handles of one group share the traffic, each
// flow whole (both directions) at one handle; a build or system without it is refused, never silently ignored.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { LiveCapture, LiveCaptureError, loadPcapBinding } from '../../agent/capture/live.js';
import { Decoder } from '../../agent/decode/decoder.js';
import { createPacket } from '../../agent/decode/packet.js';

const binding = loadPcapBinding();
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const skipReason = !binding
  ? 'native binding wardwatch-pcap not built'
  : !isRoot
    ? 'capturing needs root or cap_net_raw'
    : binding.fanout !== true
      ? 'this build of the binding has no fanout (run `npm rebuild wardwatch-pcap`; Linux only)'
      : '';
if (skipReason) console.warn(`fanout tests skipped: ${skipReason}`);

const CONNECTIONS = 24;

/** Resolves once `done()` holds, checking at each tick of a 20 ms interval (no timing is asserted). */
function until(done: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const t = setInterval(() => {
      if (done()) {
        clearInterval(t);
        resolve();
      }
    }, 20);
  });
}

describe.skipIf(skipReason !== '')('PACKET_FANOUT hash on lo', () => {
  it('gives each TCP connection, both directions, to one handle of the group, and every packet to one handle', async () => {
    const server = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const group = (process.pid + 1) & 0xffff;
    const handles = [0, 1].map(() =>
      LiveCapture.open({ device: 'lo', filter: `tcp port ${port}`, immediate: true, fanoutGroup: group }),
    );
    // Outside the group: sees every packet, the count the group's handles must add up to.
    const reference = LiveCapture.open({ device: 'lo', filter: `tcp port ${port}`, immediate: true });
    let all = 0;
    reference.start(
      () => all++,
      (err) => {
        throw err;
      },
    );
    const decoder = new Decoder();
    const pkt = createPacket();
    // The client port names the connection; which handles saw it, and how many packets in all.
    const seenBy = new Map<number, Set<number>>();
    let packets = 0;
    handles.forEach((h, i) =>
      h.start(
        (f) => {
          packets++;
          if (decoder.decode(f, pkt) !== 'ok') return;
          const client = pkt.srcPort === port ? pkt.dstPort : pkt.srcPort;
          const set = seenBy.get(client) ?? new Set<number>();
          set.add(i);
          seenBy.set(client, set);
        },
        (err) => {
          throw err;
        },
      ),
    );
    for (let c = 0; c < CONNECTIONS; c++) {
      const sock = net.connect(port, '127.0.0.1');
      await new Promise<void>((r) => sock.once('connect', () => r()));
      let echoed = 0;
      sock.on('data', (d) => {
        echoed += d.length;
      });
      sock.write(Buffer.alloc(300, c));
      await until(() => echoed >= 300);
      await new Promise<void>((r) => sock.end(() => r()));
    }
    await until(() => seenBy.size >= CONNECTIONS && packets >= all);
    server.close();
    for (const h of [...handles, reference]) h.stop();
    expect(seenBy.size).toBe(CONNECTIONS);
    for (const [, by] of seenBy) expect(by.size).toBe(1);
    // Both handles had a share (24 connections on one handle alone: 2^-23 by chance).
    const perHandle = [0, 1].map((i) => [...seenBy.values()].filter((s) => s.has(i)).length);
    expect(perHandle.every((n) => n > 0)).toBe(true);
    // Each packet went to one handle of the group, none to two.
    expect(all).toBeGreaterThanOrEqual(CONNECTIONS * 6);
    expect(packets).toBe(all);
  });

  it('refuses a group number outside 0..65535', () => {
    expect(() => LiveCapture.open({ device: 'lo', fanoutGroup: 70000 })).toThrow(
      /fanoutGroup must be 0 to 65535/,
    );
  });

  it('refuses to join a group with a different mode as a user error naming --fanout', () => {
    const group = (process.pid + 2) & 0xffff;
    const first = LiveCapture.open({ device: 'lo', fanoutGroup: group, filter: 'tcp port 9' });
    try {
      // A group is bound to one device: joining it on another is refused by the kernel.
      const other = (): LiveCapture =>
        LiveCapture.open({ device: 'any', fanoutGroup: group, filter: 'tcp port 9' });
      expect(other).toThrow(LiveCaptureError);
      expect(other).toThrow(/--fanout hash on any: PACKET_FANOUT \(group \d+, hash\): .*use --fanout bpf/);
    } finally {
      first.stop();
    }
  });
});
