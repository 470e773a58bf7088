// Packet time (µs since the Unix epoch) as RFC 3339 UTC text with microseconds, as events and findings carry it.

export function formatTs(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const frac = Math.floor(micros - ms * 1000);
  const iso = new Date(ms).toISOString(); // 2026-11-28T10:15:02.123Z
  return `${iso.slice(0, 23)}${String(frac).padStart(3, '0')}Z`;
}

export function parseTs(text: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(text);
  if (!m || m[1] === undefined) return Number.NaN;
  const base = Date.parse(`${m[1]}Z`);
  const frac = (m[2] ?? '').padEnd(6, '0').slice(0, 6);
  return base * 1000 + Number(frac);
}
