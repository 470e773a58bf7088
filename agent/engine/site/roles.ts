// The one vocabulary of asset roles (issue 9): the site file, the rules and the docs all use these names.

/** Every role a site asset may carry, with what it means; `implies` are granted with it. */
export const ROLES: Readonly<Record<string, { meaning: string; implies?: readonly string[] }>> = {
  'dicom-scp': { meaning: 'DICOM archive or storage SCP (PACS, VNA)' },
  'dicom-scu': { meaning: 'DICOM client that associates to archives' },
  'dicom-modality': { meaning: 'imaging modality (CT, MR, US, ...)', implies: ['dicom-scu'] },
  'dicom-viewer': { meaning: 'viewer or reading workstation', implies: ['dicom-scu'] },
  'dicom-tls-only': { meaning: 'reached only over DICOM TLS; cleartext DICOM to or from it is a downgrade' },
  'hl7-engine': {
    meaning: 'HL7 interface engine (receives and routes every message kind)',
    implies: ['hl7-result-sender', 'hl7-order-placer', 'hl7-adt-source'],
  },
  'hl7-sender': {
    meaning:
      'any HL7 sender (the design card name): allowed every message kind; prefer the specific roles below',
    implies: ['hl7-result-sender', 'hl7-order-placer', 'hl7-adt-source'],
  },
  'hl7-result-sender': { meaning: 'sends observation results (ORU)' },
  'hl7-order-placer': {
    meaning: 'CPOE or pharmacy: sends orders and device programming (ORM, OML, RDE, RGV)',
  },
  'hl7-adt-source': { meaning: 'HIS/ADT: sends admissions, transfers, merges (ADT)' },
  lab: { meaning: 'laboratory information system (LIS)', implies: ['hl7-result-sender'] },
  'patient-monitor': { meaning: 'patient monitor or its vitals gateway', implies: ['hl7-result-sender'] },
  'infusion-pump': { meaning: 'infusion pump' },
  'mqtt-broker': { meaning: 'MQTT broker' },
  'mqtt-subscriber': { meaning: 'MQTT client that only subscribes (dashboards)' },
  'mqtt-command-writer': { meaning: 'MQTT client allowed to publish to command and config topics' },
  workstation: { meaning: 'general clinical workstation' },
  dns: { meaning: 'DNS server' },
  ntp: { meaning: 'NTP server' },
  monitoring: { meaning: 'monitoring system that polls many hosts' },
  'vulnerability-scanner': { meaning: 'approved vulnerability scanner' },
};

export const ROLE_NAMES: readonly string[] = Object.keys(ROLES);

export function isRole(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(ROLES, name);
}

/** The roles given plus every role they imply, in a stable order (the given ones first). */
export function expandRoles(roles: readonly string[]): string[] {
  const out: string[] = [];
  const add = (r: string): void => {
    if (out.includes(r)) return;
    out.push(r);
    for (const i of ROLES[r]?.implies ?? []) add(i);
  };
  for (const r of roles) add(r);
  return out;
}
