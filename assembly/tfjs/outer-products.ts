// Serves src/tfjs/outer-products.ts: the float64 sum of weighted outer products that forms a dense
// layer's clipped kernel gradient, sum[j, k] += sum_i fl(fl(w_i a_ij) g_ik), added into each
// coordinate in example order i = 0, 1, ... (per-example.ts and noised-sum.ts prove its bound on
// exactly these operations; the product and the sum are two IEEE roundings: wasm never fuses them).
//
// The caller stages a tile in float64: x [n, p] (the inputs a, overwritten with w_i a_ij), g [n, q],
// w [n], sum [p, q]; p and q are multiples of 4 (zero-padded columns). The sum is formed by 4 x 4
// blocks of coordinates held in registers while the examples stream past, as a matrix product
// kernel; for each 4 rows j the examples whose four x_ij are all 0 are skipped (adding fl(0 g) = +-0
// leaves every sum unchanged: a sum starting at +0 is never -0 in round-to-nearest, so skipping is
// bit-identical to adding), which makes sparse inputs (MNIST pixels) cheaper.

/**
 * sum[j * q + k] += (w[i] x[i * p + j]) g[i * q + k] for the n examples in order, all f64, after
 * scaling x's rows by w in place. `rows` is scratch for n i32 (the examples a block of rows uses).
 */
export function weightedOuterSum(x: usize, g: usize, w: usize, rows: usize, n: i32, p: i32, q: i32, sum: usize): void {
  scaleRows(x, w, n, p);
  const xRow = <usize>p << 3;
  const gRow = <usize>q << 3;
  const sumRow = <usize>q << 3;
  for (let j = 0; j < p; j += 4) {
    const count = usedRows(x + (<usize>j << 3), xRow, n, rows);
    for (let k = 0; k < q; k += 4) {
      block(x + (<usize>j << 3), xRow, g + (<usize>k << 3), gRow, rows, count, sum + <usize>j * sumRow + (<usize>k << 3), sumRow);
    }
  }
}

/** x[i, :] = w[i] x[i, :]. */
function scaleRows(x: usize, w: usize, n: i32, p: i32): void {
  for (let i = 0; i < n; i++) {
    const wi = f64x2.splat(load<f64>(w + (<usize>i << 3)));
    const row = x + <usize>i * (<usize>p << 3);
    for (let j = 0; j < p; j += 2) {
      const at = row + (<usize>j << 3);
      v128.store(at, f64x2.mul(wi, v128.load(at)));
    }
  }
}

/** Writes to `rows` the examples i whose four values x[i, 0..3] (row stride `stride` bytes) are not all 0; returns their count. */
function usedRows(x: usize, stride: usize, n: i32, rows: usize): i32 {
  const zero = f64x2.splat(0);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const at = x + <usize>i * stride;
    const nonzero = v128.or(f64x2.ne(v128.load(at), zero), f64x2.ne(v128.load(at, 16), zero));
    if (v128.any_true(nonzero)) {
      store<i32>(rows + (<usize>count << 2), i);
      count++;
    }
  }
  return count;
}

/** The 4 x 4 coordinates at `sum` (row stride `sumStride`) plus x[i, 0..3]^T g[i, 0..3] for the listed examples, in order. */
function block(x: usize, xStride: usize, g: usize, gStride: usize, rows: usize, count: i32, sum: usize, sumStride: usize): void {
  let s00 = v128.load(sum);
  let s01 = v128.load(sum, 16);
  let s10 = v128.load(sum + sumStride);
  let s11 = v128.load(sum + sumStride, 16);
  let s20 = v128.load(sum + 2 * sumStride);
  let s21 = v128.load(sum + 2 * sumStride, 16);
  let s30 = v128.load(sum + 3 * sumStride);
  let s31 = v128.load(sum + 3 * sumStride, 16);
  for (let r = 0; r < count; r++) {
    const i = <usize>load<i32>(rows + (<usize>r << 2));
    const xi = x + i * xStride;
    const gi = g + i * gStride;
    const g0 = v128.load(gi);
    const g1 = v128.load(gi, 16);
    const x0 = v128.load64_splat(xi);
    s00 = f64x2.add(s00, f64x2.mul(x0, g0));
    s01 = f64x2.add(s01, f64x2.mul(x0, g1));
    const x1 = v128.load64_splat(xi, 8);
    s10 = f64x2.add(s10, f64x2.mul(x1, g0));
    s11 = f64x2.add(s11, f64x2.mul(x1, g1));
    const x2 = v128.load64_splat(xi, 16);
    s20 = f64x2.add(s20, f64x2.mul(x2, g0));
    s21 = f64x2.add(s21, f64x2.mul(x2, g1));
    const x3 = v128.load64_splat(xi, 24);
    s30 = f64x2.add(s30, f64x2.mul(x3, g0));
    s31 = f64x2.add(s31, f64x2.mul(x3, g1));
  }
  v128.store(sum, s00);
  v128.store(sum, s01, 16);
  v128.store(sum + sumStride, s10);
  v128.store(sum + sumStride, s11, 16);
  v128.store(sum + 2 * sumStride, s20);
  v128.store(sum + 2 * sumStride, s21, 16);
  v128.store(sum + 3 * sumStride, s30);
  v128.store(sum + 3 * sumStride, s31, 16);
}
