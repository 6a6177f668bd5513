// The float64 sum of weighted outer products that forms a dense layer's clipped kernel gradient
// (per-example.ts, outerProducts): sum[j, k] += fl(fl(w_i a_ij) g_ik) over the examples in order, the
// exact operations whose bound noised-sum.ts proves. The wasm kernel (assembly/tfjs/outer-products.ts)
// computes them bit for bit as the plain loop (src/reference/outer-products.ts; property-tested), by
// 4 x 4 register blocks over float64 tiles staged here.
//
// Tiles: a block of at most SUM_FLOATS coordinates of the sum (rows j0.., columns k0..) stays in
// wasm memory while the examples with w_i != 0 stream through it in order, at most TILE_FLOATS
// values of their inputs and output gradients at a time (converted to float64 when staged, exact),
// so a call uses a few MiB of wasm memory whatever the layer's size, and each coordinate still
// receives its examples' terms in example order. Both tiles' columns are zero-padded to a multiple
// of 4 (a padded input or gradient column contributes products only to padded coordinates of the
// sum tile, which are never copied out). Every staged region is secret: zeroed when the call ends.
import { copyIn, copyOut } from '../wasm/boundary.js';
import type { Arena } from '../wasm/arena.js';
import { withWasm } from '../wasm/runtime.js';
import { tfjsWasm } from './wasm.js';

/** Coordinates of the sum per tile (1 MiB of float64). */
const SUM_FLOATS = 1 << 17;
/** Columns per tile at most, so that a tile holds at least 32 rows. */
const MAX_COLUMNS = 1 << 12;
/** Staged values (inputs and output gradients) per batch of examples (2 MiB of float64). */
const TILE_FLOATS = 1 << 18;

const padded = (m: number) => Math.ceil(m / 4) * 4;

/**
 * Adds sum_i fl(fl(w_i a_ij) g_ik) to sum[j q + k] for the examples i with w_i != 0, in order
 * (a [n, p] and g [n, q] row-major, sum [p, q], holding no -0 as a sum starting at +0): bit-identical
 * to the reference loop.
 *
 * @throws {PrivkitError} E_NOT_READY before `await ready()`.
 */
export function addWeightedOuterProducts(a: Float32Array, g: Float32Array, w: Float64Array, n: number, p: number, q: number, sum: Float64Array): void {
  const used: number[] = [];
  for (let i = 0; i < n; i++) if (w[i] !== 0) used.push(i);
  if (used.length === 0 || p === 0 || q === 0) return;
  withWasm(tfjsWasm, (kernels, arena) => {
    const columns = Math.min(q, MAX_COLUMNS);
    const rows = Math.min(p, Math.max(4, Math.floor(SUM_FLOATS / padded(columns))));
    const batch = Math.max(1, Math.floor(TILE_FLOATS / (padded(rows) + padded(columns))));
    const sumAt = arena.allocSecret(8 * padded(rows) * padded(columns));
    const xAt = arena.allocSecret(8 * batch * padded(rows));
    const gAt = arena.allocSecret(8 * batch * padded(columns));
    const wAt = arena.allocSecret(8 * batch);
    const usedAt = arena.allocSecret(4 * batch);
    for (let k0 = 0; k0 < q; k0 += columns) {
      const kc = Math.min(columns, q - k0);
      for (let j0 = 0; j0 < p; j0 += rows) {
        const jc = Math.min(rows, p - j0);
        arena.f64(sumAt, padded(jc) * padded(kc)).fill(0);
        copyRows(jc, kc, padded(kc), q, (r, length) => copyIn(row(arena, sumAt, r * padded(kc), length), sum, (j0 + r) * q + k0, 'sum'));
        for (let first = 0; first < used.length; first += batch) {
          const count = Math.min(batch, used.length - first);
          stage(arena, xAt, a, p, j0, jc, used, first, count);
          stage(arena, gAt, g, q, k0, kc, used, first, count);
          const weights = arena.f64(wAt, count);
          for (let r = 0; r < count; r++) weights[r] = w[used[first + r]!]!;
          kernels.weightedOuterSum(xAt, gAt, wAt, usedAt, count, padded(jc), padded(kc), sumAt);
        }
        copyRows(jc, kc, padded(kc), q, (r, length) => copyOut(row(arena, sumAt, r * padded(kc), length), sum, (j0 + r) * q + k0, 'sum'));
      }
    }
  });
}

/** `length` float64 of the tile at `ptr`, from element `start`. */
function row(arena: Arena, ptr: number, start: number, length: number): Float64Array {
  return arena.f64(ptr + 8 * start, length);
}

/**
 * Copies `rows` rows of `cols` values between a tile (row stride `stride`) and a matrix (row stride
 * `width`) by `copy(first row, length)`: as one run when both are the same contiguous block.
 */
function copyRows(rows: number, cols: number, stride: number, width: number, copy: (row: number, length: number) => void): void {
  if (cols === stride && cols === width) copy(0, rows * cols);
  else for (let r = 0; r < rows; r++) copy(r, cols);
}

/**
 * Stages columns [col, col + cols) of the listed examples' rows of m [, width] as float64 rows of
 * padded(cols) (padding 0); consecutive examples' whole rows in one copy.
 */
function stage(arena: Arena, ptr: number, m: Float32Array, width: number, col: number, cols: number, used: number[], first: number, count: number): void {
  const stride = padded(cols);
  if (stride !== cols) arena.f64(ptr, count * stride).fill(0);
  const whole = stride === cols && cols === width;
  for (let r = 0; r < count; ) {
    let end = r + 1;
    if (whole) while (end < count && used[first + end] === used[first + end - 1]! + 1) end++;
    copyIn(row(arena, ptr, r * stride, (end - r) * cols), m, used[first + r]! * width + col, 'values');
    r = end;
  }
}
