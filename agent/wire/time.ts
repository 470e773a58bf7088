// Packet time (µs since the Unix epoch) as RFC 3339 UTC text with microseconds, as events and findings carry it.

// Events come many per second: the date-and-time part is formatted once per second of packet time.
let cachedSecond = Number.NaN;
let cachedPrefix = '';

export function formatTs(micros: number): string {
  const second = Math.floor(micros / 1_000_000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 19); // 2026-11-28T10:15:02
  }
  const frac = Math.floor(micros - second * 1_000_000);
  return `${cachedPrefix}.${String(frac).padStart(6, '0')}Z`;
}

export function parseTs(text: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(text);
  if (!m || m[1] === undefined) return Number.NaN;
  const base = Date.parse(`${m[1]}Z`);
  const frac = (m[2] ?? '').padEnd(6, '0').slice(0, 6);
  return base * 1000 + Number(frac);
}
