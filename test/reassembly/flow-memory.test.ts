// Flow table memory: the byte budget (embryonic flows evicted first, counted), embryonic flows reaped at
// their own shorter timeout (counted apart), consumers and streams made only when payload arrives.
import { describe, expect, it } from 'vitest';
import { FlowTable, type FlowLimits } from '../../agent/reassembly/flow-table.js';
import type { FlowInfo, FlowRecord, StreamConsumer } from '../../agent/reassembly/types.js';
import { F, Recorder, bytesOf, makePacket } from './helpers.js';

const S = 1_000_000;
const T0 = 1_764_000_000 * S;
const SERVER = '10.0.0.9';

interface Harness {
  table: FlowTable;
  ended: FlowRecord[];
  /** Consumers made by the factory, by client port. */
  made: Map<number, Recorder>;
  factoryCalls: () => number;
}

/** A table whose consumers come from a factory (as the pipeline's do). */
function setup(limits: Partial<FlowLimits>): Harness {
  const ended: FlowRecord[] = [];
  const made = new Map<number, Recorder>();
  let calls = 0;
  const factory = (flow: FlowInfo): StreamConsumer => {
    calls++;
    const rec = new Recorder();
    made.set(flow.clientPort, rec);
    return rec;
  };
  const table = new FlowTable(
    {
      onFlowStart: () => factory,
      onFlowEnd: (_info, record) => ended.push(record),
    },
    limits,
  );
  return { table, ended, made, factoryCalls: () => calls };
}

function syn(table: FlowTable, ts: number, port: number, seq = 1000): void {
  table.onPacket(
    makePacket({ ts, src: '10.0.0.5', dst: SERVER, sport: port, dport: 2575, flags: F.SYN, seq }),
  );
}

/** Handshake and one payload segment from the client: an established flow. */
function established(table: FlowTable, ts: number, port: number, text = 'MSH|'): void {
  const c = { src: '10.0.0.5', dst: SERVER, sport: port, dport: 2575 };
  const s = { src: SERVER, dst: '10.0.0.5', sport: 2575, dport: port };
  table.onPacket(makePacket({ ts, ...c, flags: F.SYN, seq: 1000 }));
  table.onPacket(makePacket({ ts: ts + 1, ...s, flags: F.SYN | F.ACK, seq: 9000, ack: 1001 }));
  table.onPacket(makePacket({ ts: ts + 2, ...c, flags: F.ACK, seq: 1001, ack: 9001 }));
  table.onPacket(
    makePacket({ ts: ts + 3, ...c, flags: F.ACK | F.PSH, seq: 1001, ack: 9001, payload: bytesOf(text) }),
  );
}

describe('flow table memory budget', () => {
  it('evicts over the byte budget, counts it, and stays within it', () => {
    // 100 estimated bytes a flow, 1000 allowed: ten flows.
    const { table, ended } = setup({ flowBytes: 100, activeFlowBytes: 0, memoryBudget: 1000 });
    for (let i = 0; i < 15; i++) syn(table, T0 + i, 40000 + i);
    expect(table.size).toBe(10);
    expect(table.stats.evictions).toEqual({ cap: 0, budget: 5 });
    expect(table.stats.evicted).toBe(5);
    expect(table.stats.memory.bytes).toBeLessThanOrEqual(1000);
    expect(table.stats.memory.peak).toBeLessThanOrEqual(1100);
    // The oldest went first, each with a record saying so.
    expect(ended.map((r) => r.client.port)).toEqual([40000, 40001, 40002, 40003, 40004]);
    expect(ended.every((r) => r.end_reason === 'evicted')).toBe(true);
  });

  it('evicts embryonic flows before an established flow idle for longer', () => {
    const { table, ended } = setup({ flowBytes: 100, activeFlowBytes: 200, memoryBudget: 1000 });
    established(table, T0, 50000); // 300 estimated bytes, the longest idle from now on
    for (let i = 0; i < 12; i++) syn(table, T0 + 1000 + i, 40000 + i);
    expect(table.stats.evictions.budget).toBeGreaterThan(0);
    expect(ended.map((r) => r.client.port)).not.toContain(50000);
    expect(ended.every((r) => r.packets[0] === 1 && r.packets[1] === 0)).toBe(true);
    expect(table.stats.memory.bytes).toBeLessThanOrEqual(1000);
  });

  it('charges held out-of-order bytes to the budget', () => {
    const { table, ended } = setup({ flowBytes: 100, activeFlowBytes: 0, memoryBudget: 5000 });
    for (let i = 0; i < 20; i++) syn(table, T0 + i, 40000 + i); // 2000 bytes of embryonic flows
    established(table, T0 + 100, 50000);
    expect(table.stats.evictions.budget).toBe(0);
    // 4000 bytes beyond a hole: held, and the estimate grows by them.
    table.onPacket(
      makePacket({
        ts: T0 + 200,
        src: '10.0.0.5',
        dst: SERVER,
        sport: 50000,
        dport: 2575,
        flags: F.ACK,
        seq: 1001 + 4 + 500,
        payload: new Uint8Array(4000),
      }),
    );
    expect(table.heldBytes).toBeGreaterThanOrEqual(4000);
    expect(table.stats.evictions.budget).toBeGreaterThan(0);
    expect(table.stats.memory.bytes).toBeLessThanOrEqual(5000);
    expect(ended.map((r) => r.client.port)).not.toContain(50000);
  });

  it('evicts embryonic flows first at the count cap too, counted as cap', () => {
    const { table, ended } = setup({ maxFlows: 3 });
    established(table, T0, 50000);
    syn(table, T0 + 10, 40000);
    syn(table, T0 + 20, 40001);
    syn(table, T0 + 30, 40002);
    expect(ended.map((r) => r.client.port)).toEqual([40000]);
    expect(table.stats.evictions).toEqual({ cap: 1, budget: 0 });
  });
});

describe('embryonic flows', () => {
  it('are reaped at their shorter timeout and counted apart from idle ones', () => {
    const { table, ended } = setup({ tcpEmbryonicTimeout: 40 * S, tcpTimeout: 300 * S });
    syn(table, T0, 40000);
    established(table, T0, 50000);
    expect(table.stats.embryonic).toBe(1);
    table.advance(T0 + 39 * S);
    expect(ended).toHaveLength(0);
    table.advance(T0 + 41 * S);
    expect(ended.map((r) => [r.client.port, r.end_reason])).toEqual([[40000, 'timeout']]);
    expect(table.stats.timeouts).toEqual({ embryonic: 1, idle: 0 });
    expect(table.stats.embryonic).toBe(0);
    table.advance(T0 + 301 * S);
    expect(ended.map((r) => r.client.port)).toEqual([40000, 50000]);
    expect(table.stats.timeouts).toEqual({ embryonic: 1, idle: 1 });
  });

  it('leave the embryonic state with a completed handshake even without payload', () => {
    const { table, ended } = setup({ tcpEmbryonicTimeout: 40 * S });
    const c = { src: '10.0.0.5', dst: SERVER, sport: 40000, dport: 2575 };
    const s = { src: SERVER, dst: '10.0.0.5', sport: 2575, dport: 40000 };
    table.onPacket(makePacket({ ts: T0, ...c, flags: F.SYN, seq: 1 }));
    table.onPacket(makePacket({ ts: T0 + 1, ...s, flags: F.SYN | F.ACK, seq: 7, ack: 2 }));
    expect(table.stats.embryonic).toBe(1);
    table.onPacket(makePacket({ ts: T0 + 2, ...c, flags: F.ACK, seq: 2, ack: 8 }));
    expect(table.stats.embryonic).toBe(0);
    table.advance(T0 + 100 * S);
    expect(ended).toHaveLength(0);
  });

  it('get no consumer until payload arrives; the SYN seen before is replayed to the stream', () => {
    const { table, made, factoryCalls } = setup({});
    for (let i = 0; i < 100; i++) syn(table, T0 + i, 40000 + i);
    expect(factoryCalls()).toBe(0);
    established(table, T0 + 1000, 50000, 'hello');
    expect(factoryCalls()).toBe(1);
    // Offset 0 is the byte after the SYN: the stream knew the ISN although it was made afterwards.
    expect(Buffer.from(made.get(50000)?.flat(0) ?? []).toString()).toBe('hello');
    expect(table.stats.reassembly.gaps).toBe(0);
  });

  it('ignore a RST far from the SYN sequence number before any stream exists', () => {
    const { table, ended } = setup({});
    syn(table, T0, 40000, 1000);
    table.onPacket(
      makePacket({
        ts: T0 + 1,
        src: '10.0.0.5',
        dst: SERVER,
        sport: 40000,
        dport: 2575,
        flags: F.RST,
        seq: 1000 + (8 << 20),
      }),
    );
    expect(table.stats.rstIgnored).toBe(1);
    expect(ended).toHaveLength(0);
    table.onPacket(
      makePacket({
        ts: T0 + 2,
        src: '10.0.0.5',
        dst: SERVER,
        sport: 40000,
        dport: 2575,
        flags: F.RST,
        seq: 1001,
      }),
    );
    expect(ended.map((r) => r.end_reason)).toEqual(['rst']);
  });
});
