// The clipping functions that write a matrix: flat and per-layer clipping (the shared clipping
// pass of ./clip.ts with its rows scaled into a target) and element-wise clamping, each into a new
// array, `opts.out` or x itself, and the stream that writes a target lying in a shared wasm memory
// where it lies. Apart from ./clip.ts so that the read-only passes (norms, clipAndSum) do not carry
// the writing path: a pool worker running clipAndSum loads ./clip.ts only (see ./pool-run.ts).
import { PrivkitError } from '../errors.js';
import { assertFloat32Array, assertNumber, matrixColumns, optionalBoolean, readOptions } from '../validate.js';
import type { Arena } from '../wasm/arena.js';
import { checkTypedArray, copyIn, currentLength, overlapsElsewhere, region, StagingWindow } from '../wasm/boundary.js';
import { withWasm } from '../wasm/runtime.js';
import { clipLayers, clipRows, layerPlan, readLayerArguments, type ClipOptions, type Layer } from './clip.js';
import { MatrixWindow, nonFiniteResultError, type Chunk, type MatrixSource } from './stream.js';
import { kernelsSharedWasm, kernelsWasm, type KernelsExports } from './wasm.js';

/**
 * Scales every row whose L2 norm exceeds maxNorm down to maxNorm (flat per-sample clipping); rows
 * within the bound are copied unchanged.
 *
 * @param x - the matrix (rows x cols, row-major).
 * @param rows - the number of rows (>= 1).
 * @param maxNorm - the clipping bound C (> 0).
 * @param opts - where the result goes (a new array by default).
 * @returns the clipped matrix: a new array, `opts.out`, or x itself with `opts.inPlace`.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array, rows is not an integer >= 1, or maxNorm is not finite and > 0.
 * @throws {PrivkitError} E_SHAPE when x.length is not a multiple of rows or opts.out.length differs from x.length.
 * @throws {PrivkitError} E_NONFINITE when x holds NaN or +-Infinity (`index` is the first one); E_OVERFLOW when a norm exceeds the float32 range.
 */
export function clipByL2(x: Float32Array, rows: number, maxNorm: number, opts: ClipOptions = {}): Float32Array {
  const options = readOptions(opts, ['inPlace', 'out']);
  const cols = matrixColumns(x, rows);
  return clipInto(x, rows, cols, clipLayers(cols, maxNorm), options);
}

/**
 * Per-layer clipping (as Opacus' per-layer mode): each row is split into consecutive layers of
 * `layerSizes`, and layer k of every row is clipped to `maxNorms[k]` (or one bound for all layers).
 *
 * @param x - the matrix (rows x cols, row-major).
 * @param rows - the number of rows (>= 1).
 * @param layerSizes - the layer lengths (at most {@link MAX_LAYERS}), summing to the row length.
 * @param maxNorms - one bound (> 0) for every layer, or one bound per layer.
 * @param opts - where the result goes (a new array by default).
 * @returns the clipped matrix: a new array, `opts.out`, or x itself with `opts.inPlace`.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array, rows or a layer size is not an integer, layerSizes is empty or too long, or a bound is not finite and > 0.
 * @throws {PrivkitError} E_SHAPE when x.length is not a multiple of rows, layerSizes do not sum to the row length, maxNorms has a different length than layerSizes, or opts.out.length differs from x.length.
 * @throws {PrivkitError} E_NONFINITE when x holds NaN or +-Infinity; E_OVERFLOW when a norm exceeds the float32 range.
 */
export function clipPerLayer(
  x: Float32Array,
  rows: number,
  layerSizes: ArrayLike<number>,
  maxNorms: number | ArrayLike<number>,
  opts: ClipOptions = {},
): Float32Array {
  const options = readOptions(opts, ['inPlace', 'out']);
  const layerArguments = readLayerArguments(layerSizes, maxNorms, 'maxNorms');
  const cols = matrixColumns(x, rows);
  return clipInto(x, rows, cols, layerPlan(cols, layerArguments.sizes, layerArguments.bounds, 'maxNorms'), options);
}

/**
 * Clamps every element of x into [min, max].
 *
 * @param x - the values.
 * @param min - the lower bound (finite, <= max, not above the float32 range).
 * @param max - the upper bound (finite, not below the float32 range).
 * @param opts - where the result goes (a new array by default).
 * @returns the clamped values: a new array, `opts.out`, or x itself with `opts.inPlace`.
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 * @throws {PrivkitError} E_ARG when x is not an attached Float32Array, a bound is not finite, min > max, or a bound lies outside the float32 range.
 * @throws {PrivkitError} E_SHAPE when opts.out.length differs from x.length.
 * @throws {PrivkitError} E_NONFINITE when x holds NaN or +-Infinity.
 */
export function clipValues(x: Float32Array, min: number, max: number, opts: ClipOptions = {}): Float32Array {
  const options = readOptions(opts, ['inPlace', 'out']);
  assertFloat32Array('x', x);
  assertClampBounds(min, max);
  const length = currentLength(x);
  const out = outputFor(x, length, options);
  withWasm(kernelsWasm, (kernels, arena) => {
    const io = { input: { array: x, name: 'x' }, output: { array: out, name: out === x ? 'x' : 'opts.out' } };
    new StagingWindow(arena, 4, length, false).stream(length, io, (ptr, count, start) => {
      if (kernels.clampValues(ptr, count, min, max) !== 0) throw nonFiniteResultError(x, start, start + count);
    });
  });
  return out;
}

function clipInto(x: Float32Array, rows: number, cols: number, layers: Layer[], opts: ClipOptions): Float32Array {
  const out = outputFor(x, rows * cols, opts);
  clipRows(x, rows, cols, layers, { out, name: out === x ? 'x' : 'opts.out' }, (pass) => writeMatrix(x, out, rows * cols, cols, pass));
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

/**
 * Where a result of `length` values goes when the caller chose: `out` (checked) or x itself for
 * `inPlace`. `opts` are options already read (see readOptions).
 */
export function resultTarget(x: Float32Array, length: number, opts: ClipOptions): Float32Array | undefined {
  const { out } = opts;
  const inPlace = optionalBoolean('opts.inPlace', opts.inPlace);
  if (out !== undefined) {
    checkTypedArray('opts.out', out, ['Float32Array']);
    if (currentLength(out) !== length) {
      throw new PrivkitError('E_SHAPE', `opts.out.length (${currentLength(out)}) must equal x.length (${length})`, {
        argument: 'opts.out',
      });
    }
    if (overlapsElsewhere(out, x)) {
      throw new PrivkitError('E_ARG', 'opts.out overlaps x without starting where x starts: its writes would overwrite rows not yet read (use inPlace)', {
        argument: 'opts.out',
      });
    }
    return out;
  }
  return inPlace ? x : undefined;
}

function outputFor(x: Float32Array, length: number, opts: ClipOptions): Float32Array {
  return resultTarget(x, length, opts) ?? new Float32Array(length);
}

/**
 * The target `out` read and written where it lies (in a shared wasm memory): the first time a chunk
 * is loaded, x's values are copied to their place in out (nothing to copy when out is x), and the
 * kernels then scale them there, so nothing is staged and nothing copied back. A pass loads its
 * first chunks in the order of x (row groups, or each row's chunks in turn), so "first time" is
 * "beyond what was copied so far".
 */
class TargetMatrix implements MatrixSource {
  ptr: number;
  private copiedTo = 0;

  constructor(
    private readonly x: Float32Array,
    private readonly out: Float32Array,
    private readonly base: number,
    private readonly cols: number,
  ) {
    this.ptr = base;
  }

  loadChunk(chunk: Chunk): void {
    const start = chunk.row * this.cols + chunk.col;
    const count = chunk.rows * chunk.cols;
    if (start + count > this.copiedTo) {
      if (this.out !== this.x) copyIn(region(this.out, start, count, 'opts.out'), this.x, start, 'x');
      this.copiedTo = start + count;
    }
    this.ptr = this.base + 4 * start;
  }
}

/**
 * Runs a pass that scales x into `out` (`length` values each, rows of `cols`): where out lies when it
 * is in a shared wasm memory with a scratch slot free (see TargetMatrix), else through a staging
 * window of this thread's kernels instance, whose chunks the pass copies out (MatrixWindow.storeChunk).
 */
export function writeMatrix<T>(x: Float32Array, out: Float32Array, length: number, cols: number, pass: (kernels: KernelsExports, arena: Arena, source: MatrixSource) => T): T {
  if (kernelsWasm.loaded && currentLength(out) >= length) {
    const inPlace = kernelsSharedWasm.runInPlace(out, (kernels, arena, ptr) => pass(kernels, arena, new TargetMatrix(x, out, ptr, cols)));
    if (inPlace !== undefined) return inPlace.value;
  }
  return withWasm(kernelsWasm, (kernels, arena) => pass(kernels, arena, new MatrixWindow(arena, { array: x, name: 'x' }, length, cols)));
}
