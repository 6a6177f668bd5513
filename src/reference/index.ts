// Plain-TypeScript reference implementations of every kernel: readable, float64 arithmetic,
// results rounded to float32 once. They are the oracle of the property tests and the JS baseline
// of the benchmarks; they check shapes but not finiteness.
import { matrixColumns } from '../validate.js';

/**
 * Reference of {@link index.l2Norms}: the L2 norm of each row, summed in float64, rounded to float32 once.
 *
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array or rows is not an integer >= 1; E_SHAPE when x.length is not a multiple of rows.
 */
export function l2Norms(x: Float32Array, rows: number): Float32Array {
  const cols = matrixColumns(x, rows);
  const norms = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let sq = 0;
    for (let j = r * cols; j < (r + 1) * cols; j++) sq += x[j]! * x[j]!;
    norms[r] = Math.sqrt(sq);
  }
  return norms;
}

/**
 * Per-layer clipping; flat clipping is the one-layer case. Returns clipped rows, norms and count.
 * The layers are not checked (sizes must sum to the row length, one bound per layer).
 *
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array or rows is not an integer >= 1; E_SHAPE when x.length is not a multiple of rows.
 */
export function clipLayers(
  x: Float32Array,
  rows: number,
  layerSizes: number[],
  maxNorms: number[],
): {
  /** The clipped matrix (a new array). */
  clipped: Float32Array;
  /** The norm of every (row, layer) before clipping, row-major. */
  norms: Float32Array;
  /** How many (row, layer) pairs were scaled down. */
  clippedCount: number;
} {
  const cols = matrixColumns(x, rows);
  const clipped = new Float32Array(x.length);
  const norms = new Float32Array(rows * layerSizes.length);
  let clippedCount = 0;
  for (let r = 0; r < rows; r++) {
    let start = r * cols;
    for (let k = 0; k < layerSizes.length; k++) {
      const end = start + layerSizes[k]!;
      let sq = 0;
      for (let j = start; j < end; j++) sq += x[j]! * x[j]!;
      const norm = Math.sqrt(sq);
      const scale = Math.min(1, maxNorms[k]! / norm);
      if (norm > maxNorms[k]!) clippedCount++;
      for (let j = start; j < end; j++) clipped[j] = x[j]! * scale;
      norms[r * layerSizes.length + k] = norm;
      start = end;
    }
  }
  return { clipped, norms, clippedCount };
}

/**
 * Reference of {@link index.clipByL2}: rows above maxNorm scaled down to it, in a new array.
 *
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array or rows is not an integer >= 1; E_SHAPE when x.length is not a multiple of rows.
 */
export function clipByL2(x: Float32Array, rows: number, maxNorm: number): Float32Array {
  return clipLayers(x, rows, [matrixColumns(x, rows)], [maxNorm]).clipped;
}

/**
 * Reference of {@link index.clipAndSum} (flat clipping, rows >= 1).
 *
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array or rows is not an integer >= 1; E_SHAPE when x.length is not a multiple of rows.
 */
export function clipAndSum(
  x: Float32Array,
  rows: number,
  maxNorm: number,
): {
  /** Sum of the clipped rows. */
  sum: Float32Array;
  /** Norm of every row before clipping. */
  norms: Float32Array;
  /** How many rows were scaled down. */
  clippedCount: number;
} {
  const cols = matrixColumns(x, rows);
  const { clipped, norms, clippedCount } = clipLayers(x, rows, [cols], [maxNorm]);
  return { sum: sum(clipped, rows), norms, clippedCount };
}

/** Reference of {@link index.clipValues}: every element clamped into [min, max], in a new array (nothing checked). */
export function clipValues(x: Float32Array, min: number, max: number): Float32Array {
  return x.map((v) => Math.min(max, Math.max(min, v)));
}

/**
 * Reference of {@link index.weightedMean}: sum_r w_r x_r / sum_r w_r, weights normalized by the largest first.
 * The weights are not checked.
 *
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array or rows is not an integer >= 1; E_SHAPE when x.length is not a multiple of rows.
 */
export function weightedMean(x: Float32Array, rows: number, weights: ArrayLike<number>): Float32Array {
  let largest = 0;
  for (let r = 0; r < rows; r++) largest = Math.max(largest, weights[r]!);
  let total = 0;
  for (let r = 0; r < rows; r++) total += weights[r]! / largest;
  return weightedSum(x, rows, Array.from({ length: rows }, (_, r) => weights[r]! / largest / total));
}

/**
 * Reference of {@link index.sum}: column sums in float64, rounded to float32 once.
 *
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array or rows is not an integer >= 1; E_SHAPE when x.length is not a multiple of rows.
 */
export function sum(x: Float32Array, rows: number): Float32Array {
  return weightedSum(x, rows, new Array<number>(rows).fill(1));
}

/**
 * Reference of {@link index.mean}: column means in float64, rounded to float32 once.
 *
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array or rows is not an integer >= 1; E_SHAPE when x.length is not a multiple of rows.
 */
export function mean(x: Float32Array, rows: number): Float32Array {
  return weightedSum(x, rows, new Array<number>(rows).fill(1 / rows));
}

function weightedSum(x: Float32Array, rows: number, weights: number[]): Float32Array {
  const cols = matrixColumns(x, rows);
  const acc = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) acc[j] += weights[r]! * x[r * cols + j]!;
  }
  return Float32Array.from(acc);
}
export { chachaBlock, uniformFromWords } from './chacha.js';
export * from './secagg.js';
export * from './discrete-gaussian.js';
export * from './secure-noise.js';
