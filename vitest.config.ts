// Tests run against the built package in dist/ (what users import), so `npm test` builds first.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const dist = (path: string) => fileURLToPath(new URL(`./dist/src/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^privkit\/pool$/, replacement: dist('pool/index.js') },
      { find: /^privkit\/dp$/, replacement: dist('dp/index.js') },
      { find: /^privkit\/accounting$/, replacement: dist('accounting/index.js') },
      { find: /^privkit\/reference$/, replacement: dist('reference/index.js') },
      { find: /^privkit$/, replacement: dist('index.js') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
