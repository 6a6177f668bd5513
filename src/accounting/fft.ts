// In-place iterative radix-2 complex FFT on split Float64Arrays, for composing privacy loss
// distributions by convolution (Koskela et al. 2020; Gopi et al. 2021).

/** Cosine and sine tables for a transform of length n (a power of two). */
export interface Twiddles {
  n: number;
  cos: Float64Array;
  sin: Float64Array;
}

export function twiddles(n: number): Twiddles {
  const half = n >> 1;
  const cos = new Float64Array(half);
  const sin = new Float64Array(half);
  for (let k = 0; k < half; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / n);
    sin[k] = Math.sin((2 * Math.PI * k) / n);
  }
  return { n, cos, sin };
}

/** Forward (e^{-2 pi i jk/n}) or inverse (unnormalized, e^{+2 pi i jk/n}) transform of (re, im) in place. */
export function fft(re: Float64Array, im: Float64Array, table: Twiddles, inverse = false): void {
  const n = table.n;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const tr = re[i]!;
      re[i] = re[j]!;
      re[j] = tr;
      const ti = im[i]!;
      im[i] = im[j]!;
      im[j] = ti;
    }
  }
  const sign = inverse ? 1 : -1;
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1;
    const stride = n / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const wr = table.cos[k * stride]!;
        const wi = sign * table.sin[k * stride]!;
        const a = start + k;
        const b = a + half;
        const xr = re[b]! * wr - im[b]! * wi;
        const xi = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
      }
    }
  }
}
