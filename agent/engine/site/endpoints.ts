// What the engine knows about one side of an event or flow: its zone, MAC vendor and asset (site file) — the
// subject endpoint rules read — and the device-table keys, worked out once per flow side (issue 11).
import type { EventRecord, FieldValue } from '../../protocols/types.js';
import { observeKeys, type Device, type ObserveKeys } from '../inventory/devices.js';
import { lookupVendor } from '../inventory/oui.js';
import type { Subject, SubjectEndpoint } from '../rules/match.js';
import { ZONE_INTERNET, type SiteIndex } from './site.js';

/**
 * What the engine derives from one event endpoint: its subject endpoint (zone, vendor, asset) and device
 * keys. The dispatcher passes the same endpoint object for every event of a flow side, so this is worked
 * out once per flow side instead of once per event. Checked against the address fields, so a reused
 * object with other contents is never served stale.
 */
export interface EndpointMemo {
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

export class EndpointResolver {
  private readonly memos = new WeakMap<object, EndpointMemo>();

  constructor(private readonly site: SiteIndex) {}

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
    const ep = this.endpoint(e, vlan);
    return {
      ip: e.ip,
      port: e.port,
      mac: e.mac,
      vlan,
      ep,
      keys: observeKeys(e.ip, e.mac, ep.zone),
      hostPort: `${e.ip}|${e.port}`,
      clientKey: undefined,
      fromClient: false,
      internet: this.site.zoneOf(e.ip) === ZONE_INTERNET,
      bound: -1,
      protoDevice: null,
      proto: '',
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
