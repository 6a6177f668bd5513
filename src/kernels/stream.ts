// Streams a rows x cols float32 matrix through a fixed staging window in wasm memory.
// Inputs are never copied whole: each chunk is copied once into a cache-sized window, checked for
// non-finite values, and processed while it is hot. A row group is a set of complete rows; when a
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

export function* rowGroups(rows: number, cols: number, windowFloats = WINDOW_FLOATS): Generator<RowGroup> {
  if (cols <= windowFloats) {
    const step = cols === 0 ? rows : Math.floor(windowFloats / cols);
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
    private readonly kernels: Kernels,
    private readonly arena: Arena,
    private readonly x: Float32Array,
    private readonly cols: number,
    private readonly name = 'x',
  ) {
    this.ptr = arena.allocF32(Math.min(x.length, WINDOW_FLOATS));
  }

  /** Copies `chunk` of x into the window and rejects it if it holds NaN or +-Infinity. */
  load(chunk: Chunk): void {
    const start = chunk.row * this.cols + chunk.col;
    const length = chunk.rows * chunk.cols;
    this.view(length).set(this.x.subarray(start, start + length));
    const bad = this.kernels.firstNonFinite(this.ptr, length);
    if (bad >= 0) throw nonFiniteError(this.name, start + bad, this.x[start + bad]!);
  }

  /** Copies the window's first `chunk` values out to the same place in `out`. */
  store(chunk: Chunk, out: Float32Array): void {
    const start = chunk.row * this.cols + chunk.col;
    const length = chunk.rows * chunk.cols;
    out.set(this.view(length), start);
  }

  private view(length: number): Float32Array {
    return this.arena.f32(this.ptr, length);
  }
}

/** Copies a float32 accumulator out of wasm memory, rejecting a result that overflowed float32. */
export function readAccumulator(kernels: Kernels, arena: Arena, ptr: number, length: number): Float32Array {
  const overflow = kernels.firstNonFinite(ptr, length);
  if (overflow >= 0) {
    throw new PrivkitError('E_OVERFLOW', `the result overflows float32 at column ${overflow}`, { argument: 'x' });
  }
  return arena.f32(ptr, length).slice();
}
