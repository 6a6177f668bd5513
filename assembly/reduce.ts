// Weighted row reduction: acc[j] += sum over rows r of weights[r * weightStride] * x[r * stride + j].
// Serves sum, mean, weightedMean (FedAvg) and the accumulate step of clipAndSum. NaN or Infinity in
// x shows up as a non-finite accumulator, which the caller checks.

export function accumulateRows(
  x: usize, rows: i32, len: i32, stride: i32, weights: usize, weightStride: i32, acc: usize,
): void {
  const rowBytes = <usize>stride << 2;
  const weightBytes = <usize>weightStride << 2;
  let r = 0;
  // Four rows per sweep: one read-modify-write of the accumulator for four rows of input.
  for (; r + 4 <= rows; r += 4) {
    const x0 = x + <usize>r * rowBytes;
    const x1 = x0 + rowBytes;
    const x2 = x1 + rowBytes;
    const x3 = x2 + rowBytes;
    const w = weights + <usize>r * weightBytes;
    const w0 = load<f32>(w);
    const w1 = load<f32>(w + weightBytes);
    const w2 = load<f32>(w + 2 * weightBytes);
    const w3 = load<f32>(w + 3 * weightBytes);
    const w0v = f32x4.splat(w0);
    const w1v = f32x4.splat(w1);
    const w2v = f32x4.splat(w2);
    const w3v = f32x4.splat(w3);
    let i = 0;
    for (; i + 4 <= len; i += 4) {
      const o = <usize>i << 2;
      const t01 = f32x4.add(f32x4.mul(v128.load(x0 + o), w0v), f32x4.mul(v128.load(x1 + o), w1v));
      const t23 = f32x4.add(f32x4.mul(v128.load(x2 + o), w2v), f32x4.mul(v128.load(x3 + o), w3v));
      v128.store(acc + o, f32x4.add(v128.load(acc + o), f32x4.add(t01, t23)));
    }
    for (; i < len; i++) {
      const o = <usize>i << 2;
      const t01 = load<f32>(x0 + o) * w0 + load<f32>(x1 + o) * w1;
      const t23 = load<f32>(x2 + o) * w2 + load<f32>(x3 + o) * w3;
      store<f32>(acc + o, load<f32>(acc + o) + (t01 + t23));
    }
  }
  for (; r < rows; r++) {
    const x0 = x + <usize>r * rowBytes;
    const w0 = load<f32>(weights + <usize>r * weightBytes);
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
