// The facts the baseline learner records and the checker compares, one union for every protocol's observer.
import type { EventRecord, FieldValue } from '../../../protocols/types.js';

/** One fact about one device, as the learner records it and the checker compares it. */
export type Observation =
  | { kind: 'ae_title'; dev: string; value: string }
  | { kind: 'ae_pair'; dev: string; calling: string; called: string; peer: string; role: 'client' | 'server' }
  | { kind: 'sop_class'; dev: string; value: string; peer: string }
  | { kind: 'sop_proposed'; dev: string; value: string }
  /** Images one C-MOVE/C-GET of the requester (dev) retrieved so far, from the responses the archive sends it. */
  | { kind: 'retrieve_subops'; dev: string; value: number; peer: string }
  | { kind: 'command'; dev: string; value: string; peer: string }
  | { kind: 'move_dest'; dev: string; value: string; peer: string }
  | { kind: 'impl'; dev: string; class_uid: string; version: string | undefined; peer: string }
  | { kind: 'hl7_app'; dev: string; app: string; facility: string | undefined; peer: string }
  | { kind: 'hl7_sender_seen'; dev: string; app: string; facility: string | undefined; from: string }
  | { kind: 'hl7_recv_app'; dev: string; app: string; facility: string | undefined }
  | { kind: 'hl7_sent'; dev: string; type: string; peer: string }
  | { kind: 'hl7_received'; dev: string; type: string }
  | {
      kind: 'hl7_version';
      dev: string;
      version: string | undefined;
      processing_id: string | undefined;
      peer: string;
    }
  | { kind: 'mqtt_client_id'; dev: string; value: string }
  | { kind: 'mqtt_client_seen'; dev: string; client_id: string; from: string }
  | { kind: 'mqtt_publish'; dev: string; topic: string; retain: boolean; size: number; peer: string }
  | { kind: 'mqtt_subscribe'; dev: string; filter: string; peer: string }
  | { kind: 'tls_server_name'; dev: string; value: string; peer: string }
  | { kind: 'tls_fingerprint'; dev: string; value: string; peer: string }
  /** An identity hint of the protocol's schema (issue 15); `tracked`: a new value is a change worth reporting. */
  | {
      kind: 'identity';
      dev: string;
      /** Link-layer frames (LLDP, CDP) have no address: the device is the one its MAC belongs to. */
      mac?: string;
      attribute: string;
      value: string;
      tracked: boolean;
    }
  | { kind: 'reject'; dev: string; peer: string }
  | { kind: 'nak'; dev: string; peer: string };

/**
 * Turns one event of its protocol into observations. `fromClient` says whether the event's sender is the flow's
 * client (undefined: unknown, decided by well-known ports).
 */
export type ProtocolObserver = (ev: EventRecord, fromClient: boolean | undefined, out: Observation[]) => void;

export function str(v: FieldValue | undefined): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

export function strList(v: FieldValue | undefined): string[] {
  if (!Array.isArray(v)) return [];
  const out: string[] = [];
  for (const x of v) if (typeof x === 'string') out.push(x);
  return out;
}
