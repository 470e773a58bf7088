// DICOM names for people (issue 10 item 2): the generated PS3.6 registry, implementation roots, and how many of the
// UIDs seen in our captures they name.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  describeImplementation,
  registrySize,
  uidInfo,
  uidLabel,
  uidName,
} from '../../../agent/wire/dicom/names.js';
import { IMPLEMENTATION_ROOTS, implementationLabel } from '../../../agent/wire/dicom/implementations.js';
import { compareUids, parseUidDict, renderUidRegistry } from '../../../scripts/gen-dicom-uids.js';
import { formatBaselineYaml, parseBaselineYaml } from '../../../agent/engine/baselines/baseline-yaml.js';
import type { Baseline } from '../../../agent/engine/baselines/baseline-model.js';
import { FIXTURES, HAVE_SHARED, REPO_ROOT, SHARED_ABSENT, SHARED_CAPTURES } from '../../helpers/paths.js';

describe('UID registry (PS3.6 Table A-1)', () => {
  // Checked by hand against PS3.6 Table A-1.
  it.each([
    ['1.2.840.10008.1.1', 'Verification SOP Class', 'SOP Class', false],
    ['1.2.840.10008.1.2', 'Implicit VR Little Endian', 'Transfer Syntax', false],
    ['1.2.840.10008.1.2.1', 'Explicit VR Little Endian', 'Transfer Syntax', false],
    ['1.2.840.10008.1.2.2', 'Explicit VR Big Endian', 'Transfer Syntax', true],
    ['1.2.840.10008.1.2.4.50', 'JPEG Baseline (Process 1)', 'Transfer Syntax', false],
    ['1.2.840.10008.3.1.1.1', 'DICOM Application Context Name', 'Application Context Name', false],
    ['1.2.840.10008.5.1.4.1.1.2', 'CT Image Storage', 'SOP Class', false],
    ['1.2.840.10008.5.1.4.1.1.4', 'MR Image Storage', 'SOP Class', false],
    ['1.2.840.10008.5.1.4.1.2.2.1', 'Study Root Query/Retrieve Information Model - FIND', 'SOP Class', false],
    ['1.2.840.10008.5.1.4.1.2.2.2', 'Study Root Query/Retrieve Information Model - MOVE', 'SOP Class', false],
    ['1.2.840.10008.5.1.4.31', 'Modality Worklist Information Model - FIND', 'SOP Class', false],
    ['1.2.840.10008.5.1.1.9', 'Basic Grayscale Print Management Meta SOP Class', 'Meta SOP Class', false],
    [
      '1.2.840.10008.1.20.1.1',
      'Storage Commitment Push Model SOP Instance',
      'Well-known SOP Instance',
      false,
    ],
  ])('%s is %s', (uid, name, type, retired) => {
    expect(uidInfo(uid)).toEqual({ name, type, retired });
  });

  it('says retired, and knows nothing of private or malformed UIDs', () => {
    expect(uidLabel('1.2.840.10008.1.2.2')).toBe('Explicit VR Big Endian (retired)');
    expect(uidName('1.2.840.113619.4.2')).toBeUndefined();
    expect(uidName('1.2.840.10008.5.1.4.1.1.2.')).toBeUndefined();
    expect(uidName('')).toBeUndefined();
  });

  it('never throws on any string', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        const n = uidName(s);
        expect(n === undefined || typeof n === 'string').toBe(true);
        expect(describeImplementation(s, s).source.length).toBeGreaterThan(0);
      }),
    );
  });

  it('is small: one module, about 500 UIDs', () => {
    const file = path.join(REPO_ROOT, 'agent/wire/dicom/uid-registry.ts');
    const bytes = statSync(file).size;
    console.log(`uid-registry.ts: ${registrySize()} UIDs, ${bytes} bytes`);
    expect(registrySize()).toBeGreaterThan(450);
    expect(bytes).toBeLessThan(40_000);
  });
});

describe('gen-dicom-uids', () => {
  // Entries in pydicom's _uid_dict.py layout, values from PS3.6 Table A-1.
  const SAMPLE = [
    '"""DICOM UID dictionary"""',
    'UID_dictionary = {',
    "    '1.2.840.10008.5.1.4.1.1.2': ('CT Image Storage', 'SOP Class', '', '', 'CTImageStorage'),",
    "    '1.2.840.10008.1.2.1': ('Explicit VR Little Endian', 'Transfer Syntax', '', '', 'ExplicitVRLittleEndian'),",
    "    '1.2.840.10008.1.2.2': ('Explicit VR Big Endian', 'Transfer Syntax', '', 'Retired', 'ExplicitVRBigEndian'),",
    "    '1.2.840.10008.5.1.4.1.1.40': ('', 'SOP Class', '(2015c)', 'Retired', '')",
    '}',
  ];
  const src = { label: 'sample', sha256: '0' };

  it('is deterministic and independent of the source order', () => {
    const a = renderUidRegistry(parseUidDict(SAMPLE.join('\n')), src);
    const b = renderUidRegistry(parseUidDict(SAMPLE.join('\n')), src);
    const shuffled = [SAMPLE[0], SAMPLE[1], SAMPLE[5], SAMPLE[3], SAMPLE[2], SAMPLE[4], SAMPLE[6]];
    expect(a).toBe(b);
    expect(renderUidRegistry(parseUidDict(shuffled.join('\n')), src)).toBe(a);
    expect(a).toContain('1.2.1|Explicit VR Little Endian|1\n1.2.2|Explicit VR Big Endian|1r\n');
    expect(a).toContain('5.1.4.1.1.40|unnamed retired SOP Class (no name in PS3.6)|0r');
  });

  it('fails on an entry it cannot read instead of dropping it', () => {
    expect(() => parseUidDict("    '1.2.840.10008.1.1': ('Verification SOP Class', 'SOP Class')")).toThrow(
      /line 1/,
    );
    expect(() => parseUidDict("    '1.3.6.1': ('x', 'SOP Class', '', '', 'x'),")).toThrow(/not under/);
    expect(() => parseUidDict('nothing')).toThrow(/no UID entries/);
  });

  it('orders UIDs by number, not by text', () => {
    expect(['1.2.10', '1.2.9', '1.2'].sort(compareUids)).toEqual(['1.2', '1.2.9', '1.2.10']);
  });

  // The source is not in our tree; point DICOM_UID_SOURCE at pydicom's _uid_dict.py to check the committed table.
  const source = process.env.DICOM_UID_SOURCE;
  it.skipIf(!source)('the committed table is what the generator makes from the source', () => {
    const committed = readFileSync(path.join(REPO_ROOT, 'agent/wire/dicom/uid-registry.ts'), 'utf8');
    const label = /^export const UID_REGISTRY_SOURCE =\n {2}'(.*)';$/m.exec(committed)?.[1] ?? '';
    const sha = /\(sha256 ([0-9a-f]{64})\)/.exec(committed)?.[1] ?? '';
    expect(renderUidRegistry(parseUidDict(readFileSync(source ?? '', 'utf8')), { label, sha256: sha })).toBe(
      committed,
    );
  });
  if (!source) console.warn('DICOM_UID_SOURCE not set: regeneration check of uid-registry.ts skipped');
});

describe('implementations', () => {
  it('maps toolkit and vendor roots on a component boundary', () => {
    expect(describeImplementation('1.2.276.0.7230010.3.0.3.6.7', 'OFFIS_DCMTK_367')).toMatchObject({
      manufacturer: 'OFFIS',
      product: 'DCMTK',
    });
    expect(implementationLabel('1.2.40.0.13.1.3')).toBe('dcm4che 3 (dcm4che.org)');
    expect(implementationLabel('1.2.40.0.13.1.1')).toBe('dcm4che 2 (dcm4che.org)');
    expect(implementationLabel('1.2.840.113619.6.5')).toBe('GE Healthcare');
    expect(describeImplementation('1.2.276.0.7230010.31.5')).toEqual({ source: 'unknown' });
    expect(describeImplementation('1.2.840.1136190')).toEqual({ source: 'unknown' });
  });

  it('falls back on a toolkit version name prefix, and says so', () => {
    const d = describeImplementation('1.2.3.4', 'OFFIS_DCMTK_368');
    expect(d).toMatchObject({ manufacturer: 'OFFIS', product: 'DCMTK' });
    expect(d.source).toMatch(/^version name prefix "OFFIS_DCMTK_"/);
    expect(describeImplementation('1.2.3.4', 'SOMETHING')).toEqual({ source: 'unknown' });
  });

  it('every root is a UID and names its source', () => {
    for (const r of IMPLEMENTATION_ROOTS) {
      expect(r.root).toMatch(/^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/);
      expect(r.source.length).toBeGreaterThan(10);
    }
  });
});

describe('baseline file shows names', () => {
  const b: Baseline = {
    version: 1,
    learned_from: '2026-11-28T10:00:00.000000Z',
    learned_to: '2026-11-28T11:00:00.000000Z',
    devices: [
      {
        ip: '10.20.40.21',
        macs: [],
        peers: [],
        dicom: {
          ae_titles: ['CT_WARD3'],
          ae_pairs: [],
          sop_classes: ['1.2.840.10008.5.1.4.1.1.2', '1.2.840.113619.4.26'],
          proposed_only: ['1.2.840.10008.5.1.4.1.1.4'],
          commands: ['C-STORE-RQ'],
          move_destinations: [],
          implementations: [{ class_uid: '1.2.276.0.7230010.3.0.3.6.7', version: 'OFFIS_DCMTK_367' }],
        },
        volume: {
          hours: 1,
          active_hours: [10],
          messages_per_hour: { min: 1, max: 1 },
          bytes_per_hour: { min: 1, max: 1 },
          rejects_per_hour: { min: 0, max: 0 },
          naks_per_hour: { min: 0, max: 0 },
        },
      },
    ],
  };

  it('comments each UID with its name and round-trips (comments are ignored)', () => {
    const text = formatBaselineYaml(b);
    expect(text).toContain('- 1.2.840.10008.5.1.4.1.1.2 # CT Image Storage\n');
    expect(text).toContain('- 1.2.840.10008.5.1.4.1.1.4 # MR Image Storage\n');
    expect(text).toMatch(/- 1\.2\.840\.113619\.4\.26\n/);
    expect(text).toMatch(/class_uid: 1\.2\.276\.0\.7230010\.3\.0\.3\.6\.7.*# DCMTK \(OFFIS\)/);
    expect(parseBaselineYaml(text, 'b.yaml')).toEqual(b);
  });
});

// ---- the figures: how many of the UIDs on the wire of our captures get a name ----

interface RefLine {
  abstract_syntaxes?: string[];
  application_context?: string;
  presentation_contexts?: { transfer_syntaxes?: string[] }[];
  pdvs?: { affected_sop_class_uid?: string; requested_sop_class_uid?: string }[];
  implementation_class_uid?: string;
  implementation_version?: string;
}

function refFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.pcap.tshark.jsonl'))
    .map((f) => path.join(dir, f));
}

function coverage(files: string[]): { uids: Set<string>; impls: Map<string, string | undefined> } {
  const uids = new Set<string>();
  const impls = new Map<string, string | undefined>();
  for (const f of files)
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const r = JSON.parse(line) as RefLine;
      for (const u of r.abstract_syntaxes ?? []) uids.add(u);
      if (r.application_context) uids.add(r.application_context);
      for (const c of r.presentation_contexts ?? []) for (const t of c.transfer_syntaxes ?? []) uids.add(t);
      for (const p of r.pdvs ?? []) {
        if (p.affected_sop_class_uid) uids.add(p.affected_sop_class_uid);
        if (p.requested_sop_class_uid) uids.add(p.requested_sop_class_uid);
      }
      if (r.implementation_class_uid) impls.set(r.implementation_class_uid, r.implementation_version);
    }
  return { uids, impls };
}

function report(what: string, files: string[]): void {
  const { uids, impls } = coverage(files);
  const standard = [...uids].filter((u) => u.startsWith('1.2.840.10008.'));
  const named = standard.filter((u) => uidName(u) !== undefined);
  const mapped = [...impls].filter(([c, v]) => describeImplementation(c, v).manufacturer !== undefined);
  console.log(
    `${what}: ${files.length} captures, ${uids.size} distinct SOP class / transfer syntax / context UIDs, ` +
      `${standard.length} standard, ${named.length} named (${Math.round((100 * named.length) / Math.max(1, standard.length))} %); ` +
      `${impls.size} implementation class UIDs, ${mapped.length} mapped to a manufacturer`,
  );
  expect(files.length).toBeGreaterThan(0);
  expect(standard.length).toBeGreaterThan(0);
  expect(named).toEqual(standard);
}

describe('names of the UIDs seen on the wire', () => {
  it('our dcmtk fixtures: every standard UID named, DCMTK recognised', () => {
    const files = refFiles(path.join(FIXTURES, 'dicom'));
    report('fixtures/dicom', files);
    for (const [c, v] of coverage(files).impls) expect(implementationLabel(c, v)).toBe('DCMTK (OFFIS)');
  });

  it.skipIf(!HAVE_SHARED && process.env.WARDWATCH_CI === undefined)(
    'shared corpus: every standard UID named',
    () => {
      if (!HAVE_SHARED) throw new Error(SHARED_ABSENT);
      report('shared/captures/dicom', refFiles(path.join(SHARED_CAPTURES, 'dicom')));
    },
  );
});
