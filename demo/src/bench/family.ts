// What a family file (kernels.ts, noise.ts, ...) declares: its groups, each prepared in the
// benchmark worker into rows (tasks) that the runner (bench-worker.ts) checks once and then times.
import type { Pool } from 'privkit/pool';
import type { Timing } from './measure';
import type { BenchMode, FamilyInfo, GroupInfo, RowKind, RowResult } from './protocol';

export interface Task {
  /** Unique within its group: 'wasm', 'pool-copy', 'js', ... */
  id: string;
  label: string;
  kind: RowKind;
  /** The call timed, as code (it matches `run`). */
  code: string;
  run: () => unknown;
  /** Runs once before timing: checks the output (or reads a statistic of it) for the result column. */
  check: () => string | Promise<string>;
}

export interface Group extends Omit<GroupInfo, 'family' | 'id' | 'title'> {
  tasks: Task[];
  /** Overrides of the mode's timing (slow calls such as key generation take fewer samples). */
  timing?: Partial<Timing>;
  /** A sentence for the page when the measured rows need one (e.g. the pool slower than one thread). */
  explain?: (rows: readonly RowResult[]) => string | undefined;
}

export interface BenchContext {
  mode: BenchMode;
  /** The kernels' matrix shape. */
  rows: number;
  cols: number;
  /** A pool of POOL_THREADS workers, shared by every family. */
  pool: Pool;
  /** True when this page has SharedArrayBuffer (cross-origin isolated): the pool then reads shared inputs in place. */
  sharedMemory: boolean;
  /** `make()` once per run under `key` (inputs or keys several groups share). */
  once<T>(key: string, make: () => T): T;
}

export interface GroupDef {
  /** Unique within the family. */
  id: string;
  title: string;
  prepare: (ctx: BenchContext) => Group | Promise<Group>;
}

export interface Family extends FamilyInfo {
  groups: GroupDef[];
}

/** n with thousands separators. */
export const count = (n: number) => n.toLocaleString('en-US');

/** A byte count in KiB or MiB. */
export const bytes = (n: number) => (n >= 2 ** 20 ? `${+(n / 2 ** 20).toFixed(2)} MiB` : `${+(n / 1024).toFixed(1)} KiB`);

/** Deterministic inputs (a 32-bit LCG): benchmark data needs no secrecy, only the same values every run. Uniform in [0, 1). */
export function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}
