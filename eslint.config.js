// ESLint flat config: typescript-eslint recommended, plus the import-direction rule from STYLE.md.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const restrict = (patterns, message) => ({
  'no-restricted-imports': ['error', { patterns: [{ group: patterns, message }] }],
});

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
        ['process', 'Buffer', 'console', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'URL'].map(
          (g) => [g, 'readonly'],
        ),
      ),
    },
  },
  // wire/ is a leaf: it imports nothing of ours.
  { files: ['agent/wire/**/*.ts'], rules: restrict(['../*', '../../*'], 'agent/wire is a leaf module') },
  // The collector sees only agent/wire of the agent.
  {
    files: ['collector/**/*.ts'],
    rules: restrict(
      ['../agent/*', '!../agent/wire', '!../agent/wire/*'],
      'the collector imports agent/wire and nothing else of the agent',
    ),
  },
  // The agent never imports the collector.
  { files: ['agent/**/*.ts'], rules: restrict(['**/collector/*', '**/collector'], 'the agent never imports the collector') },
  // Pure stages do no I/O.
  {
    files: ['agent/decode/**/*.ts', 'agent/reassembly/**/*.ts', 'agent/protocols/**/*.ts', 'agent/engine/**/*.ts'],
    rules: restrict(['node:fs', 'node:net', 'node:http', 'fs', 'net', 'http', 'ws'], 'pure stages do no I/O'),
  },
);
