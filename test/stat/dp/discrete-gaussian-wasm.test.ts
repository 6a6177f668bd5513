// The wasm discrete Gaussian sampler (assembly/dp/discrete.ts; discreteGaussian with method 'wasm', and
// the noise of quantize) at >= 2 x 10^7 samples: chi-square goodness of fit against the exact pmf at
// alpha = 1e-6 with fixed seeds, with bins sized so that a 1% error in any one of them fails the test.
// The sampler's unit tests (reference agreement, acceptance probability, 10^6-sample fits) are in
// test/dp/discrete-gaussian-wasm.test.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { createRng, discreteGaussian } from 'privkit/dp';
import { quantize } from 'privkit/secagg';
import { discreteGaussianPmf, IntegerHistogram, integerChiSquare } from '../../support/noise-stats.js';

beforeAll(ready);

const seeded = (k: number) => createRng({ seed: new Uint8Array(32).fill(k) });

// At least 2 x 10^7 samples, bins sized by integerChiSquare so that a 1% error in any one bin fails
// the test, and fine bins for the tails (a 1-in-256 fault, such as a SIMD lane that skipped the wedge, bin and acceptance tests
// when its acceptance byte was 0xff, moved P(|k| = 1) by 4.5% at sigma 0.3: invisible at 10^6
// samples). At sigma 0.3, P(k = 1) = 0.0039 needs 8 x 10^7 samples for 1% in the bins k = +-1.
const RESOLUTION = 0.01;
const LARGE_CHUNK = 1 << 21;
/** [sigma, samples] of the tests. */
const LARGE_CASES: Array<[number, number]> = [[0.3, 80_000_000], [0.5, 20_000_000], [1.5, 20_000_000], [4, 20_000_000], [100, 20_000_000]];

/** A histogram of n samples drawn LARGE_CHUNK at a time by draw(count). */
function histogramOf(sigma: number, n: number, draw: (count: number) => Int32Array): IntegerHistogram {
  const histogram = new IntegerHistogram(discreteGaussianPmf(sigma).K);
  for (let done = 0; done < n; done += LARGE_CHUNK) histogram.add(draw(Math.min(LARGE_CHUNK, n - done)));
  return histogram;
}

/**
 * Chi-square at alpha = 1e-6 twice: with bins of 1% resolution, and with fine bins (>= 20 expected)
 * that see the shape of the tails, which the coarse bins pool.
 */
function expectFits(histogram: IntegerHistogram, p: Float64Array): void {
  const coarse = integerChiSquare(histogram, p, { resolution: RESOLUTION });
  const fine = integerChiSquare(histogram, p, {});
  const detail = `chi-square ${coarse.stat.toFixed(1)} on ${coarse.df} dof (smallest bin ${coarse.minExpected.toFixed(0)}), fine bins ${fine.stat.toFixed(1)} on ${fine.df}`;
  expect(coarse.bins, detail).toBeGreaterThanOrEqual(3);
  expect(coarse.resolution, detail).toBeLessThanOrEqual(RESOLUTION);
  expect(coarse.p, detail).toBeGreaterThan(1e-6);
  expect(fine.p, detail).toBeGreaterThan(1e-6);
}

/** The exact pmf of sigma with P(k) multiplied by `factor` for |k| = 1, renormalized. */
function perturbedPmf(sigma: number, factor: number): Float64Array {
  const { K, p } = discreteGaussianPmf(sigma);
  p[K - 1]! *= factor;
  p[K + 1]! *= factor;
  const total = p.reduce((a, b) => a + b, 0);
  return p.map((v) => v / total);
}

describe(`the wasm discrete Gaussian at >= 2 x 10^7 samples, ${RESOLUTION * 100}% resolution per bin`, () => {
  const histograms = new Map<string, IntegerHistogram>(); // the power check reuses the sigma 0.3 samples
  const wasmSamples = (sigma: number, n: number, seed: number): IntegerHistogram => {
    const key = `${sigma} ${n} ${seed}`;
    if (!histograms.has(key)) {
      const rng = seeded(seed);
      histograms.set(key, histogramOf(sigma, n, (count) => discreteGaussian(count, sigma, { rng, method: 'wasm' })));
    }
    return histograms.get(key)!;
  };

  for (const [i, [sigma, n]] of LARGE_CASES.entries()) {
    it(`discreteGaussian(n, ${sigma}, { method: 'wasm' }), ${n / 1e6} M samples: chi-square against the exact pmf, coarse and fine bins (p > 1e-6)`, () => {
      expectFits(wasmSamples(sigma, n, 60 + i), discreteGaussianPmf(sigma).p);
    });
  }

  const [smallSigma, smallN] = LARGE_CASES[0]!;
  it(`the test can fail: sigma ${smallSigma} samples against a pmf with P(|k| = 1) 1% higher are rejected`, () => {
    const result = integerChiSquare(wasmSamples(smallSigma, smallN, 60), perturbedPmf(smallSigma, 1.01), { resolution: RESOLUTION });
    expect(result.p).toBeLessThan(1e-6);
  });

  for (const [i, [sigma, n]] of LARGE_CASES.slice(0, 2).entries()) {
    it(`the noise of quantize(zeros, { noiseSigma: ${sigma} }), ${n / 1e6} M samples: chi-square against the exact pmf, coarse and fine bins (p > 1e-6)`, () => {
      // zero inputs round to 0 exactly (a tie with f = 0 never rounds up): the words are the noise mod 2^32
      const rng = seeded(70 + i);
      const zeros = new Float32Array(LARGE_CHUNK);
      const histogram = histogramOf(sigma, n, (count) => {
        const words = quantize(zeros.subarray(0, count), { scale: 1, bits: 32, noiseSigma: sigma, rng });
        return new Int32Array(words.buffer, words.byteOffset, words.length);
      });
      expectFits(histogram, discreteGaussianPmf(sigma).p);
    });
  }
});
