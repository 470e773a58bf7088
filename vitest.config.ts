import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    // `npm run coverage`: line and branch coverage of the pure stages (issue 12), from their own tests.
    coverage: {
      provider: 'v8',
      include: ['agent/decode/**', 'agent/reassembly/**', 'agent/protocols/**', 'agent/engine/**'],
      reporter: ['text-summary', ['text', { skipFull: true }]],
      reportsDirectory: 'coverage',
    },
  },
});
