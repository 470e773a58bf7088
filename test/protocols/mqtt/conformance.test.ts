// Conformance: every MQTT capture (shared corpus and our fixtures) replayed through the real pipeline agrees with tshark's reference lines.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { replayFiles } from '../../../agent/pipeline.js';
import type { EventRecord } from '../../../agent/protocols/types.js';
import { PACKET_NAMES } from '../../../agent/protocols/mqtt/constants.js';
import { DEFAULT_LIMITS } from '../../../agent/protocols/mqtt/parse.js';
import { FIXTURES, HAVE_SHARED, SHARED_CAPTURES } from '../../helpers/paths.js';

interface TsharkLine {
  frame: number;
  ts: string;
  tcp_stream: number;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  msg_type: number;
  dup: boolean | null;
  qos: number | null;
  retain: boolean | null;
  protocol_version: number | null;
  client_id?: string | null;
  clean_session?: boolean | null;
  keep_alive?: number | null;
  username_present?: boolean | null;
  username?: string | null;
  password_present?: boolean | null;
  will_topic?: string;
  session_present?: boolean | null;
  return_code?: number | null;
  topic?: string | null;
  payload_len?: number | null;
  topics?: string[];
  requested_qos?: number[];
  granted?: number[];
  reason_codes?: number[];
  msg_id?: number;
  reason_code?: number;
  malformed?: boolean;
}

const MALFORMED_CODES = new Set([
  'mqtt.malformed_packet',
  'mqtt.unassigned_msg_type',
  'mqtt.malformed_length',
  'mqtt.invalid_protocol',
]);
const cutStr = (s: string): string => s.slice(0, DEFAULT_LIMITS.maxFieldChars);
const endpointKey = (ip: string, port: number): string => `${ip}|${port}`;
const flowKey = (a: string, b: string): string => [a, b].sort().join(' ');

/** What our event must carry for one tshark line (only the MANIFEST fields, compared where both sides decode them). */
function expectedFields(t: TsharkLine, ourVersion: unknown): Record<string, unknown> {
  const f: Record<string, unknown> = { type: PACKET_NAMES[t.msg_type] };
  // Without a CONNECT tshark decodes with the 3.x layout; where we inferred 5.0 only the layout-independent fields compare.
  const sameLayout = t.protocol_version !== null || ourVersion !== 5;
  const v5 = t.protocol_version === 5 || ourVersion === 5;
  if (t.protocol_version !== null) f.version = t.protocol_version;
  if (t.msg_id !== undefined) f.packet_id = t.msg_id;
  switch (t.msg_type) {
    case 1:
      if (t.client_id !== null && t.client_id !== undefined) f.client_id = cutStr(t.client_id);
      f.username = t.username_present ? cutStr(t.username ?? '') : undefined;
      f.password_present = t.password_present === true;
      f.clean_session = t.clean_session;
      f.keep_alive = t.keep_alive;
      f.will_topic = t.will_topic === undefined ? undefined : cutStr(t.will_topic);
      break;
    case 2:
      f.session_present = t.session_present ?? undefined;
      f[v5 ? 'reason_code' : 'return_code'] = t.return_code;
      break;
    case 3:
      f.dup = t.dup;
      f.qos = t.qos;
      f.retain = t.retain;
      f.topic = cutStr(t.topic ?? '');
      if (sameLayout) f.payload_size = t.payload_len;
      break;
    case 8:
      f.topic_filters = (t.topics ?? []).map((filter, i) => ({
        filter: cutStr(filter),
        qos: t.requested_qos?.[i],
      }));
      break;
    case 9:
      if (sameLayout) f[v5 ? 'reason_codes' : 'return_codes'] = t.granted;
      break;
    case 10:
      f.topic_filters = (t.topics ?? []).map((filter) => ({ filter: cutStr(filter) }));
      break;
    case 11:
      if (t.reason_codes !== undefined) f.reason_codes = t.reason_codes;
      break;
    default:
      if (t.reason_code !== undefined) f.reason_code = t.reason_code;
  }
  return f;
}

/** Compares one capture with its tshark reference; returns the anomaly codes raised, in order. */
async function checkCapture(file: string, reference: string, serverPort?: number): Promise<string[]> {
  const lines = readFileSync(reference, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as TsharkLine);
  const events: EventRecord[] = [];
  const onPort = (e: EventRecord): boolean =>
    serverPort === undefined || e.src.port === serverPort || e.dst.port === serverPort;
  const summary = await replayFiles(
    [file],
    {},
    { onEvent: (e) => (e.proto === 'mqtt' && onPort(e) ? events.push(e) : undefined) },
  );
  expect(summary.error).toBeNull();

  // Group both sides by connection and direction (sender endpoint).
  const ours = new Map<string, EventRecord[]>();
  for (const e of events) {
    const k = `${flowKey(endpointKey(e.src.ip, e.src.port), endpointKey(e.dst.ip, e.dst.port))} from ${endpointKey(e.src.ip, e.src.port)}`;
    ours.set(k, [...(ours.get(k) ?? []), e]);
  }
  const theirs = new Map<string, TsharkLine[]>();
  for (const t of lines) {
    const k = `${flowKey(endpointKey(t.src, t.sport), endpointKey(t.dst, t.dport))} from ${endpointKey(t.src, t.sport)}`;
    theirs.set(k, [...(theirs.get(k) ?? []), t]);
  }
  for (const k of ours.keys())
    expect(theirs.has(k), `events on a direction tshark saw no MQTT on: ${k}`).toBe(true);
  let compared = 0;
  for (const [k, ref] of theirs) {
    const got = ours.get(k) ?? [];
    const evs = got.filter((e) => e.type !== 'anomaly');
    const anomalies = got.filter((e) => e.type === 'anomaly').map((e) => String(e.fields.code));
    const good = ref.filter((t) => !t.malformed && t.msg_type !== 0);
    const bad = ref.filter((t) => t.malformed || t.msg_type === 0);
    // Message counts agree; each malformed or reserved-type packet is an anomaly (counted parse error) instead.
    expect(
      evs.map((e) => e.type),
      k,
    ).toEqual(good.map((t) => PACKET_NAMES[t.msg_type]));
    expect(anomalies.filter((c) => MALFORMED_CODES.has(c)).length, k).toBe(bad.length);
    good.forEach((t, i) => {
      const e = evs[i];
      if (!e) return;
      const want = expectedFields(t, e.fields.version);
      const gotFields: Record<string, unknown> = {};
      for (const key of Object.keys(want)) gotFields[key] = e.fields[key];
      expect(gotFields, `${k} frame ${t.frame}`).toEqual(want);
      // Times are not compared: a PUBLISH event is emitted when its header arrives (tshark: when its
      // last segment does), and data after a capture hole comes when the reassembly releases it.
      compared++;
    });
  }
  expect(compared + lines.filter((t) => t.malformed || t.msg_type === 0).length).toBe(lines.length);
  return events.filter((e) => e.type === 'anomaly').map((e) => String(e.fields.code));
}

function capturesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.(pcap|pcapng)$/.test(f) && existsSync(path.join(dir, `${f}.tshark.jsonl`)))
    .sort();
}

const shared = HAVE_SHARED ? capturesIn(path.join(SHARED_CAPTURES, 'mqtt')) : [];

describe.skipIf(!HAVE_SHARED)('conformance with tshark: shared MQTT captures', () => {
  it('has all 27 captures', () => {
    expect(shared.length).toBe(27);
  });
  it.each(shared)('%s', async (name) => {
    const f = path.join(SHARED_CAPTURES, 'mqtt', name);
    const codes = await checkCapture(f, `${f}.tshark.jsonl`);
    expect(codes).toEqual(CAPTURE_ANOMALIES[name] ?? []);
  });
});

const ours = capturesIn(path.join(FIXTURES, 'mqtt'));

describe.skipIf(ours.length === 0)('conformance with tshark: fixtures/mqtt', () => {
  it.each(ours)('%s', async (name) => {
    const f = path.join(FIXTURES, 'mqtt', name);
    // The WebSocket fixture's reference is its plain MQTT leg (bridge to broker) on 1883.
    await checkCapture(f, `${f}.tshark.jsonl`, name === 'mqtt-websocket.pcap' ? 1883 : undefined);
  });

  it('MQTT over WebSocket (8080) gives the events of the same bytes over plain TCP (1883)', async () => {
    const legs = new Map<number, string[]>([
      [1883, []],
      [8080, []],
    ]);
    await replayFiles(
      [path.join(FIXTURES, 'mqtt', 'mqtt-websocket.pcap')],
      {},
      {
        onEvent: (e) => {
          if (e.proto !== 'mqtt') return;
          const port = e.src.port === 8080 || e.dst.port === 8080 ? 8080 : 1883;
          legs.get(port)?.push(`${e.src.port === port ? 'S' : 'C'} ${e.type} ${JSON.stringify(e.fields)}`);
        },
      },
    );
    const ws = legs.get(8080) ?? [];
    expect(ws.length).toBe(26);
    expect(ws.filter((x) => x.includes(' anomaly '))).toEqual([]);
    // Per direction the sequences agree (the bridge may interleave the two directions differently).
    for (const side of ['C', 'S'])
      expect(ws.filter((x) => x.startsWith(side))).toEqual(
        (legs.get(1883) ?? []).filter((x) => x.startsWith(side)),
      );
  });
});

/** Partial expectations per fixture (what each was made to show), beside the tshark comparison. */
const FIXTURE_EXPECT: Record<string, { connack: Array<[string, number]>; filters: string[] }> = {
  'mqtt311-session.pcap': {
    connack: Array.from({ length: 6 }, (): [string, number] => ['return_code', 0]),
    filters: ['#', '$SYS/broker/uptime', 'ward/3/pump/12/state'],
  },
  'mqtt5-session.pcap': {
    connack: [
      ['reason_code', 0],
      ['reason_code', 0],
      ['reason_code', 0],
      ['return_code', 0],
      ['reason_code', 0],
    ],
    filters: ['icu/#', '$SYS/#'],
  },
  'mqtt-auth-fail.pcap': {
    connack: [
      ['return_code', 5],
      ['reason_code', 0x87],
      ['reason_code', 0x87],
      ['return_code', 0],
    ],
    filters: [],
  },
};

describe.skipIf(ours.length === 0)('fixtures/mqtt expectations', () => {
  it.each(Object.keys(FIXTURE_EXPECT))('%s', async (name) => {
    const want = FIXTURE_EXPECT[name];
    const events: EventRecord[] = [];
    await replayFiles(
      [path.join(FIXTURES, 'mqtt', name)],
      {},
      { onEvent: (e) => (e.proto === 'mqtt' ? events.push(e) : undefined) },
    );
    // Real mosquitto traffic raises no anomaly.
    expect(events.filter((e) => e.type === 'anomaly').map((e) => e.fields.code)).toEqual([]);
    const connacks = events
      .filter((e) => e.type === 'connack')
      .map((e) =>
        'reason_code' in e.fields
          ? ['reason_code', e.fields.reason_code]
          : ['return_code', e.fields.return_code],
      );
    expect(connacks).toEqual(want?.connack);
    const filters = events
      .filter((e) => e.type === 'subscribe')
      .flatMap((e) => (e.fields.topic_filters as Array<{ filter: string }>).map((t) => t.filter));
    expect(filters).toEqual(want?.filters);
  });
});

/** Anomalies per shared capture: the suricata-verify mqtt-events-* cases raise the code Suricata's test expects. */
const CAPTURE_ANOMALIES: Record<string, string[]> = {
  'sv-mqtt-events-invalid-qos.pcap': ['mqtt.invalid_qos_level'],
  'sv-mqtt-events-unassigned-msgtype.pcap': ['mqtt.unassigned_msg_type'],
  'sv-mqtt-events-unintroduced.pcap': ['mqtt.unintroduced_message'],
  'sv-mqtt-events-missing-connect.pcap': ['mqtt.missing_connect'],
  'sv-mqtt5-excessiveproplen.pcap': ['mqtt.malformed_packet'],
  'sv-mqtt-midstream-split.pcap': ['mqtt.missing_connect'],
  'sv-mqtt-ping.pcap': ['mqtt.missing_connect'],
  // CONNACK 134 refuses the session; the PUBLISH sent after it is outside any session.
  'sv-mqtt-connect-rules-2.pcap': ['mqtt.unintroduced_message'],
  // Seven synthetic client-only sessions: packets sent after CONNECT, never acknowledged.
  'arkime-mqtt_synthetic.pcap': Array.from({ length: 7 }, () => 'mqtt.unintroduced_message'),
};
