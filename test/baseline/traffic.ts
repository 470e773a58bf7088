// Hand-built flows and events (docs/events.md field names) that drive the baseline learner and checker in tests.
import type { EventFields, EventRecord, ProtoName } from '../../agent/protocols/types.js';
import type { FlowInfo, FlowRecord } from '../../agent/reassembly/types.js';
import type { BaselineChecker, Deviation } from '../../agent/engine/baselines/baseline-types.js';
import type { BaselineLearner } from '../../agent/engine/baselines/baseline-learn.js';
import { formatTs } from '../../agent/wire/time.js';

export const T0 = Date.UTC(2026, 10, 28, 10, 0, 0) * 1000;
export const S = 1_000_000;

export type Op =
  | { op: 'start'; flow: FlowInfo; ts: number }
  | { op: 'event'; ev: EventRecord }
  | { op: 'end'; rec: FlowRecord }
  | { op: 'advance'; ts: number };

export interface Host {
  ip: string;
  mac: number;
}

export const CT: Host = { ip: '10.20.40.21', mac: 0x0009fb000021 };
export const PACS: Host = { ip: '10.20.40.10', mac: 0x00000c000010 };
export const VIEWER: Host = { ip: '10.20.40.31', mac: 0x001b21000031 };
export const MONITOR: Host = { ip: '10.20.30.11', mac: 0x0009fb000011 };
export const ENGINE: Host = { ip: '10.20.50.5', mac: 0x00505600005 };
export const PUMP: Host = { ip: '10.20.30.31', mac: 0x0040b3000031 };
export const BROKER: Host = { ip: '10.20.60.2', mac: 0x005056000602 };

const macText = (m: number): string =>
  m
    .toString(16)
    .padStart(12, '0')
    .replace(/(..)(?!$)/g, '$1:');

let portSeq = 40000;

/** A TCP conversation between two hosts, producing ops in packet-time order. */
export class Conv {
  readonly ops: Op[] = [];
  readonly info: FlowInfo;
  readonly cport = portSeq++;
  private bytes: [number, number] = [0, 0];
  constructor(
    readonly client: Host,
    readonly server: Host,
    readonly port: number,
    readonly app: ProtoName | null,
    readonly ts: number,
  ) {
    this.info = {
      id: `f-${client.ip}-${this.cport}-${server.ip}-${port}`,
      transport: 'tcp',
      vlan: -1,
      clientIp: client.ip,
      serverIp: server.ip,
      clientPort: this.cport,
      serverPort: port,
      clientMac: client.mac,
      serverMac: server.mac,
      startTs: ts,
      app,
    };
    this.ops.push({ op: 'start', flow: this.info, ts });
  }
  /** An event sent by the client (dir 0) or the server (dir 1). */
  ev(dir: 0 | 1, ts: number, type: string, fields: EventFields, size = 200): this {
    const c = { ip: this.client.ip, port: this.cport, mac: macText(this.client.mac) };
    const s = { ip: this.server.ip, port: this.port, mac: macText(this.server.mac) };
    this.bytes[dir] += size;
    this.ops.push({
      op: 'event',
      ev: {
        kind: 'event',
        ts: formatTs(ts),
        tsMicros: ts,
        proto: this.app ?? 'mqtt',
        type,
        src: dir === 0 ? c : s,
        dst: dir === 0 ? s : c,
        flow: this.info.id,
        fields,
      },
    });
    return this;
  }
  end(ts: number): Op[] {
    this.ops.push({
      op: 'end',
      rec: {
        kind: 'flow',
        flow: this.info.id,
        transport: 'tcp',
        app: this.app,
        vlan: null,
        client: { ip: this.client.ip, port: this.cport, mac: macText(this.client.mac) },
        server: { ip: this.server.ip, port: this.port, mac: macText(this.server.mac) },
        client_by: 'syn',
        start: formatTs(this.ts),
        end: formatTs(ts),
        packets: [10, 10],
        bytes: this.bytes,
        gaps: 0,
        gap_bytes: 0,
        end_reason: 'fin',
        startMicros: this.ts,
        endMicros: ts,
      },
    });
    return this.ops;
  }
}

export const CT_IMAGE = '1.2.840.10008.5.1.4.1.1.2';
export const FIND_STUDY = '1.2.840.10008.5.1.4.1.2.2.1';
export const MOVE_STUDY = '1.2.840.10008.5.1.4.1.2.2.2';
export const VERIFY = '1.2.840.10008.1.1';

export function dicomStore(
  client: Host,
  ts: number,
  opts: { calling?: string; version?: string; sop?: string } = {},
): Op[] {
  const sop = opts.sop ?? CT_IMAGE;
  return new Conv(client, PACS, 104, 'dicom', ts)
    .ev(0, ts + 1000, 'associate_rq', {
      calling_ae: opts.calling ?? 'CT_SCANNER1',
      called_ae: 'PACS_MAIN',
      abstract_syntaxes: [sop],
      implementation_class_uid: '1.2.276.0.7230010.3.0.3.6.7',
      implementation_version: opts.version ?? 'OFFIS_DCMTK_367',
    })
    .ev(1, ts + 2000, 'associate_ac', {
      implementation_class_uid: '1.2.3.4',
      implementation_version: 'PACS_1',
    })
    .ev(0, ts + 3000, 'dimse', { command: 'C-STORE-RQ', affected_sop_class: sop }, 20_000)
    .ev(1, ts + 4000, 'dimse', { command: 'C-STORE-RSP', affected_sop_class: sop, status: 0 })
    .end(ts + 5000);
}

export function hl7Oru(
  ts: number,
  opts: { app?: string; type?: string; version?: string; pid?: string; from?: Host; ack?: string } = {},
): Op[] {
  return new Conv(opts.from ?? MONITOR, ENGINE, 6661, 'hl7', ts)
    .ev(0, ts + 1000, 'message', {
      sending_app: opts.app ?? 'MONITOR_B40',
      sending_facility: 'ICU',
      receiving_app: 'ENGINE',
      message_type: opts.type ?? 'ORU^R01',
      version: opts.version ?? '2.6',
      processing_id: opts.pid ?? 'P',
      has_phi: true,
    })
    .ev(1, ts + 2000, 'message', {
      sending_app: 'ENGINE',
      message_type: 'ACK^R01',
      version: '2.6',
      processing_id: 'P',
      ack_code: opts.ack ?? 'AA',
    })
    .end(ts + 3000);
}

/** A pump session: connect, subscribe to its command topic, publish telemetry every 10 s. */
export function mqttPump(ts: number, publishes: number, opts: { from?: Host; clientId?: string } = {}): Op[] {
  const c = new Conv(opts.from ?? PUMP, BROKER, 1883, 'mqtt', ts)
    .ev(0, ts + 1000, 'connect', {
      client_id: opts.clientId ?? 'pump-0031',
      username: 'pump',
      password_present: false,
      version: 4,
    })
    .ev(1, ts + 2000, 'connack', { return_code: 0 })
    .ev(0, ts + 3000, 'subscribe', { topic_filters: [{ filter: 'ward3/pump/0031/cmd', qos: 1 }] });
  for (let i = 0; i < publishes; i++)
    c.ev(0, ts + (i + 1) * 10 * S, 'publish', {
      topic: 'ward3/pump/0031/telemetry',
      qos: 0,
      retain: false,
      payload_size: 120,
    });
  return c.end(ts + (publishes + 1) * 10 * S);
}

/** Ten minutes of ordinary traffic: stores from the CT, a monitor's ORU feed every 60 s, a pump's telemetry. */
export function normalTraffic(t0 = T0): Op[] {
  const ops: Op[] = [];
  for (let i = 0; i < 3; i++) ops.push(...dicomStore(CT, t0 + i * 120 * S));
  for (let i = 0; i < 10; i++) ops.push(...hl7Oru(t0 + i * 60 * S + 5 * S));
  ops.push(...mqttPump(t0 + 2 * S, 55));
  return sortOps(ops);
}

export function sortOps(ops: Op[]): Op[] {
  const tsOf = (o: Op): number =>
    o.op === 'start'
      ? o.ts
      : o.op === 'event'
        ? (o.ev.tsMicros ?? 0)
        : o.op === 'end'
          ? (o.rec.endMicros ?? 0)
          : o.ts;
  return ops
    .map((o, i) => [o, i] as const)
    .sort((a, b) => tsOf(a[0]) - tsOf(b[0]) || a[1] - b[1])
    .map(([o]) => o);
}

export function learnFrom(learner: BaselineLearner, ops: Op[]): void {
  for (const o of ops) {
    if (o.op === 'start') learner.onFlowStart(o.flow, o.ts);
    else if (o.op === 'event') learner.onEvent(o.ev);
    else if (o.op === 'end') learner.onFlowEnd(o.rec);
    else learner.advance(o.ts);
  }
}

/** Drive the checker like the pipeline does: `advance` before each packet-time step. */
export function checkAll(checker: BaselineChecker, ops: Op[]): Deviation[] {
  const out: Deviation[] = [];
  for (const o of ops) {
    if (o.op === 'start') out.push(...checker.advance(o.ts), ...checker.onFlowStart(o.flow, o.ts));
    else if (o.op === 'event') out.push(...checker.advance(o.ev.tsMicros ?? 0), ...checker.onEvent(o.ev));
    else if (o.op === 'end') out.push(...checker.onFlowEnd(o.rec));
    else out.push(...checker.advance(o.ts));
  }
  return out;
}
