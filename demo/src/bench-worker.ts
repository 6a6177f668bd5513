// The benchmark worker: runs the kernels off the main thread, so the page stays responsive and
// the timings are not disturbed by rendering. Each measurement is a warm-up followed by a
// performance.now() loop for a fixed time budget; the page gets one message per result row.
import { clipAndSum, clipByL2, ready, weightedMean } from 'privkit';
import { createPool, sharedFloat32Array, type Pool } from 'privkit/pool';
import * as reference from 'privkit/reference';
import { POOL_THREADS, type Impl, type Kernel, type ResultRow, type RunRequest, type WorkerMessage } from './protocol';

const post = (message: WorkerMessage) => postMessage(message);

/** Time budget per measurement, in milliseconds (after warm-up). */
const BUDGET_MS = 250;
const MIN_SAMPLES = 3;
/** A sample lasts at least this long: performance.now() is coarsened to 5 us (isolated) or 100 us. */
const MIN_SAMPLE_MS = 2;

type Task = () => unknown;

/** Runs `fn` `times` times, awaiting only when it returns a promise, and returns the elapsed milliseconds. */
async function timeBatch(fn: Task, times: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < times; i++) {
    const result = fn();
    if (result instanceof Promise) await result;
  }
  return performance.now() - t0;
}

async function measure(fn: Task): Promise<{ medianMs: number; minMs: number; samples: number }> {
  // Warm-up, and the batch size that makes one sample last at least MIN_SAMPLE_MS.
  let batch = 1;
  while ((await timeBatch(fn, batch)) < MIN_SAMPLE_MS && batch < 1 << 16) batch *= 2;
  const times: number[] = [];
  const start = performance.now();
  while (times.length < MIN_SAMPLES || performance.now() - start < BUDGET_MS) {
    times.push((await timeBatch(fn, batch)) / batch);
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  const medianMs = times.length % 2 === 1 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2;
  return { medianMs, minMs: times[0]!, samples: times.length * batch };
}

/** Largest |a - b| over the largest |b|: how far a result is from the JS reference. */
function relativeDiff(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

/**
 * Deterministic test data (a 32-bit LCG; benchmark inputs need no secrecy): rows of uniform values
 * with per-row scales, so that about half of the rows exceed the clipping bound.
 */
function makeInput(rows: number, cols: number, alloc: (n: number) => Float32Array) {
  const x = alloc(rows * cols);
  let state = 0x9e3779b9;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  for (let r = 0; r < rows; r++) {
    const scale = 0.5 + next();
    for (let j = r * cols; j < (r + 1) * cols; j++) x[j] = (2 * next() - 1) * scale;
  }
  const weights = Array.from({ length: rows }, (_, r) => 1 + (r % 7));
  // The norm of a row is about scale * sqrt(cols / 3); scales span [0.5, 1.5).
  const maxNorm = Math.sqrt(cols / 3);
  return { x, weights, maxNorm };
}

async function run({ rows, cols }: RunRequest): Promise<void> {
  const started = performance.now();
  await ready();
  const poolAvailable = self.crossOriginIsolated === true;
  post({
    type: 'env',
    env: { crossOriginIsolated: self.crossOriginIsolated === true, hardwareConcurrency: navigator.hardwareConcurrency, poolAvailable },
  });
  // On shared memory (when isolated) the pool reads the input in place instead of copying it.
  const { x, weights, maxNorm } = makeInput(rows, cols, poolAvailable ? sharedFloat32Array : (n) => new Float32Array(n));
  const bytes = x.length * 4;

  let pool: Pool | undefined;
  try {
    if (poolAvailable) {
      post({ type: 'progress', text: `starting a pool of ${POOL_THREADS} workers` });
      pool = await createPool({ threads: POOL_THREADS });
    }

    post({ type: 'progress', text: 'memory baseline' });
    const copy = new Float32Array(x.length);
    const baseline = await measure(() => copy.set(x));

    const kernels: Record<Kernel, Partial<Record<Impl, () => Float32Array | Promise<Float32Array>>>> = {
      clipAndSum: {
        wasm: () => clipAndSum(x, rows, maxNorm).sum,
        pool: pool && (async () => (await pool!.clipAndSum(x, rows, maxNorm)).sum),
        js: () => reference.clipAndSum(x, rows, maxNorm).sum,
      },
      clipByL2: {
        wasm: () => clipByL2(x, rows, maxNorm),
        pool: pool && (() => pool!.clipByL2(x, rows, maxNorm)),
        js: () => reference.clipByL2(x, rows, maxNorm),
      },
      weightedMean: {
        wasm: () => weightedMean(x, rows, weights),
        pool: pool && (() => pool!.weightedMean(x, rows, weights)),
        js: () => reference.weightedMean(x, rows, weights),
      },
    };

    for (const [kernel, impls] of Object.entries(kernels) as [Kernel, (typeof kernels)[Kernel]][]) {
      const expected = await impls.js!();
      for (const impl of ['wasm', 'pool', 'js'] as const) {
        const fn = impls[impl];
        if (fn === undefined) continue;
        post({ type: 'progress', text: `${kernel}: ${impl}` });
        const maxRelDiff = impl === 'js' ? undefined : relativeDiff(await fn(), expected);
        const timing = await measure(fn);
        const row: ResultRow = { kernel, impl, ...timing, gbPerS: bytes / (timing.medianMs * 1e6) };
        if (maxRelDiff !== undefined) row.maxRelDiff = maxRelDiff;
        post({ type: 'result', row });
      }
      post({ type: 'result', row: { kernel, impl: 'memcpy', ...baseline, gbPerS: bytes / (baseline.medianMs * 1e6) } });
    }
  } finally {
    await pool?.close();
  }
  post({ type: 'done', totalMs: performance.now() - started });
}

let busy = false;
addEventListener('message', (event: MessageEvent<RunRequest>) => {
  if (event.data?.type !== 'run' || busy) return;
  busy = true;
  run(event.data)
    .catch((error: unknown) => post({ type: 'error', message: error instanceof Error ? error.message : String(error) }))
    .finally(() => {
      busy = false;
    });
});
