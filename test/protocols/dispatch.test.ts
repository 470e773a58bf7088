// Protocol detection per flow: server port first, then content probes, with a bounded probe buffer and detach on violation.
import { describe, expect, it } from 'vitest';
import { buildPortMap, createProtocolCounters, FlowDispatcher } from '../../agent/protocols/dispatch.js';
import type {
  Analyzer,
  AnalyzerSink,
  AnalyzerSpec,
  EventRecord,
  ProtoName,
} from '../../agent/protocols/types.js';
import type { FlowInfo } from '../../agent/reassembly/types.js';

const enc = new TextEncoder();

/** A test analyzer: one event per onData with the chunk length; "BAD" in the data is a violation. */
function fakeSpec(proto: ProtoName, ports: number[], magic: string): AnalyzerSpec & { created: number } {
  const spec = {
    proto,
    defaultPorts: ports,
    schema: {
      proto,
      title: 'test',
      events: { chunk: { doc: 'one chunk', fields: {} } },
      anomalies: {},
      anomalyFields: {},
    },
    created: 0,
    probe(_dir: 0 | 1, bytes: Uint8Array) {
      const head = new TextDecoder().decode(bytes.subarray(0, magic.length));
      if (bytes.length < magic.length) return magic.startsWith(head) ? 'need_more' : 'no';
      return head === magic ? 'match' : 'no';
    },
    create(sink: AnalyzerSink): Analyzer {
      spec.created++;
      return {
        onData(dir, bytes, ts) {
          const text = new TextDecoder().decode(bytes);
          if (text.includes('THROW')) throw new Error('analyzer bug');
          if (text.includes('BAD')) sink.violation('not this protocol');
          else sink.event(dir, ts, 'chunk', { len: bytes.length });
        },
        onGap() {},
        onEnd() {},
        bufferedBytes: () => 0,
      };
    },
  } satisfies AnalyzerSpec & { created: number };
  return spec;
}

function flow(serverPort: number): FlowInfo {
  return {
    id: 'f1',
    transport: 'tcp',
    vlan: -1,
    clientIp: '10.0.0.1',
    serverIp: '10.0.0.2',
    clientPort: 40000,
    serverPort,
    clientMac: 0x001122334455,
    serverMac: -1,
    startTs: 0,
    app: null,
  };
}

function setup(serverPort: number, extra: Partial<Record<ProtoName, number[]>> = {}) {
  const mqtt = fakeSpec('mqtt', [1883], 'MQTT');
  const hl7 = fakeSpec('hl7', [2575], '\x0bMSH');
  const specs = [hl7, mqtt];
  const events: EventRecord[] = [];
  const counters = createProtocolCounters(specs);
  const f = flow(serverPort);
  const d = new FlowDispatcher(f, specs, buildPortMap(specs, extra), (e) => events.push(e), counters);
  return { d, f, events, counters, mqtt, hl7 };
}

describe('FlowDispatcher', () => {
  it('detaches an analyzer that throws and counts it; the flow (and the capture) go on without it', () => {
    const { d, events, counters } = setup(1883);
    d.onData(0, enc.encode('MQTT one'), 1);
    expect(() => d.onData(0, enc.encode('THROW'), 2)).not.toThrow();
    expect(counters.analyzerErrors.mqtt).toBe(1);
    // Detached: later data of this flow reaches no analyzer and throws nothing.
    expect(() => d.onData(0, enc.encode('MQTT three THROW'), 3)).not.toThrow();
    expect(() => d.onEnd(0, 4)).not.toThrow();
    expect(events.map((e) => e.fields.len)).toEqual([8]);
    expect(counters.analyzerErrors.mqtt).toBe(1);
  });

  it('attaches by server port before any data', () => {
    const { f, mqtt } = setup(1883);
    expect(f.app).toBe('mqtt');
    expect(mqtt.created).toBe(1);
  });

  it('a site port overrides the default map', () => {
    const { f } = setup(6661, { hl7: [6661] });
    expect(f.app).toBe('hl7');
  });

  it('finds a protocol by content on any port, even when the magic arrives split', () => {
    const { d, f, events } = setup(5000);
    d.onData(0, enc.encode('\x0bM'), 1);
    expect(f.app).toBeNull();
    d.onData(0, enc.encode('SH|rest'), 2);
    expect(f.app).toBe('hl7');
    // The analyzer sees every byte once: the buffered prefix, then the chunk that completed the magic.
    expect(events.map((e) => e.fields.len)).toEqual([2, 7]);
    expect(events[0]?.src).toEqual({ ip: '10.0.0.1', port: 40000, mac: '00:11:22:33:44:55' });
    expect(events[0]?.dst).toEqual({ ip: '10.0.0.2', port: 5000 });
  });

  it('hands the analyzer the whole first chunk, however far it exceeds the probe buffer', () => {
    const { d, f, events } = setup(5000);
    const big = new Uint8Array(20_000).fill(0x41);
    big.set(enc.encode('\x0bMSH'), 0);
    d.onData(0, big, 1);
    expect(f.app).toBe('hl7');
    expect(events.map((e) => e.fields.len)).toEqual([20_000]);
  });

  it('gives up on unknown traffic and never buffers beyond its cap', () => {
    const { d, f } = setup(5000);
    d.onData(0, new Uint8Array(100_000), 1);
    expect(f.app).toBeNull();
    expect(d.bufferedBytes()).toBe(0);
    d.onData(0, enc.encode('MQTT'), 2);
    expect(f.app).toBeNull();
  });

  it('keeps at most the probe cap while undecided', () => {
    const { d } = setup(5000);
    for (let i = 0; i < 3; i++) d.onData(0, enc.encode('\x0b'), i);
    expect(d.bufferedBytes()).toBeLessThanOrEqual(512);
  });

  it('detaches the analyzer on violation and counts it', () => {
    const { d, f, events, counters } = setup(1883);
    d.onData(0, enc.encode('BAD stream'), 1);
    expect(f.app).toBeNull();
    expect(counters.violations.mqtt).toBe(1);
    d.onData(0, enc.encode('more'), 2);
    expect(events).toHaveLength(0);
  });

  it('server to client data is attributed to the server', () => {
    const { d, events } = setup(1883);
    d.onData(1, enc.encode('x'), 5);
    expect(events[0]?.src.ip).toBe('10.0.0.2');
    expect(events[0]?.tsMicros).toBe(5);
    expect(events[0]?.ts).toBe('1970-01-01T00:00:00.000005Z');
  });
});
