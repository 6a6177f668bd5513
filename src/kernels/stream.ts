// Streams a rows x cols float32 matrix through a fixed staging window in wasm memory.
// Inputs are never copied whole: each chunk is copied once into a cache-sized window and processed
// while it is hot. Kernels reveal NaN/Infinity through non-finite results; only then is x scanned
// for the offending index, so valid input pays no separate validation pass.
// Short rows (cols <= the window) go in row groups: chunks of whole rows. Long rows go column block
// by column block: each block is at most a window of columns, and a chunk is one row's part of it.
// Column sums accumulate in a float32 accumulator of one block, written out when the block is done,
// so no buffer of a call grows with the row length: wasm memory stays within a few MiB.
// Every copy goes through the checked staging window of the wasm boundary (wasm/boundary.ts).
// A read-only pass (norms, sums) over an x that lies in a shared wasm memory (a large
// sharedFloat32Array, src/wasm/shared-memory.ts) reads it in place instead: its chunks are
// addresses in x, nothing is copied, and the scratch (norms, scales, weights, accumulator) takes
// a few MiB of a slot of that memory (at most 2 x 2 MiB of per-row values, 2 MiB of weights and 1 MiB
// of accumulator, within SLOT_BYTES). A pass that writes a target (writeMatrix) is in ./clip-into.ts.
import { nonFiniteError, PrivkitError } from '../errors.js';
import type { Arena } from '../wasm/arena.js';
import { currentLength, StagingWindow, WINDOW_BYTES, type Staged } from '../wasm/boundary.js';
import { withWasm } from '../wasm/runtime.js';
import { kernelsSharedWasm, kernelsWasm, type KernelsExports } from './wasm.js';

/** Float32 values per staging window. */
export const WINDOW_FLOATS = WINDOW_BYTES / 4;

/** A block of the matrix: `rows` rows from `row`, columns [col, col + cols). Always contiguous in x. */
export interface Chunk {
  row: number;
  rows: number;
  col: number;
  cols: number;
}

/** Columns [col, col + cols) of every row. */
export interface ColumnBlock {
  col: number;
  cols: number;
}

/**
 * Rows per group of short rows: whole rows filling the window, and at most window / perRow rows so
 * that per-row scratch (`perRow` values a row, e.g. one per layer) stays bounded as well.
 */
export function groupRows(cols: number, perRow = 1): number {
  return Math.max(1, Math.floor(WINDOW_FLOATS / Math.max(1, cols, perRow)));
}

/** The row groups of short rows (cols <= WINDOW_FLOATS): chunks of whole rows. */
export function* rowGroups(rows: number, cols: number, perRow = 1): Generator<Chunk> {
  const step = groupRows(cols, perRow);
  for (let row = 0; row < rows; row += step) yield { row, rows: Math.min(step, rows - row), col: 0, cols };
}

/** The column blocks of long rows: consecutive ranges of at most WINDOW_FLOATS columns. */
export function* columnBlocks(cols: number): Generator<ColumnBlock> {
  for (let col = 0; col < cols; col += WINDOW_FLOATS) yield { col, cols: Math.min(WINDOW_FLOATS, cols - col) };
}

/** The chunks of one long row: its part of each column block. */
export function* rowChunks(row: number, cols: number): Generator<Chunk> {
  for (const block of columnBlocks(cols)) yield { row, rows: 1, ...block };
}

/** Where a pass finds each chunk of x: `loadChunk` makes `ptr` the chunk's address in wasm memory. */
export interface MatrixSource {
  readonly ptr: number;
  loadChunk(chunk: Chunk): void;
}

/** x read where it lies (in the shared memory the kernels run on): a chunk's address is its place in x. */
class InPlaceMatrix implements MatrixSource {
  ptr: number;

  constructor(
    private readonly base: number,
    private readonly cols: number,
  ) {
    this.ptr = base;
  }

  loadChunk(chunk: Chunk): void {
    this.ptr = this.base + 4 * (chunk.row * this.cols + chunk.col);
  }
}

/**
 * Runs a read-only pass over x (`length` values, rows of `cols`): in place when x lies in a shared
 * wasm memory with a scratch slot free, else through a staging window of this thread's kernels
 * instance. Either way E_NOT_READY before `await ready()`.
 */
export function readMatrix<T>(x: Float32Array, length: number, cols: number, pass: (kernels: KernelsExports, arena: Arena, source: MatrixSource) => T): T {
  if (kernelsWasm.loaded && currentLength(x) >= length) {
    const inPlace = kernelsSharedWasm.runInPlace(x, (kernels, arena, ptr) => pass(kernels, arena, new InPlaceMatrix(ptr, cols)));
    if (inPlace !== undefined) return inPlace.value;
  }
  return withWasm(kernelsWasm, (kernels, arena) => pass(kernels, arena, new MatrixWindow(arena, { array: x, name: 'x' }, length, cols)));
}

/** The staging window of a matrix stream: chunks are blocks of x, a matrix of `cols` columns. */
export class MatrixWindow extends StagingWindow implements MatrixSource {
  constructor(
    arena: Arena,
    private readonly x: Staged,
    length: number,
    private readonly cols: number,
  ) {
    super(arena, 4, length, false);
  }

  /** Copies `chunk` of x into the window. */
  loadChunk(chunk: Chunk): void {
    this.load(this.x, chunk.row * this.cols + chunk.col, chunk.rows * chunk.cols);
  }

  /** Copies the window's first `chunk` values out to the same place in `out` (a matrix shaped as x). */
  storeChunk(chunk: Chunk, out: Staged): void {
    this.store(out, chunk.row * this.cols + chunk.col, chunk.rows * chunk.cols);
  }
}

/**
 * Column sums of a call: a float32 accumulator in wasm for one column block at a time (the whole
 * row for short rows), written into `sum` when the block ends.
 */
export class Accumulator {
  readonly ptr: number;
  readonly sum: Float32Array;

  constructor(
    private readonly arena: Arena,
    cols: number,
  ) {
    this.ptr = arena.allocF32(Math.min(cols, WINDOW_FLOATS));
    this.sum = new Float32Array(cols);
  }

  /** Starts a block: its sums at zero. */
  begin(block: ColumnBlock): void {
    this.arena.f32(this.ptr, block.cols).fill(0);
  }

  /** Ends a block: rejects a non-finite sum (as nonFiniteResultError over x's `length` values), else copies it out. */
  end(kernels: KernelsExports, block: ColumnBlock, x: Float32Array, length: number): void {
    if (kernels.firstNonFinite(this.ptr, block.cols) >= 0) throw nonFiniteResultError(x, 0, length);
    this.sum.set(this.arena.f32(this.ptr, block.cols), block.col);
  }
}

/**
 * The error for a non-finite result computed from x[start, end): E_NONFINITE at the first NaN or
 * Infinity of that range if there is one, else E_OVERFLOW (finite inputs, result beyond float32).
 */
export function nonFiniteResultError(x: Float32Array, start: number, end: number): PrivkitError {
  for (let i = start; i < end; i++) if (!Number.isFinite(x[i])) return nonFiniteError('x', i, x[i]!);
  return new PrivkitError('E_OVERFLOW', 'the result overflows float32', { argument: 'x' });
}
