// Tokens file (DESIGN.md "CLI", collector): one credential a line, `ROLE NAME TOKEN`, roles agent/read/admin, `#` comments.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UserError } from '../agent/wire/errors.js';

export const ROLES = ['agent', 'read', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Credential {
  role: Role;
  name: string;
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class Tokens {
  /** Keyed by a digest so lookups do not compare secrets byte by byte. */
  private readonly byDigest = new Map<string, Credential>();

  static parse(text: string, file: string): Tokens {
    const t = new Tokens();
    const agents = new Set<string>();
    for (const [i, raw] of text.split(/\r?\n/).entries()) {
      const line = raw.replace(/(^|\s)#.*$/, '').trim();
      if (line === '') continue;
      const where = `${file}:${i + 1}`;
      const parts = line.split(/\s+/);
      if (parts.length !== 3)
        throw new UserError(`${where}: expected "ROLE NAME TOKEN", got ${parts.length} fields`);
      const [role, name, token] = parts as [string, string, string];
      if (!(ROLES as readonly string[]).includes(role)) {
        throw new UserError(`${where}: unknown role "${role}" (expected agent, read or admin)`);
      }
      if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(name))
        throw new UserError(`${where}: bad name (letters, digits, _ . : - only, ≤ 64)`);
      if (token.length < 8) throw new UserError(`${where}: token shorter than 8 characters`);
      const d = digest(token);
      if (t.byDigest.has(d)) throw new UserError(`${where}: token already used on another line`);
      if (role === 'agent') {
        if (agents.has(name)) throw new UserError(`${where}: agent "${name}" has two tokens`);
        agents.add(name);
      }
      t.byDigest.set(d, { role: role as Role, name });
    }
    return t;
  }

  static load(file: string): Tokens {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new UserError(`${file}: cannot read tokens file: ${(e as Error).message}`, { cause: e });
    }
    return Tokens.parse(text, file);
  }

  lookup(token: string): Credential | null {
    return this.byDigest.get(digest(token)) ?? null;
  }

  /** True when `token` is the agent token of `agent`. */
  checkAgent(agent: string, token: string): boolean {
    const c = this.lookup(token);
    if (!c || c.role !== 'agent') return false;
    const a = Buffer.from(c.name);
    const b = Buffer.from(agent);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Agent names, so metrics can show a configured agent that never connected as down. */
  agentNames(): string[] {
    return [...this.byDigest.values()].filter((c) => c.role === 'agent').map((c) => c.name);
  }
}
