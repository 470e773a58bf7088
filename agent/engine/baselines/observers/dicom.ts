// DICOM facts: AE titles and pairs, SOP classes used, DIMSE commands, move destinations, implementations, refusals.
import type { EventRecord } from '../../../protocols/types.js';
import { str, strList, type Observation } from './observation.js';

/** The implementation class and version an association message announces (RQ from the SCU, AC from the SCP). */
function pushImplementation(out: Observation[], f: EventRecord['fields'], src: string, dst: string): void {
  const cls = str(f.implementation_class_uid);
  if (cls)
    out.push({ kind: 'impl', dev: src, class_uid: cls, version: str(f.implementation_version), peer: dst });
}

export function observeDicom(ev: EventRecord, _fromClient: boolean | undefined, out: Observation[]): void {
  const f = ev.fields;
  const src = ev.src.ip;
  const dst = ev.dst.ip;
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
    case 'associate_ac':
      pushImplementation(out, f, src, dst);
      break;
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
      if ((cmd === 'C-MOVE-RSP' || cmd === 'C-GET-RSP') && typeof f.completed === 'number' && f.completed > 0)
        out.push({ kind: 'retrieve_subops', dev: dst, value: f.completed, peer: src });
      break;
    }
    default:
      break;
  }
}
