// Device inventory (issue 4 "Device inventory"): one record per MAC (per IP behind routers), vendor from the OUI registry, identity hints with provenance, capped with LRU eviction.
import { formatTs } from '../../wire/time.js';
import { LruMap, type LruEntry } from '../lru.js';
import { lookupVendor } from './oui.js';
import { ZONE_INTERNET, type SiteIndex } from '../site/site.js';
import type { DeviceRecord as WireDevice } from '../../wire/messages.js';
import { describeImplementation } from '../../wire/dicom/names.js';

export interface IdentityHint {
  attribute: string;
  value: string;
  /** The protocol field that gave it, e.g. `dicom.calling_ae`. */
  source: string;
  first_seen: string;
  last_seen: string;
}

export interface DevicePeer {
  ip: string;
  port?: number;
  proto: string;
  flows: number;
}

export interface DeviceRecord {
  key: string;
  mac?: string;
  ips: string[];
  vendor?: string;
  /** Asset name from the site file. */
  name?: string;
  zone: string;
  /** True when this MAC carried many addresses, so hosts behind it are keyed by IP. */
  router: boolean;
  first_seen: string;
  last_seen: string;
  protocols: string[];
  hints: IdentityHint[];
  peers: DevicePeer[];
  counters: { flows: number; events: number; bytes_sent: number; bytes_received: number; findings: number };
  baseline_state?: 'learning' | 'enforced';
  baseline_since?: string;
}

interface Hint {
  attribute: string;
  value: string;
  source: string;
  first: number;
  last: number;
}

export interface Device {
  key: string;
  mac: string | undefined;
  ips: string[];
  vendor: string | undefined;
  name: string | undefined;
  zone: string;
  router: boolean;
  first: number;
  last: number;
  protocols: Set<string>;
  hints: Hint[];
  /** The same hints by attribute (insertion order kept), so a hint is checked against its own kind only. */
  hintsByAttr: Map<string, Hint[]>;
  /**
   * The hint each identity-hint slot (signals.ts) last found or added, by memo index (a slot has one per value an
   * event may give): an event repeating it (most do) is recognised without the lookup. A slot fixes attribute and source, and a device's hints are unique by
   * attribute, value and source, so a memo whose value matches is the hint the lookup would find.
   */
  hintMemo: (Hint | undefined)[];
  peers: Map<string, DevicePeer>;
  counters: DeviceRecord['counters'];
  /** Has spoken HL7, DICOM or MQTT (for the first-clinical signal). */
  clinical: boolean;
}

export interface DeviceLimits {
  maxDevices: number;
  maxHintsPerDevice: number;
  maxPeersPerDevice: number;
  maxIpsPerDevice: number;
  /** A MAC seen with more internal addresses than this is a router: hosts behind it get their own record per IP. */
  routerIpThreshold: number;
}

export const DEFAULT_DEVICE_LIMITS: DeviceLimits = {
  maxDevices: 10000,
  maxHintsPerDevice: 32,
  maxPeersPerDevice: 64,
  maxIpsPerDevice: 8,
  routerIpThreshold: 4,
};

export interface DeviceStats {
  devices: number;
  created: number;
  evicted: number;
  hintsDropped: number;
  peersDropped: number;
  routers: number;
}

/** What observe() derives from an address, for callers that already know it (see Engine's endpoint memo). */
export interface ObserveKeys {
  /** site.zoneOf(ip, vlan) */
  zone: string;
  /** `ip:${ip}` */
  ipKey: string;
  /** `mac:${mac}`, when there is a MAC */
  macKey: string | undefined;
  /**
   * Filled by observe(): the device these keys led to, when its IPs already hold this address, so that the
   * next call only makes it the most recently used (as the lookup would) and moves its last-seen time.
   */
  seen: SeenDevice | null;
}

export function observeKeys(ip: string, mac: string | undefined, zone: string): ObserveKeys {
  return { zone, ipKey: `ip:${ip}`, macKey: mac ? `mac:${mac}` : undefined, seen: null };
}

/**
 * Whether `value` is the hint the memo `slot` of `d` holds (most events repeat it): then only its last-seen time
 * moves, as addHint does for a hint it finds. Anything else (another value, a number) is for addHint to judge.
 */
export function touchRepeatedHint(d: Device, slot: number, value: unknown, ts: number): boolean {
  const m = d.hintMemo[slot];
  if (m === undefined || m.value !== value) return false;
  if (ts > m.last) m.last = ts;
  return true;
}

/**
 * Filled by flowDevice(): the device it found for one address (the memo's) in flow `flowOwner`, valid while the
 * table's version stays `flowVersion`.
 */
export interface FlowDeviceMemo {
  flowDevice: Device | null;
  flowOwner: object | null;
  flowVersion: number;
}

/** The device observe() last gave for these keys, valid while DeviceTable.version stays `version`. */
export interface SeenDevice {
  entry: LruEntry<Device>;
  version: number;
}

const MAX_HINT_TEXT = 128;
const NO_VALUES: readonly string[] = Object.freeze([]);
const MAX_ROUTERS = 1024;

export class DeviceTable {
  /** LRU order: at the cap the least recently seen device goes. */
  private readonly byKey = new LruMap<string, Device>();
  private readonly routerMacs = new Set<string>();
  /**
   * Bumped whenever keys may lead elsewhere than before: a device evicted, a MAC become a router (its hosts are
   * keyed by IP from then on), a device given another IP (flowDevice may now find it). ObserveKeys.seen and
   * .flowDevice are valid only at the version they were made.
   */
  private version = 0;
  readonly stats: DeviceStats = {
    devices: 0,
    created: 0,
    evicted: 0,
    hintsDropped: 0,
    peersDropped: 0,
    routers: 0,
  };

  constructor(
    private readonly site: SiteIndex,
    private readonly limits: DeviceLimits = DEFAULT_DEVICE_LIMITS,
  ) {}

  /**
   * The device for a host seen at `ip` with link-layer `mac`. Internet addresses and hosts behind a
   * router MAC are keyed by IP (their frames carry the gateway's MAC), everything else by MAC.
   */
  observe(ip: string, mac: string | undefined, ts: number, vlan = -1, known?: ObserveKeys): Device {
    const seen = known?.seen;
    if (seen && seen.version === this.version) {
      // Nothing was evicted and no MAC became a router since: the keys still lead to this device.
      const d = seen.entry.value;
      this.byKey.touch(seen.entry);
      if (ts > d.last) d.last = ts;
      return d;
    }
    // The version before the lookup: one that evicted or made a router (this MAC, maybe) is stale at once.
    const version = this.version;
    const d = this.lookup(ip, mac, ts, vlan, known);
    if (known && (ip === '' || d.ips.includes(ip))) {
      const entry = this.byKey.entry(d.key);
      if (entry) known.seen = { entry, version };
    }
    return d;
  }

  private lookup(ip: string, mac: string | undefined, ts: number, vlan: number, known?: ObserveKeys): Device {
    const m = mac && mac !== '' ? mac : undefined;
    const zone = known ? known.zone : this.site.zoneOf(ip, vlan);
    const byIp = !m || zone === ZONE_INTERNET || this.routerMacs.has(m);
    // Known keys are strings hashed once per flow side, not concatenated (and hashed) again per event.
    const key = byIp ? (known ? known.ipKey : `ip:${ip}`) : (known?.macKey ?? `mac:${m}`);
    let d = this.byKey.use(key);
    if (d) {
      if (ts > d.last) d.last = ts;
      // A link-layer event (LLDP, CDP) names its sender by MAC only: ip "" is no address to record.
      if (ip !== '' && !d.ips.includes(ip)) this.addIp(d, ip);
      return d;
    }
    const asset = this.site.assetOf(ip, m);
    d = {
      key,
      mac: byIp ? undefined : m,
      ips: ip === '' ? [] : [ip],
      vendor: byIp || !m ? undefined : lookupVendor(m),
      name: asset?.name,
      zone,
      router: false,
      first: ts,
      last: ts,
      protocols: new Set(),
      hints: [],
      hintsByAttr: new Map(),
      hintMemo: [],
      peers: new Map(),
      counters: { flows: 0, events: 0, bytes_sent: 0, bytes_received: 0, findings: 0 },
      clinical: false,
    };
    if (this.byKey.size >= this.limits.maxDevices && this.byKey.evictOldest()) {
      this.stats.evicted++;
      this.version++;
    }
    this.byKey.insert(key, d);
    this.stats.created++;
    this.stats.devices = this.byKey.size;
    return d;
  }

  /**
   * The device of a flow's endpoint whose event carries no MAC: of the devices the flow started with (their keys;
   * either may have been evicted since), the first that holds `ip`. With `known` (a memo of this address),
   * remembered for flow `owner` (an object of the caller's, one per flow) until the table's version changes: the
   * devices behind the keys change only by eviction and their IPs only grow (addIp bumps the version).
   */
  flowDevice(
    clientKey: string | undefined,
    serverKey: string | undefined,
    ip: string,
    owner: object,
    known?: FlowDeviceMemo,
  ): Device | undefined {
    if (known !== undefined && known.flowOwner === owner && known.flowVersion === this.version)
      return known.flowDevice ?? undefined;
    let found: Device | undefined;
    const c = clientKey !== undefined ? this.byKey.peek(clientKey) : undefined;
    if (c !== undefined && c.ips.includes(ip)) found = c;
    else if (serverKey !== undefined) {
      const s = this.byKey.peek(serverKey);
      if (s !== undefined && s.ips.includes(ip)) found = s;
    }
    if (known !== undefined) {
      known.flowDevice = found ?? null;
      known.flowOwner = owner;
      known.flowVersion = this.version;
    }
    return found;
  }

  private addIp(d: Device, ip: string): void {
    if (d.ips.length < this.limits.maxIpsPerDevice) {
      d.ips.push(ip);
      this.version++;
    }
    if (
      d.mac &&
      !d.router &&
      d.ips.length > this.limits.routerIpThreshold &&
      this.routerMacs.size < MAX_ROUTERS
    ) {
      d.router = true;
      this.routerMacs.add(d.mac);
      this.version++;
      this.stats.routers = this.routerMacs.size;
    }
    if (!d.name) d.name = this.site.assetOf(ip, d.mac)?.name;
  }

  /** Record an identity hint; returns the values this attribute had before (empty when none). */
  addHint(
    d: Device,
    attribute: string,
    value: string,
    source: string,
    ts: number,
    slot = -1,
  ): readonly string[] {
    const v = value.length > MAX_HINT_TEXT ? value.slice(0, MAX_HINT_TEXT) : value;
    if (slot >= 0 && touchRepeatedHint(d, slot, v, ts)) return NO_VALUES;
    // Nearly every call repeats a known hint: find that without building the list of other values.
    const same = d.hintsByAttr.get(attribute);
    let others = 0;
    if (same)
      for (const h of same) {
        if (h.value === v && h.source === source) {
          if (ts > h.last) h.last = ts;
          if (slot >= 0) d.hintMemo[slot] = h;
          return NO_VALUES;
        }
        if (h.value !== v) others++;
      }
    if (d.hints.length >= this.limits.maxHintsPerDevice) {
      this.stats.hintsDropped++;
      return NO_VALUES;
    }
    const previous: string[] = [];
    if (same && others > 0) for (const h of same) if (h.value !== v) previous.push(h.value);
    const hint: Hint = { attribute, value: v, source, first: ts, last: ts };
    d.hints.push(hint);
    if (slot >= 0) d.hintMemo[slot] = hint;
    if (same) same.push(hint);
    else d.hintsByAttr.set(attribute, [hint]);
    return previous;
  }

  /** `key`: "ip|port" (or the ip without a port) when the caller has it made already. */
  addPeer(d: Device, ip: string, port: number | undefined, proto: string, key?: string): void {
    if (key === undefined) key = port === undefined ? ip : `${ip}|${port}`;
    const p = d.peers.get(key);
    if (p) {
      p.flows++;
      if (proto !== 'tcp' && proto !== 'udp') p.proto = proto;
      return;
    }
    if (d.peers.size >= this.limits.maxPeersPerDevice) {
      this.stats.peersDropped++;
      return;
    }
    d.peers.set(key, port === undefined ? { ip, proto, flows: 1 } : { ip, port, proto, flows: 1 });
  }

  isRouterMac(mac: string): boolean {
    return this.routerMacs.has(mac);
  }

  get size(): number {
    return this.byKey.size;
  }

  get(key: string): Device | undefined {
    return this.byKey.peek(key);
  }

  records(): DeviceRecord[] {
    const out: DeviceRecord[] = [];
    for (const d of this.byKey.values()) {
      const r: DeviceRecord = {
        key: d.key,
        ips: [...d.ips],
        zone: d.zone,
        router: d.router,
        first_seen: formatTs(d.first),
        last_seen: formatTs(d.last),
        protocols: [...d.protocols].sort(),
        hints: [...d.hints, ...implementationHints(d)].map((h) => ({
          attribute: h.attribute,
          value: h.value,
          source: h.source,
          first_seen: formatTs(h.first),
          last_seen: formatTs(h.last),
        })),
        peers: [...d.peers.values()].map((p) => ({ ...p })),
        counters: { ...d.counters },
      };
      if (d.mac) r.mac = d.mac;
      if (d.vendor) r.vendor = d.vendor;
      if (d.name) r.name = d.name;
      out.push(r);
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
}

/**
 * Who made the DICOM software, derived from the Implementation Class UID (and the Version Name when the device sent
 * only one) when records are made, not stored: at most two per class UID hint, so bounded by the hint cap. The
 * source says which field and which registry row gave it.
 */
function implementationHints(d: Device): Hint[] {
  const classes = d.hintsByAttr.get('dicom_implementation_class_uid');
  if (!classes) return [];
  const versions = d.hintsByAttr.get('dicom_implementation_version');
  const version = versions?.length === 1 ? versions[0]?.value : undefined;
  const out: Hint[] = [];
  const seen = new Set<string>();
  for (const c of classes) {
    const who = describeImplementation(c.value, version);
    const source = `${c.source}: ${who.source}`;
    for (const [attribute, value] of [
      ['dicom_manufacturer', who.manufacturer],
      ['dicom_product', who.product],
    ] as const) {
      if (value === undefined || seen.has(`${attribute}|${value}`)) continue;
      seen.add(`${attribute}|${value}`);
      out.push({ attribute, value, source, first: c.first, last: c.last });
    }
  }
  return out;
}

/** Engine device records in the wire's shape (the collector merges them across agents). */
export function toWireDevices(devices: readonly DeviceRecord[]): WireDevice[] {
  return devices.map((d) => {
    const rec: WireDevice = {
      id: d.key,
      first_seen: d.first_seen,
      last_seen: d.last_seen,
      protocols: d.protocols,
      attributes: d.hints.map((h) => ({
        name: h.attribute,
        value: h.value,
        source: h.source,
        seen: h.last_seen,
      })),
    };
    if (d.ips[0] !== undefined) rec.ip = d.ips[0];
    if (d.mac !== undefined) rec.mac = d.mac;
    if (d.vendor !== undefined) rec.vendor = d.vendor;
    if (d.name !== undefined) rec.name = d.name;
    if (d.baseline_state !== undefined) rec.baseline_state = d.baseline_state;
    if (d.baseline_since !== undefined) rec.baseline_since = d.baseline_since;
    return rec;
  });
}
