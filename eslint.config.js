// ESLint flat config: typescript-eslint recommended, plus the import-direction rule from STYLE.md.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const restrict = (groups) => ({ 'no-restricted-imports': ['error', { patterns: groups }] });
const LEAF = { group: ['../*', '../../*'], message: 'agent/wire is a leaf: it imports nothing of ours' };
const NO_COLLECTOR = {
  group: ['**/collector', '**/collector/*'],
  message: 'the agent never imports the collector',
};
const PURE = {
  group: ['node:fs', 'node:net', 'node:http', 'node:dgram', 'fs', 'net', 'http', 'ws'],
  message: 'pure stages do no I/O',
};
/** The pipeline's stage order (README "Architecture"): a stage imports only stages upstream of it and wire/. */
const DOWNSTREAM = (...stages) => ({
  group: stages.flatMap((st) =>
    ['../', '../../', '../../../'].flatMap((up) => [`${up}${st}`, `${up}${st}.js`, `${up}${st}/*`]),
  ),
  message: `stages import only upstream stages: ${stages.join(', ')} ${stages.length === 1 ? 'is' : 'are'} downstream`,
});
// Downstream of every pure stage: delivery, the CLI and the composition root (capture is upstream: it feeds decode).
const AGENT_EDGES = [
  'transport',
  'cli',
  'pipeline',
  'sources',
  'run-agent',
  'worker-pool',
  'live-worker',
  'replay-workers',
  'replay-worker',
];
// agent/cli/commands.ts holds the CLI commands: only bin/ calls them; what they share is agent/engine-inputs.ts.
const CLI_COMMANDS = {
  group: ['**/cli/commands', '**/cli/commands.js'],
  message: 'agent/cli/commands.ts is the CLI commands: import what they share from agent/engine-inputs.ts',
};
const WIRE_ONLY = {
  group: ['../agent/*', '!../agent/wire', '!../agent/wire/*'],
  message: 'the collector imports agent/wire and nothing else of the agent',
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Plain JS helpers (scripts, test hooks) run on Node.
  {
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: {
      globals: Object.fromEntries(
        [
          'process',
          'Buffer',
          'console',
          'setTimeout',
          'clearTimeout',
          'setInterval',
          'clearInterval',
          'URL',
        ].map((g) => [g, 'readonly']),
      ),
    },
  },
  // CommonJS shims (the native binding's loader).
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  // Import direction (STYLE.md). Flat config replaces a rule per file, so each area lists all its groups.
  {
    files: ['agent/wire/**/*.ts'],
    rules: restrict([LEAF]),
  },
  {
    files: ['agent/decode/**/*.ts'],
    rules: restrict([NO_COLLECTOR, PURE, DOWNSTREAM('reassembly', 'protocols', 'engine', ...AGENT_EDGES)]),
  },
  {
    files: ['agent/reassembly/**/*.ts'],
    rules: restrict([NO_COLLECTOR, PURE, DOWNSTREAM('protocols', 'engine', ...AGENT_EDGES)]),
  },
  {
    files: ['agent/protocols/**/*.ts'],
    rules: restrict([NO_COLLECTOR, PURE, DOWNSTREAM('engine', ...AGENT_EDGES)]),
  },
  {
    files: ['agent/engine/**/*.ts'],
    rules: restrict([NO_COLLECTOR, PURE, DOWNSTREAM(...AGENT_EDGES)]),
  },
  {
    files: ['agent/**/*.ts'],
    ignores: [
      'agent/wire/**',
      'agent/decode/**',
      'agent/reassembly/**',
      'agent/protocols/**',
      'agent/engine/**',
      'agent/cli/commands.ts',
    ],
    rules: restrict([NO_COLLECTOR, CLI_COMMANDS]),
  },
  { files: ['agent/cli/commands.ts'], rules: restrict([NO_COLLECTOR]) },
  { files: ['collector/**/*.ts'], rules: restrict([WIRE_ONLY]) },
);
