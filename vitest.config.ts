// Tests run against the built package in dist/ (what users import), so `npm test` builds first.
// The unit tests load dist/ as Node modules (server.deps.external), not through Vite's transform
// and module runner: the same files, imported about twice as fast in each test file's worker. The
// end-to-end and statistical files, and errors.test.ts (which needs vi.resetModules() for a fresh
// engine that is not ready yet), keep Vite's module runner. The unit files run in worker threads
// (pool 'threads'): a thread starts in a fraction of the CPU a forked Node process takes, and no
// unit test depends on its own process (none reads the process-wide rss; process.env set in a
// thread is that thread's and its own workers'). They share their worker's modules (isolate: false):
// privkit, tfjs and vitest are loaded once per worker instead of once per file, which was a fifth
// of the unit run's CPU. What a file changes outside itself is undone for the next: fast-check's
// global configuration (test/support/setup.ts) and vi.spyOn spies (restoreMocks). The files that
// look at the engine's own state, and those that start threads, processes or servers, get a fresh
// worker each (ISOLATED_FILES).
import { defineConfig } from 'vitest/config';
import { privkitAliases } from './scripts/aliases.js';

const RUNNER_FILES = ['test/e2e/**', 'test/stat/**', 'test/errors/errors.test.ts'];
/** Unit files that look at the engine's own state: which wasm modules are declared, loaded or scanned; a cached WebCrypto probe. */
const ENGINE_STATE_FILES = [
  'test/wasm/modules.test.ts',
  'test/wasm/secrets.test.ts',
  'test/tfjs/outer-products.test.ts',
  'test/prio/vectors-reference.test.ts',
  'test/secagg/no-ed25519.test.ts',
];
/** Unit files that start threads, processes or servers: an event of theirs after the file ends must not reach the next file. */
const THREADS_AND_SERVERS_FILES = [
  'test/audit/audit.test.ts',
  'test/client/client.test.ts',
  'test/dp/noise-reuse.test.ts',
  'test/dp/rng.test.ts',
  'test/errors/sweep/client.test.ts',
  'test/errors/sweep/pool.test.ts',
  'test/errors/sweep/server.test.ts',
  'test/fl/fedavg.test.ts',
  'test/paillier/pool.test.ts',
  'test/paillier/precompute.test.ts',
  'test/pool/*.test.ts',
  'test/prio/batch.test.ts',
  'test/tfjs/fl-model.test.ts',
  'test/wasm/shared-memory.test.ts',
];
const ISOLATED_FILES = [...ENGINE_STATE_FILES, ...THREADS_AND_SERVERS_FILES];
const DIST_AS_NODE_MODULES = { deps: { external: [/\/dist\//] } };

export default defineConfig({
  resolve: { alias: privkitAliases },
  test: {
    setupFiles: ['test/support/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: [...RUNNER_FILES, ...ISOLATED_FILES],
          pool: 'threads',
          isolate: false,
          restoreMocks: true,
          server: DIST_AS_NODE_MODULES,
        },
      },
      { extends: true, test: { name: 'unit-isolated', include: ISOLATED_FILES, pool: 'threads', server: DIST_AS_NODE_MODULES } },
      { extends: true, test: { name: 'module-runner', include: RUNNER_FILES.map((glob) => (glob.endsWith('/**') ? `${glob}/*.test.ts` : glob)) } },
    ],
  },
});
