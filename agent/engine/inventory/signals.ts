// The engine's own signals about devices, raised as `device` subjects for rules: identity hints recorded with their
// provenance (and `identity_changed`), an IP seen with a new MAC (`ip_mac_changed`), an MQTT client id moving to
// another host (`client_id_moved`) and a device's first clinical traffic (`first_clinical`).
import { PROTOCOL_SCHEMAS } from '../../protocols/registry.js';
import { indexIdentityHints } from '../../protocols/schema.js';
import type { EventRecord, FieldValue, IdentityHint } from '../../protocols/types.js';
import { BoundedMap } from '../../wire/bounded-map.js';
import type { Subject } from '../rules/match.js';
import type { EndpointResolver } from '../site/endpoints.js';
import { ZONE_INTERNET, type SiteIndex } from '../site/site.js';
import { touchRepeatedHint, type Device, type DeviceTable } from './devices.js';
import { lookupVendor } from './oui.js';

const CLINICAL = new Set<string>(PROTOCOL_SCHEMAS.filter((s) => s.clinical).map((s) => s.proto));

/**
 * An identity hint with what reading it takes, worked out once: its provenance text (`dicom.calling_ae`, which
 * addHint compares on every event), the field split at its dot, and a number for the devices' hint memo.
 */
interface HintSlot {
  hint: IdentityHint;
  source: string;
  /** The field, or the object field of `field.key`. */
  key: string;
  /** The key inside it, or null. */
  sub: string | null;
  /**
   * The first of the hint's indexes into Device.hintMemo: one per value an event may give (`max`), so that each
   * place of a list (HL7 device ids) has its own memo.
   */
  slot: number;
}

let slots = 0;

/** A hint memo index of its own for each of the first `max` values. */
function takeSlots(hint: IdentityHint): number {
  const first = slots;
  slots += Math.max(1, hint.max ?? 1);
  return first;
}

function slotOf(proto: string, hint: IdentityHint): HintSlot {
  const dot = hint.field.indexOf('.');
  return {
    hint,
    source: `${proto}.${hint.field}`,
    key: dot < 0 ? hint.field : hint.field.slice(0, dot),
    sub: dot < 0 ? null : hint.field.slice(dot + 1),
    slot: takeSlots(hint),
  };
}

/** proto → event type → the identity hints its schema declares (schema.ts). */
const IDENTITY: ReadonlyMap<string, ReadonlyMap<string, readonly HintSlot[]>> = new Map(
  [...indexIdentityHints(PROTOCOL_SCHEMAS)].map(([proto, byType]) => [
    proto,
    new Map([...byType].map(([type, hints]) => [type, hints.map((hint) => slotOf(proto, hint))])),
  ]),
);

function str(v: FieldValue | undefined): string | undefined {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
}

export interface SignalLimits {
  maxClientIds: number;
  maxArpEntries: number;
}

export class DeviceSignals {
  /** "broker ip|client id" → the IP that last connected with it. */
  readonly clientIds: BoundedMap<string, string>;
  /** IP → the MAC it was last seen with. */
  readonly arp: BoundedMap<string, string>;
  /**
   * Changes made to `arp` so far. A binding found to change nothing changes nothing again while this stays
   * the same (its skip conditions only ever start to hold: router MACs are never forgotten), so callers may
   * remember the count they saw and skip the repeat (Engine: once per flow side).
   */
  arpChanges = 0;

  constructor(
    private readonly table: DeviceTable,
    private readonly site: SiteIndex,
    private readonly endpoints: EndpointResolver,
    private readonly evaluate: (s: Subject) => void,
    limits: SignalLimits,
  ) {
    this.clientIds = new BoundedMap(limits.maxClientIds);
    this.arp = new BoundedMap(limits.maxArpEntries);
  }

  /** Identity hints and the signals one protocol event may raise. */
  onEvent(ev: EventRecord, subject: Subject, src: Device, dst: Device, ts: number): void {
    const f = ev.fields;
    const hints = IDENTITY.get(ev.proto)?.get(ev.type);
    if (hints !== undefined)
      for (const slot of hints) {
        // hintValues (protocols/schema.ts) read in place: most events carry each hint as one scalar.
        const h = slot.hint;
        if (h.when && !h.when(f)) continue;
        let v: FieldValue | undefined = f[slot.key];
        if (slot.sub !== null)
          v = v !== null && typeof v === 'object' && !Array.isArray(v) ? v[slot.sub] : undefined;
        if (v === undefined) continue;
        const d = h.side === 'src' ? src : dst;
        if (!Array.isArray(v)) {
          if (!touchRepeatedHint(d, slot.slot, v, ts)) this.hint(ev, subject, d, slot, v, ts, slot.slot);
          continue;
        }
        const n = Math.min(v.length, h.max ?? 1);
        for (let i = 0; i < n; i++) {
          const x = v[i];
          if (!touchRepeatedHint(d, slot.slot + i, x, ts))
            this.hint(ev, subject, d, slot, x, ts, slot.slot + i);
        }
      }
    if (ev.proto === 'mqtt' && ev.type === 'connect') {
      const cid = str(f.client_id);
      if (cid !== undefined) {
        const key = `${ev.dst.ip}|${cid}`;
        const prevIp = this.clientIds.get(key);
        this.clientIds.touch(key, ev.src.ip);
        if (prevIp !== undefined && prevIp !== ev.src.ip) {
          this.evaluate({
            ...subject,
            proto: 'device',
            type: 'client_id_moved',
            fields: { client_id: cid, previous_ip: prevIp },
            findingProto: 'mqtt',
          });
        }
      }
    }
    // A host that only answers an unlisted peer (a sweep's targets) is not reported for that: the sweeper is.
    const answersUnlisted = subject.from_client === false && subject.dst.asset === undefined;
    if (CLINICAL.has(ev.proto) && !src.clinical && ev.type !== 'anomaly' && !answersUnlisted) {
      src.clinical = true;
      this.evaluate({
        ...subject,
        proto: 'device',
        type: 'first_clinical',
        fields: { protocol: ev.proto },
        findingProto: ev.proto,
      });
    }
  }

  /** One identity hint value onto its device; a tracked attribute that changed is `device identity_changed`. */
  private hint(
    ev: EventRecord,
    subject: Subject,
    d: Device,
    slot: HintSlot,
    v: FieldValue | undefined,
    ts: number,
    memo: number,
  ): void {
    const text = str(v);
    if (text === undefined) return;
    const h = slot.hint;
    const attr = h.attr;
    const prev = this.table.addHint(d, attr, text, slot.source, ts, memo);
    if (prev.length === 0 || h.tracked !== true) return;
    const side = h.side;
    const me = side === 'src' ? subject.src : subject.dst;
    const other = side === 'src' ? subject.dst : subject.src;
    // src/dst are re-pointed at the changed side: who opened the flow must follow them.
    const flipped: Partial<Pick<Subject, 'from_client'>> =
      subject.from_client === undefined
        ? {}
        : { from_client: side === 'src' ? subject.from_client : !subject.from_client };
    this.evaluate({
      ...subject,
      ...flipped,
      proto: 'device',
      type: 'identity_changed',
      src: me,
      dst: other,
      fields: { attribute: attr, current: text, previous: prev.slice(0, 8) },
      findingProto: ev.proto,
    });
  }

  /**
   * binding() for a host or flow side seen through an IP packet, kept in a memo: asked again only after the
   * bindings changed since the memo's last check (arpChanges); in between it would find the binding it recorded.
   */
  bindingOnce(
    m: { ip: string; mac: string | undefined; internet: boolean; bound: number },
    ts: number,
  ): void {
    if (!m.mac || m.bound === this.arpChanges) return;
    this.binding(m.ip, m.mac, ts, 'ip', m.internet);
    m.bound = this.arpChanges;
  }

  /**
   * IP→MAC bindings from ARP and from frames of local hosts. A known address with a new MAC raises the
   * `ip_mac_changed` signal. Internet addresses and router MACs are skipped: their frames carry the gateway's MAC.
   */
  binding(ip: string, mac: string, ts: number, via: 'arp' | 'ip', internet?: boolean): void {
    // No address binds nothing: link-layer events (LLDP, CDP: ip ""), and DHCP clients sending from the unspecified
    // address, which every host uses before it has one (ARP probes are left out by the caller already). The text
    // forms are the decoder's canonical ones, compared here instead of classified: this runs for every frame.
    if (ip === '' || ip === '0.0.0.0' || ip === '::') return;
    if (via === 'ip' && (this.table.isRouterMac(mac) || (internet ?? this.site.zoneOf(ip) === ZONE_INTERNET)))
      return;
    const prev = this.arp.get(ip);
    if (prev === mac) return;
    this.arp.touch(ip, mac);
    this.arpChanges++;
    if (prev === undefined || this.table.isRouterMac(prev)) return;
    const fields: Record<string, FieldValue> = { previous_mac: prev, mac, via };
    const pv = lookupVendor(prev);
    const nv = lookupVendor(mac);
    if (pv) fields.previous_vendor = pv;
    if (nv) fields.vendor = nv;
    const sub = this.endpoints.subject(
      'device',
      'ip_mac_changed',
      ts,
      undefined,
      -1,
      { ip, mac },
      { ip, mac: prev },
      fields,
    );
    sub.findingProto = via === 'arp' ? 'arp' : 'ip';
    this.evaluate(sub);
  }
}
