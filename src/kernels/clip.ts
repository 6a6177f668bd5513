// Per-sample gradient clipping: L2 norms, flat and per-layer clipping, the fused clip-and-sum of
// DP-SGD (Abadi et al. 2016), and element-wise clamping. Every function is one pass of the shared
// row-group stream: load a chunk, take per-(row, layer) squared norms, scale or accumulate.
import { PrivkitError } from '../errors.js';
import { assertFloat32Array, assertInteger, assertNumber, batchColumns, describe, matrixColumns } from '../validate.js';
import { withWasm } from '../wasm/runtime.js';
import { groupRows, nonFiniteResultError, readAccumulator, rowGroups, Window } from './stream.js';

export interface Layer {
  start: number;
  end: number;
  maxNorm: number;
}

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
  /** Write the result into x instead of a new array. */
  inPlace?: boolean;
  /** Write the result into this array (length x.length) instead of a new array. */
  out?: Float32Array;
}

export interface LayerOptions {
  /** Split each row into consecutive layers of these sizes (summing to the row length), clipped separately. */
  layerSizes?: ArrayLike<number>;
}

export interface ClipAndSumOptions extends LayerOptions {
  /** The row length; required for an empty batch (rows = 0, whose sum is all zeros), checked otherwise. */
  columns?: number;
}

/** L2 norm of each row of x (rows x cols, row-major), accumulated in float64. */
export function l2Norms(x: Float32Array, rows: number): Float32Array {
  const cols = matrixColumns(x, rows);
  return float32Norms(clipRows(x, rows, cols, [{ start: 0, end: cols, maxNorm: Infinity }], { normsOnly: true }).norms);
}

/** Scales every row whose L2 norm exceeds maxNorm down to maxNorm (flat per-sample clipping). */
export function clipByL2(x: Float32Array, rows: number, maxNorm: number, opts: ClipOptions = {}): Float32Array {
  const cols = matrixColumns(x, rows);
  return clipInto(x, rows, cols, clipLayers(cols, maxNorm), opts);
}

/**
 * Per-layer clipping (as Opacus' per-layer mode): each row is split into consecutive layers of
 * `layerSizes`, and layer k of every row is clipped to `maxNorms[k]` (or one bound for all layers).
 */
export function clipPerLayer(
  x: Float32Array,
  rows: number,
  layerSizes: ArrayLike<number>,
  maxNorms: number | ArrayLike<number>,
  opts: ClipOptions = {},
): Float32Array {
  const cols = matrixColumns(x, rows);
  return clipInto(x, rows, cols, layerPlan(cols, layerSizes, maxNorms, 'maxNorms'), opts);
}

/**
 * The fused DP-SGD step: per-row norm, scale min(1, maxNorm / norm), and the sum of the clipped rows,
 * in one streaming pass over x. With `layerSizes`, maxNorm may be one bound per layer.
 */
export function clipAndSum(
  x: Float32Array,
  rows: number,
  maxNorm: number | ArrayLike<number>,
  opts: ClipAndSumOptions = {},
): ClipAndSumResult {
  const cols = batchColumns(x, rows, opts.columns);
  const layers = clipLayers(cols, maxNorm, opts.layerSizes);
  if (rows === 0) return { sum: new Float32Array(cols), norms: new Float32Array(0), clippedCount: 0 };
  return withWasm((kernels, arena) => {
    const acc = arena.allocF32(cols);
    arena.f32(acc, cols).fill(0);
    const { norms, clippedCount } = clipRows(x, rows, cols, layers, { acc });
    return { sum: readAccumulator(kernels, arena, acc, cols, x), norms: float32Norms(norms), clippedCount };
  });
}

/** Clamps every element of x into [min, max]. */
export function clipValues(x: Float32Array, min: number, max: number, opts: ClipOptions = {}): Float32Array {
  assertFloat32Array('x', x);
  assertClampBounds(min, max);
  const out = outputFor(x, opts);
  withWasm((kernels, arena) => {
    const window = new Window(arena, x, x.length);
    for (const group of rowGroups(1, x.length)) {
      for (const chunk of group.chunks) {
        window.load(chunk);
        if (kernels.clampValues(window.ptr, chunk.cols, min, max) !== 0) {
          throw nonFiniteResultError(x, chunk.col, chunk.col + chunk.cols);
        }
        window.store(chunk, out);
      }
    }
  });
  return out;
}

function clipInto(x: Float32Array, rows: number, cols: number, layers: Layer[], opts: ClipOptions): Float32Array {
  const out = outputFor(x, opts);
  clipRows(x, rows, cols, layers, { out });
  return out;
}

type Sink = { out: Float32Array } | { acc: number } | { normsOnly: true };

/**
 * The shared clipping pass. For each row group: squared norms per (row, layer) over the group's
 * chunks, then the scales min(1, C_k / norm), then either scaled rows written to `out`, or the
 * scaled rows added into the float32 accumulator at `acc` (an address in the caller's arena scope),
 * or nothing (`normsOnly`).
 */
function clipRows(
  x: Float32Array,
  rows: number,
  cols: number,
  layers: Layer[],
  sink: Sink,
): { norms: Float64Array; clippedCount: number } {
  return withWasm((kernels, arena) => {
    const nLayers = layers.length;
    const maxGroup = Math.min(rows, groupRows(cols)) * nLayers;
    const window = new Window(arena, x, cols);
    const sq = arena.alloc(maxGroup * 8);
    const scales = arena.alloc(maxGroup * 8);
    const norms = new Float64Array(rows * nLayers);
    let clippedCount = 0;

    const forEachPiece = (chunk: { col: number; cols: number }, visit: (k: number, offset: number, len: number) => void) => {
      for (let k = 0; k < nLayers; k++) {
        const start = Math.max(layers[k]!.start, chunk.col);
        const end = Math.min(layers[k]!.end, chunk.col + chunk.cols);
        if (end > start) visit(k, start - chunk.col, end - start);
      }
    };

    for (const group of rowGroups(rows, cols)) {
      const n = group.rows * nLayers;
      arena.f64(sq, n).fill(0);
      for (const chunk of group.chunks) {
        window.load(chunk);
        forEachPiece(chunk, (k, offset, len) =>
          kernels.sumSquaresRows(window.ptr + 4 * offset, chunk.rows, len, chunk.cols, sq + 8 * k, nLayers),
        );
      }
      const sqView = arena.f64(sq, n);
      const scaleView = arena.f64(scales, n);
      for (let i = 0; i < n; i++) {
        const norm = Math.sqrt(sqView[i]!);
        const row = group.row + Math.floor(i / nLayers);
        if (!Number.isFinite(norm)) throw nonFiniteResultError(x, row * cols, (row + 1) * cols);
        norms[group.row * nLayers + i] = norm;
        const bound = layers[i % nLayers]!.maxNorm;
        if (norm > bound) {
          scaleView[i] = bound / norm;
          clippedCount++;
        } else {
          scaleView[i] = 1;
        }
      }
      if ('normsOnly' in sink) continue;
      for (const chunk of group.chunks) {
        if (group.chunks.length > 1) window.load(chunk);
        forEachPiece(chunk, (k, offset, len) => {
          const rowsPtr = window.ptr + 4 * offset;
          if ('out' in sink) kernels.scaleRows(rowsPtr, chunk.rows, len, chunk.cols, scales + 8 * k, nLayers);
          else kernels.accumulateRows(rowsPtr, chunk.rows, len, chunk.cols, scales + 8 * k, nLayers, sink.acc + 4 * (chunk.col + offset));
        });
        if ('out' in sink) window.store(chunk, sink.out);
      }
    }
    return { norms, clippedCount };
  });
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

/**
 * Clamp bounds: finite, min <= max, and not forcing values out of the float32 range (a min above
 * the largest float32 would turn every value into Infinity; a min below -max float32 clamps nothing).
 */
export function assertClampBounds(min: number, max: number): void {
  assertNumber('min', min);
  assertNumber('max', max);
  if (min > max) throw new PrivkitError('E_ARG', `min (${min}) must be <= max (${max})`, { argument: 'min' });
  if (min > FLOAT32_MAX) throw new PrivkitError('E_ARG', `min (${min}) exceeds the float32 range`, { argument: 'min' });
  if (max < -FLOAT32_MAX) throw new PrivkitError('E_ARG', `max (${max}) is below the float32 range`, { argument: 'max' });
}

const FLOAT32_MAX = 3.4028234663852886e38;

/** Where a result goes when the caller chose: `opts.out` (checked) or x itself for `inPlace`. */
export function resultTarget(x: Float32Array, opts: ClipOptions): Float32Array | undefined {
  if (opts.out !== undefined) {
    assertFloat32Array('opts.out', opts.out);
    if (opts.out.length !== x.length) {
      throw new PrivkitError('E_SHAPE', `opts.out.length (${opts.out.length}) must equal x.length (${x.length})`, {
        argument: 'opts.out',
      });
    }
    return opts.out;
  }
  return opts.inPlace === true ? x : undefined;
}

function outputFor(x: Float32Array, opts: ClipOptions): Float32Array {
  return resultTarget(x, opts) ?? new Float32Array(x.length);
}

/** The layers of a clipping call: one spanning the whole row, or the given layer sizes with their bounds. */
export function clipLayers(cols: number, maxNorm: number | ArrayLike<number>, layerSizes?: ArrayLike<number>): Layer[] {
  if (layerSizes !== undefined) return layerPlan(cols, layerSizes, maxNorm);
  return [{ start: 0, end: cols, maxNorm: assertNumber('maxNorm', maxNorm, 'positive') }];
}

/** Validates per-layer sizes and bounds and turns them into column ranges. */
export function layerPlan(
  cols: number,
  layerSizes: ArrayLike<number>,
  maxNorms: number | ArrayLike<number>,
  boundsName = 'maxNorm',
): Layer[] {
  if (layerSizes === null || typeof layerSizes !== 'object' || typeof layerSizes.length !== 'number' || layerSizes.length === 0) {
    throw new PrivkitError('E_ARG', 'layerSizes must be a non-empty array of sizes', { argument: 'layerSizes' });
  }
  const bounds = typeof maxNorms === 'number' ? undefined : maxNorms;
  if (bounds !== undefined && (bounds === null || typeof bounds !== 'object' || typeof bounds.length !== 'number')) {
    throw new PrivkitError('E_ARG', `${boundsName} must be a number or an array of numbers, got ${describe(bounds)}`, {
      argument: boundsName,
    });
  }
  if (bounds !== undefined && bounds.length !== layerSizes.length) {
    throw new PrivkitError('E_SHAPE', `${boundsName} has ${bounds.length} bounds for ${layerSizes.length} layers`, {
      argument: boundsName,
    });
  }
  const layers: Layer[] = [];
  let start = 0;
  for (let k = 0; k < layerSizes.length; k++) {
    const size = assertInteger(`layerSizes[${k}]`, layerSizes[k]);
    const maxNorm = assertNumber(bounds === undefined ? boundsName : `${boundsName}[${k}]`, bounds === undefined ? maxNorms : bounds[k], 'positive');
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
