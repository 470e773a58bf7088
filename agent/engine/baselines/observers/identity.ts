// Identity facts (issue 15) from the identity hints of the protocols' schemas: DHCP host names, LLDP system names, ...
import { PROTOCOL_SCHEMAS } from '../../../protocols/registry.js';
import { hintValues, indexIdentityHints } from '../../../protocols/schema.js';
import type { EventRecord } from '../../../protocols/types.js';
import { str, type Observation } from './observation.js';

/**
 * proto → type → identity hints of the non-clinical protocols; TLS's own are observed as TLS facts (`tls.ts`), and
 * the clinical protocols' identity already has its sections (dicom.ae_titles, implementations, hl7.versions, ...).
 */
const IDENTITY_HINTS = indexIdentityHints(
  PROTOCOL_SCHEMAS.filter((s) => !s.clinical).map((s) => ({
    ...s,
    identity: (s.identity ?? []).filter((h) => !h.attr.startsWith('tls_')),
  })),
);

/** Longest identity value kept in a baseline (the analyzers cap strings at 256). */
const MAX_IDENTITY_CHARS = 256;

export function observeIdentity(ev: EventRecord, out: Observation[]): void {
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
