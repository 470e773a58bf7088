// Hospitals ask what they install: every runtime dependency carries a licence from the allowlist.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';

const ALLOWED = new Set([
  'MIT',
  'ISC',
  'Apache-2.0',
  'BSD-2-Clause',
  'BSD-3-Clause',
  '0BSD',
  'BlueOak-1.0.0',
  'CC0-1.0',
]);

interface LsNode {
  path?: string;
  dependencies?: Record<string, LsNode>;
}

function collect(node: LsNode, out: Map<string, string>): void {
  for (const [name, dep] of Object.entries(node.dependencies ?? {})) {
    if (dep.path && !out.has(dep.path)) {
      out.set(dep.path, name);
      collect(dep, out);
    }
  }
}

describe('runtime dependency licences', () => {
  it('are all on the allowlist', () => {
    const tree = JSON.parse(
      execFileSync('npm', ['ls', '--omit=dev', '--all', '--json', '--long'], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      }),
    ) as LsNode;
    const found = new Map<string, string>();
    collect(tree, found);
    expect(found.size).toBeGreaterThan(10);
    const bad: string[] = [];
    for (const [dir, name] of found) {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { license?: unknown };
      const licence = typeof pkg.license === 'string' ? pkg.license : JSON.stringify(pkg.license);
      // "(MIT OR Apache-2.0)": one allowed alternative is enough.
      const options = licence.replace(/[()]/g, '').split(/\s+OR\s+/);
      if (!options.some((l) => ALLOWED.has(l))) bad.push(`${name}: ${licence}`);
    }
    expect(bad).toEqual([]);
  });
});
