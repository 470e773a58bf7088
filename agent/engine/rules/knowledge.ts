// What "known" means for a value a rule reads (issue 9): named by the site (its assets or lists) or held by the approved baseline of the device.

/** Facts a device's baseline holds that a rule may ask about. */
export type BaselineFact =
  | 'dicom_ae'
  | 'dicom_move_destination'
  | 'hl7_sending_app'
  | 'hl7_receiving_app'
  | 'hl7_message_type'
  | 'mqtt_client_id'
  | 'mqtt_topic';

export type KnowledgeSource = 'site' | 'baseline';
export const KNOWLEDGE_SOURCES: readonly KnowledgeSource[] = ['site', 'baseline'];

export interface Knowledge {
  /** The asset attribute that names known values, and whose asset: the side's own, or any asset of the site. */
  site?: { attr: 'dicomAe' | 'hl7Apps' | 'mqttClientIds'; of: 'src' | 'dst' | 'any' };
  /** A named list (rule default, replaced by the site's `lists:`) that names known values site-wide. */
  list?: string;
  /** The baseline fact, of which side's device. */
  baseline?: { fact: BaselineFact; of: 'src' | 'dst' };
}

/** The paths `known_to` / `unknown_to` understand; any other path is refused when the rule loads. */
export const KNOWLEDGE: Readonly<Record<string, Knowledge>> = {
  'fields.calling_ae': {
    site: { attr: 'dicomAe', of: 'src' },
    list: 'dicom-known-aes',
    baseline: { fact: 'dicom_ae', of: 'src' },
  },
  'fields.called_ae': {
    site: { attr: 'dicomAe', of: 'dst' },
    list: 'dicom-known-aes',
    baseline: { fact: 'dicom_ae', of: 'dst' },
  },
  'fields.move_destination': {
    site: { attr: 'dicomAe', of: 'any' },
    list: 'dicom-known-aes',
    baseline: { fact: 'dicom_move_destination', of: 'src' },
  },
  'fields.sending_app': {
    site: { attr: 'hl7Apps', of: 'src' },
    list: 'hl7-known-senders',
    baseline: { fact: 'hl7_sending_app', of: 'src' },
  },
  'fields.receiving_app': {
    site: { attr: 'hl7Apps', of: 'dst' },
    baseline: { fact: 'hl7_receiving_app', of: 'dst' },
  },
  'fields.message_type': { baseline: { fact: 'hl7_message_type', of: 'src' } },
  'fields.client_id': {
    site: { attr: 'mqttClientIds', of: 'src' },
    baseline: { fact: 'mqtt_client_id', of: 'src' },
  },
  'connect.client_id': {
    site: { attr: 'mqttClientIds', of: 'src' },
    baseline: { fact: 'mqtt_client_id', of: 'src' },
  },
  'fields.topic': { baseline: { fact: 'mqtt_topic', of: 'src' } },
};

export const KNOWLEDGE_PATHS: readonly string[] = Object.keys(KNOWLEDGE);

/** Answers "does the approved baseline of the device at this address hold this value?". */
export interface BaselineKnowledge {
  knows(ip: string, fact: BaselineFact, value: string): boolean;
}
