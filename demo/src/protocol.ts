// Messages between the demo page (main.ts) and its benchmark worker (bench-worker.ts).

export const KERNELS = ['clipAndSum', 'clipByL2', 'weightedMean'] as const;
export type Kernel = (typeof KERNELS)[number];

/** What each bar measures. `memcpy` is the memory-bandwidth floor: one Float32Array.prototype.set over the input. */
export const IMPLS = ['wasm', 'pool', 'js', 'memcpy'] as const;
export type Impl = (typeof IMPLS)[number];

export const IMPL_LABELS: Record<Impl, string> = {
  wasm: 'privkit wasm (1 thread)',
  pool: 'privkit pool (2 workers)',
  js: 'JS reference',
  memcpy: 'memory baseline (copy)',
};

/** Matrix shapes (rows x cols of float32) the user can pick. */
export const SIZES = [
  { id: '16x4096', rows: 16, cols: 4096 },
  { id: '64x16384', rows: 64, cols: 16384 },
  { id: '256x16384', rows: 256, cols: 16384 },
  { id: '1024x16384', rows: 1024, cols: 16384 },
] as const;
export const DEFAULT_SIZE = '64x16384';

export const POOL_THREADS = 2;

export interface RunRequest {
  type: 'run';
  rows: number;
  cols: number;
}

export interface ResultRow {
  kernel: Kernel;
  impl: Impl;
  /** Median and fastest time of one call, in milliseconds. */
  medianMs: number;
  minMs: number;
  samples: number;
  /** Input bytes (rows x cols x 4) per median call time. */
  gbPerS: number;
  /** Largest |result - JS reference| relative to the largest |reference| value; absent for the baselines. */
  maxRelDiff?: number;
}

export interface WorkerEnvironment {
  crossOriginIsolated: boolean;
  hardwareConcurrency: number;
  poolAvailable: boolean;
}

export type WorkerMessage =
  | { type: 'env'; env: WorkerEnvironment }
  | { type: 'progress'; text: string }
  | { type: 'result'; row: ResultRow }
  | { type: 'done'; totalMs: number }
  | { type: 'error'; message: string };
