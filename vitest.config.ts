// Tests run against the built package in dist/ (what users import), so `npm test` builds first.
// The unit tests load dist/ as Node modules (server.deps.external), not through Vite's transform
// and module runner: the same files, imported about twice as fast in each test file's worker. The
// end-to-end and statistical files, and errors.test.ts (which needs vi.resetModules() for a fresh
// engine that is not ready yet), keep Vite's module runner. The unit files run in worker threads
// (pool 'threads'), each file still in a fresh worker of its own: a thread starts in a fraction of
// the CPU a forked Node process takes, about 80 ms less per file (some 8 s of the unit run's CPU
// on 2 cores). No unit test depends on its own process: none reads the process-wide rss, and
// process.env set in a thread is that thread's and its own workers'.
import { defineConfig } from 'vitest/config';
import { privkitAliases } from './scripts/aliases.js';

const RUNNER_FILES = ['test/e2e/**', 'test/stat/**', 'test/errors/errors.test.ts'];

export default defineConfig({
  resolve: { alias: privkitAliases },
  test: {
    setupFiles: ['test/support/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: RUNNER_FILES, pool: 'threads', server: { deps: { external: [/\/dist\//] } } },
      },
      { extends: true, test: { name: 'module-runner', include: RUNNER_FILES.map((glob) => (glob.endsWith('/**') ? `${glob}/*.test.ts` : glob)) } },
    ],
  },
});
