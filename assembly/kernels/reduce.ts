// Serves src/kernels/reduce.ts (sum, mean, weightedMean) and src/kernels/clip.ts (clipAndSum).
// Weighted row reduction: acc[j] += sum over rows r of weights[r * weightStride] * x[r * stride + j].
// Serves sum, mean, weightedMean (FedAvg) and the accumulate step of clipAndSum. Weights are float64;
// those outside float32's normal range take a float64 path. NaN or Infinity in x shows up as a
// non-finite accumulator, which the caller checks.
import { isFloat32Safe } from './clip';

export function accumulateRows(
  x: usize, rows: i32, len: i32, stride: i32, weights: usize, weightStride: i32, acc: usize,
): void {
  const rowBytes = <usize>stride << 2;
  const weightBytes = <usize>weightStride << 3;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const w = weights + <usize>r * weightBytes;
    const w0 = load<f64>(w);
    const w1 = load<f64>(w + weightBytes);
    const w2 = load<f64>(w + 2 * weightBytes);
    const w3 = load<f64>(w + 3 * weightBytes);
    if (!(isFloat32Safe(w0) && isFloat32Safe(w1) && isFloat32Safe(w2) && isFloat32Safe(w3))) break;
    const x0 = x + <usize>r * rowBytes;
    accumulateFour(x0, x0 + rowBytes, x0 + 2 * rowBytes, x0 + 3 * rowBytes, <f32>w0, <f32>w1, <f32>w2, <f32>w3, len, acc);
  }
  for (; r < rows; r++) {
    const w = load<f64>(weights + <usize>r * weightBytes);
    const row = x + <usize>r * rowBytes;
    if (isFloat32Safe(w)) accumulateOne(row, <f32>w, len, acc);
    else accumulateOneFloat64(row, w, len, acc);
  }
}

/**
 * Four rows per sweep: one read-modify-write of the accumulator for four rows of input. The loop is
 * compute-bound when the rows are in cache (one multiply and one add a vector), so it takes 16
 * values a row per step with pointers that step once (the vectors at immediate offsets).
 */
function accumulateFour(
  x0: usize, x1: usize, x2: usize, x3: usize, w0: f32, w1: f32, w2: f32, w3: f32, len: i32, acc: usize,
): void {
  const w0v = f32x4.splat(w0);
  const w1v = f32x4.splat(w1);
  const w2v = f32x4.splat(w2);
  const w3v = f32x4.splat(w3);
  const blocksEnd = acc + (<usize>(len & ~15) << 2);
  const vectorsEnd = acc + (<usize>(len & ~3) << 2);
  const end = acc + (<usize>len << 2);
  let q = acc;
  for (; q < blocksEnd; q += 64, x0 += 64, x1 += 64, x2 += 64, x3 += 64) {
    addFour(x0, x1, x2, x3, q, w0v, w1v, w2v, w3v, 0);
    addFour(x0, x1, x2, x3, q, w0v, w1v, w2v, w3v, 16);
    addFour(x0, x1, x2, x3, q, w0v, w1v, w2v, w3v, 32);
    addFour(x0, x1, x2, x3, q, w0v, w1v, w2v, w3v, 48);
  }
  for (; q < vectorsEnd; q += 16, x0 += 16, x1 += 16, x2 += 16, x3 += 16) addFour(x0, x1, x2, x3, q, w0v, w1v, w2v, w3v, 0);
  for (; q < end; q += 4, x0 += 4, x1 += 4, x2 += 4, x3 += 4) {
    const t01 = load<f32>(x0) * w0 + load<f32>(x1) * w1;
    const t23 = load<f32>(x2) * w2 + load<f32>(x3) * w3;
    store<f32>(q, load<f32>(q) + (t01 + t23));
  }
}

/** acc += (x0 w0 + x1 w1) + (x2 w2 + x3 w3) for the 4 values at `offset` bytes from each pointer. */
// @ts-ignore: decorator
@inline function addFour(
  x0: usize, x1: usize, x2: usize, x3: usize, acc: usize, w0: v128, w1: v128, w2: v128, w3: v128, offset: usize,
): void {
  const t01 = f32x4.add(f32x4.mul(v128.load(x0 + offset), w0), f32x4.mul(v128.load(x1 + offset), w1));
  const t23 = f32x4.add(f32x4.mul(v128.load(x2 + offset), w2), f32x4.mul(v128.load(x3 + offset), w3));
  v128.store(acc + offset, f32x4.add(v128.load(acc + offset), f32x4.add(t01, t23)));
}

function accumulateOne(x0: usize, w0: f32, len: i32, acc: usize): void {
  const w0v = f32x4.splat(w0);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i << 2;
    v128.store(acc + o, f32x4.add(v128.load(acc + o), f32x4.mul(v128.load(x0 + o), w0v)));
  }
  for (; i < len; i++) {
    const o = <usize>i << 2;
    store<f32>(acc + o, load<f32>(acc + o) + load<f32>(x0 + o) * w0);
  }
}

function accumulateOneFloat64(x0: usize, w0: f64, len: i32, acc: usize): void {
  for (let i = 0; i < len; i++) {
    const o = <usize>i << 2;
    store<f32>(acc + o, load<f32>(acc + o) + <f32>(<f64>load<f32>(x0 + o) * w0));
  }
}
