// ESLint holds the stage order the README's architecture states (issue 12): an import against it fails lint.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';

const eslint = new ESLint({ cwd: REPO_ROOT });

async function problems(file: string, text: string): Promise<string[]> {
  const [result] = await eslint.lintText(text, { filePath: `${REPO_ROOT}/${file}` });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('stage order', () => {
  it.each([
    ['agent/decode/x.ts', "import { Engine } from '../engine/engine.js';\nexport const e = Engine;\n"],
    [
      'agent/decode/x.ts',
      "import { FlowTable } from '../reassembly/flow-table.js';\nexport const f = FlowTable;\n",
    ],
    [
      'agent/reassembly/x.ts',
      "import { dispatch } from '../protocols/dispatch.js';\nexport const d = dispatch;\n",
    ],
    ['agent/protocols/x.ts', "import { Engine } from '../engine/engine.js';\nexport const e = Engine;\n"],
    ['agent/engine/x.ts', "import { runReplay } from '../cli/commands.js';\nexport const r = runReplay;\n"],
    ['agent/engine/x.ts', "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n"],
    // A room of the engine is as pure and as upstream as the engine.
    [
      'agent/engine/rules/x.ts',
      "import { Pipeline } from '../../pipeline.js';\nexport const p = Pipeline;\n",
    ],
    ['agent/engine/site/x.ts', "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n"],
    // The CLI commands are bin/'s: the live agent shares agent/engine-inputs.ts with them instead.
    ['agent/run-agent.ts', "import { runReplay } from './cli/commands.js';\nexport const r = runReplay;\n"],
    ['collector/x.ts', "import { Engine } from '../agent/engine/engine.js';\nexport const e = Engine;\n"],
  ])('%s may not import downstream: %s', async (file, text) => {
    expect(await problems(file, text)).toHaveLength(1);
  });

  it.each([
    [
      'agent/decode/x.ts',
      "import type { RawFrame } from '../capture/types.js';\nexport type F = RawFrame;\n",
    ],
    ['agent/engine/x.ts', "import { formatTs } from '../wire/time.js';\nexport const f = formatTs;\n"],
    ['collector/x.ts', "import { formatTs } from '../agent/wire/time.js';\nexport const f = formatTs;\n"],
  ])('%s may import upstream: %s', async (file, text) => {
    expect(await problems(file, text)).toEqual([]);
  });
});
