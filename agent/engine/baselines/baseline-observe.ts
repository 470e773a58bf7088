// Turns protocol events (docs/events.md fields) into per-device observations shared by the baseline learner and checker.
import { PROTOCOL_SCHEMAS } from '../../protocols/registry.js';
import { hintValues, indexIdentityHints } from '../../protocols/schema.js';
import type { EventRecord, FieldValue } from '../../protocols/types.js';
import { parseTs } from '../../wire/time.js';
import { NAK_CODES, generaliseTopic } from './baseline-model.js';

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

const MQTT_SERVER_PORTS: ReadonlySet<number> = new Set([1883, 8883, 8083, 8084]);

function str(v: FieldValue | undefined): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

function strList(v: FieldValue | undefined): string[] {
  if (!Array.isArray(v)) return [];
  const out: string[] = [];
  for (const x of v) if (typeof x === 'string') out.push(x);
  return out;
}

/** Packet time of an event in µs (the engine's `tsMicros`, or its ISO text). */
/** The implementation class and version an association message announces (RQ from the SCU, AC from the SCP). */
function pushImplementation(out: Observation[], f: EventRecord['fields'], src: string, dst: string): void {
  const cls = str(f.implementation_class_uid);
  if (cls)
    out.push({ kind: 'impl', dev: src, class_uid: cls, version: str(f.implementation_version), peer: dst });
}

export function eventMicros(ev: EventRecord): number {
  return ev.tsMicros ?? parseTs(ev.ts);
}

/**
 * Observations carried by one event. `fromClient` says whether the event's sender is the flow's client
 * (undefined: unknown, decided by well-known ports).
 */
/**
 * proto → type → identity hints of the identity protocols; TLS's own are observed as TLS facts below, and the
 * clinical protocols' identity already has its sections (dicom.ae_titles, implementations, hl7.versions, ...).
 */
const IDENTITY_HINTS = indexIdentityHints(
  PROTOCOL_SCHEMAS.filter((s) => !s.clinical).map((s) => ({
    ...s,
    identity: (s.identity ?? []).filter((h) => !h.attr.startsWith('tls_')),
  })),
);

/** Longest identity value kept in a baseline (the analyzers cap strings at 256). */
const MAX_IDENTITY_CHARS = 256;

function identityOf(ev: EventRecord, out: Observation[]): void {
  for (const h of IDENTITY_HINTS.get(ev.proto)?.get(ev.type) ?? []) {
    const end = h.side === 'src' ? ev.src : ev.dst;
    const dev = end.ip;
    for (const x of hintValues(h, ev.fields)) {
      const text = str(x);
      if (text)
        out.push({
          kind: 'identity',
          dev,
          ...(dev === '' && end.mac ? { mac: end.mac.toLowerCase() } : {}),
          attribute: h.attr,
          value: text.slice(0, MAX_IDENTITY_CHARS),
          tracked: h.tracked === true,
        });
    }
  }
}

export function observeEvent(ev: EventRecord, fromClient: boolean | undefined): Observation[] {
  const f = ev.fields;
  const src = ev.src.ip;
  const dst = ev.dst.ip;
  const out: Observation[] = [];
  identityOf(ev, out);
  if (ev.proto === 'tls' && ev.type === 'client_hello') {
    const sni = str(f.sni);
    if (sni) out.push({ kind: 'tls_server_name', dev: src, value: sni.toLowerCase(), peer: dst });
    const ja4 = str(f.ja4);
    if (ja4) out.push({ kind: 'tls_fingerprint', dev: src, value: ja4, peer: dst });
  }
  if (ev.proto === 'dicom') {
    switch (ev.type) {
      case 'associate_rq': {
        const calling = str(f.calling_ae) ?? '';
        const called = str(f.called_ae) ?? '';
        if (calling) out.push({ kind: 'ae_title', dev: src, value: calling });
        if (called) out.push({ kind: 'ae_title', dev: dst, value: called });
        out.push({ kind: 'ae_pair', dev: src, calling, called, peer: dst, role: 'client' });
        out.push({ kind: 'ae_pair', dev: dst, calling, called, peer: src, role: 'server' });
        for (const uid of strList(f.abstract_syntaxes))
          // Offered is not used: storescu proposes a hundred storage classes and sends one (issue 9).
          out.push({ kind: 'sop_proposed', dev: src, value: uid });
        pushImplementation(out, f, src, dst);
        break;
      }
      case 'associate_ac': {
        pushImplementation(out, f, src, dst);
        break;
      }
      case 'associate_rj':
      case 'abort':
        out.push({ kind: 'reject', dev: src, peer: dst }, { kind: 'reject', dev: dst, peer: src });
        break;
      case 'dimse': {
        const cmd = str(f.command);
        if (cmd) out.push({ kind: 'command', dev: src, value: cmd, peer: dst });
        // Responses echo the requester's SOP class; only requests say what the sender chose to use.
        const sop = str(f.affected_sop_class);
        if (sop && cmd?.endsWith('-RQ')) out.push({ kind: 'sop_class', dev: src, value: sop, peer: dst });
        const dest = str(f.move_destination);
        if (dest) out.push({ kind: 'move_dest', dev: src, value: dest.trim(), peer: dst });
        if (
          (cmd === 'C-MOVE-RSP' || cmd === 'C-GET-RSP') &&
          typeof f.completed === 'number' &&
          f.completed > 0
        )
          out.push({ kind: 'retrieve_subops', dev: dst, value: f.completed, peer: src });
        break;
      }
      default:
        break;
    }
  } else if (ev.proto === 'hl7') {
    if (ev.type === 'message') {
      const type = str(f.message_type);
      const app = str(f.sending_app);
      const facility = str(f.sending_facility);
      if (app !== undefined && app !== '') {
        out.push({ kind: 'hl7_app', dev: src, app, facility, peer: dst });
        out.push({ kind: 'hl7_sender_seen', dev: dst, app, facility, from: src });
      }
      const recvApp = str(f.receiving_app);
      if (recvApp !== undefined && recvApp !== '')
        out.push({ kind: 'hl7_recv_app', dev: dst, app: recvApp, facility: str(f.receiving_facility) });
      if (type) {
        out.push({ kind: 'hl7_sent', dev: src, type, peer: dst });
        out.push({ kind: 'hl7_received', dev: dst, type });
      }
      const version = str(f.version);
      const pid = str(f.processing_id);
      if (version !== undefined || pid !== undefined)
        out.push({ kind: 'hl7_version', dev: src, version, processing_id: pid, peer: dst });
      const ack = str(f.ack_code);
      if (ack && NAK_CODES.has(ack))
        out.push({ kind: 'nak', dev: src, peer: dst }, { kind: 'nak', dev: dst, peer: src });
    }
  } else if (ev.proto === 'mqtt') {
    const clientSide =
      fromClient ?? (MQTT_SERVER_PORTS.has(ev.dst.port) && !MQTT_SERVER_PORTS.has(ev.src.port));
    if (ev.type === 'connect') {
      const id = str(f.client_id);
      if (id !== undefined) {
        out.push({ kind: 'mqtt_client_id', dev: src, value: id });
        out.push({ kind: 'mqtt_client_seen', dev: dst, client_id: id, from: src });
      }
    } else if (ev.type === 'publish' && clientSide) {
      const topic = str(f.topic);
      if (topic !== undefined) {
        const size = typeof f.payload_size === 'number' ? f.payload_size : 0;
        out.push({
          kind: 'mqtt_publish',
          dev: src,
          topic: generaliseTopic(topic),
          retain: f.retain === true,
          size,
          peer: dst,
        });
      }
    } else if (ev.type === 'subscribe') {
      const filters = f.topic_filters;
      if (Array.isArray(filters)) {
        for (const tf of filters) {
          if (tf !== null && typeof tf === 'object' && !Array.isArray(tf)) {
            const filter = str(tf.filter);
            if (filter !== undefined)
              out.push({ kind: 'mqtt_subscribe', dev: src, filter: generaliseTopic(filter), peer: dst });
          }
        }
      }
    }
  }
  return out;
}

/** HL7 acknowledgements follow the feed they answer; they are neither feeds nor new message types of their own. */
export function isHl7Ack(type: string): boolean {
  return type === 'ACK' || type.startsWith('ACK^');
}
