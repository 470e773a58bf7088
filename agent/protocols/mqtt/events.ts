// MQTT event variants, anomaly codes and the fields rules may match (DESIGN.md "mqtt"; codes after Suricata's mqtt.rs events).
import { bool, ident, list, num, str } from '../schema.js';
import type { AnomalySpec, EventTypeSpec, ProtocolSchema } from '../types.js';

/** Event `type` values this analyzer emits (besides "anomaly"). */
export const EVENT_TYPES = [
  'connect',
  'connack',
  'publish',
  'puback',
  'pubrec',
  'pubrel',
  'pubcomp',
  'subscribe',
  'suback',
  'unsubscribe',
  'unsuback',
  'pingreq',
  'pingresp',
  'disconnect',
  'auth',
] as const;
export type MqttEventType = (typeof EVENT_TYPES)[number];

/**
 * Anomaly codes. `malformed` says whether the analyzer counts it as a parse error.
 * The first block mirrors Suricata's MQTTEvent list; the rest are ours.
 */
export const ANOMALIES = {
  'mqtt.missing_connect': {
    malformed: false,
    doc: 'CONNACK (or any packet, once per flow) without a CONNECT seen on the flow: mid-session pickup or a broken peer.',
  },
  'mqtt.missing_publish': {
    malformed: false,
    doc: 'PUBACK/PUBREC/PUBREL/PUBCOMP for a packet id no PUBLISH opened (flow seen from its CONNECT).',
  },
  'mqtt.missing_subscribe': {
    malformed: false,
    doc: 'SUBACK for a packet id no SUBSCRIBE opened.',
  },
  'mqtt.missing_unsubscribe': {
    malformed: false,
    doc: 'UNSUBACK for a packet id no UNSUBSCRIBE opened.',
  },
  'mqtt.double_connect': {
    malformed: false,
    doc: 'A second CONNECT on one network connection [MQTT-3.1.0-2].',
  },
  'mqtt.unintroduced_message': {
    malformed: false,
    doc: 'A packet other than CONNECT/CONNACK before the CONNACK accepted the session [MQTT-3.2.0-1]; or after a refusal.',
  },
  'mqtt.invalid_qos_level': {
    malformed: true,
    doc: 'QoS 3 in PUBLISH [MQTT-3.3.1-4], a Will QoS 3 [MQTT-3.1.2-14] or a subscription QoS 3 [MQTT-3-8.3-4].',
  },
  'mqtt.missing_msg_id': {
    malformed: true,
    doc: 'QoS > 0 PUBLISH, SUBSCRIBE or UNSUBSCRIBE with packet identifier 0 [MQTT-2.3.1-1].',
  },
  'mqtt.unassigned_msg_type': {
    malformed: true,
    doc: 'Control packet type 0, or 15 (AUTH) before MQTT 5.0 [MQTT 3.1.1 Table 2.1]. Skipped by length.',
  },
  'mqtt.too_many_transactions': {
    malformed: false,
    doc: 'More outstanding packet ids than the per-flow cap: the oldest was dropped.',
  },
  'mqtt.packet_too_large': {
    malformed: false,
    doc: 'Declared remaining length over the configured cap: skipped by length, never buffered.',
  },
  'mqtt.malformed_length': {
    malformed: true,
    doc: 'A remaining length needing a 5th byte [MQTT 5.0 §1.5.5]: framing is lost, the analyzer resynchronises.',
  },
  'mqtt.invalid_flags': {
    malformed: true,
    doc: 'Reserved fixed-header flag bits [MQTT-2.2.2-2] or the reserved CONNECT flag bit [MQTT-3.1.2-3], or flag combinations the spec forbids.',
  },
  'mqtt.malformed_packet': {
    malformed: true,
    doc: 'The body does not match its type (string past the end, bad property length, bytes left over, ...). Skipped by length.',
  },
  'mqtt.invalid_protocol': {
    malformed: true,
    doc: 'CONNECT protocol name not "MQTT"/"MQIsdp" or level not 3, 4, 5 [MQTT-3.1.2-1] [MQTT-3.1.2-2].',
  },
  'mqtt.invalid_property': {
    malformed: true,
    doc: 'MQTT 5.0 property not allowed in its packet, or more properties than the cap [MQTT 5.0 §2.2.2.2].',
  },
  'mqtt.wrong_direction': {
    malformed: false,
    doc: 'A packet type sent by the wrong side, e.g. CONNACK from the client (reported once per flow).',
  },
  'mqtt.resync': {
    malformed: false,
    doc: 'Bytes skipped while hunting for the next packet boundary after a gap or lost framing.',
  },
  'mqtt.too_many_topic_filters': {
    malformed: false,
    doc: 'More topic filters in one SUBSCRIBE/UNSUBSCRIBE than the cap: the rest are counted, not listed.',
  },
} as const satisfies Record<string, AnomalySpec>;

export type MqttAnomalyCode = keyof typeof ANOMALIES;
export const ANOMALY_CODES: readonly MqttAnomalyCode[] = Object.keys(ANOMALIES) as MqttAnomalyCode[];

const packetId = num('packet identifier');
const reasonCode = num('MQTT 5.0 reason code');
/** Every MQTT event says its packet type and the session's protocol level. */
const common = {
  type: str('packet type name, as the event type'),
  version: num('protocol level of the session: 3 (3.1), 4 (3.1.1) or 5 (5.0)'),
};
const ack = (doc: string): EventTypeSpec => ({
  doc,
  fields: { ...common, packet_id: packetId, reason_code: reasonCode },
});

/** The MQTT events, their fields and anomalies (DESIGN.md "mqtt"). Passwords and payloads are never fields. */
const events: Record<MqttEventType, EventTypeSpec> = {
  connect: {
    doc: 'a client opens a session',
    fields: {
      ...common,
      client_id: ident('client identifier'),
      username: ident('user name (the password is never kept)'),
      password_present: bool('a password was sent'),
      clean_session: bool('clean session / clean start flag'),
      keep_alive: num('keep-alive interval, s'),
      will_topic: str('topic of the will message'),
      will_retain: bool('the will message is retained'),
    },
  },
  connack: {
    doc: 'the broker answers a CONNECT',
    fields: {
      ...common,
      session_present: bool('the broker kept a session (not in 3.1)'),
      return_code: num('3.x CONNACK return code (0 = accepted)'),
      reason_code: reasonCode,
      client_id: ident('client identifier the broker assigned (5.0)'),
    },
  },
  publish: {
    doc: 'an application message (its payload is never kept, only its size)',
    fields: {
      ...common,
      topic: str('topic name (topic aliases resolved)'),
      qos: num('quality of service 0-2'),
      retain: bool('retain flag'),
      dup: bool('duplicate delivery flag'),
      packet_id: packetId,
      payload_size: num('payload bytes'),
    },
  },
  puback: ack('QoS 1 acknowledgement'),
  pubrec: ack('QoS 2 step 1'),
  pubrel: ack('QoS 2 step 2'),
  pubcomp: ack('QoS 2 step 3'),
  subscribe: {
    doc: 'a client subscribes to topic filters',
    fields: {
      ...common,
      packet_id: packetId,
      topic_filters: list('the filters, capped', { filter: str('topic filter'), qos: num('requested QoS') }),
    },
  },
  suback: {
    doc: 'the broker answers a SUBSCRIBE',
    fields: {
      ...common,
      packet_id: packetId,
      return_codes: list('3.x granted QoS or 0x80 per filter'),
      reason_codes: list('5.0 reason code per filter'),
    },
  },
  unsubscribe: {
    doc: 'a client unsubscribes',
    fields: {
      ...common,
      packet_id: packetId,
      topic_filters: list('the filters, capped', { filter: str('topic filter') }),
    },
  },
  unsuback: {
    doc: 'the broker answers an UNSUBSCRIBE',
    fields: { ...common, packet_id: packetId, reason_codes: list('5.0 reason code per filter') },
  },
  pingreq: ack('keep-alive ping'),
  pingresp: ack('keep-alive answer'),
  disconnect: ack('the session ends (5.0: with a reason code)'),
  auth: ack('5.0 extended authentication exchange'),
};

export const mqttSchema: ProtocolSchema = {
  proto: 'mqtt',
  title: 'MQTT 3.1, 3.1.1 and 5.0 (also over WebSocket)',
  clinical: true,
  events,
  anomalies: ANOMALIES,
  identity: [
    { types: ['connect'], field: 'client_id', attr: 'mqtt_client_id', side: 'src' },
    { types: ['connect'], field: 'username', attr: 'mqtt_username', side: 'src' },
  ],
  anomalyFields: {
    detail: str('what was wrong (WebSocket framing)'),
    bytes: num('bytes skipped'),
    packet_type: str('packet type involved'),
    packet_id: packetId,
    count: num('packets of this kind'),
  },
};
