// Baseline review (issue 10): learned against approved per device, approve or reject items or a whole device, a
// baseline deviation approved in one click. Every approval is checked against the baseline schema and needs a
// device the inventory knows; every change is audited. The HTTP routes and the agents' uploads call these.
import {
  completeDevice,
  VOLUME_ITEM,
  approveItems,
  deviceProblem,
  itemOfDeviation,
  reviewDiff,
  type DeviceBaseline,
  type ReviewItem,
} from '../agent/wire/baseline.js';
import type { Finding } from '../agent/wire/finding.js';
import type { BaselineRow, BaselineVersion, Store } from './store.js';

/** A review request that cannot be done: the HTTP status and one line saying why. */
export class ReviewError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface DeviceReview extends BaselineRow {
  items: ReviewItem[];
  versions: BaselineVersion[];
}

/** Most item ids one approve or reject request may name. */
export const MAX_REVIEW_ITEMS = 10_000;

/** The address a baseline is kept under: the key itself when it has versions, else the inventory's IP for it. */
export async function baselineKey(store: Store, key: string): Promise<string> {
  if ((await store.latestBaseline(key, 'learned')) || (await store.latestBaseline(key, 'approved')))
    return key;
  return (await store.getDevice(key))?.ip ?? key;
}

export async function reviewOf(store: Store, key: string): Promise<DeviceReview | null> {
  const device = await baselineKey(store, key);
  const row = await store.getBaseline(device);
  if (!row) return null;
  return {
    ...row,
    items: reviewDiff(row.learned, row.approved, await store.rejectedItems(device)),
    versions: await store.baselineVersions(device),
  };
}

async function requireDevice(store: Store, device: string): Promise<void> {
  if (!(await store.getDevice(device)))
    throw new ReviewError(404, `no device ${device} in the inventory: an agent must have reported it`);
}

function validated(doc: unknown, what: string): DeviceBaseline {
  const problem = deviceProblem(doc, what);
  if (problem) throw new ReviewError(400, `not a valid baseline: ${problem}`);
  // A script may leave MACs, peers or the volume (or parts of it) out: stored whole, so that no reader — the
  // review, every agent the set is pushed to — meets a missing list or range.
  return completeDevice(doc as DeviceBaseline);
}

/** Approves items (or `all`) of the device's learned baseline into its approved one; audited per item. */
export async function approve(
  store: Store,
  key: string,
  ids: readonly string[] | 'all',
  by: string,
  comment: string,
  learnedOverride?: DeviceBaseline,
): Promise<{ version: number; applied: string[] }> {
  const device = await baselineKey(store, key);
  await requireDevice(store, device);
  const learned = learnedOverride ?? (await store.latestBaseline(device, 'learned'))?.document ?? null;
  if (!learned) throw new ReviewError(404, `no learned baseline for ${device} yet`);
  const approved = (await store.latestBaseline(device, 'approved'))?.document ?? null;
  const rejected = await store.rejectedItems(device);
  const r = approveItems(
    learned,
    approved,
    ids === 'all' ? 'all' : new Set(ids),
    rejected,
    new Date().toISOString(),
  );
  if (r.unknown.length > 0)
    throw new ReviewError(400, `no learned item ${JSON.stringify(r.unknown[0]).slice(0, 200)} for ${device}`);
  const doc = validated(r.doc, 'approved');
  const { version } = await store.putBaselineVersion(device, 'approved', doc, by, null);
  // An item approved after a rejection is wanted after all.
  if (ids !== 'all') await store.setRejected(device, ids, false, by);
  await store.auditBaseline(
    device,
    by,
    'approved',
    ids === 'all' ? ['all', ...r.applied] : r.applied,
    comment,
  );
  return { version, applied: r.applied };
}

/** Rejects learned items: they stay out of approvals (`all` included) and are not proposed again as new. */
export async function reject(
  store: Store,
  key: string,
  ids: readonly string[],
  by: string,
  comment: string,
): Promise<void> {
  const device = await baselineKey(store, key);
  await requireDevice(store, device);
  const learned = (await store.latestBaseline(device, 'learned'))?.document ?? null;
  if (!learned) throw new ReviewError(404, `no learned baseline for ${device} yet`);
  const known = new Set(reviewDiff(learned, null, new Set()).map((i) => i.id));
  const bad = ids.find((id) => !known.has(id));
  if (bad !== undefined)
    throw new ReviewError(400, `no learned item ${JSON.stringify(bad).slice(0, 200)} for ${device}`);
  await store.setRejected(device, ids, true, by);
  await store.auditBaseline(device, by, 'rejected', ids, comment);
}

/** A document with the list entry a deviation names, for a device whose upload does not hold it yet. */
function withDeviationEntry(base: DeviceBaseline, f: Finding): { doc: DeviceBaseline; id: string } | null {
  const ev = f.evidence as Record<string, unknown>;
  const s = (k: string): string => String(ev[k] ?? '');
  const doc = structuredClone(base);
  const dicom = (): NonNullable<DeviceBaseline['dicom']> =>
    (doc.dicom ??= {
      ae_titles: [],
      ae_pairs: [],
      sop_classes: [],
      commands: [],
      move_destinations: [],
      implementations: [],
    });
  const hl7 = (): NonNullable<DeviceBaseline['hl7']> =>
    (doc.hl7 ??= {
      sending_apps: [],
      receiving_apps: [],
      senders_seen: [],
      sent: [],
      received: [],
      versions: [],
      processing_ids: [],
    });
  const mqtt = (): NonNullable<DeviceBaseline['mqtt']> =>
    (doc.mqtt ??= { client_ids: [], publishes: [], subscribes: [], clients_seen: [] });
  switch (f.rule) {
    case 'baseline.new-peer': {
      const port = Number(ev.port ?? f.peer?.port ?? 0);
      const role = s('role') === 'server' ? 'server' : 'client';
      doc.peers.push({ address: s('peer'), port, protocol: f.proto, role });
      return { doc, id: `peers|${role}|${s('peer')}|${port}|${f.proto}` };
    }
    case 'baseline.new-sop-class':
      dicom().sop_classes.push(s('sop_class'));
      return { doc, id: `dicom.sop_classes|${s('sop_class')}` };
    case 'baseline.new-dicom-command':
      dicom().commands.push(s('command'));
      return { doc, id: `dicom.commands|${s('command')}` };
    case 'baseline.new-move-destination':
      dicom().move_destinations.push(s('move_destination'));
      return { doc, id: `dicom.move_destinations|${s('move_destination')}` };
    case 'baseline.new-hl7-message-type':
      hl7().sent.push({ type: s('message_type'), count: 0 });
      return { doc, id: `hl7.sent|${s('message_type')}` };
    case 'baseline.new-mqtt-topic':
      mqtt().publishes.push({ topic: s('topic'), count: 0, retained: ev.retain === true, max_payload: 0 });
      return { doc, id: `mqtt.publishes|${s('topic')}` };
    case 'baseline.new-mqtt-subscription':
      mqtt().subscribes.push(s('topic_filter'));
      return { doc, id: `mqtt.subscribes|${s('topic_filter')}` };
    default:
      return null;
  }
}

/**
 * "Approve into baseline" on a baseline deviation: the item it names goes into the device's approved baseline.
 * Taken from the device's learned upload when it holds it, else built from the finding's evidence.
 */
export async function approveDeviation(
  store: Store,
  f: Finding,
  by: string,
  comment: string,
): Promise<{ device: string; version: number; applied: string[] }> {
  if (!f.rule.startsWith('baseline.')) throw new ReviewError(400, `${f.rule} is not a baseline deviation`);
  const device = f.device.ip;
  await requireDevice(store, device);
  const learned = (await store.latestBaseline(device, 'learned'))?.document ?? null;
  const ids = itemOfDeviation(f.rule, f.evidence, learned).filter((id) =>
    id === VOLUME_ITEM ? learned !== null : reviewDiff(learned, null, new Set()).some((i) => i.id === id),
  );
  if (ids.length > 0) return { device, ...(await approve(store, device, ids, by, comment)) };
  const base: DeviceBaseline =
    learned ?? completeDevice({ ip: device, macs: f.device.mac ? [f.device.mac] : [] } as DeviceBaseline);
  const made = withDeviationEntry(base, f);
  if (!made)
    throw new ReviewError(
      409,
      `${f.rule} names no single item of ${device}'s learned baseline: review the device's baseline instead`,
    );
  return { device, ...(await approve(store, device, [made.id], by, comment, made.doc)) };
}

/** A whole document put by a script (PUT /api/baselines/DEVICE): validated, the device known, audited. */
export async function putDocument(
  store: Store,
  key: string,
  kind: 'learned' | 'approved',
  body: unknown,
  by: string,
): Promise<{ device: string; version: number; created: boolean }> {
  const doc = validated(body, kind);
  const device = doc.ip;
  if (key !== device && (await store.getDevice(key))?.ip !== device)
    throw new ReviewError(400, `the document is for ${device}, not ${key}`);
  await requireDevice(store, device);
  const r = await store.putBaselineVersion(device, kind, doc, by, null);
  if (kind === 'approved' && r.created) await store.auditBaseline(device, by, 'approved', ['document'], '');
  return { device, ...r };
}
