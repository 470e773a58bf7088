// HL7 facts: sending and receiving applications, message types sent and received, versions, negative acks.
import type { EventRecord } from '../../../protocols/types.js';
import { NAK_CODES } from '../baseline-model.js';
import { str, type Observation } from './observation.js';

export function observeHl7(ev: EventRecord, _fromClient: boolean | undefined, out: Observation[]): void {
  if (ev.type !== 'message') return;
  const f = ev.fields;
  const src = ev.src.ip;
  const dst = ev.dst.ip;
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

/** HL7 acknowledgements follow the feed they answer; they are neither feeds nor new message types of their own. */
export function isHl7Ack(type: string): boolean {
  return type === 'ACK' || type.startsWith('ACK^');
}
