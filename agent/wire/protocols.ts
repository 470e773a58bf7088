// The protocols the agent analyses and the message types each counts in `stats.messages` (the event `type` values,
// see agent/protocols/*/events.ts and session.ts). The collector bounds its protocol × type metric labels with
// these; a value outside them is folded into "other". Kept here because the collector may import only wire/.

export const KNOWN_PROTOCOLS = ['hl7', 'dicom', 'mqtt'] as const;
export type KnownProtocol = (typeof KNOWN_PROTOCOLS)[number];

export const KNOWN_MESSAGE_TYPES: Readonly<Record<KnownProtocol, readonly string[]>> = {
  hl7: ['message'],
  dicom: ['associate_rq', 'associate_ac', 'associate_rj', 'release_rq', 'release_rp', 'abort', 'dimse'],
  mqtt: [
    'reserved',
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
  ],
};

export function isKnownProtocol(p: string): p is KnownProtocol {
  return (KNOWN_PROTOCOLS as readonly string[]).includes(p);
}
