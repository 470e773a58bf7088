// The version is written once (agent/wire/version.ts) and equals package.json's, which npm and the Dockerfile read.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WARDWATCH_VERSION } from '../../agent/wire/version.js';
import { REPO_ROOT } from '../helpers/paths.js';

describe('version', () => {
  it('is package.json version, and no source file writes another', () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(WARDWATCH_VERSION).toBe(pkg.version);
    for (const f of [
      'agent/run-agent.ts',
      'collector/main.ts',
      'collector/export.ts',
      'collector/export-cef.ts',
      'collector/export-schemas.ts',
    ])
      expect(readFileSync(path.join(REPO_ROOT, f), 'utf8'), f).not.toContain(`'${pkg.version}'`);
  });
});
