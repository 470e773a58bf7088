// Baselines as readable lines: what changed between two (`wardwatch baseline diff A B`, issue 4 "Baselines") and what
// one holds (`wardwatch baseline show FILE`), with DICOM UIDs and implementations named (issue 10).
import type { Baseline, DeviceBaseline } from './baseline-model.js';
import { compareIp } from './baseline-learn.js';
import { implementationLabel, uidLabel } from '../../wire/dicom/names.js';

/** A UID as people read it: with the standard's name when it has one (the UID stays, it is what the file holds). */
function named(uid: string): string {
  const n = uidLabel(uid);
  return n ? `${uid} (${n})` : uid;
}

function implementation(i: { class_uid: string; version?: string }): string {
  const who = implementationLabel(i.class_uid, i.version);
  return `${i.class_uid}${i.version ? ` ${i.version}` : ''}${who ? `: ${who}` : ''}`;
}

/** Each list of a device, rendered as one comparable line per entry. */
function facets(d: DeviceBaseline): [string, string[]][] {
  const f: [string, string[]][] = [
    ['mac', d.macs],
    ['active hour (UTC)', d.volume.active_hours.map(String)],
    [
      'peer',
      d.peers.map(
        (p) =>
          `${p.role} ${p.role === 'client' ? '→' : '←'} ${p.address}:${p.port} ${p.protocol}${p.zone ? ` (${p.zone})` : ''}`,
      ),
    ],
  ];
  if (d.dicom) {
    f.push(
      ['dicom ae title', d.dicom.ae_titles],
      [
        'dicom ae pair',
        d.dicom.ae_pairs.map((p) => `${p.calling} → ${p.called} (${p.role}, peer ${p.peer})`),
      ],
      ['dicom sop class', d.dicom.sop_classes.map(named)],
      ['dicom sop class proposed only', (d.dicom.proposed_only ?? []).map(named)],
      ['dicom command', d.dicom.commands],
      ['dicom move destination', d.dicom.move_destinations],
      ['dicom implementation', d.dicom.implementations.map(implementation)],
    );
  }
  if (d.hl7) {
    f.push(
      ['hl7 sending app', d.hl7.sending_apps.map((a) => `${a.app}${a.facility ? `^${a.facility}` : ''}`)],
      ['hl7 receiving app', d.hl7.receiving_apps.map((a) => `${a.app}${a.facility ? `^${a.facility}` : ''}`)],
      [
        'hl7 sender seen',
        d.hl7.senders_seen.map((a) => `${a.app}${a.facility ? `^${a.facility}` : ''} from ${a.from}`),
      ],
      ['hl7 sent', d.hl7.sent.map((s) => s.type)],
      ['hl7 received', d.hl7.received],
      ['hl7 version', d.hl7.versions],
      ['hl7 processing id', d.hl7.processing_ids],
    );
  }
  if (d.mqtt) {
    f.push(
      ['mqtt client id', d.mqtt.client_ids],
      ['mqtt publishes', d.mqtt.publishes.map((p) => p.topic)],
      ['mqtt retained', d.mqtt.publishes.filter((p) => p.retained).map((p) => p.topic)],
      ['mqtt subscribes', d.mqtt.subscribes],
      ['mqtt client seen', d.mqtt.clients_seen.map((c) => `${c.client_id} from ${c.from}`)],
    );
  }
  return f;
}

/** Periodic feeds and volume maxima, compared by value rather than membership. */
function measures(d: DeviceBaseline): Map<string, number> {
  const m = new Map<string, number>();
  for (const s of d.hl7?.sent ?? [])
    if (s.median_interval_s !== undefined) m.set(`hl7 ${s.type} every (s)`, s.median_interval_s);
  for (const p of d.mqtt?.publishes ?? []) {
    if (p.median_interval_s !== undefined) m.set(`mqtt ${p.topic} every (s)`, p.median_interval_s);
    m.set(`mqtt ${p.topic} max payload`, p.max_payload);
  }
  m.set('messages/hour max', d.volume.messages_per_hour.max);
  m.set('bytes/hour max', d.volume.bytes_per_hour.max);
  m.set('rejects/hour max', d.volume.rejects_per_hour.max);
  m.set('naks/hour max', d.volume.naks_per_hour.max);
  return m;
}

function label(d: DeviceBaseline): string {
  return d.name ? `${d.ip} (${d.name})` : d.ip;
}

/** Every entry of every device, one line each, ordered by address: the baseline as a clinical engineer reads it. */
export function showBaseline(b: Baseline): string[] {
  const out: string[] = [];
  for (const d of [...b.devices].sort((x, y) => compareIp(x.ip, y.ip))) {
    const head = [label(d)];
    if (d.vendor) head.push(d.vendor);
    if (d.zone) head.push(`zone ${d.zone}`);
    if (d.state) head.push(d.state);
    out.push(`device ${head.join(' · ')}`);
    for (const [name, values] of facets(d)) for (const v of values) out.push(`  ${name}: ${v}`);
    for (const [k, v] of measures(d)) out.push(`  ${k}: ${v}`);
  }
  return out;
}

/**
 * Lines saying what B has that A has not (`+`), what A had that B lost (`-`) and changed values (`~`),
 * grouped per device and ordered by address. An empty list means the two baselines are the same.
 */
export function diffBaselines(a: Baseline, b: Baseline): string[] {
  const out: string[] = [];
  const byIp = (x: Baseline): Map<string, DeviceBaseline> => new Map(x.devices.map((d) => [d.ip, d]));
  const da = byIp(a);
  const db = byIp(b);
  const ips = [...new Set([...da.keys(), ...db.keys()])].sort(compareIp);
  for (const ip of ips) {
    const x = da.get(ip);
    const y = db.get(ip);
    if (!x && y) {
      out.push(`+ device ${label(y)}`);
      continue;
    }
    if (x && !y) {
      out.push(`- device ${label(x)}`);
      continue;
    }
    if (!x || !y) continue;
    const lines: string[] = [];
    const fx = new Map(facets(x));
    const fy = new Map(facets(y));
    for (const name of new Set([...fx.keys(), ...fy.keys()])) {
      const sx = new Set(fx.get(name) ?? []);
      const sy = new Set(fy.get(name) ?? []);
      for (const v of sy) if (!sx.has(v)) lines.push(`  + ${name}: ${v}`);
      for (const v of sx) if (!sy.has(v)) lines.push(`  - ${name}: ${v}`);
    }
    const mx = measures(x);
    const my = measures(y);
    for (const [k, vy] of my) {
      const vx = mx.get(k);
      if (vx !== undefined && vx !== vy) lines.push(`  ~ ${k}: ${vx} → ${vy}`);
    }
    if (lines.length > 0) out.push(`  device ${label(y)}`, ...lines);
  }
  return out;
}
