// Weighted row reduction: acc[j] += sum over rows r of weights[r * weightStride] * x[r * stride + j].
// Serves sum, mean, weightedMean (FedAvg) and the accumulate step of clipAndSum.

export function accumulateRows(
  x: usize, rows: i32, len: i32, stride: i32, weights: usize, weightStride: i32, acc: usize,
): void {
  let r = 0;
  // Two rows per sweep halve the read-modify-write traffic on the accumulator.
  for (; r + 2 <= rows; r += 2) {
    const w0 = load<f32>(weights + (<usize>(r * weightStride) << 2));
    const w1 = load<f32>(weights + (<usize>((r + 1) * weightStride) << 2));
    const x0 = x + (<usize>r * <usize>stride << 2);
    const x1 = x0 + (<usize>stride << 2);
    const w0v = f32x4.splat(w0);
    const w1v = f32x4.splat(w1);
    let i = 0;
    for (; i + 4 <= len; i += 4) {
      const o = <usize>i << 2;
      const t = f32x4.add(f32x4.mul(v128.load(x0 + o), w0v), f32x4.mul(v128.load(x1 + o), w1v));
      v128.store(acc + o, f32x4.add(v128.load(acc + o), t));
    }
    for (; i < len; i++) {
      const o = <usize>i << 2;
      store<f32>(acc + o, load<f32>(acc + o) + (load<f32>(x0 + o) * w0 + load<f32>(x1 + o) * w1));
    }
  }
  if (r < rows) {
    const w0 = load<f32>(weights + (<usize>(r * weightStride) << 2));
    const x0 = x + (<usize>r * <usize>stride << 2);
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
}
