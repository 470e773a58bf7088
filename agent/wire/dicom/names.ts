// Names people read for the UIDs a DICOM association carries: the standard's registry (uid-registry.ts, generated)
// for SOP classes, transfer syntaxes and the like, and implementations.ts for who made the software. Events and
// baselines keep the UIDs (the contract); only text for people uses these names.
import { UID_TABLE, UID_TYPES } from './uid-registry.js';

export {
  describeImplementation,
  implementationLabel,
  type ImplementationDescription,
} from './implementations.js';

export interface UidInfo {
  name: string;
  /** PS3.6 Table A-1 type, e.g. "SOP Class", "Transfer Syntax". */
  type: string;
  retired: boolean;
}

const DICOM_ROOT = '1.2.840.10008.';
let registry: Map<string, UidInfo> | undefined;

// Built on first use (about 500 entries) rather than at import, so a worker that never names a UID pays nothing.
function load(): Map<string, UidInfo> {
  if (registry) return registry;
  const m = new Map<string, UidInfo>();
  for (const line of UID_TABLE.split('\n')) {
    const [suffix = '', name = '', code = ''] = line.split('|');
    m.set(DICOM_ROOT + suffix, {
      name,
      type: UID_TYPES[parseInt(code.charAt(0), 36)] ?? 'unknown',
      retired: code.endsWith('r'),
    });
  }
  registry = m;
  return m;
}

/** The registry entry of a standard UID (O(1)), or undefined for a private or unknown one. */
export function uidInfo(uid: string): UidInfo | undefined {
  return uid.startsWith(DICOM_ROOT) ? load().get(uid) : undefined;
}

/** The standard's name of a UID, e.g. "CT Image Storage", or undefined for a private or unknown one. */
export function uidName(uid: string): string | undefined {
  return uidInfo(uid)?.name;
}

/** "NAME" or "NAME (retired)" for people; undefined when the UID is not in the registry. */
export function uidLabel(uid: string): string | undefined {
  const u = uidInfo(uid);
  return u ? (u.retired ? `${u.name} (retired)` : u.name) : undefined;
}

/** Number of UIDs in the registry table (for the size figure in the tests and README). */
export function registrySize(): number {
  return load().size;
}
