// Flow table: client by SYN/port/first sender, idle timeouts in packet time, FIN/RST, eviction at the cap, VLAN keys.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FlowTable, type FlowLimits } from '../../agent/reassembly/flow-table.js';
import type { FlowInfo, FlowRecord } from '../../agent/reassembly/types.js';
import { F, Recorder, bytesOf, makePacket, type PacketSpec } from './helpers.js';

interface Started {
  info: FlowInfo;
  rec: Recorder;
}

function setup(limits: Partial<FlowLimits> = {}, consume = true) {
  const started: Started[] = [];
  const ended: { info: FlowInfo; record: FlowRecord; endsSeenFirst: number }[] = [];
  const table = new FlowTable(
    {
      onFlowStart(info) {
        const rec = new Recorder();
        started.push({ info, rec });
        return consume ? rec : null;
      },
      onFlowEnd(info, record) {
        const s = started.find((x) => x.info === info);
        ended.push({ info, record, endsSeenFirst: s ? s.rec.ended(0) + s.rec.ended(1) : -1 });
      },
    },
    limits,
  );
  return { table, started, ended };
}

const S = 1_000_000; // µs per second
const T0 = 1_764_000_000 * S;

/** A TCP conversation builder: tracks sequence numbers of both sides. */
class Conv {
  seqC = 1000;
  seqS = 50000;
  constructor(
    readonly table: FlowTable,
    readonly c: { ip: string; port: number },
    readonly s: { ip: string; port: number },
    readonly extra: Partial<PacketSpec> = {},
  ) {}

  fromClient(ts: number, flags: number, text = ''): void {
    const payload = bytesOf(text);
    this.table.onPacket(
      makePacket({
        ts,
        src: this.c.ip,
        dst: this.s.ip,
        sport: this.c.port,
        dport: this.s.port,
        flags,
        seq: this.seqC,
        payload,
        ...this.extra,
      }),
    );
    this.seqC += payload.length + ((flags & (F.SYN | F.FIN)) !== 0 ? 1 : 0);
  }

  fromServer(ts: number, flags: number, text = ''): void {
    const payload = bytesOf(text);
    this.table.onPacket(
      makePacket({
        ts,
        src: this.s.ip,
        dst: this.c.ip,
        sport: this.s.port,
        dport: this.c.port,
        flags,
        seq: this.seqS,
        payload,
        ...this.extra,
      }),
    );
    this.seqS += payload.length + ((flags & (F.SYN | F.FIN)) !== 0 ? 1 : 0);
  }

  handshake(ts: number): void {
    this.fromClient(ts, F.SYN);
    this.fromServer(ts + 10, F.SYN | F.ACK);
    this.fromClient(ts + 20, F.ACK);
  }
}

const CLIENT = { ip: '10.0.0.5', port: 51000 };
const SERVER = { ip: '10.0.0.9', port: 2575 };

describe('FlowTable', () => {
  it('takes the SYN sender as the client and delivers both directions in order', () => {
    const { table, started, ended } = setup();
    const cv = new Conv(table, { ip: '10.0.0.200', port: 40000 }, { ip: '10.0.0.3', port: 45000 });
    cv.handshake(T0);
    cv.fromClient(T0 + 100, F.ACK | F.PSH, 'hello ');
    cv.fromServer(T0 + 200, F.ACK | F.PSH, 'world');
    cv.fromClient(T0 + 300, F.ACK | F.PSH, 'again');
    cv.fromClient(T0 + 400, F.FIN | F.ACK);
    cv.fromServer(T0 + 500, F.FIN | F.ACK);
    expect(started).toHaveLength(1);
    const { info, rec } = started[0]!;
    expect(info.clientIp).toBe('10.0.0.200');
    expect(info.serverPort).toBe(45000);
    expect(Buffer.from(rec.flat(0)).toString()).toBe('hello again');
    expect(Buffer.from(rec.flat(1)).toString()).toBe('world');
    expect(ended).toHaveLength(1);
    const r = ended[0]!.record;
    expect(r.client_by).toBe('syn');
    expect(r.end_reason).toBe('fin');
    expect(r.packets).toEqual([5, 3]);
    expect(r.client).toEqual({ ip: '10.0.0.200', port: 40000 });
    expect(r.transport).toBe('tcp');
    expect(r.vlan).toBeNull();
    expect(r.start).toBe('2025-11-24T16:00:00.000000Z');
    expect(r.endMicros).toBe(T0 + 500);
    // The consumer saw both ends before the record.
    expect(ended[0]!.endsSeenFirst).toBe(2);
    // The final ACK is absorbed by the closed flow, not a new one.
    cv.fromClient(T0 + 600, F.ACK);
    expect(started).toHaveLength(1);
    expect(table.stats.afterClose).toBe(1);
  });

  it('delivers the same bytes for a message split at every byte, in either order', () => {
    const msg = '\x0bMSH|^~\\&|A|B|C|D|20261128||ORU^R01|42|P|2.5\r\x1c\r';
    const run = (cut: number, swap: boolean) => {
      const { table, started } = setup();
      const cv = new Conv(table, CLIENT, SERVER);
      cv.handshake(T0);
      const base = cv.seqC;
      const parts: [number, string][] = [
        [base, msg.slice(0, cut)],
        [base + bytesOf(msg.slice(0, cut)).length, msg.slice(cut)],
      ];
      if (swap) parts.reverse();
      for (const [seq, text] of parts) {
        cv.seqC = seq;
        if (text !== '') cv.fromClient(T0 + 100, F.ACK, text);
      }
      table.flush(T0 + 200);
      return started[0]!.rec.out[0];
    };
    const whole = run(msg.length, false);
    expect(Buffer.from(whole.flatMap((p) => (p.kind === 'data' ? p.bytes : []))).toString()).toBe(msg);
    for (let cut = 1; cut < msg.length; cut++) {
      expect(run(cut, false)).toEqual(whole);
      expect(run(cut, true)).toEqual(whole);
    }
  });

  it('knows the sender MAC at flow start and each side MAC in the record', () => {
    const macs: number[] = [];
    const records: FlowRecord[] = [];
    const table = new FlowTable({
      onFlowStart: (info) => {
        macs.push(info.clientMac, info.serverMac);
        return null;
      },
      onFlowEnd: (_i, r) => records.push(r),
    });
    const cv = new Conv(table, CLIENT, SERVER, { srcMac: 0x001a2b3c4d5e });
    cv.handshake(T0);
    expect(macs).toEqual([0x001a2b3c4d5e, -1]);
    table.flush(T0 + 100);
    expect(records[0]!.client.mac).toBe('00:1a:2b:3c:4d:5e');
  });

  it('counts frame bytes per direction', () => {
    const { table, ended } = setup();
    const cv = new Conv(table, CLIENT, SERVER);
    cv.handshake(T0);
    cv.fromClient(T0 + 100, F.ACK, 'abcd');
    cv.fromClient(T0 + 200, F.RST);
    const r = ended[0]!.record;
    expect(r.end_reason).toBe('rst');
    expect(r.bytes).toEqual([54 * 4 + 4, 54]); // SYN, ACK, 4 bytes of data, RST; SYN-ACK
  });

  it('takes the SYN-ACK receiver as the client when the SYN was missed', () => {
    const { table, ended } = setup();
    const cv = new Conv(table, { ip: '10.0.0.200', port: 40000 }, { ip: '10.0.0.3', port: 45000 });
    cv.fromServer(T0, F.SYN | F.ACK);
    cv.fromClient(T0 + 1, F.ACK);
    table.flush(T0 + 2);
    expect(ended[0]!.record.client.ip).toBe('10.0.0.200');
    expect(ended[0]!.record.client_by).toBe('syn');
    expect(ended[0]!.record.end_reason).toBe('eof');
  });

  it('uses well-known, configured and low ports to find the server on mid-stream pickup', () => {
    const { table, ended } = setup({ serverPorts: [6661] });
    const packets: [string, number, string, number][] = [
      ['10.1.0.1', 104, '10.1.0.2', 40001], // DICOM server speaking first
      ['10.1.0.3', 40002, '10.1.0.4', 1883], // MQTT client speaking first
      ['10.1.0.5', 6661, '10.1.0.6', 40003], // site-configured HL7 port
      ['10.1.0.7', 443, '10.1.0.8', 40004], // any port below 1024
      ['10.1.0.9', 11112, '10.1.0.10', 104], // both known: the lower one
      ['10.1.0.11', 40005, '10.1.0.12', 40006], // neither: first sender
      ['10.1.0.13', 40007, '10.1.0.14', 6514], // syslog over TLS (RFC 5425), above 1024
    ];
    packets.forEach(([src, sport, dst, dport], i) =>
      table.onPacket(
        makePacket({
          ts: T0 + i,
          src,
          dst,
          sport,
          dport,
          flags: F.ACK | F.PSH,
          seq: 5,
          payload: bytesOf('x'),
        }),
      ),
    );
    table.flush(T0 + 100);
    const by = (ip: string) =>
      ended.find((e) => e.record.client.ip === ip || e.record.server.ip === ip)!.record;
    expect(by('10.1.0.1').server).toEqual({ ip: '10.1.0.1', port: 104 });
    expect(by('10.1.0.1').client_by).toBe('port');
    expect(by('10.1.0.3').server.port).toBe(1883);
    expect(by('10.1.0.5').server.port).toBe(6661);
    expect(by('10.1.0.7').server.port).toBe(443);
    expect(by('10.1.0.9').server.port).toBe(104);
    expect(by('10.1.0.11').client).toEqual({ ip: '10.1.0.11', port: 40005 });
    expect(by('10.1.0.11').client_by).toBe('first');
    expect(by('10.1.0.13').server).toEqual({ ip: '10.1.0.14', port: 6514 });
    expect(table.stats.clientBy).toEqual({ syn: 0, port: 6, first: 1 });
  });

  it('delivers UDP datagrams and applies the port heuristic', () => {
    const { table, started, ended } = setup();
    table.onPacket(
      makePacket({
        ts: T0,
        src: '10.2.0.1',
        dst: '10.2.0.53',
        sport: 5353,
        dport: 53,
        proto: 17,
        payload: bytesOf('q'),
      }),
    );
    table.onPacket(
      makePacket({
        ts: T0 + 5,
        src: '10.2.0.53',
        dst: '10.2.0.1',
        sport: 53,
        dport: 5353,
        proto: 17,
        payload: bytesOf('rr'),
      }),
    );
    table.onPacket(
      makePacket({ ts: T0 + 6, src: '10.2.0.53', dst: '10.2.0.1', sport: 53, dport: 5353, proto: 17 }),
    );
    expect(started).toHaveLength(1);
    const rec = started[0]!.rec;
    expect(rec.out[0]).toEqual([{ kind: 'data', bytes: [113] }]);
    expect(rec.calls).toBe(2); // empty datagram not delivered
    table.flush(T0 + 10);
    expect(ended[0]!.record.transport).toBe('udp');
    expect(ended[0]!.record.server.port).toBe(53);
    expect(ended[0]!.record.packets).toEqual([1, 2]);
  });

  it('expires idle flows by packet time with per-transport timeouts', () => {
    const { table, ended } = setup({ tcpTimeout: 300 * S, udpTimeout: 60 * S });
    const cv = new Conv(table, CLIENT, SERVER);
    cv.handshake(T0);
    table.onPacket(
      makePacket({ ts: T0, src: '10.2.0.1', dst: '10.2.0.2', sport: 5000, dport: 5001, proto: 17 }),
    );
    table.advance(T0 + 60 * S);
    expect(ended).toHaveLength(0);
    table.advance(T0 + 61 * S);
    expect(ended.map((e) => e.record.transport)).toEqual(['udp']);
    expect(ended[0]!.record.end_reason).toBe('timeout');
    table.advance(T0 + 300 * S);
    expect(ended).toHaveLength(1);
    table.advance(T0 + 301 * S);
    expect(ended).toHaveLength(2);
    expect(ended[1]!.record.end_reason).toBe('timeout');
    expect(table.size).toBe(0);
  });

  it('expires on packets alone, and a late packet after the timeout starts a new flow', () => {
    const { table, started, ended } = setup({ udpTimeout: 10 * S });
    const udp = (ts: number) =>
      table.onPacket(
        makePacket({
          ts,
          src: '10.2.0.1',
          dst: '10.2.0.2',
          sport: 5000,
          dport: 5001,
          proto: 17,
          payload: bytesOf('a'),
        }),
      );
    udp(T0);
    udp(T0 + 5 * S);
    udp(T0 + 16 * S);
    expect(started).toHaveLength(2);
    expect(ended).toHaveLength(1);
    expect(ended[0]!.record.packets).toEqual([2, 0]);
    expect(started[0]!.info.id).not.toBe(started[1]!.info.id);
    // Unrelated traffic long after: the second flow expires without a call to advance().
    table.onPacket(
      makePacket({ ts: T0 + 100 * S, src: '10.9.0.1', dst: '10.9.0.2', sport: 1, dport: 2, proto: 17 }),
    );
    expect(ended).toHaveLength(2);
  });

  it('uses the closing timeout after one FIN and reports a hole left before a FIN', () => {
    const { table, started, ended } = setup({ tcpClosingTimeout: 30 * S });
    const cv = new Conv(table, CLIENT, SERVER);
    cv.handshake(T0);
    cv.seqC += 5; // five bytes lost
    cv.fromClient(T0 + 100, F.ACK, 'tail');
    cv.fromClient(T0 + 200, F.FIN | F.ACK);
    cv.fromServer(T0 + 300, F.FIN | F.ACK);
    expect(ended).toHaveLength(0); // both FINs, but a hole remains
    table.advance(T0 + 300 + 31 * S);
    expect(ended).toHaveLength(1);
    expect(ended[0]!.record.end_reason).toBe('timeout');
    expect(ended[0]!.record.gaps).toBe(1);
    expect(ended[0]!.record.gap_bytes).toBe(5);
    expect(started[0]!.rec.out[0]).toEqual([
      { kind: 'gap', len: 5 },
      { kind: 'data', bytes: Array.from(bytesOf('tail')) },
      { kind: 'end' },
    ]);
  });

  it('starts a new flow for a new SYN on a closed or abandoned tuple', () => {
    const { table, started, ended } = setup();
    const cv = new Conv(table, CLIENT, SERVER);
    cv.handshake(T0);
    cv.fromClient(T0 + 50, F.RST);
    cv.seqC = 9_000_000;
    cv.handshake(T0 + 100);
    expect(started).toHaveLength(2);
    cv.fromClient(T0 + 150, F.ACK, 'data');
    cv.seqC = 123;
    cv.handshake(T0 + 200); // port reuse without close
    expect(started).toHaveLength(3);
    expect(table.stats.portReuse).toBe(1);
    expect(ended.map((e) => e.record.end_reason)).toEqual(['rst', 'timeout']);
    // A retransmitted SYN is not a new connection.
    cv.seqC = 123;
    cv.fromClient(T0 + 250, F.SYN);
    expect(started).toHaveLength(3);
  });

  it('ignores a RST far outside the window, and sees traffic again soon after a RST', () => {
    const { table, started, ended } = setup({ tcpClosedLinger: 10 * S });
    const cv = new Conv(table, CLIENT, SERVER);
    cv.handshake(T0);
    cv.fromClient(T0 + 100, F.ACK, 'one');
    const seq = cv.seqC;
    cv.seqC += 5_000_000;
    cv.fromClient(T0 + 200, F.RST); // forged: far from the stream
    expect(table.stats.rstIgnored).toBe(1);
    expect(ended).toHaveLength(0);
    cv.seqC = seq;
    cv.fromClient(T0 + 300, F.RST | F.ACK);
    expect(ended.map((e) => e.record.end_reason)).toEqual(['rst']);
    // Traffic that goes on after the RST is absorbed for the linger time only, then picked up again.
    for (let i = 1; i <= 15; i++) cv.fromClient(T0 + i * S, F.ACK, 'x');
    expect(started).toHaveLength(2);
    expect(started[1]!.info.startTs).toBeGreaterThan(T0 + 10 * S);
  });

  it('does not split a flow first seen at its SYN-ACK when the SYN arrives late', () => {
    const { table, started } = setup();
    table.onPacket(
      makePacket({
        ts: T0,
        src: '10.0.0.9',
        dst: '10.0.0.5',
        sport: 2575,
        dport: 51000,
        flags: F.SYN | F.ACK,
        seq: 9,
        ack: 100,
      }),
    );
    table.onPacket(
      makePacket({
        ts: T0 + 1,
        src: '10.0.0.5',
        dst: '10.0.0.9',
        sport: 51000,
        dport: 2575,
        flags: F.SYN,
        seq: 99,
      }),
    );
    expect(started).toHaveLength(1);
    expect(table.stats.portReuse).toBe(0);
    // A SYN with another ISN is a new connection.
    table.onPacket(
      makePacket({
        ts: T0 + 2,
        src: '10.0.0.5',
        dst: '10.0.0.9',
        sport: 51000,
        dport: 2575,
        flags: F.SYN,
        seq: 5000,
      }),
    );
    expect(started).toHaveLength(2);
  });

  it('evicts the longest idle flow at the cap and counts it', () => {
    const { table, ended } = setup({ maxFlows: 3 });
    const udp = (ts: number, port: number) =>
      table.onPacket(
        makePacket({ ts, src: '10.3.0.1', dst: '10.3.0.2', sport: 40000 + port, dport: 9999, proto: 17 }),
      );
    udp(T0, 1);
    udp(T0 + 1, 2);
    udp(T0 + 2, 3);
    udp(T0 + 3, 1); // flow 1 is now the most recent
    udp(T0 + 4, 4); // evicts flow 2
    expect(ended).toHaveLength(1);
    expect(ended[0]!.record.client.port).toBe(40002);
    expect(ended[0]!.record.end_reason).toBe('evicted');
    expect(table.stats.evicted).toBe(1);
    expect(table.size).toBe(3);
    udp(T0 + 5, 5); // evicts flow 3
    expect(ended[1]!.record.client.port).toBe(40003);
    expect(table.stats.evicted).toBe(2);
  });

  it('evicts across transports by idle time, closed flows first', () => {
    const { table, ended } = setup({ maxFlows: 2 });
    const cv = new Conv(table, CLIENT, SERVER);
    cv.handshake(T0);
    table.onPacket(
      makePacket({ ts: T0 + 100, src: '10.3.0.1', dst: '10.3.0.2', sport: 7, dport: 9999, proto: 17 }),
    );
    table.onPacket(
      makePacket({ ts: T0 + 200, src: '10.3.0.1', dst: '10.3.0.2', sport: 8, dport: 9999, proto: 17 }),
    );
    expect(ended[0]!.record.transport).toBe('tcp');
    expect(ended[0]!.record.end_reason).toBe('evicted');
    const udp = ended.length;
    const cv2 = new Conv(table, { ip: '10.0.0.6', port: 1 }, SERVER);
    cv2.handshake(T0 + 300);
    cv2.fromClient(T0 + 400, F.RST); // closed, lingering
    expect(ended.length).toBe(udp + 2); // one UDP flow evicted for it, then its own end
    table.onPacket(
      makePacket({ ts: T0 + 500, src: '10.3.0.1', dst: '10.3.0.2', sport: 9, dport: 9999, proto: 17 }),
    );
    expect(table.stats.evicted).toBe(2); // the closed flow made room without an eviction
  });

  it('keeps flows on different VLANs apart', () => {
    const { table, started } = setup();
    for (const vlan of [10, 20]) {
      const cv = new Conv(table, CLIENT, SERVER, { vlan });
      cv.handshake(T0);
      cv.fromClient(T0 + 100, F.ACK, `vlan${vlan}`);
    }
    const cv = new Conv(table, CLIENT, SERVER);
    cv.handshake(T0);
    expect(started).toHaveLength(3);
    expect(started.map((s) => s.info.vlan)).toEqual([10, 20, -1]);
    expect(Buffer.from(started[1]!.rec.flat(0)).toString()).toBe('vlan20');
    expect(new Set(started.map((s) => s.info.id)).size).toBe(3);
    table.flush(T0 + 1000);
  });

  it('keys IPv6 flows by address bytes', () => {
    const { table, started, ended } = setup();
    const a = '2001:db8:0:0:0:0:0:1';
    const b = '2001:db8:0:0:0:0:0:2';
    table.onPacket(makePacket({ ts: T0, src: a, dst: b, sport: 40000, dport: 1883, flags: F.SYN, seq: 1 }));
    table.onPacket(
      makePacket({ ts: T0 + 1, src: b, dst: a, sport: 1883, dport: 40000, flags: F.SYN | F.ACK, seq: 7 }),
    );
    table.onPacket(
      makePacket({
        ts: T0 + 2,
        src: a,
        dst: b,
        sport: 40000,
        dport: 1883,
        flags: F.ACK,
        seq: 2,
        payload: bytesOf('MQ'),
      }),
    );
    table.onPacket(
      makePacket({
        ts: T0 + 3,
        src: a,
        dst: '2001:db8:0:0:0:0:0:3',
        sport: 40000,
        dport: 1883,
        flags: F.SYN,
        seq: 1,
      }),
    );
    expect(started).toHaveLength(2);
    expect(started[0]!.info.clientIp).toBe('2001:db8::1');
    table.flush(T0 + 10);
    expect(ended[0]!.record.packets).toEqual([2, 1]);
  });

  it('gives stable ids: the same traffic gives the same ids in a fresh table', () => {
    const run = () => {
      const { table, started } = setup();
      const cv = new Conv(table, CLIENT, SERVER);
      cv.handshake(T0);
      table.onPacket(
        makePacket({ ts: T0 + 7, src: '10.2.0.1', dst: '10.2.0.2', sport: 5000, dport: 5001, proto: 17 }),
      );
      return started.map((s) => s.info.id);
    };
    const ids = run();
    expect(ids).toEqual(run());
    expect(ids[0]).toMatch(/^[0-9a-f]{16}$/);
    expect(ids[0]).not.toBe(ids[1]);
  });

  it('counts flows without a consumer and ends them with records', () => {
    const { table, ended } = setup({}, false);
    const cv = new Conv(table, CLIENT, SERVER);
    cv.handshake(T0);
    cv.fromClient(T0 + 100, F.ACK, 'abc');
    cv.fromClient(T0 + 200, F.FIN | F.ACK);
    cv.fromServer(T0 + 300, F.FIN | F.ACK);
    expect(ended).toHaveLength(1);
    expect(ended[0]!.record.end_reason).toBe('fin');
    expect(table.heldBytes).toBe(0);
  });

  it('ignores non-IP frames and tracks ICMP as a flow', () => {
    const { table, ended } = setup();
    const arp = makePacket({ ts: T0, src: '10.0.0.1', dst: '10.0.0.2', sport: 0, dport: 0 });
    arp.ipVersion = 0;
    table.onPacket(arp);
    table.onPacket(makePacket({ ts: T0, src: '10.0.0.1', dst: '10.0.0.2', sport: 0, dport: 0, proto: 1 }));
    table.flush(T0 + 1);
    expect(table.stats.nonIp).toBe(1);
    expect(ended.map((e) => e.record.transport)).toEqual(['icmp']);
  });

  it('keeps the table and held bytes under their caps on random traffic', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            dt: fc.integer({ min: 0, max: 20 * S }),
            host: fc.integer({ min: 1, max: 6 }),
            port: fc.integer({ min: 1, max: 4 }),
            fromServer: fc.boolean(),
            udp: fc.boolean(),
            flags: fc.integer({ min: 0, max: 31 }),
            seq: fc.integer({ min: 0, max: 0xffffffff }),
            len: fc.integer({ min: 0, max: 400 }),
          }),
          { maxLength: 120 },
        ),
        (pkts) => {
          const flowCap = 1000;
          const globalCap = 2500;
          const { table, started, ended } = setup({
            maxFlows: 5,
            flowReassemblyCap: flowCap,
            globalReassemblyCap: globalCap,
          });
          let ts = T0;
          for (const p of pkts) {
            ts += p.dt;
            const c = `10.4.0.${p.host}`;
            const sport = 40000 + p.port;
            table.onPacket(
              makePacket({
                ts,
                src: p.fromServer ? '10.4.1.1' : c,
                dst: p.fromServer ? c : '10.4.1.1',
                sport: p.fromServer ? 104 : sport,
                dport: p.fromServer ? sport : 104,
                proto: p.udp ? 17 : 6,
                flags: p.flags,
                seq: p.seq,
                payload: new Uint8Array(p.len),
              }),
            );
            if (table.size > 5 || table.heldBytes > globalCap) return false;
          }
          table.flush(ts);
          // Every started flow ended exactly once, each consumer saw one end per direction.
          if (ended.length !== started.length || table.size !== 0 || table.heldBytes !== 0) return false;
          return started.every((s) => s.rec.ended(0) === 1 && s.rec.ended(1) === 1);
        },
      ),
      { seed: 42, numRuns: 200 },
    );
  });
});
