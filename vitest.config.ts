// Tests run against the built package in dist/ (what users import), so `npm test` builds first.
import { defineConfig } from 'vitest/config';
import { privkitAliases } from './scripts/aliases.js';

export default defineConfig({
  resolve: { alias: privkitAliases },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/support/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
