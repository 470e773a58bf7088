// TLS facts: the server names a device asks for and its client fingerprint (JA4).
import type { EventRecord } from '../../../protocols/types.js';
import { str, type Observation } from './observation.js';

export function observeTls(ev: EventRecord, _fromClient: boolean | undefined, out: Observation[]): void {
  if (ev.type !== 'client_hello') return;
  const sni = str(ev.fields.sni);
  if (sni) out.push({ kind: 'tls_server_name', dev: ev.src.ip, value: sni.toLowerCase(), peer: ev.dst.ip });
  const ja4 = str(ev.fields.ja4);
  if (ja4) out.push({ kind: 'tls_fingerprint', dev: ev.src.ip, value: ja4, peer: ev.dst.ip });
}
