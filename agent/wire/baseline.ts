// The baseline document as it travels between agents and the collector (issue 10 "Baseline review"): its types, the
// schema every copy is checked against (a hand-edited YAML file, an agent's upload, an approval), and the review
// items a reviewer approves or rejects one by one. A leaf like the rest of wire/: the engine re-exports the types.

import { uidLabel } from './dicom/names.js';

/** One peer of a device. `role` is the device's own role in that relationship; `port` is the server port. */
export interface PeerEntry {
  address: string;
  zone?: string;
  port: number;
  protocol: string;
  role: 'client' | 'server';
}

export interface AePair {
  calling: string;
  called: string;
  /** The other end's IP address. */
  peer: string;
  role: 'client' | 'server';
}

export interface Implementation {
  class_uid: string;
  version?: string;
}

export interface DicomBaseline {
  ae_titles: string[];
  ae_pairs: AePair[];
  /** SOP classes the device used: the affected SOP class of DIMSE requests it sent on accepted contexts. */
  sop_classes: string[];
  /** A note for the reviewer: proposed in associations but never used (not checked). */
  proposed_only?: string[];
  /** DIMSE commands the device sent, e.g. C-STORE-RQ. */
  commands: string[];
  move_destinations: string[];
  implementations: Implementation[];
  /** Most images one C-MOVE/C-GET of this device retrieved: a retrieve far above it is bulk, at any hour. */
  max_retrieve_suboperations?: number;
}

export interface Hl7App {
  app: string;
  facility?: string;
}

export interface Hl7SenderSeen extends Hl7App {
  /** IP address the messages came from. */
  from: string;
}

export interface Hl7MessageType {
  type: string;
  count: number;
  /** Median seconds between two messages of this type sent by the device (a periodic feed), when regular. */
  median_interval_s?: number;
}

export interface Hl7Baseline {
  sending_apps: Hl7App[];
  /** Receiving application/facility (MSH-5/6) of the messages this device received. */
  receiving_apps: Hl7App[];
  /** Sending app/facility pairs of the messages this device received, with the address they came from. */
  senders_seen: Hl7SenderSeen[];
  /** Message types this device sent. */
  sent: Hl7MessageType[];
  /** Message types this device received. */
  received: string[];
  versions: string[];
  processing_ids: string[];
}

export interface MqttTopic {
  /** Generalised pattern (numeric, uuid and hex segments become '+'). */
  topic: string;
  count: number;
  retained: boolean;
  max_payload: number;
  median_interval_s?: number;
}

export interface MqttClientSeen {
  client_id: string;
  from: string;
}

export interface MqttBaseline {
  client_ids: string[];
  publishes: MqttTopic[];
  subscribes: string[];
  /** On a broker: client ids that connected and where from. */
  clients_seen: MqttClientSeen[];
}

export interface Range {
  min: number;
  max: number;
}

export interface VolumeBaseline {
  /** Whole UTC-hour buckets the device was active in (partial hours count as they were seen). */
  hours: number;
  /** Hours of the day (UTC, 0-23) with traffic (for the reviewer). */
  active_hours: number[];
  /** Hour of the week (UTC, 0 = Monday 00:00) → the largest hour seen then; an hour without data uses the overall range. */
  hours_of_week?: HourOfWeek[];
  messages_per_hour: Range;
  bytes_per_hour: Range;
  rejects_per_hour: Range;
  naks_per_hour: Range;
}

export interface HourOfWeek {
  hour: number;
  messages: number;
  bytes: number;
}

/** Which time-based checks a baseline arms: only one learned long enough can say what "far above" or "stopped" means. */
export interface ArmedChecks {
  volume: boolean;
  feed_stopped: boolean;
  /** The learning time these were judged against (seconds). */
  min_learning_s: number;
}

export interface DeviceBaseline {
  /**
   * learning: learned, not yet approved; with the agent's learning mode the device keeps learning until
   * `since` + the learning period. enforced (or absent, in older files): every deviation is reported.
   */
  state?: 'learning' | 'enforced';
  /** When the device was first seen (learning) or approved (enforced). */
  since?: string;
  ip: string;
  macs: string[];
  /** IEEE OUI vendor of the MAC (for the reviewer; not checked). */
  vendor?: string;
  name?: string;
  zone?: string;
  peers: PeerEntry[];
  dicom?: DicomBaseline;
  hl7?: Hl7Baseline;
  mqtt?: MqttBaseline;
  /** TLS the device spoke as a client (issue 15): the server names it asked for and its client fingerprints (JA4). */
  tls?: TlsBaseline;
  /**
   * What the device says it is (issue 15), from the identity protocols' and TLS's hints: host name, make, model,
   * firmware, software, device type, DHCP vendor class and fingerprint. A tracked attribute announced with another
   * value is `baseline.identity-changed`.
   */
  identity?: IdentityEntry[];
  volume: VolumeBaseline;
}

export interface TlsBaseline {
  server_names: string[];
  client_fingerprints: string[];
}

export interface IdentityEntry {
  attribute: string;
  value: string;
}

export interface Baseline {
  version: 1;
  /** Packet time of the first and last observation (ISO). */
  learned_from: string;
  learned_to: string;
  /** Absent in baselines written before issue 9: every check armed, as they were then. */
  armed?: ArmedChecks;
  devices: DeviceBaseline[];
  /** The collector's approved-set version this file holds (an agent's state file, `baseline export`). */
  approved_version?: number;
}

// ---- the schema: a hand-edited file fails on the line that is wrong, an upload or approval on the field ----

export type Spec =
  | 'string'
  | 'int'
  | 'number'
  | 'boolean'
  | { enum: readonly string[] }
  | { list: Spec }
  | { obj: Record<string, { spec: Spec; required?: boolean }> };

const req = (spec: Spec): { spec: Spec; required: true } => ({ spec, required: true });
const opt = (spec: Spec): { spec: Spec } => ({ spec });
const strList: Spec = { list: 'string' };
const range: Spec = { obj: { min: req('number'), max: req('number') } };

export const DEVICE_SPEC: Spec = {
  obj: {
    state: opt({ enum: ['learning', 'enforced'] }),
    since: opt('string'),
    ip: req('string'),
    macs: opt(strList),
    vendor: opt('string'),
    name: opt('string'),
    zone: opt('string'),
    peers: opt({
      list: {
        obj: {
          address: req('string'),
          zone: opt('string'),
          port: req('int'),
          protocol: req('string'),
          role: req({ enum: ['client', 'server'] }),
        },
      },
    }),
    dicom: opt({
      obj: {
        ae_titles: opt(strList),
        ae_pairs: opt({
          list: {
            obj: {
              calling: req('string'),
              called: req('string'),
              peer: req('string'),
              role: req({ enum: ['client', 'server'] }),
            },
          },
        }),
        sop_classes: opt(strList),
        proposed_only: opt(strList),
        commands: opt(strList),
        move_destinations: opt(strList),
        implementations: opt({ list: { obj: { class_uid: req('string'), version: opt('string') } } }),
        max_retrieve_suboperations: opt('int'),
      },
    }),
    hl7: opt({
      obj: {
        sending_apps: opt({ list: { obj: { app: req('string'), facility: opt('string') } } }),
        receiving_apps: opt({ list: { obj: { app: req('string'), facility: opt('string') } } }),
        senders_seen: opt({
          list: { obj: { app: req('string'), facility: opt('string'), from: req('string') } },
        }),
        sent: opt({
          list: { obj: { type: req('string'), count: opt('int'), median_interval_s: opt('number') } },
        }),
        received: opt(strList),
        versions: opt(strList),
        processing_ids: opt(strList),
      },
    }),
    mqtt: opt({
      obj: {
        client_ids: opt(strList),
        publishes: opt({
          list: {
            obj: {
              topic: req('string'),
              count: opt('int'),
              retained: opt('boolean'),
              max_payload: opt('int'),
              median_interval_s: opt('number'),
            },
          },
        }),
        subscribes: opt(strList),
        clients_seen: opt({ list: { obj: { client_id: req('string'), from: req('string') } } }),
      },
    }),
    tls: opt({ obj: { server_names: opt(strList), client_fingerprints: opt(strList) } }),
    identity: opt({ list: { obj: { attribute: req('string'), value: req('string') } } }),
    volume: opt({
      obj: {
        hours: opt('int'),
        active_hours: opt({ list: 'int' }),
        hours_of_week: opt({ list: { obj: { hour: req('int'), messages: req('int'), bytes: req('int') } } }),
        messages_per_hour: opt(range),
        bytes_per_hour: opt(range),
        rejects_per_hour: opt(range),
        naks_per_hour: opt(range),
      },
    }),
  },
};

export const TOP_SPEC: Spec = {
  obj: {
    version: req('int'),
    learned_from: opt('string'),
    learned_to: opt('string'),
    armed: opt({
      obj: { volume: req('boolean'), feed_stopped: req('boolean'), min_learning_s: opt('number') },
    }),
    devices: req({ list: DEVICE_SPEC }),
    approved_version: opt('int'),
  },
};

export type Path = (string | number)[];

function typeName(spec: Spec): string {
  if (typeof spec === 'string') return spec === 'int' ? 'an integer' : `a ${spec}`;
  if ('enum' in spec) return `one of ${spec.enum.join(', ')}`;
  if ('list' in spec) return 'a list';
  return 'a mapping';
}

/** First problem found, as [path, message], or null. */
export function check(value: unknown, spec: Spec, path: Path): [Path, string] | null {
  const where = path.join('.') || 'document';
  const bad = (): [Path, string] => [path, `${where} must be ${typeName(spec)}`];
  if (spec === 'string') return typeof value === 'string' ? null : bad();
  if (spec === 'int') return Number.isInteger(value) && (value as number) >= 0 ? null : bad();
  if (spec === 'number') return typeof value === 'number' && Number.isFinite(value) ? null : bad();
  if (spec === 'boolean') return typeof value === 'boolean' ? null : bad();
  if ('enum' in spec) return typeof value === 'string' && spec.enum.includes(value) ? null : bad();
  if ('list' in spec) {
    if (!Array.isArray(value)) return bad();
    for (let i = 0; i < value.length; i++) {
      const e = check(value[i], spec.list, [...path, i]);
      if (e) return e;
    }
    return null;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad();
  const rec = value as Record<string, unknown>;
  for (const key of Object.keys(rec)) {
    if (!(key in spec.obj)) return [[...path, key], `unknown key "${key}" in ${where}`];
  }
  for (const [key, field] of Object.entries(spec.obj)) {
    if (!(key in rec) || rec[key] === undefined || rec[key] === null) {
      if (field.required) return [path, `${where} lacks required key "${key}"`];
      if (rec[key] === null) delete rec[key];
      continue;
    }
    const e = check(rec[key], field.spec, [...path, key]);
    if (e) return e;
  }
  return null;
}

/** Longest string and list a baseline document may hold on the wire or in an approval (beside the message cap). */
export const BASELINE_DOC_LIMITS = { maxString: 4096, maxList: 4096, maxDepth: 8 } as const;

/** The first string or list over BASELINE_DOC_LIMITS, as a path and a message, or null. */
export function checkBounded(v: unknown, path: string, depth = 0): string | null {
  if (depth > BASELINE_DOC_LIMITS.maxDepth)
    return `${path}: nested deeper than ${BASELINE_DOC_LIMITS.maxDepth}`;
  if (typeof v === 'string')
    return v.length > BASELINE_DOC_LIMITS.maxString
      ? `${path}: longer than ${BASELINE_DOC_LIMITS.maxString}`
      : null;
  if (Array.isArray(v)) {
    if (v.length > BASELINE_DOC_LIMITS.maxList)
      return `${path}: more than ${BASELINE_DOC_LIMITS.maxList} items`;
    for (let i = 0; i < v.length; i++) {
      const e = checkBounded(v[i], `${path}[${i}]`, depth + 1);
      if (e) return e;
    }
    return null;
  }
  if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const e = checkBounded(x, `${path}.${k}`, depth + 1);
      if (e) return e;
    }
  }
  return null;
}

/** One device document checked against the schema and the bounds: null when it is usable, else what is wrong. */
export function deviceProblem(v: unknown, path = 'device'): string | null {
  const b = checkBounded(v, path);
  if (b) return b;
  const e = check(v, DEVICE_SPEC, []);
  return e ? `${path}: ${e[1]}` : null;
}

/**
 * The time-based checks an assembled approved set arms: only when every device's volume was approved (an approval
 * that skipped it holds zeros, which would make every hour "far above").
 */
export function armedFor(devices: readonly DeviceBaseline[]): ArmedChecks {
  const all = devices.length > 0 && devices.every((d) => d.volume.hours > 0);
  return { volume: all, feed_stopped: all, min_learning_s: 0 };
}

// ---- review: a device's baseline as items a reviewer approves or rejects one by one ----

type Section = 'dicom' | 'hl7' | 'mqtt' | 'tls';
type Entry = unknown;

interface Facet {
  section?: Section;
  list: string;
  /** What tells two entries apart (the checker's notion of "the same"). */
  key: (e: Entry) => string;
  label: (e: Entry) => string;
}

const field = (e: Entry, k: string): string => {
  const v = (e as Record<string, unknown> | null)?.[k];
  return v === undefined || v === null ? '' : String(v);
};
const plain = (e: Entry): string => String(e);
/** A SOP class UID with its name in the DICOM standard, for the reviewer (the id keeps the bare UID). */
const named = (e: Entry): string => {
  const name = uidLabel(String(e));
  return name ? `${String(e)} (${name})` : String(e);
};
const app = (e: Entry): string =>
  `${field(e, 'app')}${field(e, 'facility') ? `^${field(e, 'facility')}` : ''}`;

/** Every list of a device the review covers, in the order the page shows them. */
const FACETS: readonly Facet[] = [
  { list: 'macs', key: plain, label: plain },
  {
    list: 'identity',
    key: (e) => `${field(e, 'attribute')}|${field(e, 'value')}`,
    label: (e) => `${field(e, 'attribute')}: ${field(e, 'value')}`,
  },
  {
    list: 'peers',
    key: (e) => ['role', 'address', 'port', 'protocol'].map((k) => field(e, k)).join('|'),
    label: (e) =>
      `${field(e, 'role')} ${field(e, 'role') === 'client' ? '→' : '←'} ${field(e, 'address')}:${field(e, 'port')} ${field(e, 'protocol')}`,
  },
  { section: 'dicom', list: 'ae_titles', key: plain, label: plain },
  {
    section: 'dicom',
    list: 'ae_pairs',
    key: (e) => ['calling', 'called', 'peer', 'role'].map((k) => field(e, k)).join('|'),
    label: (e) =>
      `${field(e, 'calling')} → ${field(e, 'called')} (${field(e, 'role')}, peer ${field(e, 'peer')})`,
  },
  { section: 'dicom', list: 'sop_classes', key: plain, label: named },
  { section: 'dicom', list: 'commands', key: plain, label: plain },
  { section: 'dicom', list: 'move_destinations', key: plain, label: plain },
  {
    section: 'dicom',
    list: 'implementations',
    key: (e) => `${field(e, 'class_uid')}|${field(e, 'version')}`,
    label: (e) => `${field(e, 'class_uid')} ${field(e, 'version')}`.trim(),
  },
  { section: 'hl7', list: 'sending_apps', key: app, label: app },
  { section: 'hl7', list: 'receiving_apps', key: app, label: app },
  {
    section: 'hl7',
    list: 'senders_seen',
    key: (e) => `${app(e)}|${field(e, 'from')}`,
    label: (e) => `${app(e)} from ${field(e, 'from')}`,
  },
  { section: 'hl7', list: 'sent', key: (e) => field(e, 'type'), label: (e) => field(e, 'type') },
  { section: 'hl7', list: 'received', key: plain, label: plain },
  { section: 'hl7', list: 'versions', key: plain, label: plain },
  { section: 'hl7', list: 'processing_ids', key: plain, label: plain },
  { section: 'mqtt', list: 'client_ids', key: plain, label: plain },
  { section: 'mqtt', list: 'publishes', key: (e) => field(e, 'topic'), label: (e) => field(e, 'topic') },
  { section: 'mqtt', list: 'subscribes', key: plain, label: plain },
  { section: 'tls', list: 'server_names', key: plain, label: plain },
  { section: 'tls', list: 'client_fingerprints', key: plain, label: plain },
  {
    section: 'mqtt',
    list: 'clients_seen',
    key: (e) => `${field(e, 'client_id')}|${field(e, 'from')}`,
    label: (e) => `${field(e, 'client_id')} from ${field(e, 'from')}`,
  },
];

const facetName = (f: Facet): string => (f.section ? `${f.section}.${f.list}` : f.list);

/** The measured volume of a device is one item: approving it takes the learned ranges whole. */
export const VOLUME_ITEM = 'volume';

export type ReviewStatus = 'new' | 'approved' | 'changed' | 'rejected' | 'gone';

export interface ReviewItem {
  /** `facet|key`, stable across uploads: what approve and reject name. */
  id: string;
  /** e.g. `peers`, `dicom.sop_classes`, `hl7.sent`, `volume`. */
  facet: string;
  /** One readable line for the reviewer (packet-borne text: render it as text). */
  label: string;
  /**
   * new: learned, not approved; approved: in both; changed: the volume differs; rejected: learned and rejected by a
   * reviewer (kept out, not proposed again); gone: approved but not in the latest learned upload.
   */
  status: ReviewStatus;
}

function listOf(d: DeviceBaseline | null, f: Facet): Entry[] {
  if (!d) return [];
  const holder = (f.section ? d[f.section] : d) as Record<string, unknown> | undefined;
  const v = holder?.[f.list];
  return Array.isArray(v) ? (v as Entry[]) : [];
}

function itemsOf(d: DeviceBaseline | null): Map<string, { facet: Facet; entry: Entry }> {
  const m = new Map<string, { facet: Facet; entry: Entry }>();
  for (const f of FACETS)
    for (const e of listOf(d, f)) m.set(`${facetName(f)}|${f.key(e)}`, { facet: f, entry: e });
  return m;
}

/** Learned against approved, item by item; `rejected` holds the ids a reviewer turned down. */
export function reviewDiff(
  learned: DeviceBaseline | null,
  approved: DeviceBaseline | null,
  rejected: ReadonlySet<string>,
): ReviewItem[] {
  const l = itemsOf(learned);
  const a = itemsOf(approved);
  const out: ReviewItem[] = [];
  for (const [id, { facet, entry }] of l) {
    const status: ReviewStatus = a.has(id) ? 'approved' : rejected.has(id) ? 'rejected' : 'new';
    out.push({ id, facet: facetName(facet), label: facet.label(entry), status });
  }
  for (const [id, { facet, entry }] of a)
    if (!l.has(id)) out.push({ id, facet: facetName(facet), label: facet.label(entry), status: 'gone' });
  if (learned) {
    const lv = JSON.stringify(learned.volume);
    const av = approved && approved.volume.hours > 0 ? JSON.stringify(approved.volume) : null;
    const v = learned.volume;
    const label = `${v.hours} h; messages/hour ${v.messages_per_hour.min}–${v.messages_per_hour.max}; bytes/hour ${v.bytes_per_hour.min}–${v.bytes_per_hour.max}`;
    const status: ReviewStatus =
      av === lv ? 'approved' : rejected.has(VOLUME_ITEM) ? 'rejected' : av === null ? 'new' : 'changed';
    out.push({ id: VOLUME_ITEM, facet: 'volume', label, status });
  }
  return out;
}

/**
 * A document's volume with every part the schema lets a script leave out filled in: no hours, zero ranges. The
 * checker and the review read every range, and zero hours arms no volume check (`armedFor`).
 */
export function completeVolume(v: Partial<VolumeBaseline> | undefined): VolumeBaseline {
  const range = (r: Range | undefined): Range => r ?? { min: 0, max: 0 };
  return {
    hours: v?.hours ?? 0,
    active_hours: v?.active_hours ?? [],
    ...(v?.hours_of_week !== undefined ? { hours_of_week: v.hours_of_week } : {}),
    messages_per_hour: range(v?.messages_per_hour),
    bytes_per_hour: range(v?.bytes_per_hour),
    rejects_per_hour: range(v?.rejects_per_hour),
    naks_per_hour: range(v?.naks_per_hour),
  };
}

/**
 * A device document with what the schema lets a script leave out filled in (no MACs, no peers, the volume as
 * `completeVolume` makes it): the checker and the review read these without asking whether they are there.
 */
export function completeDevice(d: DeviceBaseline): DeviceBaseline {
  const loose = d as Partial<DeviceBaseline> & Pick<DeviceBaseline, 'ip'>;
  return {
    ...d,
    macs: loose.macs ?? [],
    peers: loose.peers ?? [],
    volume: completeVolume(loose.volume),
  };
}

/** What an approval starts from when the device has no approved baseline yet: its identity, nothing allowed. */
function skeleton(learned: DeviceBaseline, since: string): DeviceBaseline {
  return {
    state: 'enforced',
    since,
    ip: learned.ip,
    macs: [],
    ...(learned.vendor !== undefined ? { vendor: learned.vendor } : {}),
    ...(learned.name !== undefined ? { name: learned.name } : {}),
    ...(learned.zone !== undefined ? { zone: learned.zone } : {}),
    peers: [],
    volume: completeVolume(undefined),
  };
}

function emptySection(s: Section): Record<string, unknown[]> {
  const lists = FACETS.filter((f) => f.section === s).map((f) => f.list);
  return Object.fromEntries(lists.map((l) => [l, []]));
}

/**
 * The approved document with the learned items `ids` added (`all`: every learned item not rejected, and the
 * volume). The result is `enforced`. Returns the items applied; ids that name no learned item are `unknown`.
 */
export function approveItems(
  learned: DeviceBaseline,
  approved: DeviceBaseline | null,
  ids: ReadonlySet<string> | 'all',
  rejected: ReadonlySet<string>,
  since: string,
): { doc: DeviceBaseline; applied: string[]; unknown: string[] } {
  const doc = structuredClone(approved ?? skeleton(learned, since));
  doc.state = 'enforced';
  if (approved?.state !== 'enforced') doc.since = since;
  const want = (id: string): boolean => (ids === 'all' ? !rejected.has(id) : ids.has(id));
  const have = itemsOf(doc);
  const applied: string[] = [];
  for (const [id, { facet, entry }] of itemsOf(learned)) {
    if (!want(id)) continue;
    if (!have.has(id)) {
      const holder = (
        facet.section
          ? ((doc as unknown as Record<string, unknown>)[facet.section] ??= emptySection(facet.section))
          : doc
      ) as Record<string, unknown>;
      const list = (holder[facet.list] ??= []) as Entry[];
      list.push(structuredClone(entry));
    }
    applied.push(id);
  }
  if (want(VOLUME_ITEM)) {
    doc.volume = structuredClone(learned.volume);
    if (learned.dicom?.max_retrieve_suboperations !== undefined && doc.dicom)
      doc.dicom.max_retrieve_suboperations = learned.dicom.max_retrieve_suboperations;
    applied.push(VOLUME_ITEM);
  }
  const known = new Set([...itemsOf(learned).keys(), VOLUME_ITEM]);
  const unknown = ids === 'all' ? [] : [...ids].filter((id) => !known.has(id));
  return { doc, applied, unknown };
}

/**
 * The review item a baseline deviation names (its code and evidence, as a finding carries them), or null when the
 * code is not about one item (a new device, a volume or rate above range, a feed that stopped).
 */
export function itemOfDeviation(
  code: string,
  evidence: Readonly<Record<string, unknown>>,
  learned: DeviceBaseline | null,
): string[] {
  const ev = (k: string): string => (evidence[k] === undefined ? '' : String(evidence[k]));
  const matching = (facet: string, pred: (label: string, key: string) => boolean): string[] =>
    [...itemsOf(learned).keys()].filter((id) => {
      if (!id.startsWith(`${facet}|`)) return false;
      const key = id.slice(facet.length + 1);
      return pred(id, key);
    });
  switch (code) {
    case 'baseline.new-peer':
      return matching('peers', (_, k) => k.split('|')[1] === ev('peer'));
    case 'baseline.new-service':
      return matching('peers', (_, k) => k.split('|')[0] === 'client' && k.split('|')[2] === ev('port'));
    case 'baseline.mac-changed':
      return matching('macs', (_, k) => k === ev('mac') || k === ev('new_mac'));
    case 'baseline.new-ae-pair':
      return matching('dicom.ae_pairs', (_, k) => k.startsWith(`${ev('calling_ae')}|${ev('called_ae')}|`));
    case 'baseline.new-sop-class':
      return [`dicom.sop_classes|${ev('sop_class')}`];
    case 'baseline.new-dicom-command':
      return [`dicom.commands|${ev('command')}`];
    case 'baseline.new-move-destination':
      return [`dicom.move_destinations|${ev('move_destination')}`];
    case 'baseline.implementation-changed':
      return matching('dicom.implementations', (_, k) => k.startsWith(`${ev('class_uid')}|`));
    case 'baseline.new-hl7-sender':
      return matching('hl7.senders_seen', (_, k) => k.split('^')[0]?.split('|')[0] === ev('sending_app'));
    case 'baseline.new-hl7-message-type':
      return [`hl7.sent|${ev('message_type')}`];
    case 'baseline.hl7-version-changed':
      return evidence.version !== undefined
        ? [`hl7.versions|${ev('version')}`]
        : [`hl7.processing_ids|${ev('processing_id')}`];
    case 'baseline.new-mqtt-client':
    case 'baseline.mqtt-client-id-moved':
      return matching('mqtt.clients_seen', (_, k) => k.split('|')[0] === ev('client_id'));
    case 'baseline.new-mqtt-topic':
    case 'baseline.new-retained-topic':
      return [`mqtt.publishes|${ev('topic')}`];
    case 'baseline.new-mqtt-subscription':
      return [`mqtt.subscribes|${ev('topic_filter')}`];
    case 'baseline.volume-above-range':
    case 'baseline.reject-rate-above-range':
    case 'baseline.nak-rate-above-range':
    case 'baseline.payload-above-range':
      return [VOLUME_ITEM];
    default:
      return [];
  }
}
