// The entry points the bad-input sweep covers: for each, where its rows are (test/errors/rows/<family>.ts;
// a module may hold rows of several entry points, so the rows are picked by their `entry`) and the
// shared fixtures those rows need (the Paillier key pair, the pool, a Redis), started by the entry
// point's own test file only. Each entry point is swept by its own file, test/errors/sweep/<name>.test.ts
// (sweepFileName), so vitest spreads the sweep over its workers; coverage.test.ts checks that every
// export of every entry point has rows and that every entry point has its file.
import type { ConstantRow, SweepRow } from '../sweep-harness.js';

export interface EntrySweep {
  /** The rows module(s) holding this entry point's rows. */
  rows(): Promise<SweepRow[]>;
  /** Starts the fixtures the rows use; resolves to what stops them, if anything needs stopping. */
  fixtures?(): Promise<(() => Promise<void>) | undefined>;
}

export const ENTRY_POINTS = {
  privkit: { rows: async () => (await import('../rows/core.js')).coreRows },
  'privkit/dp': { rows: async () => (await import('../rows/dp.js')).dpRows },
  'privkit/accounting': { rows: async () => (await import('../rows/accounting.js')).accountingRows },
  'privkit/pool': {
    rows: async () => (await import('../rows/pool.js')).poolRows,
    fixtures: async () => {
      const { paillierEnv } = await import('../rows/paillier.js');
      const { closeSweepPool, sweepPool } = await import('../rows/pool.js');
      await paillierEnv();
      await sweepPool();
      return closeSweepPool;
    },
  },
  'privkit/paillier': {
    rows: async () => (await import('../rows/paillier.js')).paillierRows,
    fixtures: async () => {
      await (await import('../rows/paillier.js')).paillierEnv();
      return undefined;
    },
  },
  'privkit/secagg': { rows: async () => (await import('../rows/secagg.js')).secaggRows },
  'privkit/fl': { rows: async () => (await import('../rows/fl.js')).flRows },
  'privkit/audit': { rows: async () => (await import('../rows/fl.js')).flRows },
  'privkit/protect': { rows: async () => (await import('../rows/protect.js')).protectRows },
  'privkit/tfjs': { rows: async () => (await import('../rows/tfjs.js')).tfjsRows },
  'privkit/prio': { rows: async () => (await import('../rows/prio.js')).prioRows },
  'privkit/reference': { rows: async () => (await import('../rows/core.js')).coreRows },
  'privkit/server': {
    rows: async () => [...(await import('../rows/server.js')).serverRows, ...(await import('../rows/cluster.js')).clusterRows],
    fixtures: async () => {
      const { closeClusterEnv, clusterEnv } = await import('../rows/cluster.js');
      await clusterEnv();
      return closeClusterEnv;
    },
  },
  'privkit/client': { rows: async () => (await import('../rows/server.js')).serverRows },
} as const satisfies Record<string, EntrySweep>;

export type EntryPoint = keyof typeof ENTRY_POINTS;

export const isConstant = (row: SweepRow): row is ConstantRow => 'constant' in row;

/** The rows of `entry` (constants included): exactly what its sweep file runs, and all of it. */
export async function rowsOf(entry: EntryPoint): Promise<SweepRow[]> {
  const plan: EntrySweep = ENTRY_POINTS[entry];
  return (await plan.rows()).filter((row) => row.entry === entry);
}

/** The file sweeping `entry`, relative to this directory: core.test.ts for privkit, else <subpath>.test.ts. */
export const sweepFileName = (entry: EntryPoint): string => `${entry === 'privkit' ? 'core' : entry.slice('privkit/'.length)}.test.ts`;
