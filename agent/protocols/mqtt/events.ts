// MQTT event variants, anomaly codes and the fields rules may match (DESIGN.md "mqtt"; codes after Suricata's mqtt.rs events).

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
  /** CONNACK (or any packet, once per flow) without a CONNECT seen on the flow: mid-session pickup or a broken peer. */
  'mqtt.missing_connect': { malformed: false },
  /** PUBACK/PUBREC/PUBREL/PUBCOMP for a packet id no PUBLISH opened (flow seen from its CONNECT). */
  'mqtt.missing_publish': { malformed: false },
  /** SUBACK for a packet id no SUBSCRIBE opened. */
  'mqtt.missing_subscribe': { malformed: false },
  /** UNSUBACK for a packet id no UNSUBSCRIBE opened. */
  'mqtt.missing_unsubscribe': { malformed: false },
  /** A second CONNECT on one network connection [MQTT-3.1.0-2]. */
  'mqtt.double_connect': { malformed: false },
  /** A packet other than CONNECT/CONNACK before the CONNACK accepted the session [MQTT-3.2.0-1]; or after a refusal. */
  'mqtt.unintroduced_message': { malformed: false },
  /** QoS 3 in PUBLISH [MQTT-3.3.1-4], a Will QoS 3 [MQTT-3.1.2-14] or a subscription QoS 3 [MQTT-3-8.3-4]. */
  'mqtt.invalid_qos_level': { malformed: true },
  /** QoS > 0 PUBLISH, SUBSCRIBE or UNSUBSCRIBE with packet identifier 0 [MQTT-2.3.1-1]. */
  'mqtt.missing_msg_id': { malformed: true },
  /** Control packet type 0, or 15 (AUTH) before MQTT 5.0 [MQTT 3.1.1 Table 2.1]. Skipped by length. */
  'mqtt.unassigned_msg_type': { malformed: true },
  /** More outstanding packet ids than the per-flow cap: the oldest was dropped. */
  'mqtt.too_many_transactions': { malformed: false },
  /** Declared remaining length over the configured cap: skipped by length, never buffered. */
  'mqtt.packet_too_large': { malformed: false },
  /** A remaining length needing a 5th byte [MQTT 5.0 §1.5.5]: framing is lost, the analyzer resynchronises. */
  'mqtt.malformed_length': { malformed: true },
  /** Reserved fixed-header flag bits [MQTT-2.2.2-2] or the reserved CONNECT flag bit [MQTT-3.1.2-3], or flag combinations the spec forbids. */
  'mqtt.invalid_flags': { malformed: true },
  /** The body does not match its type (string past the end, bad property length, bytes left over, ...). Skipped by length. */
  'mqtt.malformed_packet': { malformed: true },
  /** CONNECT protocol name not "MQTT"/"MQIsdp" or level not 3, 4, 5 [MQTT-3.1.2-1] [MQTT-3.1.2-2]. */
  'mqtt.invalid_protocol': { malformed: true },
  /** MQTT 5.0 property not allowed in its packet, or more properties than the cap [MQTT 5.0 §2.2.2.2]. */
  'mqtt.invalid_property': { malformed: true },
  /** A packet type sent by the wrong side, e.g. CONNACK from the client (reported once per flow). */
  'mqtt.wrong_direction': { malformed: false },
  /** Bytes skipped while hunting for the next packet boundary after a gap or lost framing. */
  'mqtt.resync': { malformed: false },
  /** More topic filters in one SUBSCRIBE/UNSUBSCRIBE than the cap: the rest are counted, not listed. */
  'mqtt.too_many_topic_filters': { malformed: false },
} as const satisfies Record<string, { malformed: boolean }>;

export type MqttAnomalyCode = keyof typeof ANOMALIES;
export const ANOMALY_CODES: readonly MqttAnomalyCode[] = Object.keys(ANOMALIES) as MqttAnomalyCode[];

/** Event fields rules may match, with their JSON type (DESIGN.md "mqtt"). Passwords and payloads are never fields. */
export const RULE_FIELDS = {
  type: 'string',
  version: 'number',
  client_id: 'string',
  username: 'string',
  password_present: 'boolean',
  clean_session: 'boolean',
  keep_alive: 'number',
  will_topic: 'string',
  will_retain: 'boolean',
  topic: 'string',
  qos: 'number',
  retain: 'boolean',
  dup: 'boolean',
  packet_id: 'number',
  payload_size: 'number',
  topic_filters: 'array', // [{filter, qos}] (qos absent in UNSUBSCRIBE)
  return_code: 'number', // CONNACK in 3.x
  reason_code: 'number', // 5.0 CONNACK, PUBACK..PUBCOMP, DISCONNECT, AUTH
  return_codes: 'array', // SUBACK in 3.x (granted QoS or 0x80): one per filter
  reason_codes: 'array', // SUBACK/UNSUBACK in 5.0
  session_present: 'boolean',
} as const;
