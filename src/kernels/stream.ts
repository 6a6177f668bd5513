// Streams a rows x cols float32 matrix through a fixed staging window in wasm memory.
// Inputs are never copied whole: each chunk is copied once into a cache-sized window and processed
// while it is hot. Kernels reveal NaN/Infinity through non-finite results; only then is x scanned
// for the offending index, so valid input pays no separate validation pass. A row group is a set of complete rows; when a
// row is longer than the window it forms a group of its own, split into column chunks.
import { nonFiniteError, PrivkitError } from '../errors.js';
import type { Arena } from '../wasm/arena.js';
import type { Kernels } from '../wasm/runtime.js';

/** Float32 values per staging window: 1 MiB, well inside a core's L2 cache. */
export const WINDOW_FLOATS = 1 << 18;

/** A block of the matrix: `rows` rows from `row`, columns [col, col + cols). Always contiguous in x. */
export interface Chunk {
  row: number;
  rows: number;
  col: number;
  cols: number;
}

export interface RowGroup {
  row: number;
  rows: number;
  chunks: Chunk[];
}

/** Rows per group when rows fit the window (empty rows count as one value, bounding per-group buffers). */
export function groupRows(cols: number, windowFloats = WINDOW_FLOATS): number {
  return Math.max(1, Math.floor(windowFloats / Math.max(1, cols)));
}

export function* rowGroups(rows: number, cols: number, windowFloats = WINDOW_FLOATS): Generator<RowGroup> {
  if (cols <= windowFloats) {
    const step = groupRows(cols, windowFloats);
    for (let row = 0; row < rows; row += step) {
      const n = Math.min(step, rows - row);
      yield { row, rows: n, chunks: [{ row, rows: n, col: 0, cols }] };
    }
    return;
  }
  for (let row = 0; row < rows; row++) {
    const chunks: Chunk[] = [];
    for (let col = 0; col < cols; col += windowFloats) {
      chunks.push({ row, rows: 1, col, cols: Math.min(windowFloats, cols - col) });
    }
    yield { row, rows: 1, chunks };
  }
}

/** The staging window of one call, allocated in the call's arena scope. */
export class Window {
  readonly ptr: number;

  constructor(
    private readonly arena: Arena,
    private readonly x: Float32Array,
    private readonly cols: number,
  ) {
    this.ptr = arena.allocF32(Math.min(x.length, WINDOW_FLOATS));
  }

  /** Copies `chunk` of x into the window. */
  load(chunk: Chunk): void {
    const start = chunk.row * this.cols + chunk.col;
    const length = chunk.rows * chunk.cols;
    this.arena.f32(this.ptr, length).set(this.x.subarray(start, start + length));
  }

  /** Copies the window's first `chunk` values out to the same place in `out`. */
  store(chunk: Chunk, out: Float32Array): void {
    const start = chunk.row * this.cols + chunk.col;
    const length = chunk.rows * chunk.cols;
    out.set(this.arena.f32(this.ptr, length), start);
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

/** Copies a float32 accumulator out of wasm memory, rejecting a non-finite result. */
export function readAccumulator(kernels: Kernels, arena: Arena, ptr: number, length: number, x: Float32Array): Float32Array {
  if (kernels.firstNonFinite(ptr, length) >= 0) throw nonFiniteResultError(x, 0, x.length);
  return arena.f32(ptr, length).slice();
}
