// Row reductions for aggregation: sum, mean and the FedAvg weighted mean (McMahan et al. 2017).
// All three are one weighted row sum streamed through wasm; weights are normalized before the pass
// so large client weights cannot overflow the float32 accumulator. x is read in place when it lies
// in a shared wasm memory (see readMatrix in ./stream.ts).
import { PrivkitError } from '../errors.js';
import { assertInteger, describe, matrixColumns } from '../validate.js';
import { Accumulator, columnBlocks, groupRows, readMatrix, rowGroups, WINDOW_FLOATS } from './stream.js';

/**
 * Column-wise sum of x (rows x cols, row-major), accumulated in float32.
 *
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array or rows is not an integer >= 1.
 * @throws {PrivkitError} E_SHAPE when x.length is not a multiple of rows.
 * @throws {PrivkitError} E_NONFINITE when x holds NaN or +-Infinity; E_OVERFLOW when a sum exceeds the float32 range.
 */
export function sum(x: Float32Array, rows: number): Float32Array {
  matrixColumns(x, rows);
  return weightedSum(x, rows, new Float64Array(rows).fill(1));
}

/**
 * Column-wise mean of x (rows x cols, row-major).
 *
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array or rows is not an integer >= 1.
 * @throws {PrivkitError} E_SHAPE when x.length is not a multiple of rows.
 * @throws {PrivkitError} E_NONFINITE when x holds NaN or +-Infinity.
 */
export function mean(x: Float32Array, rows: number): Float32Array {
  matrixColumns(x, rows);
  return weightedSum(x, rows, new Float64Array(rows).fill(1 / rows));
}

/**
 * FedAvg: sum_r w_r x_r / sum_r w_r. Weights must be finite and >= 0 (e.g. example counts; they
 * need not sum to 1) with a positive total.
 *
 * @param x - one row per client (rows x cols, row-major).
 * @param rows - the number of rows (>= 1).
 * @param weights - one weight per row.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array, rows is not an integer >= 1, weights is not an array, a weight is negative or not finite (`index` names it), or all weights are 0.
 * @throws {PrivkitError} E_SHAPE when x.length is not a multiple of rows or weights.length differs from rows.
 * @throws {PrivkitError} E_NONFINITE when x holds NaN or +-Infinity.
 */
export function weightedMean(x: Float32Array, rows: number, weights: ArrayLike<number>): Float32Array {
  const read = readWeights(weights, rows);
  matrixColumns(x, rows);
  return weightedSum(x, rows, normalizeWeights(read, rows));
}

/**
 * The weights as read from the caller, each element once, before x is checked (see readOptions);
 * `rows` (a primitive) is checked first so that a wrong length is refused before any element is read.
 */
export function readWeights(weights: unknown, rows: unknown): unknown[] {
  const r = assertInteger('rows', rows, 1);
  const length = weights !== null && typeof weights === 'object' ? (weights as ArrayLike<unknown>).length : undefined;
  if (typeof length !== 'number') {
    throw new PrivkitError('E_ARG', `weights must be an array of numbers, got ${describe(weights)}`, { argument: 'weights' });
  }
  if (length !== r) throw new PrivkitError('E_SHAPE', `weights.length (${length}) must equal rows (${r})`, { argument: 'weights' });
  return Array.from({ length }, (_, i) => (weights as ArrayLike<unknown>)[i]);
}

/**
 * Returns w_r / sum(w) of the weights readWeights read (an array of `rows` elements), after checking
 * each (scaled by the largest weight first, so no sum overflows).
 */
export function normalizeWeights(weights: readonly unknown[], rows: number): Float64Array {
  let largest = 0;
  for (let r = 0; r < rows; r++) {
    const w = weights[r];
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
      throw new PrivkitError('E_ARG', `weights[${r}] is ${describe(w)}; weights must be finite and >= 0`, {
        argument: 'weights',
        index: r,
      });
    }
    largest = Math.max(largest, w);
  }
  if (largest === 0) {
    throw new PrivkitError('E_ARG', 'weights sum to 0; at least one weight must be positive', { argument: 'weights' });
  }
  const scaled = Float64Array.from({ length: rows }, (_, r) => (weights[r] as number) / largest);
  const total = scaled.reduce((a, b) => a + b, 0);
  return scaled.map((w) => w / total);
}

/**
 * sum_r weights[r] * x_r with float64 weights already validated (the shared core of sum, mean,
 * weightedMean and of their pooled versions, which add the partial sums of each worker).
 */
export function weightedSum(x: Float32Array, rows: number, weights: Float64Array): Float32Array {
  const cols = matrixColumns(x, rows);
  if (!(weights instanceof Float64Array) || weights.length !== rows) {
    throw new PrivkitError('E_SHAPE', `weights must be a Float64Array of length rows (${rows})`, { argument: 'weights' });
  }
  const length = rows * cols;
  return readMatrix(x, length, cols, (kernels, arena, window) => {
    const acc = new Accumulator(arena, cols);
    if (cols <= WINDOW_FLOATS) {
      const w = arena.alloc(8 * Math.min(rows, groupRows(cols)));
      const block = { col: 0, cols };
      acc.begin(block);
      for (const chunk of rowGroups(rows, cols)) {
        window.loadChunk(chunk);
        arena.f64(w, chunk.rows).set(weights.subarray(chunk.row, chunk.row + chunk.rows));
        kernels.accumulateRows(window.ptr, chunk.rows, cols, cols, w, 1, acc.ptr);
      }
      acc.end(kernels, block, x, length);
      return acc.sum;
    }
    // long rows: column block by column block, each row in order (the same sums as row by row)
    const w = arena.alloc(8);
    for (const block of columnBlocks(cols)) {
      acc.begin(block);
      for (let row = 0; row < rows; row++) {
        window.loadChunk({ row, rows: 1, ...block });
        arena.f64(w, 1)[0] = weights[row]!;
        kernels.accumulateRows(window.ptr, 1, block.cols, block.cols, w, 1, acc.ptr);
      }
      acc.end(kernels, block, x, length);
    }
    return acc.sum;
  });
}
