// Per-sample gradient clipping: L2 norms, the fused clip-and-sum of DP-SGD (Abadi et al. 2016), and
// the shared clipping pass that flat and per-layer clipping (./clip-into.ts, with element-wise
// clamping) run as well. Every function is one pass of the shared row-group stream: load a chunk,
// take per-(row, layer) squared norms, scale or accumulate.
import { PrivkitError } from '../errors.js';
import { assertInteger, assertNumber, batchColumns, describe, matrixColumns, readOptions } from '../validate.js';
import type { Arena } from '../wasm/arena.js';
import type { KernelsExports } from './wasm.js';
import {
  Accumulator,
  columnBlocks,
  groupRows,
  nonFiniteResultError,
  rowChunks,
  readMatrix,
  rowGroups,
  MatrixWindow,
  WINDOW_FLOATS,
  type Chunk,
  type ColumnBlock,
  type MatrixSource,
} from './stream.js';

export interface Layer {
  start: number;
  end: number;
  maxNorm: number;
}

/** The result of {@link clipAndSum}. */
export interface ClipAndSumResult {
  /** Sum over rows of the clipped rows (length = row length). */
  sum: Float32Array;
  /** L2 norm of every row before clipping; with layers, rows x layers (row-major). */
  norms: Float32Array;
  /** How many rows (with layers: how many (row, layer) pairs) were scaled down. */
  clippedCount: number;
}

/**
 * Where a clipping result goes. A call that throws (e.g. E_NONFINITE found in a later chunk) may
 * already have written the chunks before the error into the target.
 */
export interface ClipOptions {
  /** Write the result into x instead of a new array (default false; ignored when `out` is given). */
  inPlace?: boolean;
  /** Write the result into this array (length x.length) instead of a new array. */
  out?: Float32Array;
}

/** Per-layer clipping for {@link clipAndSum}. */
export interface LayerOptions {
  /** Split each row into consecutive layers of these sizes (summing to the row length), clipped separately. */
  layerSizes?: ArrayLike<number>;
}

/** Options of {@link clipAndSum}. */
export interface ClipAndSumOptions extends LayerOptions {
  /** The row length; required for an empty batch (rows = 0, whose sum is all zeros), checked otherwise. */
  columns?: number;
}

/** Most layers a per-layer clipping call takes (2^20). */
export const MAX_LAYERS = 2 ** 20;

/**
 * L2 norm of each row of x (rows x cols, row-major), accumulated in float64.
 *
 * @param x - the matrix, row-major; its length must be a multiple of `rows`.
 * @param rows - the number of rows (>= 1).
 * @returns one norm per row.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array or rows is not an integer >= 1.
 * @throws {PrivkitError} E_SHAPE when x.length is not a multiple of rows.
 * @throws {PrivkitError} E_NONFINITE when x holds NaN or +-Infinity; E_OVERFLOW when a norm exceeds the float32 range.
 */
export function l2Norms(x: Float32Array, rows: number): Float32Array {
  const cols = matrixColumns(x, rows);
  return float32Norms(clipRows(x, rows, cols, [{ start: 0, end: cols, maxNorm: Infinity }], { normsOnly: true }).norms);
}

/**
 * The fused DP-SGD step: per-row norm, scale min(1, maxNorm / norm), and the sum of the clipped rows,
 * in one streaming pass over x. With `layerSizes`, maxNorm may be one bound per layer. x is not
 * modified. An empty batch (rows = 0, x empty, `opts.columns` given) sums to zeros.
 *
 * @param x - the per-sample gradients (rows x cols, row-major).
 * @param rows - the number of rows (samples), >= 0.
 * @param maxNorm - the clipping bound C (> 0), or with `opts.layerSizes` one bound per layer.
 * @param opts - the row length of an empty batch and the layers.
 * @returns the sum of the clipped rows, the norms before clipping and how many rows were clipped.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array, rows is not a non-negative integer (or 0 with a non-empty x or no opts.columns), or a bound is not finite and > 0.
 * @throws {PrivkitError} E_SHAPE when x.length is not a multiple of rows, opts.columns disagrees with it, or the layers do not fit the row length.
 * @throws {PrivkitError} E_NONFINITE when x holds NaN or +-Infinity; E_OVERFLOW when a norm or the sum exceeds the float32 range.
 *
 * @example
 * ```ts
 * import { ready, clipAndSum } from 'privkit';
 * await ready();
 * const grads = new Float32Array([3, 4, 0.3, 0.4]); // 2 samples x 2 parameters
 * const { sum, norms, clippedCount } = clipAndSum(grads, 2, 1);
 * // norms = [5, 0.5]; the first row is scaled to norm 1: sum = [0.6 + 0.3, 0.8 + 0.4]; clippedCount = 1
 * ```
 */
export function clipAndSum(
  x: Float32Array,
  rows: number,
  maxNorm: number | ArrayLike<number>,
  opts: ClipAndSumOptions = {},
): ClipAndSumResult {
  const { columns, layerSizes } = readOptions(opts, ['columns', 'layerSizes']);
  const layerArguments = layerSizes === undefined ? undefined : readLayerArguments(layerSizes, maxNorm, 'maxNorm');
  const cols = batchColumns(x, rows, columns);
  const layers = layerArguments === undefined ? clipLayers(cols, maxNorm) : layerPlan(cols, layerArguments.sizes, layerArguments.bounds);
  if (rows === 0) return { sum: new Float32Array(cols), norms: new Float32Array(0), clippedCount: 0 };
  const { norms, clippedCount, sum } = clipRows(x, rows, cols, layers, { sum: true });
  return { sum: sum!, norms: float32Norms(norms), clippedCount };
}

/** Where clipped rows go: scaled into `out`, summed (column sums returned as `sum`), or nowhere (`normsOnly`). */
type Sink = { out: Float32Array; name: string } | { sum: true } | { normsOnly: true };

/**
 * How a pass reaches the chunks of x: readMatrix for the read-only passes (the default), writeMatrix
 * (./clip-into.ts) for a pass into a target, which clipInto chooses there.
 */
type MatrixStream = <T>(pass: (kernels: KernelsExports, arena: Arena, source: MatrixSource) => T) => T;

/**
 * The shared clipping pass. Squared norms per (row, layer), the scales min(1, C_k / norm), then
 * either the scaled rows written to `out`, or their column sums, or nothing (`normsOnly`). Short
 * rows go group by group, each group's chunk loaded once for its norms and its scaling; long rows
 * take two passes, the norms row by row, then the scaling column block by column block (so the
 * column sums need one block of accumulator only). Both orders add the rows into each column sum
 * in row order: the results are the same.
 */
export function clipRows(
  x: Float32Array,
  rows: number,
  cols: number,
  layers: Layer[],
  sink: Sink,
  stream: MatrixStream = (pass) => readMatrix(x, rows * cols, cols, pass),
): { norms: Float64Array; clippedCount: number; sum?: Float32Array } {
  const nLayers = layers.length;
  const length = rows * cols;
  const norms = new Float64Array(rows * nLayers);
  let clippedCount = 0;
  /** The scale of a (row, layer k) pair of L2 norm `norm`: min(1, C_k / norm). */
  const scaleOf = (norm: number, k: number) => (norm > layers[k]!.maxNorm ? layers[k]!.maxNorm / norm : 1);
  /** Records the norms of rows [row, row + n) from their squared norms `sq` and writes their scales into `scales`. */
  const recordNorms = (sq: Float64Array, scales: Float64Array, row: number, n: number) => {
    for (let i = 0; i < n * nLayers; i++) {
      const norm = Math.sqrt(sq[i]!);
      const r = row + Math.floor(i / nLayers);
      if (!Number.isFinite(norm)) throw nonFiniteResultError(x, r * cols, (r + 1) * cols);
      norms[row * nLayers + i] = norm;
      scales[i] = scaleOf(norm, i % nLayers);
      if (norm > layers[i % nLayers]!.maxNorm) clippedCount++;
    }
  };
  /** Visits the part of each layer within columns [col, col + count): layer k, offset from col, length. */
  const pieces = (col: number, count: number, visit: (k: number, offset: number, len: number) => void) => {
    for (let k = 0; k < nLayers; k++) {
      const start = Math.max(layers[k]!.start, col);
      const end = Math.min(layers[k]!.end, col + count);
      if (end > start) visit(k, start - col, end - start);
    }
  };
  const pass = (kernels: KernelsExports, arena: Arena, window: MatrixSource) => {
    const long = cols > WINDOW_FLOATS;
    const group = long ? 1 : Math.min(rows, groupRows(cols, nLayers));
    const sq = arena.alloc(group * nLayers * 8);
    const scales = arena.alloc(group * nLayers * 8);
    const acc = 'sum' in sink ? new Accumulator(arena, cols) : undefined;
    // views made once, after the last allocation (nothing grows the memory during the pass)
    const sqView = arena.f64(sq, group * nLayers);
    const scaleView = arena.f64(scales, group * nLayers);
    /** Scales (into `out`) or sums (into the accumulator of `block`) the loaded chunk with the scales at `scales`. */
    const apply = (chunk: Chunk, block: ColumnBlock) => {
      pieces(chunk.col, chunk.cols, (k, offset, len) => {
        const rowsPtr = window.ptr + 4 * offset;
        if (acc === undefined) kernels.scaleRows(rowsPtr, chunk.rows, len, chunk.cols, scales + 8 * k, nLayers);
        else kernels.accumulateRows(rowsPtr, chunk.rows, len, chunk.cols, scales + 8 * k, nLayers, acc.ptr + 4 * (chunk.col - block.col + offset));
      });
      if ('out' in sink && window instanceof MatrixWindow) window.storeChunk(chunk, { array: sink.out, name: sink.name });
    };

    if (!long) {
      const block = { col: 0, cols };
      acc?.begin(block);
      for (const chunk of rowGroups(rows, cols, nLayers)) {
        window.loadChunk(chunk);
        sqView.fill(0, 0, chunk.rows * nLayers);
        pieces(0, cols, (k, offset, len) => kernels.sumSquaresRows(window.ptr + 4 * offset, chunk.rows, len, cols, sq + 8 * k, nLayers));
        recordNorms(sqView, scaleView, chunk.row, chunk.rows);
        if (!('normsOnly' in sink)) apply(chunk, block);
      }
      acc?.end(kernels, block, x, length);
      return { norms, clippedCount, sum: acc?.sum };
    }

    for (let row = 0; row < rows; row++) {
      sqView.fill(0);
      for (const chunk of rowChunks(row, cols)) {
        window.loadChunk(chunk);
        pieces(chunk.col, chunk.cols, (k, offset, len) => kernels.sumSquaresRows(window.ptr + 4 * offset, 1, len, cols, sq + 8 * k, nLayers));
      }
      recordNorms(sqView, scaleView, row, 1);
    }
    if ('normsOnly' in sink) return { norms, clippedCount };
    for (const block of columnBlocks(cols)) {
      acc?.begin(block);
      for (let row = 0; row < rows; row++) {
        const chunk = { row, rows: 1, ...block };
        window.loadChunk(chunk);
        pieces(block.col, block.cols, (k) => (scaleView[k] = scaleOf(norms[row * nLayers + k]!, k)));
        apply(chunk, block);
      }
      acc?.end(kernels, block, x, length);
    }
    return { norms, clippedCount, sum: acc?.sum };
  };
  return stream(pass);
}

/** Norms as returned to callers: float32, with E_OVERFLOW for a (finite) norm beyond the float32 range. */
function float32Norms(norms: Float64Array): Float32Array {
  const out = Float32Array.from(norms);
  const index = out.indexOf(Infinity);
  if (index >= 0) {
    throw new PrivkitError('E_OVERFLOW', `the L2 norm norms[${index}] (${norms[index]}) overflows float32`, { argument: 'x' });
  }
  return out;
}

/** The layers of a clipping call: one spanning the whole row, or the given layer sizes with their bounds. */
export function clipLayers(cols: number, maxNorm: number | ArrayLike<number>, layerSizes?: ArrayLike<number>): Layer[] {
  if (layerSizes !== undefined) return layerPlan(cols, layerSizes, maxNorm);
  return [{ start: 0, end: cols, maxNorm: assertNumber('maxNorm', maxNorm, 'positive') }];
}

/**
 * Layer sizes and bounds as read from the caller, each element once (calls read them before they
 * check x, see readOptions): plain arrays, `bounds` one number or one per layer.
 */
export function readLayerArguments(layerSizes: unknown, maxNorms: unknown, boundsName = 'maxNorm'): { sizes: unknown[]; bounds: number | unknown[] } {
  const sizes = readSizes(layerSizes);
  if (typeof maxNorms === 'number') return { sizes, bounds: maxNorms };
  const length = maxNorms === null || typeof maxNorms !== 'object' ? undefined : (maxNorms as ArrayLike<unknown>).length;
  if (typeof length !== 'number') {
    throw new PrivkitError('E_ARG', `${boundsName} must be a number or an array of numbers, got ${describe(maxNorms)}`, {
      argument: boundsName,
    });
  }
  if (length !== sizes.length) {
    throw new PrivkitError('E_SHAPE', `${boundsName} has ${length} bounds for ${sizes.length} layers`, { argument: boundsName });
  }
  return { sizes, bounds: Array.from({ length }, (_, k) => (maxNorms as ArrayLike<unknown>)[k]) };
}

function readSizes(layerSizes: unknown): unknown[] {
  const length = layerSizes === null || typeof layerSizes !== 'object' ? undefined : (layerSizes as ArrayLike<unknown>).length;
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length === 0) {
    throw new PrivkitError('E_ARG', 'layerSizes must be a non-empty array of sizes', { argument: 'layerSizes' });
  }
  if (length > MAX_LAYERS) {
    throw new PrivkitError('E_ARG', `layerSizes has ${length} layers; at most 2^20 are supported`, { argument: 'layerSizes' });
  }
  return Array.from({ length }, (_, k) => (layerSizes as ArrayLike<unknown>)[k]);
}

/** Validates per-layer sizes and bounds (read once, see readLayerArguments) and turns them into column ranges. */
export function layerPlan(cols: number, layerSizes: unknown, maxNorms: unknown, boundsName = 'maxNorm'): Layer[] {
  const { sizes, bounds } = readLayerArguments(layerSizes, maxNorms, boundsName);
  const layers: Layer[] = [];
  let start = 0;
  for (let k = 0; k < sizes.length; k++) {
    const size = assertInteger(`layerSizes[${k}]`, sizes[k]);
    const maxNorm =
      typeof bounds === 'number' ? assertNumber(boundsName, bounds, 'positive') : assertNumber(`${boundsName}[${k}]`, bounds[k], 'positive');
    layers.push({ start, end: start + size, maxNorm });
    start += size;
  }
  if (start !== cols) {
    throw new PrivkitError('E_SHAPE', `layerSizes sum to ${start} but each row has ${cols} values`, {
      argument: 'layerSizes',
    });
  }
  return layers;
}
