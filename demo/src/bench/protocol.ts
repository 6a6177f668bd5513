// Messages between the page (bench-panel.ts) and the benchmark worker (bench-worker.ts), and what
// the page renders: one table per family of privkit, made of groups (one operation each: clipAndSum,
// Paillier encrypt, ...) whose rows are implementations: privkit's and the baselines it is compared with.

/** 'quick' runs every group on small inputs with short time budgets (seconds); 'full' is the real measurement. */
export type BenchMode = 'quick' | 'full';

export interface RunRequest {
  type: 'run';
  mode: BenchMode;
  /** Matrix shape of the kernels family. */
  rows: number;
  cols: number;
  /** Family ids to run (all when absent). */
  only?: string[];
}

/** How the rate column turns a time per call into a throughput: `perCall` units per call, shown in `unit` (divided by `scale`). */
export interface Rate {
  unit: string;
  perCall: number;
  scale: number;
}

export type RowKind = 'privkit' | 'baseline';

export interface FamilyInfo {
  id: string;
  title: string;
  /** What the family's table compares, in a sentence or two. */
  intro: string;
}

export interface GroupInfo {
  family: string;
  /** Unique over the run, e.g. 'kernels/clipAndSum'. */
  id: string;
  title: string;
  /** The input of one call, e.g. '64 x 16,384 float32 (4 MiB)'. */
  shape: string;
  /** Setup code the rows' calls rely on (imports, keys, the pool). */
  setup: string;
  rate?: Rate;
  /** Id of the row the speed-up column divides by. */
  baseline: string;
}

export interface RowResult {
  group: string;
  id: string;
  label: string;
  kind: RowKind;
  /** The call timed, as code. */
  code: string;
  /** Median and fastest time of one call, in milliseconds. */
  medianMs: number;
  minMs: number;
  /** Calls timed (after warm-up). */
  calls: number;
  /** What one call's output showed when checked before timing (a statistic, an equality, a value). */
  result: string;
}

export interface Environment {
  crossOriginIsolated: boolean;
  sharedMemory: boolean;
  hardwareConcurrency: number;
  poolThreads: number;
}

export type BenchMessage =
  | { type: 'env'; env: Environment }
  | { type: 'family'; family: FamilyInfo }
  | { type: 'group'; group: GroupInfo }
  | { type: 'row'; row: RowResult }
  /** A group is finished; `explanation` says why a row looks surprising (e.g. the pool slower than one thread). */
  | { type: 'group-done'; group: string; explanation?: string }
  | { type: 'progress'; text: string }
  | { type: 'done'; totalMs: number }
  | { type: 'error'; message: string };

/** Workers of the benchmark's pool. */
export const POOL_THREADS = 2;
