// The DP kernels family: clip-and-sum, per-sample clipping (clipByL2) and the FedAvg weighted mean
// on a rows x cols float32 matrix: privkit's wasm on the benchmark worker's thread and in the pool
// (with the input on shared memory when the page is cross-origin isolated, and as a plain array,
// which the pool copies to its workers), the plain-JS reference (privkit/reference), and the memory
// floor: one copy of the input with Float32Array.prototype.set. Results are checked against the
// reference (float32 rounding only) before they are timed.
import { clipAndSum, clipByL2, weightedMean } from 'privkit';
import { sharedFloat32Array } from 'privkit/pool';
import * as reference from 'privkit/reference';
import { bytes, count, lcg, type BenchContext, type Family, type Group, type Task } from './family';
import { POOL_THREADS, type RowResult } from './protocol';

interface Input {
  x: Float32Array;
  /** The same values on a SharedArrayBuffer (when the page has one). */
  shared?: Float32Array;
  weights: number[];
  maxNorm: number;
}

/** Rows of uniform values with per-row scales in [0.5, 1.5), so that about half of the rows exceed maxNorm. */
function makeInput({ rows, cols, sharedMemory }: BenchContext): Input {
  const next = lcg(0x9e3779b9);
  const x = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const scale = 0.5 + next();
    for (let j = r * cols; j < (r + 1) * cols; j++) x[j] = (2 * next() - 1) * scale;
  }
  const input: Input = { x, weights: Array.from({ length: rows }, (_, r) => 1 + (r % 7)), maxNorm: Math.sqrt(cols / 3) };
  if (sharedMemory) {
    input.shared = sharedFloat32Array(x.length);
    input.shared.set(x);
  }
  return input;
}

/** Largest |a - b| over the largest |b|. */
function relativeDiff(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

/** Why the pool came out slower than one thread, when it did. */
function explainPool(rows: readonly RowResult[]): string | undefined {
  const wasm = rows.find((r) => r.id === 'wasm');
  const slower = new Set(rows.filter((r) => r.id.startsWith('pool') && wasm !== undefined && r.medianMs > wasm.medianMs).map((r) => r.id));
  if (slower.size === 0) return undefined;
  const which = slower.size === 2 ? 'on shared and on plain input' : slower.has('pool-copy') ? 'on plain input' : 'on shared input';
  return (
    `At this size the pool is slower than one thread (${which}). A pooled call posts a part of the work to each of its ${POOL_THREADS} workers ` +
    'and waits for all of them' +
    (slower.has('pool-copy') ? ', and a plain (non-shared) input is copied to the workers and the results back. ' : '. ') +
    (slower.has('pool-shared')
      ? 'The kernel is too short here for that to pay off: the pool wins on larger inputs, where the work outweighs the messages.'
      : rows.some((r) => r.id === 'pool-shared')
        ? 'Those copies cost about as much as the kernel here: shared input (sharedFloat32Array on a cross-origin-isolated page) avoids them.'
        : 'Without cross-origin isolation (COOP and COEP headers) a page has no shared memory, so every pooled call pays for these copies, ' +
          'and a kernel that reads memory nearly as fast as a copy can not win them back: here the pool only keeps the calling thread free.')
  );
}

/** One kernel: its name (the same in privkit, the pool and privkit/reference), its arguments after x, and the three ways to call it. */
interface Kernel {
  name: 'clipAndSum' | 'clipByL2' | 'weightedMean';
  title: string;
  args: string;
  wasm: (ctx: BenchContext, x: Float32Array, input: Input) => Float32Array;
  pooled: (ctx: BenchContext, x: Float32Array, input: Input) => Promise<Float32Array>;
  js: (ctx: BenchContext, x: Float32Array, input: Input) => Float32Array;
}

const KERNELS: Kernel[] = [
  {
    name: 'clipAndSum',
    title: 'clipAndSum: clip every row to L2 norm maxNorm and sum the rows',
    args: 'rows, maxNorm',
    wasm: (ctx, x, input) => clipAndSum(x, ctx.rows, input.maxNorm).sum,
    pooled: async (ctx, x, input) => (await ctx.pool.clipAndSum(x, ctx.rows, input.maxNorm)).sum,
    js: (ctx, x, input) => reference.clipAndSum(x, ctx.rows, input.maxNorm).sum,
  },
  {
    name: 'clipByL2',
    title: 'clipByL2: clip every row to L2 norm maxNorm (per-sample clipping)',
    args: 'rows, maxNorm',
    wasm: (ctx, x, input) => clipByL2(x, ctx.rows, input.maxNorm),
    pooled: (ctx, x, input) => ctx.pool.clipByL2(x, ctx.rows, input.maxNorm),
    js: (ctx, x, input) => reference.clipByL2(x, ctx.rows, input.maxNorm),
  },
  {
    name: 'weightedMean',
    title: 'weightedMean: the FedAvg average of the rows, weighted by example counts',
    args: 'rows, weights',
    wasm: (ctx, x, input) => weightedMean(x, ctx.rows, input.weights),
    pooled: (ctx, x, input) => ctx.pool.weightedMean(x, ctx.rows, input.weights),
    js: (ctx, x, input) => reference.weightedMean(x, ctx.rows, input.weights),
  },
];

/** The rows of one kernel: wasm, the pool on shared (when available) and on plain input, the JS reference, the copy floor. */
function kernelGroup(ctx: BenchContext, kernel: Kernel): Group {
  const input = ctx.once('kernels/input', () => makeInput(ctx));
  const { name, args } = kernel;
  const expected = kernel.js(ctx, input.x, input);
  const checkAgainstJs = (result: Float32Array) => `max rel. diff vs JS ${relativeDiff(result, expected).toExponential(1)}`;
  const pooledTask = (id: string, label: string, x: Float32Array, code: string): Task => ({
    id,
    label,
    kind: 'privkit',
    code,
    run: () => kernel.pooled(ctx, x, input),
    check: async () => checkAgainstJs(await kernel.pooled(ctx, x, input)),
  });
  const floorTarget = new Float32Array(input.x.length);
  const inputBytes = input.x.length * 4;
  return {
    shape: `${count(ctx.rows)} x ${count(ctx.cols)} float32 (${bytes(inputBytes)})`,
    setup: [
      `import { ${name} } from 'privkit';`,
      "import { createPool, sharedFloat32Array } from 'privkit/pool';",
      "import * as reference from 'privkit/reference';",
      `const pool = await createPool({ threads: ${POOL_THREADS} });`,
      ctx.sharedMemory ? 'const sharedX = sharedFloat32Array(x.length); sharedX.set(x);' : '// no SharedArrayBuffer on this page: the pool copies x to its workers',
    ].join('\n'),
    rate: { unit: 'GB/s', perCall: inputBytes, scale: 1e9 },
    baseline: 'js',
    tasks: [
      {
        id: 'wasm',
        label: 'privkit wasm (1 thread)',
        kind: 'privkit',
        code: `${name}(x, ${args})`,
        run: () => kernel.wasm(ctx, input.x, input),
        check: () => checkAgainstJs(kernel.wasm(ctx, input.x, input)),
      },
      ...(input.shared === undefined
        ? []
        : [pooledTask('pool-shared', `privkit pool (${POOL_THREADS} workers), shared input`, input.shared, `await pool.${name}(sharedX, ${args})`)]),
      pooledTask('pool-copy', `privkit pool (${POOL_THREADS} workers), plain input (copied)`, input.x, `await pool.${name}(x, ${args})`),
      { id: 'js', label: 'JS reference', kind: 'baseline', code: `reference.${name}(x, ${args})`, run: () => kernel.js(ctx, input.x, input), check: () => 'the expected result' },
      { id: 'copy', label: 'memory floor: one copy of the input', kind: 'baseline', code: 'out.set(x)', run: () => floorTarget.set(input.x), check: () => 'reads the input once' },
    ],
    explain: explainPool,
  };
}

export const kernels: Family = {
  id: 'kernels',
  title: 'DP kernels',
  intro:
    'Clipping and aggregation of a rows x cols float32 matrix (per-sample gradients, client updates): privkit in WebAssembly with SIMD on one thread ' +
    'and in a pool of Web Workers, against the plain-JS reference and the memory floor (no kernel reads its input faster than a copy).',
  groups: KERNELS.map((kernel) => ({ id: kernel.name, title: kernel.title, prepare: (ctx) => kernelGroup(ctx, kernel) })),
};
