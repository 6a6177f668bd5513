// The wasm discrete Gaussian sampler (assembly/dp/discrete.ts; discreteGaussian with method 'wasm', and
// the noise of quantize): bit-for-bit agreement with the plain-TS reference given the keystream
// (src/reference/discrete-gaussian.ts; fast-check), its acceptance probability against 60-digit
// mpmath values, chi-square goodness of fit against the exact pmf at 10^6 samples with fine bins,
// residues mod 64 at large sigma (where the Ziggurat's low bits are drawn lazily) and moment checks
// with fixed seeds at alpha = 1e-6, the noise of the fused quantize kernel, and the option's
// validation. The exact CKS20 method stays default. The fits at 2 x 10^7 samples, with bins sized so
// that a 1% error in any one of them fails the test, are in test/stat/dp/discrete-gaussian-wasm.test.ts.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { createRng, discreteGaussian } from 'privkit/dp';
import * as ref from 'privkit/reference';
import { dequantize, quantize } from 'privkit/secagg';
import * as runtime from '../../dist/src/wasm/runtime.js';
import { dpWasm } from '../../dist/src/dp/wasm.js';
import { expectPrivkitError, FC_SEED, randomMatrix } from '../support/helpers.js';
import { chiSquareSf, discreteGaussianPmf, IntegerHistogram, integerChiSquare } from '../support/noise-stats.js';

fc.configureGlobal({ seed: FC_SEED, numRuns: 60, endOnFailure: true });

beforeAll(ready);

const seeded = (k: number) => createRng({ seed: new Uint8Array(32).fill(k) });

// ---- statistics ------------------------------------------------------------------------------

/** Chi-square test of integer samples against the exact pmf, with integerChiSquare's default bins (>= 20 expected). */
function chiSquarePValue(samples: Int32Array, sigma: number): { p: number; bins: number } {
  const { K, p } = discreteGaussianPmf(sigma);
  const histogram = new IntegerHistogram(K);
  histogram.add(samples);
  return integerChiSquare(histogram, p, {});
}

/** Exact variance and fourth moment of the discrete Gaussian (mean 0). */
function exactMoments(sigma: number): { variance: number; fourth: number } {
  const { K, p } = discreteGaussianPmf(sigma);
  let variance = 0;
  let fourth = 0;
  for (let k = -K; k <= K; k++) {
    variance += k * k * p[k + K]!;
    fourth += k ** 4 * p[k + K]!;
  }
  return { variance, fourth };
}

/** Two-sided z threshold of the moment checks: P(|N(0,1)| > 5) = 5.7e-7 < alpha = 1e-6. */
const Z = 5;

// ---- tests -----------------------------------------------------------------------------------

// ---- the reference ----------------------------------------------------------------------------

/** The stream of seeded(k) as the reference reads it (the same bytes and uniforms the kernel draws). */
function keystream(k: number): ref.KeystreamSource {
  const rng = seeded(k);
  return { bytes: (n) => rng.fill(new Uint8Array(n)), uniform: () => rng.uniform(1)[0]! };
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.prototype.every.call(a, (v, i) => v === b[i]);

/** Sigmas from 0.05 to 2^24, log-uniform, and the ones where the fast path's bounds bind most. */
const anySigma = fc.oneof(
  fc.double({ min: Math.log(0.05), max: Math.log(2 ** 24), noNaN: true }).map(Math.exp),
  fc.constantFrom(0.3, 0.5, 1.5, 4, 100, 6201.8, 2 ** 24),
);

describe('agrees with the reference bit for bit, given the keystream', () => {
  // One lane that decides differently from the scalar reference (the 0xff acceptance byte of the
  // old SIMD mask: 1 value in 256) changes that value and the stream after it.
  it("discreteGaussian(n, sigma, { method: 'wasm' }): fast-check over n (whole batches, SIMD groups and a scalar tail), sigma, seed", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3000 }), anySigma, fc.integer({ min: 0, max: 255 }), (n, sigma, k) => {
        const wasm = discreteGaussian(n, sigma, { rng: seeded(k), method: 'wasm' });
        expect(same(wasm, ref.discreteGaussianFromKeystream(n, sigma, keystream(k)))).toBe(true);
      }),
    );
  });

  it('20,003 values at sigma 0.3, 1.5 and 100', () => {
    for (const sigma of [0.3, 1.5, 100]) {
      const wasm = discreteGaussian(20_003, sigma, { rng: seeded(9), method: 'wasm' });
      expect(same(wasm, ref.discreteGaussianFromKeystream(20_003, sigma, keystream(9))), `sigma ${sigma}`).toBe(true);
    }
  });

  it('the noise of quantize(x, { noiseSigma }): fast-check over x, scale, sigma, seed', () => {
    // Per batch of m values the kernel reads 6 m bytes (m Ziggurat words, m rounding bytes, m
    // acceptance bytes), samples the noise in value order, then draws the rounding ties' uniforms.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2000 }), fc.integer(), fc.constantFrom(1, 3.7, 2 ** 10), anySigma, fc.integer({ min: 0, max: 255 }), (n, dataSeed, scale, sigma, k) => {
        const x = randomMatrix(1, n, dataSeed, 'normal');
        const source = keystream(k);
        const sample = ref.discreteGaussianBlockSampler(sigma, source);
        const noise = new Int32Array(n);
        const words = new Uint8Array(n);
        // only ties read their uniform; the others hold a valid value the reference never reads
        const tieUniforms = new Float64Array(n);
        for (let start = 0; start < n; start += 512) {
          const m = Math.min(512, n - start);
          const block = source.bytes(6 * m);
          const zig = new DataView(block.buffer, block.byteOffset, 4 * m);
          for (let j = 0; j < m; j++) {
            noise[start + j] = sample(zig.getUint32(4 * j, true), block[5 * m + j]!);
            words[start + j] = block[4 * m + j]!;
          }
          for (let i = start; i < start + m; i++) {
            const v = x[i]! * scale;
            if (words[i] === Math.floor((v - Math.floor(v)) * 2 ** 8)) tieUniforms[i] = source.uniform();
          }
        }
        const q = quantize(x, { scale, bits: 32, noiseSigma: sigma, rng: seeded(k) });
        expect(same(q, ref.quantize(x, { scale, bits: 32, words, tieUniforms, noise }))).toBe(true);
      }),
    );
  });

  it("the reference's R(k) is the kernel's to 1e-15 relative", () => {
    for (const [sigma, k] of [[0.05, 1], [0.3, 5], [0.5, 2], [2.5, 7], [1000, 2000], [2 ** 24, 3e8]] as const) {
      const kernel = runtime.withWasm(dpWasm, (kernels) => kernels.discreteGaussianAcceptance(sigma, k));
      expect(Math.abs(ref.discreteGaussianAcceptance(sigma, k) / kernel - 1), `sigma ${sigma}, k ${k}`).toBeLessThan(1e-15);
    }
  });
});

describe('acceptance probability R(k) = g(0) / g(k)', () => {
  const acceptance = (sigma: number, k: number) => runtime.withWasm(dpWasm, (kernels) => kernels.discreteGaussianAcceptance(sigma, k));

  // [sigma, k, R(k)]: mpmath at 60 digits, R = exp(-k^2 / 2s^2) (erf(1/(2 sqrt2 s)) * 2) / (erfc((k - 1/2)/(sqrt2 s)) - erfc((k + 1/2)/(sqrt2 s)))
  const known: Array<[number, number, number]> = [
    [0.05, 1, 1.8161722048296639e-64],
    [0.05, 2, 7.4752158748933245e-151],
    [0.3, 1, 7.3161916046223024e-2],
    [0.3, 5, 1.1828002058663938e-10],
    [0.5, 1, 5.8734157684921794e-1],
    [0.5, 2, 1.6969093063209012e-1],
    [0.5, 4, 6.7554373886752186e-3],
    [0.5, 10, 1.1079474659706599e-7],
    [0.7, 3, 3.0419642883716585e-1],
    [1, 1, 9.6080495454838897e-1],
    [1, 3, 7.1170919221252242e-1],
    [1, 6, 3.0776373167689697e-1],
    [1, 15, 8.7637805890552475e-3],
    [2.5, 1, 9.9893979778801726e-1],
    [2.5, 7, 9.4984094304622207e-1],
    [2.5, 20, 6.747578673193815e-1],
    [10, 1, 9.9999583473420051e-1],
    [10, 30, 9.96261062965607e-1],
    [10, 100, 9.5953039134976506e-1],
    [1000, 1, 9.9999999999995833e-1],
    [1000, 2_000, 9.9999983333335833e-1],
    [1000, 10_000, 9.9999583334562497e-1],
    [2 ** 24, 1, 1.0],
    [2 ** 24, 10_000_000, 9.9999999999999995e-1],
    [2 ** 24, 300_000_000, 9.9999999999995267e-1],
  ];

  it('matches 60-digit values within 1e-14 + 3e-16 |ln R| relative (both signs of k)', () => {
    for (const [sigma, k, expected] of known) {
      const tolerance = 1e-14 + 3e-16 * Math.abs(Math.log(expected));
      for (const signed of [k, -k]) {
        const got = acceptance(sigma, signed);
        expect(Math.abs(got - expected) / expected, `sigma ${sigma}, k ${signed}: ${got} vs ${expected}`).toBeLessThanOrEqual(tolerance);
      }
    }
    expect(acceptance(0.5, 0)).toBe(1);
  });

  it('lies in [exp(-a^2/8), 1] (a = k / sigma^2): the squeeze and the acceptance are valid', () => {
    for (const sigma of [0.2, 0.5, 1, 1.7, 2.5, 10, 1000]) {
      for (let k = 1; k <= 12 * sigma + 12; k += Math.max(1, Math.floor(sigma / 3))) {
        const r = acceptance(sigma, k);
        const a = k / (sigma * sigma);
        expect(r, `sigma ${sigma}, k ${k}`).toBeLessThanOrEqual(1);
        expect(r, `sigma ${sigma}, k ${k}`).toBeGreaterThanOrEqual(Math.exp(-(a * a) / 8) * (1 - 1e-15));
      }
    }
  });
});

describe("discreteGaussian(n, sigma, { method: 'wasm' })", () => {
  const SIGMAS = [0.5, 1, 2.5, 10, 1000];
  const N = 1_000_000;

  for (const [i, sigma] of SIGMAS.entries()) {
    it(`chi-square against the exact pmf, sigma = ${sigma}, 10^6 samples (p > 1e-6)`, () => {
      const samples = discreteGaussian(N, sigma, { rng: seeded(10 + i), method: 'wasm' });
      const { p, bins } = chiSquarePValue(samples, sigma);
      expect(bins).toBeGreaterThan(3);
      expect(p, `bins ${bins}`).toBeGreaterThan(1e-6);
    });

    it(`mean and variance, sigma = ${sigma}, 10^6 samples (${Z} standard errors)`, () => {
      const samples = discreteGaussian(N, sigma, { rng: seeded(20 + i), method: 'wasm' });
      const { variance, fourth } = exactMoments(sigma);
      let sum = 0;
      let squares = 0;
      for (const s of samples) {
        sum += s;
        squares += s * s;
      }
      const mean = sum / N;
      expect(Math.abs(mean)).toBeLessThan(Z * Math.sqrt(variance / N));
      // second moment about the true mean 0: standard error sqrt((E k^4 - Var^2) / n)
      expect(Math.abs(squares / N - variance)).toBeLessThan(Z * Math.sqrt((fourth - variance * variance) / N));
    });
  }

  it('chi-square against the exact pmf, sigma = 6201.8 (the secagg bench), 10^6 samples (p > 1e-6)', () => {
    const sigma = 6201.8;
    const samples = discreteGaussian(N, sigma, { rng: seeded(15), method: 'wasm' });
    const { p, bins } = chiSquarePValue(samples, sigma);
    expect(bins).toBeGreaterThan(1000);
    expect(p, `bins ${bins}`).toBeGreaterThan(1e-6);
  });

  // The first attempt fixes 23 of the Ziggurat uniform's 53 bits; the other 30 are drawn only when
  // the bin (or the inner box) is not decided without them: rarely for small sigma, mostly for sigma
  // near 2^24, where one step of the 23-bit prefix spans several integers. Residues mod 64 of
  // N_Z(0, sigma^2) are uniform within exp(-2 pi^2 sigma^2 / 64^2) for these sigmas: a check of the
  // samples' lowest bits on both paths.
  for (const [i, sigma] of [6201.8, 2 ** 20 + 0.5, 2 ** 24].entries()) {
    it(`residues mod 64 are uniform, sigma = ${sigma}, 10^6 samples (chi-square, p > 1e-6)`, () => {
      const samples = discreteGaussian(N, sigma, { rng: seeded(50 + i), method: 'wasm' });
      const counts = new Float64Array(64);
      for (const s of samples) counts[s & 63]!++;
      const stat = counts.reduce((sum, c) => sum + (c - N / 64) ** 2 / (N / 64), 0);
      expect(chiSquareSf(stat, 63)).toBeGreaterThan(1e-6);
    });
  }

  it('the residue test can fail: the samples with their lowest bit cleared are rejected', () => {
    const samples = discreteGaussian(N, 2 ** 20, { rng: seeded(53), method: 'wasm' });
    const counts = new Float64Array(64);
    for (const s of samples) counts[s & 62]!++;
    const stat = counts.reduce((sum, c) => sum + (c - N / 64) ** 2 / (N / 64), 0);
    expect(chiSquareSf(stat, 63)).toBeLessThan(1e-6);
  });

  it('the tests can fail: samples of sigma 1.05 are rejected as sigma 1 by the chi-square test', () => {
    const samples = discreteGaussian(N, 1.05, { rng: seeded(30), method: 'wasm' });
    expect(chiSquarePValue(samples, 1).p).toBeLessThan(1e-6);
  });

  it('is reproducible per seed, in and across wasm chunks (2^18 samples)', () => {
    const same = (x: Int32Array, y: Int32Array) => x.length === y.length && x.every((v, i) => v === y[i]);
    const a = discreteGaussian(300_000, 3.5, { rng: seeded(1), method: 'wasm' });
    expect(same(discreteGaussian(300_000, 3.5, { rng: seeded(1), method: 'wasm' }), a)).toBe(true);
    expect(same(discreteGaussian(300_000, 3.5, { rng: seeded(2), method: 'wasm' }), a)).toBe(false);
    expect(discreteGaussian(0, 3.5, { method: 'wasm' }).length).toBe(0);
  });

  it("does not change the default: method 'exact' (CKS20)", () => {
    const exact = discreteGaussian(2000, 3.5, { rng: seeded(4) });
    expect(discreteGaussian(2000, 3.5, { rng: seeded(4), method: 'exact' })).toEqual(exact);
    expect(discreteGaussian(2000, 3.5, { rng: seeded(4), method: 'wasm' })).not.toEqual(exact);
  });

  it('validates the method and sigma (E_ARG)', () => {
    expectPrivkitError(() => discreteGaussian(10, 1, { method: 'fast' as any }), 'E_ARG', 'opts.method');
    expectPrivkitError(() => discreteGaussian(10, 0, { method: 'wasm' }), 'E_ARG', 'sigma');
    expectPrivkitError(() => discreteGaussian(10, 2 ** 25, { method: 'wasm' }), 'E_ARG', 'sigma');
    expectPrivkitError(() => discreteGaussian(-1, 1, { method: 'wasm' }), 'E_ARG', 'length');
  });

  it('extreme sigmas: 0.05 gives only zeros in practice; 2^24 keeps the variance', () => {
    expect(discreteGaussian(100_000, 0.05, { rng: seeded(5), method: 'wasm' }).every((v) => v === 0)).toBe(true);
    const n = 200_000;
    const samples = discreteGaussian(n, 2 ** 24, { rng: seeded(6), method: 'wasm' });
    let squares = 0;
    for (const s of samples) squares += (s / 2 ** 24) ** 2;
    // the variance of N_Z(0, sigma^2) is sigma^2 up to exp(-2 pi^2 sigma^2); standard error of the scaled one sqrt(2 / n)
    expect(Math.abs(squares / n - 1)).toBeLessThan(Z * Math.sqrt(2 / n));
  });
});

describe('the noise of quantize (fused kernel)', () => {
  it('on integer inputs, the noise is discrete Gaussian (chi-square, sigma 2.5 and 1000)', () => {
    for (const [sigma, seed] of [[2.5, 40], [1000, 41]] as const) {
      const n = 500_000;
      const x = new Float32Array(n).map((_, i) => (i % 7) - 3); // integers: the rounding is exact
      const q = dequantize(quantize(x, { scale: 1, bits: 32, noiseSigma: sigma, rng: seeded(seed) }), { scale: 1, bits: 32 });
      const noise = Int32Array.from(q, (v, i) => v - x[i]!);
      expect(chiSquarePValue(noise, sigma).p, `sigma ${sigma}`).toBeGreaterThan(1e-6);
    }
  });

  it('on integer inputs, noise of sigma 2^20 has uniform residues mod 64 (chi-square)', () => {
    const n = 500_000;
    const x = new Float32Array(n).map((_, i) => (i % 7) - 3);
    const q = quantize(x, { scale: 1, bits: 32, noiseSigma: 2 ** 20, rng: seeded(43) });
    const counts = new Float64Array(64);
    for (const [i, w] of q.entries()) counts[(w - x[i]!) & 63]!++;
    const stat = counts.reduce((sum, c) => sum + (c - n / 64) ** 2 / (n / 64), 0);
    expect(chiSquareSf(stat, 63)).toBeGreaterThan(1e-6);
  });

  it('the variance of q - x scale is noiseSigma-variance plus the rounding variance f (1 - f)', () => {
    // x scale = 10 + f with f = 0.25: q - x scale = B - f + Z, B ~ Bernoulli(f), Z discrete Gaussian (independent)
    const n = 1_000_000;
    const sigma = 3;
    const f = 0.25; // exact in float32 and float64
    const x = new Float32Array(n).fill(10 + f);
    const q = quantize(x, { scale: 1, bits: 16, noiseSigma: sigma, rng: seeded(42) });
    const values = dequantize(q, { scale: 1, bits: 16 });
    const { variance: vz, fourth: m4z } = exactMoments(sigma);
    const vb = f * (1 - f);
    const m4b = f * (1 - f) * (1 - 3 * f + 3 * f * f); // fourth central moment of Bernoulli(f)
    const variance = vz + vb;
    const fourth = m4z + 6 * vz * vb + m4b; // E[(Z + B - f)^4]: odd moments of Z vanish
    let squares = 0;
    let sum = 0;
    for (const v of values) {
      sum += v - (10 + f);
      squares += (v - (10 + f)) ** 2;
    }
    expect(Math.abs(sum / n)).toBeLessThan(Z * Math.sqrt(variance / n));
    expect(Math.abs(squares / n - variance)).toBeLessThan(Z * Math.sqrt((fourth - variance * variance) / n));
    // the rounding variance is resolved: sigma^2 alone is rejected
    expect(Math.abs(squares / n - vz)).toBeGreaterThan(Z * Math.sqrt((fourth - variance * variance) / n));
  });
});
