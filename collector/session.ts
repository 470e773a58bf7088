// Browser sessions (issue 10): the console exchanges a read or admin token once for an HttpOnly, SameSite=Strict
// cookie, so no token sits where page scripts can read it. Each session has its own CSRF token, which writes made
// with the cookie must echo in a header. Kept in memory: a collector restart signs everyone out.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Credential } from './tokens.js';
import { BoundedMap } from '../agent/wire/bounded-map.js';

export const SESSION_COOKIE = 'ww_session';
/** A session lasts a working shift. */
export const SESSION_TTL_MS = 8 * 3600 * 1000;
/** Sessions kept at most; the oldest goes first (signing in in a loop must not grow memory). */
const MAX_SESSIONS = 10_000;

export interface Session {
  id: string;
  csrf: string;
  cred: Credential;
  expires: number;
}

export class Sessions {
  /** At the cap the oldest session is dropped (its user signs in again). */
  private readonly byId = new BoundedMap<string, Session>(MAX_SESSIONS);

  constructor(private readonly ttlMs = SESSION_TTL_MS) {}

  create(cred: Credential, now = Date.now()): Session {
    const s: Session = {
      id: randomBytes(32).toString('base64url'),
      csrf: randomBytes(32).toString('base64url'),
      cred,
      expires: now + this.ttlMs,
    };
    this.byId.set(s.id, s);
    return s;
  }

  get(id: string, now = Date.now()): Session | null {
    const s = this.byId.get(id);
    if (!s) return null;
    if (s.expires <= now) {
      this.byId.delete(id);
      return null;
    }
    return s;
  }

  delete(id: string): void {
    this.byId.delete(id);
  }
}

/** The value of one cookie in a Cookie header, or null. */
export function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** Constant-time comparison of two secrets given as strings. */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
