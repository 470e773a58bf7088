// Turns protocol events (docs/events.md fields) into per-device observations shared by the baseline learner and
// checker. Each protocol's observer is its own module under `observers/`; the table below names one for every
// protocol, so adding a protocol to `ProtoName` does not compile until someone decides what its baseline learns.
import type { EventRecord, ProtoName } from '../../protocols/types.js';
import { parseTs } from '../../wire/time.js';
import { observeDicom } from './observers/dicom.js';
import { observeHl7 } from './observers/hl7.js';
import { observeIdentity } from './observers/identity.js';
import { observeMqtt } from './observers/mqtt.js';
import type { Observation, ProtocolObserver } from './observers/observation.js';
import { observeTls } from './observers/tls.js';

export type { Observation } from './observers/observation.js';
export { isHl7Ack } from './observers/hl7.js';

/** `null`: the protocol's baseline is its schema's identity hints only (`observers/identity.ts`). */
const OBSERVERS: { readonly [P in ProtoName]: ProtocolObserver | null } = {
  hl7: observeHl7,
  dicom: observeDicom,
  mqtt: observeMqtt,
  tls: observeTls,
  dhcp: null,
  dhcpv6: null,
  mdns: null,
  ssdp: null,
  wsd: null,
  lldp: null,
  cdp: null,
};

/** Packet time of an event in µs (the engine's `tsMicros`, or its ISO text). */
export function eventMicros(ev: EventRecord): number {
  return ev.tsMicros ?? parseTs(ev.ts);
}

/**
 * Observations carried by one event. `fromClient` says whether the event's sender is the flow's client
 * (undefined: unknown, decided by well-known ports).
 */
export function observeEvent(ev: EventRecord, fromClient: boolean | undefined): Observation[] {
  const out: Observation[] = [];
  observeIdentity(ev, out);
  OBSERVERS[ev.proto]?.(ev, fromClient, out);
  return out;
}
