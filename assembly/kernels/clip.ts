// Serves src/kernels/clip.ts (l2Norms, clipByL2, clipPerLayer, clipAndSum, clipValues).
// Clipping kernels: per-row squared L2 norms, per-row scaling and element-wise clamping.
// A "row block" is `rows` runs of `len` float32 values whose starts are `stride` floats apart,
// so the same kernels serve whole rows (flat clipping) and one layer of each row (per-layer).

// Below this, a float32-product sum may have lost relative precision to denormals: redo in float64.
const FAST_SUM_MIN: f64 = 8.271806125530277e-25; // 2^-80

/**
 * Sum of squares with float32 products summed 4 per lane, then flushed into float64.
 * Relative error <= 5 * 2^-24 (3e-7) for normal products. Overflow, NaN/Infinity and
 * denormal-range results are detected by the caller and recomputed with sumSquaresExact.
 */
function sumSquaresFast(x: usize, n: i32): f64 {
  let f0 = f64x2.splat(0);
  let f1 = f64x2.splat(0);
  let i = 0;
  for (; i + 32 <= n; i += 32) {
    const s = squares32(x + (<usize>i << 2));
    f0 = f64x2.add(f0, f64x2.promote_low_f32x4(s));
    f1 = f64x2.add(f1, f64x2.promote_low_f32x4(v128.shuffle<f32>(s, s, 2, 3, 2, 3)));
  }
  return squaresTail(x, i, n, f64x2.add(f0, f1));
}

/**
 * sumSquaresFast of two rows at once, returned as (sum of a, sum of b), each bit for bit as
 * sumSquaresFast computes it. Reading two rows in step keeps two streams from memory in flight:
 * a pass over rows that are not in cache runs ~10% faster than row after row.
 */
function sumSquaresFastTwo(a: usize, b: usize, n: i32): v128 {
  let a0 = f64x2.splat(0);
  let a1 = f64x2.splat(0);
  let b0 = f64x2.splat(0);
  let b1 = f64x2.splat(0);
  let i = 0;
  for (; i + 32 <= n; i += 32) {
    const o = <usize>i << 2;
    const sa = squares32(a + o);
    a0 = f64x2.add(a0, f64x2.promote_low_f32x4(sa));
    a1 = f64x2.add(a1, f64x2.promote_low_f32x4(v128.shuffle<f32>(sa, sa, 2, 3, 2, 3)));
    const sb = squares32(b + o);
    b0 = f64x2.add(b0, f64x2.promote_low_f32x4(sb));
    b1 = f64x2.add(b1, f64x2.promote_low_f32x4(v128.shuffle<f32>(sb, sb, 2, 3, 2, 3)));
  }
  return f64x2(squaresTail(a, i, n, f64x2.add(a0, a1)), squaresTail(b, i, n, f64x2.add(b0, b1)));
}

/** The 32 float32 squares at p summed into 4 lanes: two chains of 4 products a lane, then added. */
// @ts-ignore: decorator
@inline function squares32(p: usize): v128 {
  let a = f32x4.mul(v128.load(p), v128.load(p));
  let b = f32x4.mul(v128.load(p, 16), v128.load(p, 16));
  a = f32x4.add(a, f32x4.mul(v128.load(p, 32), v128.load(p, 32)));
  b = f32x4.add(b, f32x4.mul(v128.load(p, 48), v128.load(p, 48)));
  a = f32x4.add(a, f32x4.mul(v128.load(p, 64), v128.load(p, 64)));
  b = f32x4.add(b, f32x4.mul(v128.load(p, 80), v128.load(p, 80)));
  a = f32x4.add(a, f32x4.mul(v128.load(p, 96), v128.load(p, 96)));
  b = f32x4.add(b, f32x4.mul(v128.load(p, 112), v128.load(p, 112)));
  return f32x4.add(a, b);
}

/** The float64 lanes `f` of the blocks before i, plus the squares of values [i, n) added one by one. */
// @ts-ignore: decorator
@inline function squaresTail(x: usize, i: i32, n: i32, f: v128): f64 {
  let total = f64x2.extract_lane(f, 0) + f64x2.extract_lane(f, 1);
  for (; i < n; i++) {
    const v = <f64>load<f32>(x + (<usize>i << 2));
    total += v * v;
  }
  return total;
}

/** Sum of squares in float64 throughout: exact products, error ~ n * 2^-53, never overflows. */
function sumSquaresExact(x: usize, n: i32): f64 {
  let a0 = f64x2.splat(0);
  let a1 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
    a0 = f64x2.add(a0, f64x2.mul(lo, lo));
    a1 = f64x2.add(a1, f64x2.mul(hi, hi));
  }
  const a = f64x2.add(a0, a1);
  let total = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
  for (; i < n; i++) {
    const v = <f64>load<f32>(x + (<usize>i << 2));
    total += v * v;
  }
  return total;
}

/**
 * out[r * outStride] += sum of squares of row r (float64), for r in [0, rows); rows two at a time.
 * A NaN or Infinity in a row makes its sum non-finite (float32 squares cannot overflow float64).
 */
export function sumSquaresRows(x: usize, rows: i32, len: i32, stride: i32, out: usize, outStride: i32): void {
  const rowBytes = <usize>stride << 2;
  let r = 0;
  for (; r + 2 <= rows; r += 2) {
    const row = x + <usize>r * rowBytes;
    const sums = sumSquaresFastTwo(row, row + rowBytes, len);
    addSumSquares(row, len, f64x2.extract_lane(sums, 0), out + (<usize>(r * outStride) << 3));
    addSumSquares(row + rowBytes, len, f64x2.extract_lane(sums, 1), out + (<usize>((r + 1) * outStride) << 3));
  }
  if (r < rows) {
    const row = x + <usize>r * rowBytes;
    addSumSquares(row, len, sumSquaresFast(row, len), out + (<usize>(r * outStride) << 3));
  }
}

/** out += the row's sum of squares, given its fast sum s: recomputed in float64 when s is out of its range. */
function addSumSquares(row: usize, len: i32, s: f64, out: usize): void {
  if (!(s >= FAST_SUM_MIN && s < Infinity)) s = sumSquaresExact(row, len);
  store<f64>(out, load<f64>(out) + s);
}

/**
 * Row r *= scales[r * scaleStride] (float64), in place. A scale outside float32's normal range
 * (the product x * s may still be a normal float32) is applied in float64 with one rounding.
 */
export function scaleRows(x: usize, rows: i32, len: i32, stride: i32, scales: usize, scaleStride: i32): void {
  for (let r = 0; r < rows; r++) {
    const s = load<f64>(scales + (<usize>(r * scaleStride) << 3));
    if (s == 1) continue;
    const row = x + (<usize>r * <usize>stride << 2);
    if (isFloat32Safe(s)) scaleFloat32(row, len, <f32>s);
    else scaleFloat64(row, len, s);
  }
}

/** True when float32 arithmetic with factor s loses nothing that float64 would keep. */
// @ts-ignore: decorator
@inline export function isFloat32Safe(s: f64): bool {
  const a = abs(s);
  return a == 0 || (a >= 1.1754943508222875e-38 && a <= 3.4028234663852886e38);
}

function scaleFloat32(row: usize, len: i32, s: f32): void {
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

function scaleFloat64(row: usize, len: i32, s: f64): void {
  for (let i = 0; i < len; i++) {
    const p = row + (<usize>i << 2);
    store<f32>(p, <f32>(<f64>load<f32>(p) * s));
  }
}

/**
 * Clamps n float32 values at x into [lo, hi], in place. Returns 1 if any input was NaN or
 * +-Infinity (the caller rejects the call), else 0.
 */
export function clampValues(x: usize, n: i32, lo: f32, hi: f32): i32 {
  const lov = f32x4.splat(lo);
  const hiv = f32x4.splat(hi);
  const exponent = i32x4.splat(0x7f800000);
  let bad = i32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = x + (<usize>i << 2);
    const v = v128.load(p);
    bad = v128.or(bad, i32x4.eq(v128.and(v, exponent), exponent));
    v128.store(p, f32x4.min(hiv, f32x4.max(lov, v)));
  }
  let found = v128.any_true(bad);
  for (; i < n; i++) {
    const p = x + (<usize>i << 2);
    const v = load<f32>(p);
    found = found || !isFinite(v);
    store<f32>(p, min(hi, max(lo, v)));
  }
  return <i32>found;
}
