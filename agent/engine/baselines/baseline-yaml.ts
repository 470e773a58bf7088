// Formats and parses the baseline YAML (no I/O: the CLI reads and writes the files) a clinical engineer reviews and diffs (issue 4 "Baselines"); bad files fail with FILE:LINE.
import { Document, LineCounter, isMap, isScalar, isSeq, parseDocument, type Node as YamlNode } from 'yaml';
import type { Baseline, DeviceBaseline } from './baseline-model.js';
import { TOP_SPEC, check } from '../../wire/baseline.js';
import { implementationLabel, uidLabel } from '../../wire/dicom/names.js';
import { UserError } from '../../wire/errors.js';

/** A baseline file that cannot be used; the message is `FILE:LINE: what is wrong`. */
export class BaselineFormatError extends UserError {
  override name = 'BaselineFormatError';
}

const HEADER = [
  ' wardwatch device baseline: what each device was seen doing while the agent learned.',
  ' Review it, remove what should not be there, and pass it to `wardwatch replay|agent --baseline FILE`;',
  ' anything outside it becomes a finding. Compare two versions with `wardwatch baseline diff A B`.',
  " peers: role is this device's role in the connection; port is the server port.",
  ' mqtt topics: numeric, uuid and hex levels are generalised to "+".',
  ' volume: per UTC hour while learning (partial hours count as seen); hours_of_week holds the largest hour seen at each',
  ' hour of the week (0 = Monday 00:00 UTC); an hour never seen is judged against the overall range with a tolerance.',
  ' median_interval_s marks a periodic feed. armed: the volume and feed-stopped checks run only when the baseline',
  ' was learned for at least min_learning_s (set with `baseline learn --min-learning`); false means not judged yet.',
  ' dicom sop_classes: used in DIMSE requests; proposed_only: offered in associations but never used (a note only).',
  ' The comment after a UID is its name in the DICOM standard (PS3.6) or, for an implementation, who made the software.',
  ' state: learning (as learned, since first seen) or enforced: set enforced when you approve a device; an agent in',
  ' learning mode keeps a learning device learning until since + --learning-period.',
].join('\n');

function describeDevice(d: DeviceBaseline): string {
  const parts = [d.ip];
  if (d.name) parts.push(`"${d.name}"`);
  if (d.vendor) parts.push(d.vendor);
  if (d.zone) parts.push(`zone ${d.zone}`);
  const protos = (['dicom', 'hl7', 'mqtt'] as const).filter((p) => d[p] !== undefined);
  if (protos.length > 0) parts.push(protos.join('+'));
  if (d.dicom && d.dicom.ae_titles.length > 0) parts.push(`AE ${d.dicom.ae_titles.join(',')}`);
  const software = new Set<string>();
  for (const i of d.dicom?.implementations ?? []) {
    const who = implementationLabel(i.class_uid, i.version);
    if (who) software.add(who);
  }
  if (software.size > 0) parts.push([...software].join(', '));
  // What the device says it is (issue 15): make, model and firmware first, for the reviewer.
  const said = (attr: string): string[] =>
    (d.identity ?? []).filter((e) => e.attribute === attr).map((e) => e.value);
  for (const attr of ['make', 'model', 'firmware', 'hostname'])
    if (said(attr).length > 0) parts.push(`${attr} ${said(attr).slice(0, 2).join(' / ')}`);
  return ` ── device ${parts.join(' · ')}`;
}

/** A trailing comment with the standard's name on each UID line (the parser ignores comments). */
function nameDicomUids(...lists: unknown[]): void {
  for (const list of lists) {
    if (!isSeq(list)) continue;
    for (const uid of list.items) {
      const name = isScalar(uid) && typeof uid.value === 'string' ? uidLabel(uid.value) : undefined;
      if (isScalar(uid) && name) uid.comment = ` ${name}`;
    }
  }
}

/** A trailing comment with who made the software, on each implementation line. */
function nameImplementations(list: unknown): void {
  if (!isSeq(list)) return;
  for (const item of list.items) {
    if (!isMap(item)) continue;
    const uid = item.get('class_uid');
    const version = item.get('version');
    const label =
      typeof uid === 'string'
        ? implementationLabel(uid, typeof version === 'string' ? version : undefined)
        : undefined;
    if (label) item.comment = ` ${label}`;
  }
}

/** Flow style for the small records of a list so that each is one diffable line. */
function flowItems(node: unknown): void {
  if (!isSeq(node)) return;
  for (const item of node.items) if (isMap(item)) item.flow = true;
}

/** The baseline as commented, ordered YAML text. */
export function formatBaselineYaml(b: Baseline): string {
  const doc = new Document(b);
  doc.commentBefore = HEADER;
  const devices = doc.get('devices', true);
  if (isSeq(devices)) {
    devices.items.forEach((item, i) => {
      const dev = b.devices[i];
      if (!isMap(item) || !dev) return;
      item.commentBefore = describeDevice(dev);
      flowItems(item.get('peers', true));
      for (const [section, lists] of [
        ['dicom', ['ae_pairs', 'implementations']],
        ['hl7', ['sending_apps', 'receiving_apps', 'senders_seen', 'sent']],
        ['mqtt', ['publishes', 'clients_seen']],
      ] as const) {
        const sec = item.get(section, true);
        if (isMap(sec)) for (const l of lists) flowItems(sec.get(l, true));
      }
      const dicom = item.get('dicom', true);
      if (isMap(dicom)) nameDicomUids(dicom.get('sop_classes', true), dicom.get('proposed_only', true));
      if (isMap(dicom)) nameImplementations(dicom.get('implementations', true));
      const vol = item.get('volume', true);
      if (isMap(vol))
        for (const p of vol.items) {
          if (isScalar(p.key) && p.key.value === 'hours_of_week') flowItems(p.value);
          else if (isMap(p.value) || isSeq(p.value)) p.value.flow = true;
        }
    });
  }
  return doc.toString({ lineWidth: 0 });
}

/** Fill the lists a reviewer may have deleted, so that the checker sees a complete record. */
function completeDevice(d: DeviceBaseline): DeviceBaseline {
  const zero = { min: 0, max: 0 };
  const v: Partial<DeviceBaseline['volume']> = d.volume ?? {};
  const out: DeviceBaseline = {
    ...d,
    macs: d.macs ?? [],
    peers: d.peers ?? [],
    volume: {
      hours: v.hours ?? 0,
      active_hours: v.active_hours ?? [],
      ...(v.hours_of_week ? { hours_of_week: v.hours_of_week } : {}),
      messages_per_hour: v.messages_per_hour ?? zero,
      bytes_per_hour: v.bytes_per_hour ?? zero,
      rejects_per_hour: v.rejects_per_hour ?? zero,
      naks_per_hour: v.naks_per_hour ?? zero,
    },
  };
  if (d.dicom)
    out.dicom = {
      ae_titles: d.dicom.ae_titles ?? [],
      ae_pairs: d.dicom.ae_pairs ?? [],
      sop_classes: d.dicom.sop_classes ?? [],
      ...(d.dicom.proposed_only ? { proposed_only: d.dicom.proposed_only } : {}),
      commands: d.dicom.commands ?? [],
      move_destinations: d.dicom.move_destinations ?? [],
      implementations: d.dicom.implementations ?? [],
      ...(d.dicom.max_retrieve_suboperations !== undefined
        ? { max_retrieve_suboperations: d.dicom.max_retrieve_suboperations }
        : {}),
    };
  if (d.hl7)
    out.hl7 = {
      sending_apps: d.hl7.sending_apps ?? [],
      receiving_apps: d.hl7.receiving_apps ?? [],
      senders_seen: d.hl7.senders_seen ?? [],
      sent: (d.hl7.sent ?? []).map((s) => ({ ...s, count: s.count ?? 0 })),
      received: d.hl7.received ?? [],
      versions: d.hl7.versions ?? [],
      processing_ids: d.hl7.processing_ids ?? [],
    };
  if (d.mqtt)
    out.mqtt = {
      client_ids: d.mqtt.client_ids ?? [],
      publishes: (d.mqtt.publishes ?? []).map((p) => ({
        ...p,
        count: p.count ?? 0,
        retained: p.retained ?? false,
        max_payload: p.max_payload ?? 0,
      })),
      subscribes: d.mqtt.subscribes ?? [],
      clients_seen: d.mqtt.clients_seen ?? [],
    };
  if (d.tls)
    out.tls = {
      server_names: d.tls.server_names ?? [],
      client_fingerprints: d.tls.client_fingerprints ?? [],
    };
  return out;
}

/** Parse baseline YAML text; `file` names the source in errors (`FILE:LINE: message`). */
export function parseBaselineYaml(text: string, file: string): Baseline {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true });
  const lineAt = (offset: number): number => lc.linePos(offset).line;
  const firstErr = doc.errors[0];
  if (firstErr)
    throw new BaselineFormatError(
      `${file}:${lineAt(firstErr.pos[0])}: ${firstErr.message.split('\n')[0] ?? ''}`,
    );
  const value: unknown = doc.toJS();
  const problem = check(value, TOP_SPEC, []);
  if (problem) {
    const [path, msg] = problem;
    let node: unknown = null;
    for (let n = path.length; n >= 0 && !node; n--)
      node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    const range = (node as YamlNode | null)?.range;
    throw new BaselineFormatError(`${file}:${range ? lineAt(range[0]) : 1}: ${msg}`);
  }
  const b = value as Baseline;
  if (b.version !== 1)
    throw new BaselineFormatError(`${file}:1: unsupported baseline version ${String(b.version)}`);
  return {
    version: 1,
    learned_from: b.learned_from ?? '',
    learned_to: b.learned_to ?? '',
    ...(b.armed
      ? {
          armed: {
            volume: b.armed.volume,
            feed_stopped: b.armed.feed_stopped,
            min_learning_s: b.armed.min_learning_s ?? 0,
          },
        }
      : {}),
    devices: b.devices.map(completeDevice),
    ...(b.approved_version !== undefined ? { approved_version: b.approved_version } : {}),
  };
}
