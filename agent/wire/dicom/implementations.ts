// Implementation Class UID roots and Implementation Version Name prefixes (PS3.7 D.3.3.2-3) → who made the software,
// so that a clinical engineer reads "DCMTK (OFFIS)" instead of 1.2.276.0.7230010.3.0.3.6.7. Only roots with a
// public source are listed; each row says where it comes from. Longest matching root wins.

export interface ImplementationRoot {
  /** UID root, matched on a component boundary (the class UID equals it or continues with "."). */
  root: string;
  manufacturer: string;
  product?: string;
  /** Where the root is documented. */
  source: string;
  /** Version Name prefix the same software sends, when its source defines one. */
  versionPrefix?: string;
}

export const IMPLEMENTATION_ROOTS: readonly ImplementationRoot[] = [
  {
    root: '1.2.276.0.7230010.3',
    manufacturer: 'OFFIS',
    product: 'DCMTK',
    versionPrefix: 'OFFIS_DCMTK_',
    source: 'DCMTK dcmdata/include/dcmtk/dcmdata/dcuid.h (OFFIS_UID_ROOT, registered for OFFIS with DIN)',
  },
  {
    root: '1.2.826.0.1.3680043.8.498',
    manufacturer: 'pydicom project',
    product: 'pydicom',
    source: 'pydicom src/pydicom/uid.py (PYDICOM_ROOT_UID, from Medical Connections)',
  },
  {
    root: '1.2.826.0.1.3680043.9.3811',
    manufacturer: 'pydicom project',
    product: 'pynetdicom',
    versionPrefix: 'PYNETDICOM',
    source:
      'pynetdicom conformance statement and source (implementation class UID prefix, from Medical Connections)',
  },
  {
    root: '1.2.826.0.1.3680043.2.1143.107.104.103.115',
    manufacturer: 'GDCM project',
    product: 'GDCM',
    versionPrefix: 'GDCM ',
    source:
      'GDCM Source/DataStructureAndEncodingDefinition/gdcmFileMetaInformation.cxx (GDCM_IMPLEMENTATION_CLASS_UID)',
  },
  {
    root: '1.3.6.1.4.1.30071.8',
    manufacturer: 'fo-dicom project',
    product: 'fo-dicom',
    versionPrefix: 'fo-dicom ',
    source: 'fo-dicom DICOM conformance statement (Implementation Class UID and Version Name)',
  },
  {
    root: '1.2.40.0.13.1.1',
    manufacturer: 'dcm4che.org',
    product: 'dcm4che 2',
    versionPrefix: 'dcm4che-',
    source: 'dcm4che2 org.dcm4che2.data.Implementation (IMPL_CLASS_UID)',
  },
  {
    root: '1.2.40.0.13.1.3',
    manufacturer: 'dcm4che.org',
    product: 'dcm4che 3',
    versionPrefix: 'dcm4che-',
    source: 'dcm4che3 org.dcm4che3.data.Implementation (IMPL_CLASS_UID)',
  },
  {
    root: '1.2.826.0.1.3680043.9.7133',
    manufacturer: 'go-dicom project',
    product: 'go-dicom',
    versionPrefix: 'GODICOM_',
    source:
      'grailbio/go-dicom dicomio and netdicom source (GoDICOMImplementationClassUIDPrefix, from Medical Connections)',
  },
  {
    root: '1.2.840.113619',
    manufacturer: 'GE Healthcare',
    source: 'GE Medical Systems UID root (ANSI member body 1.2.840), the prefix of GE-generated UIDs',
  },
  {
    root: '1.3.12.2.1107.5',
    manufacturer: 'Siemens Healthineers',
    source: 'Siemens medical UID root (1.3.12.2.1107 Siemens AG), the prefix of Siemens-generated UIDs',
  },
  {
    root: '1.3.46.670589',
    manufacturer: 'Philips',
    source: 'Philips Medical Systems UID root, the prefix of Philips-generated UIDs',
  },
];

export interface ImplementationDescription {
  manufacturer?: string;
  product?: string;
  /** Where the answer comes from; "unknown" when nothing matched. */
  source: string;
}

function underRoot(uid: string, root: string): boolean {
  return uid === root || (uid.startsWith(root) && uid.charCodeAt(root.length) === 0x2e);
}

// Longest root first, so that dcm4che 3 (1.2.40.0.13.1.3) is not read as a shorter root.
const BY_LENGTH = [...IMPLEMENTATION_ROOTS].sort((a, b) => b.root.length - a.root.length);

/** The root a UID falls under, if any: 11 roots, so a scan is cheaper than any index. */
export function implementationRootOf(uid: string): ImplementationRoot | undefined {
  for (const r of BY_LENGTH) if (underRoot(uid, r.root)) return r;
  return undefined;
}

/**
 * Who made the software that sent this Implementation Class UID and Version Name: by the class UID's root, else
 * by a version-name prefix a toolkit defines (a product built on it may keep the toolkit's name).
 */
export function describeImplementation(classUid: string, versionName?: string): ImplementationDescription {
  const r = implementationRootOf(classUid);
  if (r) {
    const d: ImplementationDescription = { manufacturer: r.manufacturer, source: r.source };
    if (r.product) d.product = r.product;
    return d;
  }
  if (versionName) {
    const byName = BY_LENGTH.find((x) => x.versionPrefix && versionName.startsWith(x.versionPrefix));
    if (byName) {
      const d: ImplementationDescription = {
        manufacturer: byName.manufacturer,
        source: `version name prefix "${byName.versionPrefix ?? ''}": ${byName.source}`,
      };
      if (byName.product) d.product = byName.product;
      return d;
    }
  }
  return { source: 'unknown' };
}

/** One line for people: "DCMTK (OFFIS)", "GE Healthcare", or undefined when unknown. */
export function implementationLabel(classUid: string, versionName?: string): string | undefined {
  const d = describeImplementation(classUid, versionName);
  if (!d.manufacturer) return undefined;
  return d.product ? `${d.product} (${d.manufacturer})` : d.manufacturer;
}
