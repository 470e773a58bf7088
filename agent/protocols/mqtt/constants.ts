// MQTT protocol constants in one table: packet types, fixed-header flags, protocol levels, v5 properties, codes (MQTT 3.1, 3.1.1 OASIS §2-3, 5.0 OASIS §2-3).
import { EVENT_TYPES } from './events.js';

/** Control packet types, fixed header byte 1 bits 7-4 [MQTT 3.1.1 §2.2.1, 5.0 §2.1.2]. */
export const PacketType = {
  RESERVED: 0, // forbidden in every version [MQTT 3.1.1 Table 2.1]
  CONNECT: 1,
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBSCRIBE: 8,
  SUBACK: 9,
  UNSUBSCRIBE: 10,
  UNSUBACK: 11,
  PINGREQ: 12,
  PINGRESP: 13,
  DISCONNECT: 14,
  AUTH: 15, // 5.0 only; reserved in 3.x
} as const;

/** Event `type` names, indexed by packet type (docs/events.md "mqtt" fields). */
// Indexed by control packet type (1..15); type 0 is reserved [MQTT-2.2.1]. The names are the event types.
export const PACKET_NAMES: readonly string[] = ['reserved', ...EVENT_TYPES];

/**
 * Required fixed-header flag nibble per type (-1 = PUBLISH, variable). PUBREL, SUBSCRIBE and UNSUBSCRIBE
 * carry 0b0010 [MQTT-3.6.1-1] [MQTT-3.8.1-1] [MQTT-3.10.1-1]; every other type 0 [MQTT-2.2.2-1];
 * other values are malformed [MQTT-2.2.2-2].
 */
export const REQUIRED_FLAGS: readonly number[] = [0, 0, 0, -1, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, 0];

/** Which side may send each type: 1 client→server, 2 server→client, 3 both [MQTT 3.1.1 Table 2.1, 5.0 Table 2-1]. */
export const SENDER: readonly number[] = [0, 1, 2, 3, 3, 3, 3, 3, 1, 2, 1, 2, 1, 2, 3, 3];
export const SENT_BY_CLIENT = 1;
export const SENT_BY_SERVER = 2;

/** Remaining length is a variable byte integer of at most 4 bytes [MQTT 3.1.1 §2.2.3, 5.0 §1.5.5]. */
export const MAX_VARINT_BYTES = 4;
/** Largest value 4 varint bytes can carry (268,435,455). */
export const MAX_REMAINING_LENGTH = 0x0fffffff;

/** Protocol levels in CONNECT [MQTT-3.1.2-2]; 3 is MQTT 3.1 with name "MQIsdp". */
export const ProtocolLevel = { V31: 3, V311: 4, V5: 5 } as const;
export const PROTOCOL_NAME_V31 = 'MQIsdp';
export const PROTOCOL_NAME = 'MQTT'; // [MQTT-3.1.2-1]

/** CONNECT flag bits [MQTT 3.1.1 §3.1.2.3, 5.0 §3.1.2.3]; bit 0 reserved, must be 0 [MQTT-3.1.2-3]. */
export const ConnectFlag = {
  RESERVED: 0x01,
  CLEAN_SESSION: 0x02, // "Clean Start" in 5.0
  WILL: 0x04,
  WILL_QOS_MASK: 0x18,
  WILL_QOS_SHIFT: 3,
  WILL_RETAIN: 0x20,
  PASSWORD: 0x40,
  USERNAME: 0x80,
} as const;

/** PUBLISH fixed-header flags [MQTT 3.1.1 §3.3.1]: QoS 3 is malformed [MQTT-3.3.1-4]. */
export const PublishFlag = { RETAIN: 0x01, QOS_MASK: 0x06, QOS_SHIFT: 1, DUP: 0x08 } as const;

/** CONNACK 3.x return codes [MQTT 3.1.1 Table 3.1]. */
export const CONNACK_RETURN_CODES: readonly string[] = [
  'accepted',
  'unacceptable protocol version',
  'identifier rejected',
  'server unavailable',
  'bad user name or password',
  'not authorized',
];

/** SUBACK 3.1.1 codes: granted QoS 0-2 or 0x80 failure [MQTT-3.9.3-2]. */
export const SUBACK_FAILURE = 0x80;

/** MQTT 5.0 reason codes that rules most often care about [MQTT 5.0 §2.4 Table 2-6]. */
export const ReasonCode = {
  SUCCESS: 0x00,
  UNSPECIFIED_ERROR: 0x80,
  MALFORMED_PACKET: 0x81,
  PROTOCOL_ERROR: 0x82,
  NOT_AUTHORIZED: 0x87,
  BAD_USER_NAME_OR_PASSWORD: 0x86,
  BAD_AUTHENTICATION_METHOD: 0x8c,
  CONTINUE_AUTHENTICATION: 0x18,
  RE_AUTHENTICATE: 0x19,
} as const;

/** Property value encodings [MQTT 5.0 §2.2.2.2]. */
export const PropType = {
  BYTE: 1,
  U16: 2,
  U32: 3,
  VARINT: 4,
  UTF8: 5,
  BINARY: 6,
  UTF8_PAIR: 7,
} as const;
export type PropTypeValue = (typeof PropType)[keyof typeof PropType];

/** Pseudo packet type for Will Properties inside CONNECT (packet type 0 is never a real packet). */
export const WILL_PROPERTIES = 0;

const bit = (...types: number[]): number => types.reduce((m, t) => m | (1 << t), 0);
const P = PacketType;

export interface PropertyDef {
  name: string;
  type: PropTypeValue;
  /** Bit mask of packet types (bit 0 = Will Properties) where the property is allowed. */
  allowed: number;
}

/** MQTT 5.0 properties by identifier [MQTT 5.0 §2.2.2.2 Table 2-4]. Unknown ids make the packet malformed. */
export const PROPERTIES: ReadonlyMap<number, PropertyDef> = new Map<number, PropertyDef>([
  [0x01, { name: 'payload_format_indicator', type: PropType.BYTE, allowed: bit(P.PUBLISH, WILL_PROPERTIES) }],
  [0x02, { name: 'message_expiry_interval', type: PropType.U32, allowed: bit(P.PUBLISH, WILL_PROPERTIES) }],
  [0x03, { name: 'content_type', type: PropType.UTF8, allowed: bit(P.PUBLISH, WILL_PROPERTIES) }],
  [0x08, { name: 'response_topic', type: PropType.UTF8, allowed: bit(P.PUBLISH, WILL_PROPERTIES) }],
  [0x09, { name: 'correlation_data', type: PropType.BINARY, allowed: bit(P.PUBLISH, WILL_PROPERTIES) }],
  [0x0b, { name: 'subscription_identifier', type: PropType.VARINT, allowed: bit(P.PUBLISH, P.SUBSCRIBE) }],
  [
    0x11,
    { name: 'session_expiry_interval', type: PropType.U32, allowed: bit(P.CONNECT, P.CONNACK, P.DISCONNECT) },
  ],
  [0x12, { name: 'assigned_client_identifier', type: PropType.UTF8, allowed: bit(P.CONNACK) }],
  [0x13, { name: 'server_keep_alive', type: PropType.U16, allowed: bit(P.CONNACK) }],
  [0x15, { name: 'authentication_method', type: PropType.UTF8, allowed: bit(P.CONNECT, P.CONNACK, P.AUTH) }],
  [0x16, { name: 'authentication_data', type: PropType.BINARY, allowed: bit(P.CONNECT, P.CONNACK, P.AUTH) }],
  [0x17, { name: 'request_problem_information', type: PropType.BYTE, allowed: bit(P.CONNECT) }],
  [0x18, { name: 'will_delay_interval', type: PropType.U32, allowed: bit(WILL_PROPERTIES) }],
  [0x19, { name: 'request_response_information', type: PropType.BYTE, allowed: bit(P.CONNECT) }],
  [0x1a, { name: 'response_information', type: PropType.UTF8, allowed: bit(P.CONNACK) }],
  [0x1c, { name: 'server_reference', type: PropType.UTF8, allowed: bit(P.CONNACK, P.DISCONNECT) }],
  [
    0x1f,
    {
      name: 'reason_string',
      type: PropType.UTF8,
      allowed: bit(
        P.CONNACK,
        P.PUBACK,
        P.PUBREC,
        P.PUBREL,
        P.PUBCOMP,
        P.SUBACK,
        P.UNSUBACK,
        P.DISCONNECT,
        P.AUTH,
      ),
    },
  ],
  [0x21, { name: 'receive_maximum', type: PropType.U16, allowed: bit(P.CONNECT, P.CONNACK) }],
  [0x22, { name: 'topic_alias_maximum', type: PropType.U16, allowed: bit(P.CONNECT, P.CONNACK) }],
  [0x23, { name: 'topic_alias', type: PropType.U16, allowed: bit(P.PUBLISH) }],
  [0x24, { name: 'maximum_qos', type: PropType.BYTE, allowed: bit(P.CONNACK) }],
  [0x25, { name: 'retain_available', type: PropType.BYTE, allowed: bit(P.CONNACK) }],
  [
    0x26,
    {
      name: 'user_property',
      type: PropType.UTF8_PAIR,
      allowed: bit(
        WILL_PROPERTIES,
        P.CONNECT,
        P.CONNACK,
        P.PUBLISH,
        P.PUBACK,
        P.PUBREC,
        P.PUBREL,
        P.PUBCOMP,
        P.SUBSCRIBE,
        P.SUBACK,
        P.UNSUBSCRIBE,
        P.UNSUBACK,
        P.DISCONNECT,
        P.AUTH,
      ),
    },
  ],
  [0x27, { name: 'maximum_packet_size', type: PropType.U32, allowed: bit(P.CONNECT, P.CONNACK) }],
  [0x28, { name: 'wildcard_subscription_available', type: PropType.BYTE, allowed: bit(P.CONNACK) }],
  [0x29, { name: 'subscription_identifier_available', type: PropType.BYTE, allowed: bit(P.CONNACK) }],
  [0x2a, { name: 'shared_subscription_available', type: PropType.BYTE, allowed: bit(P.CONNACK) }],
]);

export const PropId = {
  ASSIGNED_CLIENT_IDENTIFIER: 0x12,
  AUTHENTICATION_METHOD: 0x15,
  TOPIC_ALIAS: 0x23,
} as const;

/** Default port for MQTT over TCP; 8883 is MQTT over TLS, whose handshake the TLS analyzer reads [IANA]. */
export const MQTT_PORT = 1883;
export const MQTT_TLS_PORT = 8883;
