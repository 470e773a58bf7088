// The MQTT analyzer spec: port 1883, a content probe on the client's CONNECT (MQTT 3.1.1 §3.1.2.1, 5.0 §3.1.2.1), the session factory.
import type { AnalyzerSink, AnalyzerSpec, Direction, ProbeResult } from '../types.js';
import { MAX_VARINT_BYTES, MQTT_PORT, PROTOCOL_NAME, PROTOCOL_NAME_V31 } from './constants.js';
import { mqttSchema } from './events.js';
import type { MqttLimits } from './parse.js';
import { MqttSession } from './session.js';
import { isMqttUpgrade } from './websocket.js';

export { ANOMALY_CODES, ANOMALIES, EVENT_TYPES, mqttSchema } from './events.js';
export type { MqttAnomalyCode, MqttEventType } from './events.js';
export { DEFAULT_LIMITS, parsePacket } from './parse.js';
export type { MqttLimits, MqttPacket, ParseResult } from './parse.js';
export { MqttSession } from './session.js';

const NAME_MQTT = Array.from(PROTOCOL_NAME, (c) => c.charCodeAt(0));
const NAME_V31 = Array.from(PROTOCOL_NAME_V31, (c) => c.charCodeAt(0));

/**
 * A client's first bytes are MQTT when they are an HTTP upgrade to WebSocket with the "mqtt"
 * subprotocol [MQTT-6.0.0-3], or a CONNECT (0x10, flags 0 [MQTT-2.2.2-1]) whose protocol
 * name is "MQTT" or "MQIsdp" with a known level. The server never speaks first, so its bytes decide nothing.
 */
export function probeMqtt(dir: Direction, bytes: Uint8Array): ProbeResult {
  if (dir !== 0) return 'need_more';
  if (bytes.length === 0) return 'need_more';
  if (bytes[0] === 0x47) {
    if (bytes.length < 4) return 'need_more';
    const ws = isMqttUpgrade(bytes);
    return ws === null ? 'need_more' : ws ? 'match' : 'no';
  }
  if (bytes[0] !== 0x10) return 'no';
  let hl = 1;
  for (;;) {
    const b = bytes[hl];
    if (b === undefined) return 'need_more';
    hl++;
    if ((b & 0x80) === 0) break;
    if (hl > MAX_VARINT_BYTES) return 'no';
  }
  if (bytes.length < hl + 2) return 'need_more';
  const nameLen = ((bytes[hl] ?? 0) << 8) | (bytes[hl + 1] ?? 0);
  const expect = nameLen === NAME_MQTT.length ? NAME_MQTT : nameLen === NAME_V31.length ? NAME_V31 : null;
  if (!expect) return 'no';
  for (let i = 0; i < expect.length; i++) {
    const b = bytes[hl + 2 + i];
    if (b === undefined) return 'need_more';
    if (b !== expect[i]) return 'no';
  }
  const level = bytes[hl + 2 + expect.length];
  if (level === undefined) return 'need_more';
  return level >= 3 && level <= 5 ? 'match' : 'no';
}

/** Build a spec with other limits (e.g. a site's larger packet cap); `mqttSpec` uses the defaults. */
export function createMqttSpec(limits: Partial<MqttLimits> = {}): AnalyzerSpec {
  return {
    proto: 'mqtt',
    // 8883 is MQTT over TLS: the TLS analyzer reads its handshake (agent/protocols/tls/).
    defaultPorts: [MQTT_PORT],
    probe: probeMqtt,
    create: (sink: AnalyzerSink) => new MqttSession(sink, limits),
    schema: mqttSchema,
  };
}

export const mqttSpec: AnalyzerSpec = createMqttSpec();
