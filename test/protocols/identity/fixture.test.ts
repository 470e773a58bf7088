// fixtures/identity/identity.pcap is what test/protocols/identity/frames.ts builds (UPDATE_GENERATED=1 rewrites it; scripts/make-identity-fixtures.sh).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../../helpers/paths.js';
import { identityPcap } from './frames.js';

export const IDENTITY_FIXTURE = path.join(FIXTURES, 'identity', 'identity.pcap');

describe('identity fixture', () => {
  it('is up to date with its builders', () => {
    const built = identityPcap();
    if (process.env.UPDATE_GENERATED) {
      mkdirSync(path.dirname(IDENTITY_FIXTURE), { recursive: true });
      writeFileSync(IDENTITY_FIXTURE, built);
    }
    expect(existsSync(IDENTITY_FIXTURE), 'run scripts/make-identity-fixtures.sh').toBe(true);
    expect(Buffer.from(readFileSync(IDENTITY_FIXTURE)).equals(Buffer.from(built))).toBe(true);
  });
});
