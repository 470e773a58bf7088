// Vendor of a MAC address from the IEEE registry (npm oui-data: MA-L, MA-M and MA-S assignments), loaded once on first use.
import { createRequire } from 'node:module';

let table: Record<string, string> | null = null;
const cache = new Map<string, string | undefined>();
const CACHE_CAP = 4096;

function loadTable(): Record<string, string> {
  if (!table) {
    const require = createRequire(import.meta.url);
    table = require('oui-data') as Record<string, string>;
  }
  return table;
}

/** Loads the registry now: live capture calls this before it starts, so the first device costs no stall. */
export function preloadVendors(): void {
  loadTable();
}

/** Organisation name for "aa:bb:cc:dd:ee:ff", or undefined (unknown, or locally administered: randomised or virtual). */
export function lookupVendor(mac: string): string | undefined {
  if (cache.has(mac)) return cache.get(mac);
  const hex = mac.replace(/[^0-9a-fA-F]/g, '').toUpperCase();
  if (hex.length !== 12) return undefined;
  const first = parseInt(hex.slice(0, 2), 16);
  let vendor: string | undefined;
  if ((first & 0x02) === 0) {
    const t = loadTable();
    // Longest assignment first: MA-S (36 bits) and MA-M (28 bits) blocks sit inside registry-owned MA-L prefixes.
    const raw = t[hex.slice(0, 9)] ?? t[hex.slice(0, 7)] ?? t[hex.slice(0, 6)];
    vendor = raw?.split('\n')[0]?.trim() || undefined;
  }
  if (cache.size >= CACHE_CAP) cache.clear();
  cache.set(mac, vendor);
  return vendor;
}

export function isLocallyAdministered(mac: string): boolean {
  const first = parseInt(mac.slice(0, 2), 16);
  return Number.isFinite(first) && (first & 0x02) !== 0;
}
