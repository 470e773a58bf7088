// No import circles in the agent, the collector or bin/ (issue 12: engine.ts and rules.ts used to import each other).
// Type-only imports count too: a circle of types is still two modules that cannot be understood apart.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sources(full));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

const IMPORT = /^\s*(?:import|export)\s[^'";]*?from\s+'(\.{1,2}\/[^']+)\.js'/gm;

function graph(files: readonly string[]): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const deps = [...text.matchAll(IMPORT)].map((m) => path.resolve(path.dirname(f), `${m[1] ?? ''}.ts`));
    g.set(
      f,
      deps.filter((d) => d !== f),
    );
  }
  return g;
}

/** Every elementary circle found by a depth-first walk (enough to name one per strongly connected knot). */
function cycles(g: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const d of g.get(n) ?? []) {
      if (!g.has(d)) continue;
      if (state.get(d) === 'open') found.push([...stack.slice(stack.indexOf(d)), d]);
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of g.keys()) if (!state.has(n)) visit(n);
  return found;
}

describe('import graph', () => {
  const files = ['agent', 'collector', 'bin'].flatMap((d) => sources(path.join(REPO_ROOT, d)));

  it('reads the imports it checks', () => {
    const g = graph(files);
    expect(g.get(path.join(REPO_ROOT, 'agent/engine/findings/reporter.ts'))).toContain(
      path.join(REPO_ROOT, 'agent/engine/rules/rule-schema.ts'),
    );
  });

  it('has no circles', () => {
    const rel = (f: string): string => path.relative(REPO_ROOT, f);
    expect(cycles(graph(files)).map((c) => c.map(rel).join(' → '))).toEqual([]);
  });
});
