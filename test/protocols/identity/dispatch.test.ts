// The datagram and link-frame plumbing: port choice, an analyzer that throws is detached and counted, the size cap.
import { describe, expect, it } from 'vitest';
import { createProtocolCounters } from '../../../agent/protocols/dispatch.js';
import {
  addProtocols,
  buildDatagramPortMap,
  createIdentityCounters,
  datagramAnalyzerByPort,
  DatagramDispatcher,
  dispatchLinkFrame,
  MAX_DATAGRAM,
} from '../../../agent/protocols/dispatch-datagram.js';
import { DATAGRAM_ANALYZERS, LINK_ANALYZERS } from '../../../agent/protocols/registry.js';
import { ssdpSchema } from '../../../agent/protocols/ssdp/events.js';
import type { DatagramAnalyzerSpec, EventRecord } from '../../../agent/protocols/types.js';
import type { FlowInfo } from '../../../agent/reassembly/types.js';

function flow(clientPort: number, serverPort: number): FlowInfo {
  return {
    id: 'f1',
    communityId: '1:x',
    transport: 'udp',
    vlan: -1,
    clientIp: '10.0.0.1',
    serverIp: '10.0.0.2',
    clientPort,
    serverPort,
    clientMac: 0x0000000000aa,
    serverMac: -1,
    startTs: 0,
    app: null,
  };
}

describe('datagram dispatch', () => {
  const map = buildDatagramPortMap(DATAGRAM_ANALYZERS, { ssdp: [11900] });

  it('chooses by server port, then client port, and takes the site’s extra ports', () => {
    expect(datagramAnalyzerByPort(map, flow(50000, 3702))?.proto).toBe('wsd');
    expect(datagramAnalyzerByPort(map, flow(5353, 40000))?.proto).toBe('mdns');
    expect(datagramAnalyzerByPort(map, flow(50000, 11900))?.proto).toBe('ssdp');
    expect(datagramAnalyzerByPort(map, flow(50000, 53))).toBeUndefined();
  });

  it('detaches an analyzer that throws and counts it; later datagrams are ignored', () => {
    let calls = 0;
    const thrower: DatagramAnalyzerSpec = {
      proto: 'ssdp',
      defaultPorts: [1900],
      schema: ssdpSchema,
      create: () => ({
        onDatagram: () => {
          calls++;
          throw new Error('bug');
        },
      }),
    };
    const counters = createProtocolCounters([]);
    addProtocols(counters, ['ssdp']);
    const d = new DatagramDispatcher(
      flow(50000, 1900),
      thrower,
      () => {},
      counters,
      createIdentityCounters(),
    );
    d.onData(0, new Uint8Array(4), 1);
    d.onData(0, new Uint8Array(4), 2);
    expect(calls).toBe(1);
    expect(counters.analyzerErrors.ssdp).toBe(1);
  });

  it('cuts a datagram over the cap before the analyzer sees it, and counts it', () => {
    let seen = -1;
    const spec: DatagramAnalyzerSpec = {
      proto: 'ssdp',
      defaultPorts: [1900],
      schema: ssdpSchema,
      create: () => ({ onDatagram: (_d, p) => void (seen = p.length) }),
    };
    const ids = createIdentityCounters();
    const d = new DatagramDispatcher(flow(50000, 1900), spec, () => {}, createProtocolCounters([]), ids);
    d.onData(0, new Uint8Array(MAX_DATAGRAM + 100), 1);
    expect(seen).toBe(MAX_DATAGRAM);
    expect(ids.datagramsCut).toBe(1);
    expect(d.bufferedBytes()).toBe(0);
  });

  it('names the flow’s endpoints and community id on each event', () => {
    const out: EventRecord[] = [];
    const ssdp = DATAGRAM_ANALYZERS.find((s) => s.proto === 'ssdp')!;
    const d = new DatagramDispatcher(
      flow(50000, 1900),
      ssdp,
      (e) => out.push(e),
      createProtocolCounters([]),
      createIdentityCounters(),
    );
    d.onData(0, new TextEncoder().encode('M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n'), 5);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({
      proto: 'ssdp',
      type: 'msearch',
      src: { ip: '10.0.0.1', port: 50000, mac: '00:00:00:00:00:aa' },
      dst: { ip: '10.0.0.2', port: 1900 },
      flow: 'f1',
      community_id: '1:x',
      fields: { method: 'M-SEARCH', st: 'ssdp:all' },
    });
  });
});

describe('link-frame dispatch', () => {
  it('ignores frames no analyzer accepts, and reports a malformed LLDPDU as a parse error', () => {
    const out: EventRecord[] = [];
    const counters = createProtocolCounters([]);
    const ids = createIdentityCounters();
    const frame = { srcMac: 1, dstMac: 0x0180c200000e, etherType: 0x88b5, payload: new Uint8Array(10) };
    dispatchLinkFrame(frame, 1, LINK_ANALYZERS, (e) => out.push(e), counters, ids);
    expect(out).toEqual([]);
    dispatchLinkFrame({ ...frame, etherType: 0x88cc }, 1, LINK_ANALYZERS, (e) => out.push(e), counters, ids);
    expect(out.map((e) => [e.proto, e.type, e.fields.code])).toEqual([['lldp', 'anomaly', 'lldp.malformed']]);
    expect(counters.parseErrors.lldp).toBe(1);
    expect(ids.linkFrames).toBe(1);
  });
});
