// The site model (docs/site-file.md): zones by CIDR and VLAN, named assets, extra ports, named lists and allow entries; zone lookup.
import { ConfigError } from '../config-error.js';
import { parseCidr, parseIp, cidrContains, isLocalAddress, type Cidr } from './ip.js';
import {
  parseYamlTree,
  expectMap,
  expectString,
  expectStrings,
  expectSeqOrScalar,
  expectNumber,
  type YNode,
} from '../yaml-tree.js';
import { readConfigText } from '../config-file.js';
import { expandRoles, isRole, ROLE_NAMES } from './roles.js';

export const ZONE_INTERNET = 'internet';
export const ZONE_UNKNOWN_INTERNAL = 'unknown-internal';

export interface ZoneDef {
  name: string;
  cidrs: Cidr[];
  vlans: number[];
}

export interface Asset {
  name: string;
  ips: string[];
  macs: string[];
  roles: string[];
  dicomAe: string[];
  hl7Apps: string[];
  mqttClientIds: string[];
}

/** Site-level suppression: findings of `rules` (globs) whose device matches every given selector are dropped. */
export interface AllowEntry {
  rules: string[];
  ip: Cidr[];
  mac: string[];
  zone: string[];
  asset: string[];
  line: number;
}

export interface Site {
  file: string;
  name: string;
  zones: ZoneDef[];
  assets: Asset[];
  ports: Record<string, number[]>;
  lists: Record<string, string[]>;
  allow: AllowEntry[];
}

const TOP_KEYS = ['name', 'description', 'zones', 'assets', 'ports', 'lists', 'allow'];
const ZONE_KEYS = ['cidrs', 'vlans', 'description'];
const ASSET_KEYS = ['ip', 'mac', 'roles', 'dicom_ae', 'hl7_apps', 'mqtt_client_ids', 'description'];
const PORT_KEYS = ['hl7', 'dicom', 'mqtt', 'hl7-tls', 'dicom-tls', 'mqtt-tls'];
const ALLOW_KEYS = ['rule', 'rules', 'ip', 'mac', 'zone', 'asset', 'reason'];

function unknownKey(file: string, line: number, where: string, key: string, allowed: string[]): ConfigError {
  return new ConfigError(file, line, `unknown key "${key}" in ${where} (allowed: ${allowed.join(', ')})`);
}

export function normalizeMac(text: string): string | null {
  const hex = text.toLowerCase().replace(/[^0-9a-f]/g, '');
  if (hex.length !== 12 || !/^[0-9a-f:.-]+$/i.test(text)) return null;
  return hex.replace(/(..)(?!$)/g, '$1:');
}

function parseCidrs(n: YNode, file: string, field: string): Cidr[] {
  return expectSeqOrScalar(n, file, field).map((item, i) => {
    const text = expectString(item, file, `${field}[${i}]`);
    const c = parseCidr(text);
    if (!c)
      throw new ConfigError(file, item.line, `${field}[${i}]: "${text}" is not an IPv4/IPv6 address or CIDR`);
    return c;
  });
}

/** Parse a site file's text; every error names `file` and the line. */
export function parseSite(text: string, file: string): Site {
  const root = parseYamlTree(text, file);
  const site: Site = { file, name: '', zones: [], assets: [], ports: {}, lists: {}, allow: [] };
  for (const e of expectMap(root, file, 'site')) {
    switch (e.key) {
      case 'name':
        site.name = expectString(e.value, file, 'name');
        break;
      case 'description':
        expectString(e.value, file, 'description');
        break;
      case 'zones':
        for (const z of expectMap(e.value, file, 'zones')) {
          if (z.key === ZONE_INTERNET || z.key === ZONE_UNKNOWN_INTERNAL) {
            throw new ConfigError(
              file,
              z.line,
              `zones.${z.key}: "${z.key}" is reserved for unlisted addresses`,
            );
          }
          const zone: ZoneDef = { name: z.key, cidrs: [], vlans: [] };
          if (z.value.kind === 'map') {
            for (const ze of z.value.entries) {
              const f = `zones.${z.key}.${ze.key}`;
              if (ze.key === 'cidrs') zone.cidrs = parseCidrs(ze.value, file, f);
              else if (ze.key === 'vlans') {
                zone.vlans = expectSeqOrScalar(ze.value, file, f).map((v, i) => {
                  const n = expectNumber(v, file, `${f}[${i}]`);
                  if (!Number.isInteger(n) || n < 0 || n > 4095)
                    throw new ConfigError(file, v.line, `${f}[${i}]: VLAN id 0-4095`);
                  return n;
                });
              } else if (ze.key === 'description') expectString(ze.value, file, f);
              else throw unknownKey(file, ze.line, `zones.${z.key}`, ze.key, ZONE_KEYS);
            }
          } else zone.cidrs = parseCidrs(z.value, file, `zones.${z.key}`);
          site.zones.push(zone);
        }
        break;
      case 'assets':
        for (const a of expectMap(e.value, file, 'assets')) {
          const asset: Asset = {
            name: a.key,
            ips: [],
            macs: [],
            roles: [],
            dicomAe: [],
            hl7Apps: [],
            mqttClientIds: [],
          };
          for (const ae of expectMap(a.value, file, `assets.${a.key}`)) {
            const f = `assets.${a.key}.${ae.key}`;
            switch (ae.key) {
              case 'ip':
                asset.ips = expectSeqOrScalar(ae.value, file, f).map((v, i) => {
                  const t = expectString(v, file, `${f}[${i}]`);
                  const b = parseIp(t);
                  if (!b) throw new ConfigError(file, v.line, `${f}[${i}]: "${t}" is not an IP address`);
                  return canonicalIp(b, t);
                });
                break;
              case 'mac':
                asset.macs = expectSeqOrScalar(ae.value, file, f).map((v, i) => {
                  const t = expectString(v, file, `${f}[${i}]`);
                  const m = normalizeMac(t);
                  if (!m) throw new ConfigError(file, v.line, `${f}[${i}]: "${t}" is not a MAC address`);
                  return m;
                });
                break;
              case 'roles': {
                const given = expectStrings(ae.value, file, f);
                const items = expectSeqOrScalar(ae.value, file, f);
                given.forEach((r, i) => {
                  if (!isRole(r))
                    throw new ConfigError(
                      file,
                      items[i]?.line ?? ae.line,
                      `${f}[${i}]: unknown role "${r}" (known roles: ${ROLE_NAMES.join(', ')})`,
                    );
                });
                asset.roles = expandRoles(given);
                break;
              }
              case 'dicom_ae':
                asset.dicomAe = expectStrings(ae.value, file, f);
                break;
              case 'hl7_apps':
                asset.hl7Apps = expectStrings(ae.value, file, f);
                break;
              case 'mqtt_client_ids':
                asset.mqttClientIds = expectStrings(ae.value, file, f);
                break;
              case 'description':
                expectString(ae.value, file, f);
                break;
              default:
                throw unknownKey(file, ae.line, `assets.${a.key}`, ae.key, ASSET_KEYS);
            }
          }
          site.assets.push(asset);
        }
        break;
      case 'ports':
        for (const p of expectMap(e.value, file, 'ports')) {
          if (!PORT_KEYS.includes(p.key)) throw unknownKey(file, p.line, 'ports', p.key, PORT_KEYS);
          site.ports[p.key] = expectSeqOrScalar(p.value, file, `ports.${p.key}`).map((v, i) => {
            const n = expectNumber(v, file, `ports.${p.key}[${i}]`);
            if (!Number.isInteger(n) || n < 1 || n > 65535)
              throw new ConfigError(file, v.line, `ports.${p.key}[${i}]: port 1-65535`);
            return n;
          });
        }
        break;
      case 'lists':
        for (const l of expectMap(e.value, file, 'lists')) {
          const items =
            l.value.kind === 'seq' && l.value.items.length === 0
              ? []
              : expectSeqOrScalar(l.value, file, `lists.${l.key}`);
          site.lists[l.key] = items.map((v, i) => {
            if (v.kind !== 'scalar' || v.value === null)
              throw new ConfigError(file, v.line, `lists.${l.key}[${i}]: expected a string or number`);
            return String(v.value);
          });
        }
        break;
      case 'allow':
        if (e.value.kind !== 'seq')
          throw new ConfigError(file, e.value.line, 'allow: expected a list of entries');
        e.value.items.forEach((item, idx) => {
          const f = `allow[${idx}]`;
          const entry: AllowEntry = { rules: [], ip: [], mac: [], zone: [], asset: [], line: item.line };
          for (const ae of expectMap(item, file, f)) {
            switch (ae.key) {
              case 'rule':
              case 'rules':
                entry.rules = expectStrings(ae.value, file, `${f}.${ae.key}`);
                break;
              case 'ip':
                entry.ip = parseCidrs(ae.value, file, `${f}.ip`);
                break;
              case 'mac':
                entry.mac = expectStrings(ae.value, file, `${f}.mac`).map((t) => {
                  const m = normalizeMac(t);
                  if (!m) throw new ConfigError(file, ae.line, `${f}.mac: "${t}" is not a MAC address`);
                  return m;
                });
                break;
              case 'zone':
                entry.zone = expectStrings(ae.value, file, `${f}.zone`);
                break;
              case 'asset':
                entry.asset = expectStrings(ae.value, file, `${f}.asset`);
                break;
              case 'reason':
                expectString(ae.value, file, `${f}.reason`);
                break;
              default:
                throw unknownKey(file, ae.line, f, ae.key, ALLOW_KEYS);
            }
          }
          if (entry.rules.length === 0)
            throw new ConfigError(file, item.line, `${f}.rule: required (a rule id or glob such as mqtt.*)`);
          site.allow.push(entry);
        });
        break;
      default:
        throw unknownKey(file, e.line, 'the site file', e.key, TOP_KEYS);
    }
  }
  const zoneNames = new Set(site.zones.map((z) => z.name));
  for (const a of site.allow) {
    for (const z of a.zone) {
      if (!zoneNames.has(z) && z !== ZONE_INTERNET && z !== ZONE_UNKNOWN_INTERNAL) {
        throw new ConfigError(file, a.line, `allow: zone "${z}" is not defined under zones`);
      }
    }
  }
  return site;
}

/** Read and parse a site file (start-up only). Throws ConfigError('FILE:LINE: message'). */
export function loadSite(path: string): Site {
  return parseSite(readConfigText(path), path);
}

function canonicalIp(b: Uint8Array, fallback: string): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  return fallback.toLowerCase();
}

/** Zone and asset lookups, cached per address (bounded cache, cleared when full). */
export class SiteIndex {
  private readonly zoneCache = new Map<string, string>();
  private readonly assetByIp = new Map<string, Asset>();
  private readonly assetByMac = new Map<string, Asset>();
  private readonly assetByName = new Map<string, Asset>();
  readonly zoneNames: ReadonlySet<string>;

  constructor(
    readonly site: Site | null,
    private readonly cacheCap = 65536,
  ) {
    for (const a of site?.assets ?? []) {
      this.assetByName.set(a.name, a);
      for (const ip of a.ips) if (!this.assetByIp.has(ip)) this.assetByIp.set(ip, a);
      for (const m of a.macs) if (!this.assetByMac.has(m)) this.assetByMac.set(m, a);
    }
    this.zoneNames = new Set(site?.zones.map((z) => z.name) ?? []);
  }

  /** First zone whose CIDRs hold `ip` (or whose VLANs hold `vlan`) wins; else unknown-internal for private space, else internet. */
  zoneOf(ip: string, vlan = -1): string {
    const key = vlan >= 0 ? `${ip}|${vlan}` : ip;
    const hit = this.zoneCache.get(key);
    if (hit !== undefined) return hit;
    const zone = this.lookupZone(ip, vlan);
    if (this.zoneCache.size >= this.cacheCap) this.zoneCache.clear();
    this.zoneCache.set(key, zone);
    return zone;
  }

  private lookupZone(ip: string, vlan: number): string {
    const bytes = parseIp(ip);
    for (const z of this.site?.zones ?? []) {
      if (bytes && z.cidrs.some((c) => cidrContains(c, bytes))) return z.name;
      if (vlan >= 0 && z.vlans.includes(vlan)) return z.name;
    }
    if (!bytes) return ZONE_UNKNOWN_INTERNAL;
    return isLocalAddress(bytes) ? ZONE_UNKNOWN_INTERNAL : ZONE_INTERNET;
  }

  asset(name: string | undefined): Asset | undefined {
    return name === undefined ? undefined : this.assetByName.get(name);
  }

  /** Whether any asset of the site names `value` under `attr` (e.g. a C-MOVE destination AE of another host). */
  anyAssetNames(attr: 'dicomAe' | 'hl7Apps' | 'mqttClientIds', value: string): boolean {
    for (const a of this.site?.assets ?? []) if (a[attr].includes(value)) return true;
    return false;
  }

  assetOf(ip: string, mac?: string): Asset | undefined {
    return this.assetByIp.get(ip) ?? (mac ? this.assetByMac.get(mac) : undefined);
  }
}
