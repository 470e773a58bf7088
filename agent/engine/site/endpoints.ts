// What the engine knows about one side of an event or flow: its zone, MAC vendor and asset (site file) — the
// subject endpoint rules read — and the device-table keys, worked out once per flow side (issue 11).
import { macToString } from '../../decode/addr.js';
import type { EventRecord, FieldValue } from '../../protocols/types.js';
import { observeKeys, type Device, type FlowDeviceMemo, type ObserveKeys } from '../inventory/devices.js';
import { lookupVendor } from '../inventory/oui.js';
import type { Subject, SubjectEndpoint } from '../rules/match.js';
import { ZONE_INTERNET, type Asset, type SiteIndex } from './site.js';

/**
 * What the engine derives from one event endpoint: its subject endpoint (zone, vendor, asset) and device
 * keys. The dispatcher passes the same endpoint object for every event of a flow side, so this is worked
 * out once per flow side instead of once per event. Checked against the address fields, so a reused
 * object with other contents is never served stale.
 */
export interface EndpointMemo extends FlowDeviceMemo {
  ip: string;
  port: number | undefined;
  mac: string | undefined;
  vlan: number;
  ep: SubjectEndpoint;
  keys: ObserveKeys;
  /** "ip|port", as the engine's flow context spells the client. */
  hostPort: string;
  /** The flow context's client "ip|port" that `fromClient` was worked out against. */
  clientKey: string | undefined;
  /** Whether this side is that client. */
  fromClient: boolean;
  /** The address is on the Internet by the site's zones, VLAN aside (IP→MAC bindings skip those). */
  internet: boolean;
  /** DeviceSignals.arpChanges when this address's IP→MAC binding was last checked (-1: never). */
  bound: number;
  /**
   * The device and protocol this side last added to that device's protocols (a set that only grows), so the
   * many events of one flow side add it once.
   */
  protoDevice: Device | null;
  proto: string;
}

/** Whether a memo was made from these address fields (a reused endpoint object may carry others). */
function fits(m: EndpointMemo, e: EventRecord['src'], vlan: number): boolean {
  return m.ip === e.ip && m.port === e.port && m.mac === e.mac && m.vlan === vlan;
}

export type EndpointAddress = { ip: string; port?: number; mac?: string | undefined };

/**
 * What the engine derives from one host of a flow start (and its end): the same as an EndpointMemo, without the
 * port, by address instead of by event endpoint object, since every flow brings new FlowInfo objects (and address
 * text) while its hosts are mostly ones seen before.
 */
export interface HostMemo extends FlowDeviceMemo {
  /** The address text, hashed once: device keys, peers and the site's caches are looked up with it. */
  ip: string;
  /** The MAC as the flow table has it (-1: none; -2: made from a flow record's text) and as text. */
  macNum: number;
  mac: string | undefined;
  vlan: number;
  zone: string;
  asset: Asset | undefined;
  vendor: string | undefined;
  internet: boolean;
  keys: ObserveKeys;
  /** DeviceSignals.arpChanges when this host's IP→MAC binding was last checked (-1: never). */
  bound: number;
  /** The last port a flow named at this host, and "ip|port" of it (the client's peer key of a server). */
  port: number;
  ipPort: string;
  /** The memo of the same address with another MAC or VLAN (a server's MAC is mostly known only at the flow end). */
  next: HostMemo | null;
}

/**
 * Host memos made before the memo cache is cleared (as the site's zone cache is when full), at most
 * MAX_HOST_VARIANTS of them per address. A memo may hold a device the table has evicted since (ObserveKeys.seen,
 * flowDevice), so this also bounds how many of those stay in memory through the cache: under a scan, where each
 * probe's target is a new device, at most this many beyond the table's cap.
 */
const MAX_HOST_MEMOS = 4096;
const MAX_HOST_VARIANTS = 4;

export class EndpointResolver {
  private readonly memos = new WeakMap<object, EndpointMemo>();
  private readonly hosts = new Map<string, HostMemo>();
  /** Memos made since the cache was last cleared. */
  private hostMemos = 0;

  constructor(private readonly site: SiteIndex) {}

  /** Host memos held at most (made since the cache was last cleared). */
  get hostMemoCount(): number {
    return this.hostMemos;
  }

  /** The memo of a flow's host: `ip`, MAC `mac` (a number, -1 none) on VLAN `vlan`. */
  host(ip: string, mac: number, vlan: number): HostMemo {
    const head = this.hosts.get(ip);
    for (let h = head ?? null; h !== null; h = h.next) if (h.macNum === mac && h.vlan === vlan) return h;
    return this.addHost(ip, head, mac >= 0 ? macToString(mac) : undefined, mac, vlan);
  }

  /** host() for the addresses of a flow record (MAC as text); null for an empty MAC, which no memo stands for. */
  hostOf(e: EndpointAddress, vlan: number): HostMemo | null {
    const mac = e.mac;
    if (mac === '') return null;
    const head = this.hosts.get(e.ip);
    for (let h = head ?? null; h !== null; h = h.next) if (h.mac === mac && h.vlan === vlan) return h;
    return this.addHost(e.ip, head, mac, -2, vlan);
  }

  private addHost(
    ip: string,
    head: HostMemo | undefined,
    text: string | undefined,
    macNum: number,
    vlan: number,
  ): HostMemo {
    const zone = this.site.zoneOf(ip, vlan);
    const m: HostMemo = {
      ip,
      macNum,
      mac: text,
      vlan,
      zone,
      asset: this.site.assetOf(ip, text),
      vendor: text ? lookupVendor(text) || undefined : undefined,
      internet: this.site.zoneOf(ip) === ZONE_INTERNET,
      keys: observeKeys(ip, text, zone),
      bound: -1,
      port: -1,
      ipPort: '',
      next: head ?? null,
      flowDevice: null,
      flowOwner: null,
      flowVersion: -1,
    };
    if (this.hostMemos >= MAX_HOST_MEMOS) {
      this.hosts.clear();
      this.hostMemos = 0;
      m.next = null;
    } else if (head !== undefined) {
      let last = m;
      for (let n = 1; n < MAX_HOST_VARIANTS && last.next !== null; n++) last = last.next;
      last.next = null;
    }
    this.hostMemos++;
    this.hosts.set(ip, m);
    return m;
  }

  /** The subject endpoint of a host at `port`: what endpoint() gives for its address. */
  hostEndpoint(h: HostMemo, port: number | undefined): SubjectEndpoint {
    const a = h.asset;
    return {
      ip: h.ip,
      port,
      mac: h.mac,
      zone: h.zone,
      asset: a ? a.name : undefined,
      asset_role: a ? a.roles : undefined,
      vendor: h.vendor,
    };
  }

  /** "ip|port" of a host, made once per port in a row. */
  ipPort(h: HostMemo, port: number): string {
    if (h.port !== port) {
      h.ipPort = `${h.ip}|${port}`;
      h.port = port;
    }
    return h.ipPort;
  }

  endpoint(e: EndpointAddress, vlan: number): SubjectEndpoint {
    const mac = e.mac ? e.mac : undefined;
    const a = this.site.assetOf(e.ip, e.mac);
    // Every key, in one order: one shape for every endpoint the predicates read (absent values undefined).
    return {
      ip: e.ip,
      port: e.port,
      mac,
      zone: this.site.zoneOf(e.ip, vlan),
      asset: a ? a.name : undefined,
      asset_role: a ? a.roles : undefined,
      vendor: mac ? lookupVendor(mac) || undefined : undefined,
    };
  }

  memo(e: EventRecord['src'], vlan: number): EndpointMemo {
    let m = this.memos.get(e);
    if (m === undefined || !fits(m, e, vlan)) {
      m = this.memoOf(e, vlan);
      this.memos.set(e, m);
    }
    return m;
  }

  /**
   * memo() for a caller that keeps the memo itself (the engine's flow context: no WeakMap lookup per event):
   * `held` when it still fits `e` and `vlan`, else a new one.
   */
  memoFor(held: EndpointMemo | undefined, e: EventRecord['src'], vlan: number): EndpointMemo {
    return held !== undefined && fits(held, e, vlan) ? held : this.memoOf(e, vlan);
  }

  private memoOf(e: EventRecord['src'], vlan: number): EndpointMemo {
    // From the host's memo when there is one: its device keys then already lead to the device (most flows are of
    // hosts seen before), and a flow's first events skip the device lookup.
    const h = this.hostOf(e, vlan);
    return {
      ip: e.ip,
      port: e.port,
      mac: e.mac,
      vlan,
      ep: h !== null ? this.hostEndpoint(h, e.port) : this.endpoint(e, vlan),
      keys: h !== null ? h.keys : observeKeys(e.ip, e.mac, this.site.zoneOf(e.ip, vlan)),
      hostPort: `${e.ip}|${e.port}`,
      clientKey: undefined,
      fromClient: false,
      internet: h !== null ? h.internet : this.site.zoneOf(e.ip) === ZONE_INTERNET,
      bound: -1,
      protoDevice: null,
      proto: '',
      flowDevice: null,
      flowOwner: null,
      flowVersion: -1,
    };
  }

  /** A subject from addresses (flow start and end, ARP): endpoints resolved for this one subject. */
  subject(
    proto: string,
    type: string,
    ts: number,
    flow: string | undefined,
    vlan: number,
    src: EndpointAddress,
    dst: EndpointAddress,
    fields: Record<string, FieldValue>,
  ): Subject {
    return subjectOf(proto, type, ts, flow, this.endpoint(src, vlan), this.endpoint(dst, vlan), fields);
  }
}

/** Rules only read a subject's endpoints, so one endpoint object may serve many subjects. */
export function subjectOf(
  proto: string,
  type: string,
  ts: number,
  flow: string | undefined,
  s: SubjectEndpoint,
  d: SubjectEndpoint,
  fields: Record<string, FieldValue>,
): Subject {
  // Every key, in one order (see SubjectEndpoint): connect and from_client are the engine's to fill in.
  return {
    proto,
    type,
    ts,
    flow,
    src: s,
    dst: d,
    fields,
    connect: undefined,
    crosses_zone: s.zone !== d.zone,
    from_client: undefined,
    findingProto: proto,
  };
}
