// Plain-TypeScript reference implementations of every kernel: readable, float64 arithmetic,
// results rounded to float32 once. They are the oracle of the property tests and the JS baseline
// of the benchmarks; they check shapes but not finiteness.
import { PrivkitError } from '../errors.js';
import { assertFloat32Array, assertNumber, matrixColumns } from '../validate.js';
import { readNumbers } from '../validate-arrays.js';

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
  checkLayers(cols, layerSizes, maxNorms);
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

/** layerSizes (integers >= 0 summing to the row length) and one bound > 0 per layer. */
function checkLayers(cols: number, layerSizes: unknown, maxNorms: unknown): void {
  const sizes = readNumbers('layerSizes', layerSizes, { integer: true, min: 0 });
  const bounds = readNumbers('maxNorms', maxNorms, { above: 0 });
  if (bounds.length !== sizes.length) {
    throw new PrivkitError('E_SHAPE', `maxNorms has ${bounds.length} bounds for ${sizes.length} layers`, { argument: 'maxNorms' });
  }
  if (sizes.reduce((a, b) => a + b, 0) !== cols) throw new PrivkitError('E_SHAPE', `layerSizes must sum to the row length ${cols}`, { argument: 'layerSizes' });
}

/**
 * Reference of {@link index.clipByL2}: rows above maxNorm scaled down to it, in a new array.
 *
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array or rows is not an integer >= 1; E_SHAPE when x.length is not a multiple of rows.
 */
export function clipByL2(x: Float32Array, rows: number, maxNorm: number): Float32Array {
  return clipLayers(x, rows, [matrixColumns(x, rows)], [assertNumber('maxNorm', maxNorm, 'positive')]).clipped;
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
  const { clipped, norms, clippedCount } = clipLayers(x, rows, [cols], [assertNumber('maxNorm', maxNorm, 'positive')]);
  return { sum: sum(clipped, rows), norms, clippedCount };
}

/** Reference of {@link index.clipValues}: every element clamped into [min, max], in a new array (nothing checked). */
export function clipValues(x: Float32Array, min: number, max: number): Float32Array {
  assertFloat32Array('x', x);
  if (assertNumber('min', min) > assertNumber('max', max)) throw new PrivkitError('E_ARG', `min (${min}) must be <= max (${max})`, { argument: 'min' });
  return x.map((v) => Math.min(max, Math.max(min, v)));
}

/**
 * Reference of {@link index.weightedMean}: sum_r w_r x_r / sum_r w_r, weights normalized by the largest first.
 * The weights are not checked.
 *
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array or rows is not an integer >= 1; E_SHAPE when x.length is not a multiple of rows.
 */
export function weightedMean(x: Float32Array, rows: number, weights: ArrayLike<number>): Float32Array {
  matrixColumns(x, rows);
  const w = readNumbers('weights', weights, { min: 0 });
  if (w.length !== rows) throw new PrivkitError('E_SHAPE', `weights.length (${w.length}) must equal rows (${rows})`, { argument: 'weights' });
  if (!w.some((v) => v > 0)) throw new PrivkitError('E_ARG', 'weights sum to 0; at least one weight must be positive', { argument: 'weights' });
  let largest = 0;
  for (let r = 0; r < rows; r++) largest = Math.max(largest, w[r]!);
  let total = 0;
  for (let r = 0; r < rows; r++) total += w[r]! / largest;
  return weightedSum(x, rows, Array.from({ length: rows }, (_, r) => w[r]! / largest / total));
}

/**
 * Reference of {@link index.sum}: column sums in float64, rounded to float32 once.
 *
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array or rows is not an integer >= 1; E_SHAPE when x.length is not a multiple of rows.
 */
export function sum(x: Float32Array, rows: number): Float32Array {
  matrixColumns(x, rows);
  return weightedSum(x, rows, new Array<number>(rows).fill(1));
}

/**
 * Reference of {@link index.mean}: column means in float64, rounded to float32 once.
 *
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array or rows is not an integer >= 1; E_SHAPE when x.length is not a multiple of rows.
 */
export function mean(x: Float32Array, rows: number): Float32Array {
  matrixColumns(x, rows);
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
export { sha256, hmacSha256, hmacSha256KeyStates } from './hmac.js';
