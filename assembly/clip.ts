// Clipping kernels: per-row squared L2 norms, per-row scaling and element-wise clamping.
// A "row block" is `rows` runs of `len` float32 values whose starts are `stride` floats apart,
// so the same kernels serve whole rows (flat clipping) and one layer of each row (per-layer).

/** Sum of squares of n float32 values, accumulated in float64 (exact products, error ~ n * 2^-53). */
function sumSquares(x: usize, n: i32): f64 {
  let a0 = f64x2.splat(0);
  let a1 = f64x2.splat(0);
  let a2 = f64x2.splat(0);
  let a3 = f64x2.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const p = x + (<usize>i << 2);
    const v = v128.load(p);
    const w = v128.load(p, 16);
    const v0 = f64x2.promote_low_f32x4(v);
    const v1 = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
    const w0 = f64x2.promote_low_f32x4(w);
    const w1 = f64x2.promote_low_f32x4(v128.shuffle<f32>(w, w, 2, 3, 2, 3));
    a0 = f64x2.add(a0, f64x2.mul(v0, v0));
    a1 = f64x2.add(a1, f64x2.mul(v1, v1));
    a2 = f64x2.add(a2, f64x2.mul(w0, w0));
    a3 = f64x2.add(a3, f64x2.mul(w1, w1));
  }
  const a = f64x2.add(f64x2.add(a0, a1), f64x2.add(a2, a3));
  let s = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
  for (; i < n; i++) {
    const v = <f64>load<f32>(x + (<usize>i << 2));
    s += v * v;
  }
  return s;
}

/** out[r * outStride] += sum of squares of row r (float64), for r in [0, rows). */
export function sumSquaresRows(x: usize, rows: i32, len: i32, stride: i32, out: usize, outStride: i32): void {
  for (let r = 0; r < rows; r++) {
    const o = out + (<usize>(r * outStride) << 3);
    store<f64>(o, load<f64>(o) + sumSquares(x + (<usize>r * <usize>stride << 2), len));
  }
}

/** Row r *= scales[r * scaleStride] (float32), in place. */
export function scaleRows(x: usize, rows: i32, len: i32, stride: i32, scales: usize, scaleStride: i32): void {
  for (let r = 0; r < rows; r++) {
    const s = load<f32>(scales + (<usize>(r * scaleStride) << 2));
    if (s == 1) continue;
    const row = x + (<usize>r * <usize>stride << 2);
    const sv = f32x4.splat(s);
    let i = 0;
    for (; i + 4 <= len; i += 4) {
      const p = row + (<usize>i << 2);
      v128.store(p, f32x4.mul(v128.load(p), sv));
    }
    for (; i < len; i++) {
      const p = row + (<usize>i << 2);
      store<f32>(p, load<f32>(p) * s);
    }
  }
}

/** Clamps n float32 values at x into [lo, hi], in place. */
export function clampValues(x: usize, n: i32, lo: f32, hi: f32): void {
  const lov = f32x4.splat(lo);
  const hiv = f32x4.splat(hi);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = x + (<usize>i << 2);
    v128.store(p, f32x4.pmin(hiv, f32x4.pmax(lov, v128.load(p))));
  }
  for (; i < n; i++) {
    const p = x + (<usize>i << 2);
    store<f32>(p, min(hi, max(lo, load<f32>(p))));
  }
}
