// The engine's own subjects (README rules "What a rule matches"): flow start/end and device signals, described like a
// protocol's events so the rule validator and the field tables read one vocabulary.
import { PROTOCOL_SCHEMAS } from '../../protocols/registry.js';
import { ident, num, str } from '../../protocols/schema.js';
import type { EventVocabulary, FieldSpec } from '../../protocols/types.js';

const flowCommon: Record<string, FieldSpec> = {
  transport: str('tcp, udp, icmp or other'),
  app: str(
    'the protocol an analyzer recognised (hl7, dicom, mqtt, ...), null if none (always null at start)',
  ),
};

export const FLOW_SUBJECTS: EventVocabulary = {
  proto: 'flow',
  title: 'flows (every transport)',
  events: {
    start: {
      doc: 'first packet of a flow (src = client)',
      fields: { ...flowCommon, vlan: num('innermost VLAN tag, null if untagged') },
    },
    end: {
      doc: 'flow end',
      fields: {
        ...flowCommon,
        bytes_to_server: num('frame bytes client → server'),
        bytes_to_client: num('frame bytes server → client'),
        bytes_total: num('frame bytes both ways'),
        packets_to_server: num('packets client → server'),
        packets_to_client: num('packets server → client'),
        duration_s: num('seconds from first to last packet'),
        end_reason: str('fin, rst, timeout, evicted or eof'),
        gaps: num('reassembly holes'),
        gap_bytes: num('bytes missing in holes'),
      },
    },
  },
  anomalies: {},
  anomalyFields: {},
};

export const DEVICE_SUBJECTS: EventVocabulary = {
  proto: 'device',
  title: 'device signals',
  events: {
    first_clinical: {
      doc: "a device's first HL7/DICOM/MQTT message",
      fields: { protocol: str('the clinical protocol') },
    },
    identity_changed: {
      doc: 'a device announced a new value for dicom_implementation_class_uid, dicom_implementation_version or hl7_version after having another',
      fields: {
        attribute: str('the identity attribute'),
        // Not `value`: evidence never carries a key named value (it may hold an observation elsewhere).
        current: ident('the value announced now'),
        previous: { kind: 'array', doc: 'earlier values (up to 8)', identifier: true },
      },
    },
    client_id_moved: {
      doc: 'an MQTT CONNECT used a client id last seen from another IP on the same broker',
      fields: { client_id: ident('MQTT client id'), previous_ip: str('the IP that used it before') },
    },
    ip_mac_changed: {
      doc: 'a known local IP was announced by ARP, or sent frames, from a new MAC (src = new MAC); router MACs and Internet addresses are skipped',
      fields: {
        mac: str('the new MAC'),
        previous_mac: str('the MAC the IP had'),
        vendor: ident('OUI vendor of the new MAC'),
        previous_vendor: ident('OUI vendor of the previous MAC'),
        via: str('arp or ip'),
      },
    },
  },
  anomalies: {},
  anomalyFields: {},
};

/** Every `proto` a rule may name, analyzers first. */
export const RULE_VOCABULARY: readonly EventVocabulary[] = [
  ...PROTOCOL_SCHEMAS,
  FLOW_SUBJECTS,
  DEVICE_SUBJECTS,
];
